//! The tray icon: link and backlog state at a glance ("在线 · 待发送 3"), and the way back to
//! the window or out of the app.
//!
//! With the engine in-process the line is recomputed from the store (the truth), on each engine
//! event and every few seconds, never kept as a running count. Attached to a station service,
//! the window's page (which holds the session) hands over the service's link list on each of
//! its events and every few seconds (`attached::attached_links`). GNOME shows no tray icon without an extension, so
//! the tray is never the only way back: starting the app again shows the window too.
//!
//! Must never: write to the store, or hold the store's lock while talking to the desktop.

use std::path::{Path, PathBuf};
use std::sync::Arc;
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
}

impl Tray {
    /// The icon and its menu; `attached`: the app shows a station service's UI, so quitting it
    /// stops nothing but the window.
    pub fn build(app: &AppHandle, lang: Lang, attached: bool) -> tauri::Result<Tray> {
        let status = MenuItem::with_id(app, "status", lang.app_name(), false, None::<&str>)?;
        let show = MenuItem::with_id(app, "show", lang.show_window(), true, None::<&str>)?;
        let quit_label = if attached {
            lang.quit_attached()
        } else {
            lang.quit()
        };
        let quit = MenuItem::with_id(app, "quit", quit_label, true, None::<&str>)?;
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
        Ok(Tray { status, icon, lang })
    }

    /// Shows link and backlog state.
    pub fn show(&self, link: LinkState, backlog: i64) {
        self.show_text(&self.lang.link_line(link, backlog));
    }

    /// Shows `line` in the menu and the tooltip.
    pub fn show_text(&self, line: &str) {
        let tip = format!("{} · {line}", self.lang.app_name());
        let _ = self.status.set_text(line);
        let _ = self.icon.set_tooltip(Some(&tip));
    }

    /// Reads link and backlog state from the store and shows it.
    fn refresh(&self, db: &Path, destinations: usize) {
        match read_state(db, destinations) {
            Ok((link, backlog)) => self.show(link, backlog),
            Err(e) => tracing::warn!(error = %e, "tray: cannot read the send queue"),
        }
    }

    /// With the engine in-process: refreshes from the store on every engine event (coalesced)
    /// and every [`REFRESH`] otherwise.
    pub fn spawn_refresher(tray: Arc<Tray>, app: &AppHandle, db: PathBuf, destinations: usize) {
        let mut events = app.state::<crate::Engine>().events.subscribe();
        let db = Arc::new(db);
        tauri::async_runtime::spawn(async move {
            loop {
                // SQLite off the async executor.
                let (t, db) = (tray.clone(), db.clone());
                let _ = tauri::async_runtime::spawn_blocking(move || t.refresh(&db, destinations))
                    .await;
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
    Ok((link_state(online, known, destinations as i64), backlog))
}

/// One destination's line of the service's `links_list`, as much as the tray needs.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct LinkSummary {
    /// `None` until the station has talked to it once.
    pub online: Option<bool>,
    pub backlog: i64,
    pub failed: i64,
    pub held: i64,
    /// No longer configured: what waits for it still counts, the link does not.
    pub removed: bool,
}

/// Link state and backlog from a station service's link list (the same sums as [`read_state`]).
pub fn summarize(links: &[LinkSummary]) -> (LinkState, i64) {
    let configured = links.iter().filter(|l| !l.removed);
    let total = configured.clone().count() as i64;
    let online = configured
        .clone()
        .filter(|l| l.online == Some(true))
        .count() as i64;
    let known = configured.filter(|l| l.online.is_some()).count() as i64;
    let backlog = links.iter().map(|l| l.backlog + l.failed + l.held).sum();
    (link_state(online, known, total), backlog)
}

/// Link state from how many of `total` configured destinations are online, and how many have
/// been tried at all.
fn link_state(online: i64, known: i64, total: i64) -> LinkState {
    if total == 0 {
        LinkState::NoDestination
    } else if known == 0 {
        LinkState::Unknown
    } else if online >= total {
        LinkState::Online
    } else if online == 0 {
        LinkState::Offline
    } else {
        LinkState::Partial { online, total }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(online: Option<bool>, backlog: i64, removed: bool) -> LinkSummary {
        LinkSummary {
            online,
            backlog,
            failed: 1,
            held: 0,
            removed,
        }
    }

    #[test]
    fn a_services_link_list_gives_the_same_line() {
        assert_eq!(summarize(&[]), (LinkState::NoDestination, 0));
        assert_eq!(summarize(&[link(None, 2, false)]), (LinkState::Unknown, 3));
        assert_eq!(
            summarize(&[link(Some(true), 0, false), link(Some(false), 2, false)]),
            (
                LinkState::Partial {
                    online: 1,
                    total: 2
                },
                4
            )
        );
        // A removed destination's queue still waits; its link no longer counts.
        assert_eq!(
            summarize(&[link(Some(true), 0, false), link(Some(false), 2, true)]),
            (LinkState::Online, 4)
        );
        assert_eq!(
            summarize(&[link(Some(false), 0, false)]),
            (LinkState::Offline, 1)
        );
    }
}
