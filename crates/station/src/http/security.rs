//! What every answer says to the browser about itself, and which host names the station
//! answers to.
//!
//! - Security headers on every response: a Content-Security-Policy fitted to the built UI
//!   (scripts only from the station, WebAssembly image codecs, the viewer's decode worker,
//!   `data:`/`blob:` images, Element Plus's inline styles), `frame-ancestors 'none'` (no other
//!   page may frame the station; the report PDF may be framed by the station's own page),
//!   `nosniff`, and `Referrer-Policy: no-referrer`.
//! - The `Host` a request names must be an IP address, `localhost`, this computer's name
//!   (bare or `.local`) or one of `[http] allowed_hosts`: a web page on the internet that
//!   points a name it controls at the station's address (DNS rebinding) is refused, while a
//!   clinic browser typing the PC's IP or name gets in. The monitoring paths (`/healthz`,
//!   `/readyz`, `/metrics`) answer any name: they carry no patient data and the center's
//!   monitoring may use a name of its own.
//!
//! Must never: weaken a header a route set for itself, or trust a forwarding header.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use super::routes::{error_response, lang};
use crate::api::{ApiError, ErrorCode};

/// The policy of the built UI (checked against `ui/dist`: module scripts and the worker from
/// the station, codecs as `.wasm` assets fetched from it, inline `style` attributes).
pub(crate) const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
     worker-src 'self' blob:; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; \
     font-src 'self' data:; connect-src 'self'; media-src 'self' blob:; object-src 'none'; \
     frame-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// A report PDF is shown in an `<iframe>` of the station's own page, or of the desktop window
/// (its origins as in `routes::dicomweb_routes`), and in the browser's PDF viewer, which a
/// full policy would block: only who may frame it is said.
pub(crate) const CSP_FRAMED_BY_SELF: &str = "frame-ancestors 'self' tauri://localhost \
     http://tauri.localhost https://tauri.localhost";

/// Adds the headers to every answer (a route's own `Content-Security-Policy` is kept).
pub(crate) async fn headers(request: Request, next: Next) -> Response {
    let mut resp = next.run(request).await;
    let h = resp.headers_mut();
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(CSP));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    resp
}

/// The names, besides IP addresses, a request may give as its `Host` (lowercase).
pub(crate) struct AllowedHosts(Vec<String>);

impl AllowedHosts {
    pub(crate) fn new(configured: &[String]) -> AllowedHosts {
        let mut names = vec!["localhost".to_owned()];
        if let Some(me) = this_computer() {
            names.push(format!("{me}.local"));
            names.push(me);
        }
        names.extend(
            configured
                .iter()
                .map(|n| n.trim().trim_end_matches('.').to_lowercase()),
        );
        AllowedHosts(names)
    }

    /// The names, lowercase: `localhost`, this computer's (`.local`, bare), the configured ones.
    pub(crate) fn names(&self) -> &[String] {
        &self.0
    }

    /// Whether `host` (a `Host` header: `name`, `name:port`, `[v6]:port`) may be answered.
    pub(crate) fn allows(&self, host: &str) -> bool {
        let host = host.trim();
        let name = if let Some(rest) = host.strip_prefix('[') {
            // An IPv6 literal: `[::1]:8080`.
            return rest
                .split_once(']')
                .is_some_and(|(ip, _)| ip.parse::<std::net::Ipv6Addr>().is_ok());
        } else {
            host.rsplit_once(':').map_or(host, |(n, _)| n)
        };
        // A rebinding page always names its own domain; an address names no one.
        if name.parse::<std::net::Ipv4Addr>().is_ok() {
            return true;
        }
        let name = name.trim_end_matches('.').to_lowercase();
        self.0.contains(&name)
    }
}

/// This computer's name, lowercase (what a clinic browser types beside its IP).
fn this_computer() -> Option<String> {
    #[cfg(windows)]
    let name = std::env::var("COMPUTERNAME").ok();
    #[cfg(not(windows))]
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok();
    name.map(|n| n.trim().to_lowercase())
        .filter(|n| !n.is_empty())
}

/// Refuses a URL that carries a `token` (the old `?token=`): a URL stays in the browser's
/// history on a shared clinic PC, and in any log along the way.
pub(crate) async fn no_token_in_url(request: Request, next: Next) -> Response {
    let has_token = request.uri().query().is_some_and(|q| {
        q.split('&').any(|pair| {
            pair.split('=')
                .next()
                .is_some_and(|n| n.eq_ignore_ascii_case("token"))
        })
    });
    if !has_token {
        return next.run(request).await;
    }
    let err = ApiError::new(
        ErrorCode::Unauthenticated,
        "令牌不能放在网址中：浏览器用登录时的会话，脚本用 Authorization 请求头",
        "a token in a URL is not accepted: a browser uses its login session (a cookie), a \
         script the Authorization: Bearer header",
    );
    error_response(&err, lang(request.headers()))
}

/// Refuses a request whose `Host` is not one of ours (monitoring paths excepted).
pub(crate) async fn host(
    State(allowed): State<Arc<AllowedHosts>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let monitoring = matches!(path, "/healthz" | "/readyz" | "/metrics");
    // HTTP/1.0 clients may send no Host: they name no one either.
    let named = request
        .headers()
        .get(header::HOST)
        .map(|v| v.to_str().map(|h| allowed.allows(h)).unwrap_or(false));
    if monitoring || named != Some(false) {
        return next.run(request).await;
    }
    let err = ApiError::new(
        ErrorCode::Forbidden,
        "请用本机的 IP 地址或已配置的名称访问采集站",
        "this station answers only to its IP address, its computer name and [http] allowed_hosts",
    );
    error_response(&err, lang(request.headers()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_our_names_and_configured_names_are_allowed_others_not() {
        let allowed = AllowedHosts::new(&["Station.Clinic.LAN".to_owned()]);
        for ok in [
            "192.168.1.20:8080",
            "127.0.0.1",
            "[::1]:8080",
            "[fe80::1]",
            "localhost:8080",
            "station.clinic.lan:8080",
            "STATION.clinic.lan.",
        ] {
            assert!(allowed.allows(ok), "{ok}");
        }
        for refused in [
            "evil.example:8080",
            "localhost.evil.example",
            "192.168.1.20.evil.example",
            "[not-an-ip]:80",
            "",
        ] {
            assert!(!allowed.allows(refused), "{refused}");
        }
    }
}
