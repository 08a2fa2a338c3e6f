//! The main window: the built web UI (`tauri://localhost`), told where the engine's HTTP server
//! is (`window.__STATION_HTTP__`) for what IPC cannot carry (preview images, print views); or,
//! attached to a station service, that service's own web UI (`http://127.0.0.1:PORT/`), told
//! so (`window.__STATION_ATTACHED__`) to talk HTTP like a browser. A report's print view and
//! PDF, which the UI opens in a new tab, open in a window of their own.
//!
//! Must never: give the page a way around the API's login (no token or session is injected), or
//! open a window on anything but the engine's report files.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use tauri::webview::NewWindowResponse;
use tauri::{AppHandle, Manager, Url, WebviewUrl, WebviewWindowBuilder};

use crate::text::Lang;
use crate::Engine;

pub const MAIN: &str = "main";

pub fn create_main(app: &AppHandle) -> tauri::Result<()> {
    let http = http_base(app.state::<Engine>().http_addr);
    let script = format!(
        "window.__STATION_HTTP__ = {};",
        serde_json::Value::String(http.clone())
    );
    build(app, WebviewUrl::default(), &script, http)
}

/// The main window on a station service's own web UI at `base`.
pub fn create_attached(app: &AppHandle, base: &str) -> tauri::Result<()> {
    let url = Url::parse(&format!("{base}/")).map_err(|e| tauri::Error::Anyhow(e.into()))?;
    build(
        app,
        WebviewUrl::External(url),
        "window.__STATION_ATTACHED__ = true;",
        base.to_string(),
    )
}

/// The window on `url`, with `script` run before the page's, opening only `http`'s report files
/// in new windows.
fn build(app: &AppHandle, url: WebviewUrl, script: &str, http: String) -> tauri::Result<()> {
    WebviewWindowBuilder::new(app, MAIN, url)
        // Both names: the window list is read before anyone picks a language.
        .title(format!("{} · {}", Lang::Zh.app_name(), Lang::En.app_name()))
        .inner_size(1280.0, 800.0)
        .min_inner_size(960.0, 600.0)
        .initialization_script(script)
        .on_new_window(move |url, _| {
            if is_report_file(&http, &url) {
                NewWindowResponse::Allow
            } else {
                tracing::warn!(%url, "desktop: refused to open a window");
                NewWindowResponse::Deny
            }
        })
        .build()?;
    Ok(())
}

/// The URL the window reaches the engine's HTTP server at: loopback when it listens on every
/// address.
pub fn http_base(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

/// A report's print view or PDF on the engine's own HTTP server (`/api/report/{id}/...`).
fn is_report_file(http_base: &str, url: &Url) -> bool {
    let origin = url.origin().ascii_serialization();
    origin == http_base && url.path().starts_with("/api/report/")
}

/// Shows, restores and focuses the main window (tray menu, tray click, a second start).
pub fn show_main_window(app: &AppHandle) {
    if let Some(window) = app.get_webview_window(MAIN) {
        let _ = window.show();
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_reaches_the_engine_on_loopback_when_it_listens_everywhere() {
        assert_eq!(
            http_base("0.0.0.0:8080".parse().expect("addr")),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            http_base("192.168.1.5:81".parse().expect("addr")),
            "http://192.168.1.5:81"
        );
    }

    #[test]
    fn only_the_engines_report_files_open_a_window() {
        let base = "http://127.0.0.1:8080";
        let url = |u: &str| Url::parse(u).expect("url");
        assert!(is_report_file(
            base,
            &url("http://127.0.0.1:8080/api/report/7/print?token=abc")
        ));
        assert!(is_report_file(
            base,
            &url("http://127.0.0.1:8080/api/report/7/pdf")
        ));
        assert!(!is_report_file(
            base,
            &url("http://127.0.0.1:8081/api/report/7/pdf")
        ));
        assert!(!is_report_file(
            base,
            &url("http://127.0.0.1:8080/api/login")
        ));
        assert!(!is_report_file(
            base,
            &url("https://example.com/api/report/7/pdf")
        ));
    }
}
