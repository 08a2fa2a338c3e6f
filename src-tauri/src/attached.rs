//! The app attached to a station service: the window shows the service's own web UI (login as in
//! any browser, its session cookie), and the page hands the shell what its tray line and OS
//! notifications need, through two commands only that page's origin may call: the service's
//! link list (`attached_links`) and the events a person must see with the patient's name
//! (`attached_event`). The shell holds no session of its own.
//!
//! Must never: let the page (or any other origin) reach `api_call` or any other command, or act
//! on what the page sends beyond drawing the tray line and showing a notification.

use serde_json::Value;
use std::sync::Arc;
use tauri::ipc::CapabilityBuilder;
use tauri::{AppHandle, Manager};

use crate::text::{display_name, Lang};
use crate::tray::{self, LinkSummary, Tray};

/// The attached app's state: the shell's language for its notifications.
pub struct Attached {
    pub lang: Lang,
}

/// Lets the service's own origin, in the main window only, call the two commands.
pub fn allow_service_origin(app: &AppHandle, base: &str) -> tauri::Result<()> {
    app.add_capability(
        CapabilityBuilder::new("attached-service")
            .remote(format!("{base}/*"))
            .window(crate::window::MAIN)
            .permission("allow-attached-links")
            .permission("allow-attached-event"),
    )
}

/// `attached_links(links)`: the service's `links_list`, after each of its events and every few
/// seconds while someone is logged in in the window.
#[tauri::command]
pub fn attached_links(app: AppHandle, links: Vec<LinkSummary>) {
    if let Some(tray) = app.try_state::<Arc<Tray>>() {
        let (link, backlog) = tray::summarize(&links);
        tray.show(link, backlog);
    }
}

/// `attached_event(event, patient)`: one of the service's events (the same JSON as its event
/// stream) with the DICOM name of the study's patient; a report or an overdue study becomes an
/// OS notification, the same one the in-process engine raises.
#[tauri::command]
pub fn attached_event(app: AppHandle, event: Value, patient: String) {
    let Some(attached) = app.try_state::<Attached>() else {
        return;
    };
    let report_final = match event["type"].as_str() {
        Some("report_arrived") => Some(event["is_final"].as_bool().unwrap_or(true)),
        Some("study_overdue") => None,
        _ => return,
    };
    let (title, body) =
        crate::bridge::notification_for(attached.lang, &display_name(&patient), report_final);
    crate::bridge::notify(&app, &title, &body);
}
