//! `GET /api/events`: engine events as server-sent events, one JSON object per `data:` line
//! (the same JSON the desktop window gets as `station-event`).
//!
//! A client that falls behind gets `{"type":"lagged","missed":n}` and should reload what it
//! shows. A browser's `EventSource` cannot send headers: it sends its session cookie.
//!
//! Must never: outlive the station or its session (the stream ends when either does).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use tokio::sync::broadcast::error::RecvError;

use super::routes::{credential, error_response, lang};
use super::AppState;
use crate::api::{roles, ApiError};

/// How often an open stream checks that its session is still live.
const RECHECK: Duration = Duration::from_secs(10);

pub(crate) async fn events(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let token = credential(&headers).map(|(t, _)| t).unwrap_or_default();
    let lang = lang(&headers);
    let api = state.api.clone();
    let first = token.clone();
    let role = match tokio::task::spawn_blocking(move || api.session(Some(&first))).await {
        Ok(Ok(session)) => session.user.role,
        Ok(Err(e)) => return error_response(&e, lang),
        Err(_) => return error_response(&ApiError::internal(), lang),
    };
    let rx = state.api.events().subscribe();
    let mut recheck = tokio::time::interval(RECHECK);
    recheck.reset();
    let stream = futures_util::stream::unfold(
        (rx, recheck, state.clone(), token),
        move |(mut rx, mut recheck, state, token)| async move {
            let data = loop {
                tokio::select! {
                    received = rx.recv() => break match received {
                        // The role is the session's at the start; a role change ends
                        // the user's sessions, and so this stream.
                        Ok(event) if !roles::hears(role, &event) => continue,
                        Ok(event) => serde_json::to_string(&event).ok()?,
                        Err(RecvError::Lagged(n)) => format!(r#"{{"type":"lagged","missed":{n}}}"#),
                        Err(RecvError::Closed) => return None,
                    },
                    // A session that ended (logout, expiry, disabled user) ends its stream.
                    _ = recheck.tick() => {
                        if !alive(&state, &token).await {
                            return None;
                        }
                    }
                }
            };
            Some((
                Ok::<_, Infallible>(SseEvent::default().data(data)),
                (rx, recheck, state, token),
            ))
        },
    );
    let mut stopping = state.stopping.clone();
    let stream = stream.take_until(async move {
        let _ = stopping.wait_for(|s| *s).await;
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

/// Whether `token` is still a live session (on a blocking thread: it reads the store).
async fn alive(state: &AppState, token: &str) -> bool {
    let api = state.api.clone();
    let token = token.to_owned();
    matches!(
        tokio::task::spawn_blocking(move || api.session_alive(&token)).await,
        Ok(Ok(true))
    )
}
