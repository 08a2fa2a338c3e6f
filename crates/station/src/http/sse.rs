//! `GET /api/events?token=...`: engine events as server-sent events, one JSON object per
//! `data:` line (the same JSON the desktop window gets as `station-event`).
//!
//! A client that falls behind gets `{"type":"lagged","missed":n}` and should reload what it
//! shows. The token is in the query because browsers' `EventSource` cannot send headers.
//!
//! Must never: outlive the station (the stream ends when it stops).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use super::routes::{error_response, lang};
use super::AppState;

#[derive(Deserialize)]
pub(crate) struct TokenQuery {
    token: Option<String>,
}

pub(crate) async fn events(
    State(state): State<AppState>,
    Query(q): Query<TokenQuery>,
    headers: HeaderMap,
) -> Response {
    let api = state.api.clone();
    let checked = tokio::task::spawn_blocking(move || api.session(q.token.as_deref())).await;
    match checked {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => return error_response(&e, lang(&headers)),
        Err(_) => return error_response(&crate::api::ApiError::internal(), lang(&headers)),
    }
    let rx = state.api.events().subscribe();
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        let data = match rx.recv().await {
            Ok(event) => serde_json::to_string(&event).ok()?,
            Err(RecvError::Lagged(n)) => format!(r#"{{"type":"lagged","missed":{n}}}"#),
            Err(RecvError::Closed) => return None,
        };
        Some((Ok::<_, Infallible>(SseEvent::default().data(data)), rx))
    });
    let mut stopping = state.stopping.clone();
    let stream = stream.take_until(async move {
        let _ = stopping.wait_for(|s| *s).await;
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}
