//! URL to handler: `POST /api/{op}` for every operation, the event stream, the OpenAPI
//! document, and the UI for everything else.
//!
//! Must never: decide who may do what (the dispatcher does), or run store work on an async
//! worker.

use axum::body::Bytes;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde_json::Value;

use super::listen::OverTls;
use super::{dicomweb, downloads, monitor, openapi, sse, static_ui, AppState};
use crate::api::{ApiError, Lang};
use crate::auth::Origin;

/// The DICOMweb routes, open to the desktop window's own origin: its viewer runs at
/// `tauri://localhost` (`http://tauri.localhost` on Windows) and reads this server with a bearer
/// token, which a browser only sends across origins after a CORS preflight. No other origin.
fn dicomweb_routes() -> Router<AppState> {
    use axum::http::{header, HeaderValue, Method};
    let cors = tower_http::cors::CorsLayer::new()
        .allow_origin([
            HeaderValue::from_static("tauri://localhost"),
            HeaderValue::from_static("http://tauri.localhost"),
            HeaderValue::from_static("https://tauri.localhost"),
        ])
        .allow_methods([Method::GET])
        .allow_headers([header::AUTHORIZATION, header::ACCEPT]);
    Router::new()
        .route("/dicom-web/studies", get(dicomweb::studies))
        .route("/dicom-web/studies/{study}/series", get(dicomweb::series))
        .route(
            "/dicom-web/studies/{study}/series/{series}/instances",
            get(dicomweb::instances),
        )
        .route(
            "/dicom-web/studies/{study}/series/{series}/metadata",
            get(dicomweb::metadata),
        )
        .route(
            "/dicom-web/studies/{study}/series/{series}/instances/{sop}",
            get(dicomweb::instance),
        )
        .route(
            "/dicom-web/studies/{study}/series/{series}/instances/{sop}/frames/{frame}",
            get(dicomweb::frames),
        )
        .route(
            "/dicom-web/studies/{study}/series/{series}/instances/{sop}/rendered",
            get(dicomweb::rendered),
        )
        .route(
            "/dicom-web/studies/{study}/series/{series}/instances/{sop}/frames/{frame}/rendered",
            get(dicomweb::frame_rendered),
        )
        .route(
            "/dicom-web/studies/{study}/thumbnail",
            get(dicomweb::thumbnail),
        )
        .route(
            "/dicom-web/studies/{study}/series/{series}/thumbnail",
            get(dicomweb::thumbnail),
        )
        .route(
            "/dicom-web/studies/{study}/series/{series}/instances/{sop}/thumbnail",
            get(dicomweb::thumbnail),
        )
        .layer(cors)
}

pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/openapi.json", get(openapi_json))
        .route("/api/events", get(sse::events))
        .route("/api/preview/{file}", get(downloads::preview))
        .route("/api/report/{id}/pdf", get(downloads::report_pdf))
        .route("/api/report/{id}/print", get(downloads::report_print))
        .route("/api/diagnostics.tar.gz", get(downloads::diagnostics))
        .route("/api/log.txt", get(downloads::log))
        .route("/api/{op}", post(call))
        .merge(dicomweb_routes())
        .route("/metrics", get(monitor::metrics))
        .route("/healthz", get(monitor::healthz))
        .route("/readyz", get(monitor::readyz))
        .fallback(static_ui::serve)
        .with_state(state)
}

pub(crate) fn lang(headers: &HeaderMap) -> Lang {
    Lang::from_accept_language(
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

/// The JSON error body with its status (and `Retry-After` when throttled).
pub(crate) fn error_response(err: &ApiError, lang: Lang) -> Response {
    let status =
        StatusCode::from_u16(err.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = (status, Json(err.body(lang))).into_response();
    if let Some(secs) = err.retry_after_secs {
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    resp
}

/// The browser's session: set at login, HttpOnly (page scripts never see it) and
/// SameSite=Strict (no other site's page sends it), so the token is never in a URL.
pub(crate) const SESSION_COOKIE: &str = "station_session";

/// Who is calling: the `Authorization: Bearer` header (scripts, the HIS, the desktop window's
/// viewer), else the browser's session cookie; and whether it was the cookie.
pub(crate) fn credential(headers: &HeaderMap) -> Option<(String, bool)> {
    if let Some(token) = bearer(headers) {
        return Some((token, false));
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == SESSION_COOKIE && !value.is_empty())
        .map(|(_, value)| (value.to_owned(), true))
}

/// The `Set-Cookie` that starts (`Some(token)`) or ends (`None`) the browser's session;
/// `Secure` over HTTPS (the browser then never sends it over plain HTTP). No lifetime: it ends
/// with the browser, the session itself with its time.
fn session_cookie(token: Option<&str>, tls: OverTls) -> Option<HeaderValue> {
    let secure = if tls.0 { "; Secure" } else { "" };
    let value = match token {
        Some(t) => format!("{SESSION_COOKIE}={t}; Path=/; HttpOnly; SameSite=Strict{secure}"),
        None => {
            format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}")
        }
    };
    HeaderValue::from_str(&value).ok()
}

pub(crate) fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

async fn call(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Extension(tls): Extension<OverTls>,
    Path(op): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let lang = lang(&headers);
    let credential = credential(&headers);
    let by_cookie = credential.as_ref().is_some_and(|(_, cookie)| *cookie);
    // A password only in a JSON body, and a cookie's call only as JSON: a form on another
    // site cannot post JSON (a cross-origin JSON request needs a preflight this server never
    // grants), on top of the cookie being SameSite=Strict.
    if (op == "login" || by_cookie) && !is_json(&headers) {
        let err = ApiError::invalid("this call takes a JSON body (Content-Type: application/json)")
            .malformed();
        return error_response(&err, lang);
    }
    // No body at all means `{}`; anything else is the request object, so blanks alone are no
    // more a request than `null` is.
    let body: Value = if body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(&body) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) => {
                let err = ApiError::invalid("the body is a JSON object").malformed();
                return error_response(&err, lang);
            }
            Err(e) => {
                let err = ApiError::invalid(format!("JSON: {e}")).malformed();
                return error_response(&err, lang);
            }
        }
    };
    let token = credential.map(|(token, _)| token);
    let api = state.api.clone();
    let op_name = op.clone();
    // The TCP peer, never a forwarding header: a client can write those.
    let origin = Origin::network(peer.ip());
    let result =
        tokio::task::spawn_blocking(move || api.call_from(origin, token.as_deref(), &op, body))
            .await;
    match result {
        Ok(Ok(value)) => {
            // A browser's login lives on as the cookie; logging out ends it there too.
            let cookie = match op_name.as_str() {
                "login" => session_cookie(value.get("token").and_then(Value::as_str), tls),
                "logout" => session_cookie(None, tls),
                _ => None,
            };
            let mut resp = Json(value).into_response();
            if let Some(c) = cookie {
                resp.headers_mut().insert(header::SET_COOKIE, c);
            }
            resp
        }
        Ok(Err(err))
            if op_name == "logout" && err.code == crate::api::ErrorCode::Unauthenticated =>
        {
            // A session already gone: the browser's cookie still goes.
            let mut resp = error_response(&err, lang);
            if let Some(c) = session_cookie(None, tls) {
                resp.headers_mut().insert(header::SET_COOKIE, c);
            }
            resp
        }
        Ok(Err(err)) => error_response(&err, lang),
        Err(e) => {
            tracing::error!(error = %e, "API call panicked");
            error_response(&ApiError::internal(), lang)
        }
    }
}

/// Whether the request says its body is JSON (`application/json`, any parameters).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

async fn openapi_json() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        openapi::document_json(),
    )
        .into_response()
}
