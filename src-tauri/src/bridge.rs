//! The window's link to the engine: the one Tauri command `api_call` over the engine's API
//! dispatcher, and engine events re-emitted to the window as `station-event` (same JSON as the
//! HTTP server's server-sent events), with an OS notification for the events a person must see.
//!
//! Must never: answer an operation itself or skip the dispatcher's role check (the window logs
//! in like any browser), or block the async runtime (the dispatcher runs on a blocking thread).

use serde_json::{json, Value};
use station::api::ApiError;
use station::events::Event;
use tauri::{AppHandle, Emitter, Manager};
use tauri_plugin_notification::NotificationExt;
use tokio::sync::broadcast::error::RecvError;

use crate::text::{display_name, Lang};
use crate::Engine;

/// The Tauri event name the UI listens to (ui/src/api/backend.ts).
pub const EVENT: &str = "station-event";

/// `api_call(op, body, token)`: one engine operation, `login` included. An error rejects with
/// the engine's `ApiError` (`{"code","message","message_en"}`).
#[tauri::command]
pub async fn api_call(
    app: AppHandle,
    op: String,
    body: Option<Value>,
    token: Option<String>,
) -> Result<Value, ApiError> {
    let body = body.unwrap_or_else(|| json!({}));
    tauri::async_runtime::spawn_blocking(move || match app.try_state::<Engine>() {
        Some(engine) => engine.call(token.as_deref(), &op, body),
        // Attached to a service, the page talks to it over HTTP; no engine answers here.
        None => Err(ApiError::internal()),
    })
    .await
    .unwrap_or_else(|e| {
        tracing::error!(error = %e, "desktop: an API call panicked");
        Err(ApiError::internal())
    })
}

/// Forwards every engine event to the window and notifies the desktop of reports and overdue
/// studies, for as long as the engine runs (also while the window is hidden).
pub fn spawn_event_forwarder(app: &AppHandle, lang: Lang) {
    let mut events = app.state::<Engine>().events.subscribe();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            let event = match events.recv().await {
                Ok(event) => event,
                Err(RecvError::Lagged(missed)) => {
                    // Events are hints; the UI reloads on the next one. Nothing to repair here.
                    tracing::warn!(
                        missed,
                        "desktop: engine events dropped while the window lagged"
                    );
                    continue;
                }
                Err(RecvError::Closed) => return,
            };
            if let Err(e) = app.emit(EVENT, &event) {
                tracing::warn!(error = %e, "desktop: cannot emit an engine event to the window");
            }
            if let Some((title, body)) = notification_text(&app, lang, &event).await {
                notify(&app, &title, &body);
            }
        }
    });
}

/// Shows an OS notification (a desktop without a notification server only logs it).
pub fn notify(app: &AppHandle, title: &str, body: &str) {
    if let Err(e) = app.notification().builder().title(title).body(body).show() {
        tracing::warn!(error = %e, "desktop: cannot show an OS notification");
    }
}

/// The notification a person should get for this event, if any.
async fn notification_text(app: &AppHandle, lang: Lang, event: &Event) -> Option<(String, String)> {
    let (study_uid, report_final) = match event {
        Event::ReportArrived {
            study_uid,
            is_final,
            ..
        } => (study_uid.clone(), Some(*is_final)),
        Event::StudyOverdue { study_uid } => (study_uid.clone(), None),
        _ => return None,
    };
    let db = app.state::<Engine>().db.clone();
    let patient = tauri::async_runtime::spawn_blocking(move || patient_of(&db, &study_uid))
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    Some(notification_for(lang, &patient, report_final))
}

/// The notification's title and text: `report_final` is `Some(is_final)` for a report, `None`
/// for an overdue study.
pub fn notification_for(lang: Lang, patient: &str, report_final: Option<bool>) -> (String, String) {
    match report_final {
        Some(is_final) => lang.report_arrived(patient, is_final),
        None => lang.study_overdue(patient),
    }
}

/// The study's patient name as a person writes it, for the notification's text: the registered
/// patient's once the study is matched (as the screens show it), else the name the device sent.
fn patient_of(db: &std::path::Path, study_uid: &str) -> Option<String> {
    let conn = station::store::open_reader(db).ok()?;
    let name = station::store::studies::patient_name(&conn, study_uid).ok()??;
    Some(display_name(&name))
}
