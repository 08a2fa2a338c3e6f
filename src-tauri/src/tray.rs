//! The tray icon: link and backlog state at a glance ("在线 · 待发送 3"), and the way back to
//! the window or out of the app.
//!
//! The line is recomputed from the store (the truth), on each engine event and every few
//! seconds, never kept as a running count. GNOME shows no tray icon without an extension, so
//! the tray is never the only way back: starting the app again shows the window too.
//!
//! Must never: write to the store, or hold the store's lock while talking to the desktop.

use std::path::PathBuf;
use std::time::Duration;

use station::store::{self, SendState};
use tauri::menu::{Menu, MenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager};

use crate::text::{Lang, LinkState};

/// How often the line is refreshed when no event arrives (link probes are not all events).
const REFRESH: Duration = Duration::from_secs(5);

pub struct Tray {
    status: MenuItem<tauri::Wry>,
    icon: tauri::tray::TrayIcon,
    lang: Lang,
    db: PathBuf,
    destinations: usize,
}

impl Tray {
    pub fn build(
        app: &AppHandle,
        lang: Lang,
        db: PathBuf,
        destinations: usize,
    ) -> tauri::Result<Tray> {
        let status = MenuItem::with_id(app, "status", lang.app_name(), false, None::<&str>)?;
        let show = MenuItem::with_id(app, "show", lang.show_window(), true, None::<&str>)?;
        let quit = MenuItem::with_id(app, "quit", lang.quit(), true, None::<&str>)?;
        let menu = Menu::with_items(app, &[&status, &show, &quit])?;
        let mut builder = TrayIconBuilder::with_id("station")
            .tooltip(lang.app_name())
            .menu(&menu)
            .show_menu_on_left_click(false)
            .on_menu_event(|app, event| match event.id.as_ref() {
                "show" => crate::show_main_window(app),
                "quit" => crate::quit(app),
                _ => {}
            })
            .on_tray_icon_event(|tray, event| {
                if let TrayIconEvent::Click {
                    button: MouseButton::Left,
                    button_state: MouseButtonState::Up,
                    ..
                } = event
                {
                    crate::show_main_window(tray.app_handle());
                }
            });
        if let Some(icon) = app.default_window_icon() {
            builder = builder.icon(icon.clone());
        }
        let icon = builder.build(app)?;
        Ok(Tray {
            status,
            icon,
            lang,
            db,
            destinations,
        })
    }

    /// Reads link and backlog state from the store and shows it.
    pub fn refresh(&self) {
        let line = match read_state(&self.db, self.destinations) {
            Ok((link, backlog)) => self.lang.link_line(link, backlog),
            Err(e) => {
                tracing::warn!(error = %e, "tray: cannot read the send queue");
                return;
            }
        };
        let tip = format!("{} · {line}", self.lang.app_name());
        let _ = self.status.set_text(&line);
        let _ = self.icon.set_tooltip(Some(&tip));
    }

    /// Refreshes on every engine event (coalesced) and every [`REFRESH`] otherwise.
    pub fn spawn_refresher(self, app: &AppHandle) {
        let mut events = app.state::<crate::Engine>().events.subscribe();
        let tray = std::sync::Arc::new(self);
        tauri::async_runtime::spawn(async move {
            loop {
                // SQLite off the async executor.
                let t = tray.clone();
                let _ = tauri::async_runtime::spawn_blocking(move || t.refresh()).await;
                match tokio::time::timeout(REFRESH, events.recv()).await {
                    // Closed: the engine is gone; keep the last line.
                    Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) => return,
                    // An event, a lag or a timeout: all mean "look again"; drain a burst first.
                    _ => while events.try_recv().is_ok() {},
                }
            }
        });
    }
}

/// Link state over the configured destinations and the number of studies not yet delivered.
fn read_state(
    db: &std::path::Path,
    destinations: usize,
) -> Result<(LinkState, i64), store::StoreError> {
    let conn = store::open_reader(db)?;
    let counts = store::status_counts(&conn)?;
    let backlog = [
        SendState::Queued,
        SendState::Sending,
        SendState::Failed,
        SendState::Held,
    ]
    .iter()
    .filter_map(|s| counts.send_queue_by_state.get(s.as_str()))
    .sum();
    let (online, known) = store::queue::links_online(&conn)?;
    let total = destinations as i64;
    let link = if total == 0 {
        LinkState::NoDestination
    } else if known == 0 {
        LinkState::Unknown
    } else if online >= total {
        LinkState::Online
    } else if online == 0 {
        LinkState::Offline
    } else {
        LinkState::Partial { online, total }
    };
    Ok((link, backlog))
}
