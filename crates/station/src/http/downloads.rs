//! `GET` routes for files: `/api/preview/{sop_instance_uid}.png`, `/api/report/{id}/pdf`,
//! `/api/report/{id}/print`, `/api/diagnostics.tar.gz` and `/api/log.txt`, each `?token=` (an
//! `<img>` or a new tab cannot send headers; a bearer header works too). Thin: `Api::download` checks the role and audits.
//!
//! Must never: read a file or the store on an async worker, or let a shared PC cache patient
//! images (`no-store`).

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};

use super::routes::{bearer, error_response, lang};
use super::security;
use super::sse::TokenQuery;
use super::AppState;
use crate::api::downloads::Binary;
use crate::api::downloads::Download;
use crate::api::{ApiError, Lang};

/// Runs `read` (it reads the store and files) on a blocking thread and answers with its file,
/// never kept in a shared PC's cache; a refusal as the API's JSON error.
pub(super) async fn file_answer(
    lang: Lang,
    read: impl FnOnce() -> Result<Binary, ApiError> + Send + 'static,
) -> Response {
    match tokio::task::spawn_blocking(read).await {
        Ok(Ok(file)) => {
            let mut resp = file.bytes.into_response();
            let h = resp.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(file.content_type),
            );
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-store"),
            );
            resp
        }
        Ok(Err(err)) => error_response(&err, lang),
        Err(e) => {
            tracing::error!(error = %e, "a file request panicked");
            error_response(&ApiError::internal(), lang)
        }
    }
}

async fn serve(
    state: AppState,
    headers: HeaderMap,
    token: Option<String>,
    what: Download,
    key: String,
) -> Response {
    let lang = lang(&headers);
    let token = token.or_else(|| bearer(&headers));
    let api = state.api.clone();
    let mut resp = file_answer(lang, move || {
        api.download(token.as_deref(), what, &key, lang)
    })
    .await;
    if resp.status().is_success() {
        let disposition = match what {
            Download::ReportPdf => Some("inline"),
            Download::Diagnostics => Some("attachment; filename=\"station-diagnostics.tar.gz\""),
            Download::Preview | Download::ReportPrint | Download::Log => None,
        };
        if let Some(d) = disposition {
            resp.headers_mut()
                .insert(header::CONTENT_DISPOSITION, HeaderValue::from_static(d));
        }
        if what == Download::ReportPdf {
            // Shown in an <iframe> of the reports page (browser or desktop window).
            resp.headers_mut().insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(security::CSP_FRAMED_BY_SELF),
            );
        }
    }
    resp
}

pub(crate) async fn preview(
    State(state): State<AppState>,
    Path(file): Path<String>,
    Query(q): Query<TokenQuery>,
    headers: HeaderMap,
) -> Response {
    let Some(sop) = file.strip_suffix(".png") else {
        let err = ApiError::invalid("a preview's URL ends in .png");
        return error_response(&err, lang(&headers));
    };
    let sop = sop.to_owned();
    serve(state, headers, q.token, Download::Preview, sop).await
}

pub(crate) async fn report_pdf(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<TokenQuery>,
    headers: HeaderMap,
) -> Response {
    serve(state, headers, q.token, Download::ReportPdf, id).await
}

pub(crate) async fn report_print(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<TokenQuery>,
    headers: HeaderMap,
) -> Response {
    serve(state, headers, q.token, Download::ReportPrint, id).await
}

pub(crate) async fn diagnostics(
    State(state): State<AppState>,
    Query(q): Query<TokenQuery>,
    headers: HeaderMap,
) -> Response {
    serve(
        state,
        headers,
        q.token,
        Download::Diagnostics,
        String::new(),
    )
    .await
}

pub(crate) async fn log(
    State(state): State<AppState>,
    Query(q): Query<TokenQuery>,
    headers: HeaderMap,
) -> Response {
    serve(state, headers, q.token, Download::Log, String::new()).await
}
