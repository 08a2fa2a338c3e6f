//! `GET` routes for files: `/api/preview/{sop_instance_uid}.png`, `/api/report/{id}/pdf`,
//! `/api/report/{id}/print`, `/api/diagnostics.tar.gz` and `/api/log.txt`. A browser's `<img>`
//! or new tab sends its session cookie; a script a bearer header; the desktop window, whose
//! page is on another origin, its file key (`?key=`, from `file_key`: files only, ends with its
//! session). Thin: `Api::download` checks the role and audits.
//!
//! Must never: read a file or the store on an async worker, or let a shared PC cache patient
//! images (`no-store`).

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};

use super::routes::{credential, error_response, lang};
use super::security;
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

/// The desktop window's file key, the one credential a file URL may carry.
#[derive(serde::Deserialize)]
pub(crate) struct KeyQuery {
    key: Option<String>,
}

async fn serve(
    state: AppState,
    headers: HeaderMap,
    file_key: Option<String>,
    what: Download,
    key: String,
) -> Response {
    let lang = lang(&headers);
    let token = credential(&headers).map(|(token, _)| token);
    let api = state.api.clone();
    let mut resp = file_answer(lang, move || {
        let token = match (token, file_key) {
            (Some(token), _) => Some(token),
            (None, Some(k)) => api.file_key_session(&k),
            (None, None) => None,
        };
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
    Query(q): Query<KeyQuery>,
    headers: HeaderMap,
) -> Response {
    let Some(sop) = file.strip_suffix(".png") else {
        let err = ApiError::invalid("a preview's URL ends in .png").malformed();
        return error_response(&err, lang(&headers));
    };
    let sop = sop.to_owned();
    serve(state, headers, q.key, Download::Preview, sop).await
}

pub(crate) async fn report_pdf(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<KeyQuery>,
    headers: HeaderMap,
) -> Response {
    serve(state, headers, q.key, Download::ReportPdf, id).await
}

pub(crate) async fn report_print(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<KeyQuery>,
    headers: HeaderMap,
) -> Response {
    serve(state, headers, q.key, Download::ReportPrint, id).await
}

pub(crate) async fn diagnostics(
    State(state): State<AppState>,
    Query(q): Query<KeyQuery>,
    headers: HeaderMap,
) -> Response {
    serve(state, headers, q.key, Download::Diagnostics, String::new()).await
}

pub(crate) async fn log(
    State(state): State<AppState>,
    Query(q): Query<KeyQuery>,
    headers: HeaderMap,
) -> Response {
    serve(state, headers, q.key, Download::Log, String::new()).await
}
