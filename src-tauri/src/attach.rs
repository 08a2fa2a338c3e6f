//! Finding a station service already running on this PC (the packaged `clinic-station`
//! service, or any `station serve`), so the desktop app opens its web UI instead of starting a
//! second engine. The service may run as another user with a data directory this user cannot
//! read, so it is found by the HTTP address the configuration gives (`[http] bind`/`port`), on
//! loopback when it listens everywhere, and recognised by its own OpenAPI document's title: a
//! port held by some other program is never taken for a station.
//!
//! Must never: send anything but a plain `GET` of public paths (no login, no patient data), wait
//! without a deadline, or attach over TLS (the window would have to trust a certificate it
//! cannot check here: with `[http] tls` on, a browser is the way in).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use station::config::{Config, TlsMode};

/// How long one probe may take: the service is on this PC.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// What the station's `/api/openapi.json` calls itself (crates/station/src/http/openapi.rs).
const STATION_TITLE: &str = "Clinic Imaging Station API";
/// The largest answer read: the OpenAPI document, with room to grow.
const MAX_ANSWER: u64 = 8 << 20;

/// The base URL (`http://127.0.0.1:8080`) a station configured like this would answer on, or
/// `None` when it speaks TLS.
pub fn service_url(config: &Config) -> Option<String> {
    if config.http.tls != TlsMode::Off {
        return None;
    }
    let ip = config
        .http
        .bind
        .parse()
        .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
    Some(crate::window::http_base(SocketAddr::new(
        ip,
        config.http.port,
    )))
}

/// Whether a station answers at `base` (one probe, bounded by [`PROBE_TIMEOUT`]).
pub fn is_station(base: &str) -> bool {
    match get(base, "/api/openapi.json") {
        Ok((200, body)) => serde_json::from_str::<serde_json::Value>(&body)
            .is_ok_and(|doc| doc["info"]["title"] == STATION_TITLE),
        Ok(_) => false,
        Err(e) => {
            tracing::debug!(base, error = %e, "no station answers");
            false
        }
    }
}

/// Waits up to `patience` for a station to answer at `base` (one that is still starting).
pub fn wait_for_station(base: &str, patience: Duration) -> bool {
    let deadline = Instant::now() + patience;
    loop {
        if is_station(base) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// One `GET` over HTTP/1.0 (the answer ends when the connection closes: no chunking to undo).
fn get(base: &str, path: &str) -> std::io::Result<(u16, String)> {
    let authority = base.strip_prefix("http://").unwrap_or(base);
    let addr: SocketAddr = authority
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::other("no address"))?;
    let mut stream = TcpStream::connect_timeout(&addr, PROBE_TIMEOUT)?;
    stream.set_read_timeout(Some(PROBE_TIMEOUT))?;
    stream.set_write_timeout(Some(PROBE_TIMEOUT))?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {authority}\r\nAccept: application/json\r\n\r\n"
    )?;
    let mut answer = Vec::new();
    stream.take(MAX_ANSWER).read_to_end(&mut answer)?;
    Ok(parse_answer(&answer))
}

/// The status code and body of an HTTP/1.x answer (status 0 when it is not one).
fn parse_answer(answer: &[u8]) -> (u16, String) {
    let text = String::from_utf8_lossy(answer);
    let status = text
        .strip_prefix("HTTP/1.")
        .and_then(|rest| rest.get(2..5))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default();
    (status, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_read_as_status_and_body() {
        let (status, body) =
            parse_answer(b"HTTP/1.0 200 OK\r\ncontent-type: application/json\r\n\r\n{\"a\":1}");
        assert_eq!((status, body.as_str()), (200, "{\"a\":1}"));
        assert_eq!(parse_answer(b"SSH-2.0-OpenSSH_9.2\r\n").0, 0);
        assert_eq!(parse_answer(b"").0, 0);
    }

    #[test]
    fn a_port_where_nothing_listens_is_no_station() {
        // Bound then dropped: nothing listens there any more.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        assert!(!is_station(&format!("http://127.0.0.1:{port}")));
    }

    #[test]
    fn another_program_on_the_port_is_no_station() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listener");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let other = std::thread::spawn(move || {
            if let Ok((mut conn, _)) = listener.accept() {
                let mut request = [0u8; 1024];
                let _ = conn.read(&mut request);
                let _ = conn.write_all(b"HTTP/1.0 200 OK\r\n\r\n{\"openapi\":\"3.1.0\",\"info\":{\"title\":\"Something else\"}}");
            }
        });
        assert!(!is_station(&base));
        other.join().expect("the other program");
    }
}
