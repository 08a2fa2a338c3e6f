//! What a browser is told by every answer (a content policy fitted to the UI, no framing by
//! other sites, no MIME sniffing, no referrer), the host names the station answers to (a page
//! elsewhere that points its own name at the station is refused: DNS rebinding), and a login
//! only as JSON. Raw HTTP/1.1 over loopback, so the `Host` is exactly what a browser would send.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::harness::*;

/// Sends `request` (CRLF lines, `Connection: close`) and returns the status and the headers
/// (lowercase names) of the answer.
fn raw(port: u16, request: &str) -> (u16, Vec<(String, String)>, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    stream.write_all(request.as_bytes()).expect("send");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).expect("read");
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, body.to_owned())
}

fn get(port: u16, path: &str, host: &str) -> (u16, Vec<(String, String)>, String) {
    raw(
        port,
        &format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
    )
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn every_answer_carries_the_security_headers_and_a_forged_host_is_refused() {
    let scratch = Scratch::new();
    let station = Station::start(
        scratch.path(),
        &Options::default().tweak(|c| c.http.allowed_hosts = vec!["station.clinic.lan".into()]),
    );
    let port = station.http_port;
    let here = format!("127.0.0.1:{port}");

    // The UI, the OpenAPI document, a JSON refusal and the health check all say the same.
    for path in [
        "/",
        "/studies",
        "/api/openapi.json",
        "/api/nope",
        "/healthz",
    ] {
        let (status, headers, _) = get(port, path, &here);
        assert!(status > 0, "{path}: no answer");
        let csp = header(&headers, "content-security-policy")
            .unwrap_or_else(|| panic!("{path}: no CSP in {headers:?}"));
        for directive in [
            "default-src 'self'",
            "script-src 'self' 'wasm-unsafe-eval'",
            "img-src 'self' data: blob:",
            "frame-ancestors 'none'",
            "object-src 'none'",
        ] {
            assert!(csp.contains(directive), "{path}: {directive} not in {csp}");
        }
        assert!(!csp.contains("unsafe-eval'") || csp.contains("wasm-unsafe-eval"));
        assert_eq!(header(&headers, "x-content-type-options"), Some("nosniff"));
        assert_eq!(header(&headers, "referrer-policy"), Some("no-referrer"));
    }

    // A clinic browser reaches the station by its address, its name, or a configured name.
    for host in [
        here.clone(),
        format!("localhost:{port}"),
        format!("station.clinic.lan:{port}"),
        format!("[::1]:{port}"),
    ] {
        let (status, _, body) = get(port, "/api/openapi.json", &host);
        assert_eq!(status, 200, "Host {host}: {body}");
    }
    // A page elsewhere whose name now points at the station: refused, with the headers.
    for path in ["/", "/api/openapi.json"] {
        let (status, headers, body) = get(port, path, &format!("rebind.example:{port}"));
        assert_eq!(status, 403, "{path}: {body}");
        assert!(body.contains("forbidden"), "{body}");
        assert!(header(&headers, "content-security-policy").is_some());
    }
    let login = r#"{"username":"admin","password":"x"}"#;
    let (status, _, _) = raw(
        port,
        &format!(
            "POST /api/login HTTP/1.1\r\nHost: rebind.example\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{login}",
            login.len()
        ),
    );
    assert_eq!(status, 403, "a login through a rebound name");
    // The center's monitoring may use a name of its own: health carries no patient data.
    let (status, _, _) = get(port, "/healthz", "monitor.center.example");
    assert_eq!(status, 200);

    // A login only as JSON: a form another site posts is refused before any password check.
    let form = format!("username=admin&password={ADMIN_PASSWORD}");
    let (status, _, body) = raw(
        port,
        &format!(
            "POST /api/login HTTP/1.1\r\nHost: {here}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{form}",
            form.len()
        ),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("JSON"), "{body}");
    // The same login as JSON works.
    let client = Client::new(&station);
    client.admin();
}
