//! The main window: the built web UI (`tauri://localhost`), told where the engine's HTTP server
//! is (`window.__STATION_HTTP__`) for what IPC cannot carry (preview images, print views).
//!
//! Must never: give the page a way around the API's login (no token or session is injected).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use tauri::{AppHandle, Manager, WebviewUrl, WebviewWindowBuilder};

use crate::text::Lang;
use crate::Engine;

pub const MAIN: &str = "main";

pub fn create_main(app: &AppHandle) -> tauri::Result<()> {
    let http = http_base(app.state::<Engine>().http_addr);
    let script = format!(
        "window.__STATION_HTTP__ = {};",
        serde_json::Value::String(http)
    );
    WebviewWindowBuilder::new(app, MAIN, WebviewUrl::default())
        // Both names: the window list is read before anyone picks a language.
        .title(format!("{} · {}", Lang::Zh.app_name(), Lang::En.app_name()))
        .inner_size(1280.0, 800.0)
        .min_inner_size(960.0, 600.0)
        .initialization_script(&script)
        .build()?;
    Ok(())
}

/// The URL the window reaches the engine's HTTP server at: loopback when it listens on every
/// address.
fn http_base(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
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
}
