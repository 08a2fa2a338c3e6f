//! What the center's monitoring and the service manager ask: `GET /metrics` (Prometheus text,
//! with the scrape token of `[metrics] token`), `GET /healthz` (the process answers) and
//! `GET /readyz` (it can take images; 503 with a short reason when not). No login for the two
//! health checks: a load check or systemd has no session.
//!
//! Must never: answer `/metrics` without the token, say anything about a patient, or read the
//! store on an async worker.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::routes::bearer;
use super::AppState;
use crate::metrics::{self, Access};

const TEXT: &str = "text/plain; charset=utf-8";

fn text(status: StatusCode, body: impl Into<String>) -> Response {
    (status, [(header::CONTENT_TYPE, TEXT)], body.into()).into_response()
}

pub(super) async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let config = state.api.config();
    match metrics::access(&config, bearer(&headers).as_deref()) {
        Access::Allowed => {}
        Access::Off => {
            return text(
                StatusCode::NOT_FOUND,
                "metrics are off: set [metrics] token in the station's configuration\n",
            )
        }
        Access::Refused => {
            let mut resp = text(StatusCode::UNAUTHORIZED, "scrape token required\n");
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"station metrics\""),
            );
            return resp;
        }
    }
    let (api, activity) = (state.api.clone(), state.activity.clone());
    let rendered =
        tokio::task::spawn_blocking(move || metrics::render(&api.config(), &api.store, &activity))
            .await;
    match rendered {
        Ok(Ok(body)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)],
            body,
        )
            .into_response(),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "cannot compute the metrics");
            text(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n"))
        }
        Err(e) => {
            tracing::error!(error = %e, "metrics panicked");
            text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n")
        }
    }
}

pub(super) async fn healthz() -> Response {
    text(StatusCode::OK, "ok\n")
}

pub(super) async fn readyz(State(state): State<AppState>) -> Response {
    let (api, activity) = (state.api.clone(), state.activity.clone());
    let ready = tokio::task::spawn_blocking(move || {
        metrics::readiness(&api.config(), &api.store, &activity)
    })
    .await;
    match ready {
        Ok(Ok(())) => text(StatusCode::OK, "ready\n"),
        Ok(Err(reason)) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {reason}\n"),
        ),
        Err(e) => {
            tracing::error!(error = %e, "readiness check panicked");
            text(
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: internal error\n",
            )
        }
    }
}
