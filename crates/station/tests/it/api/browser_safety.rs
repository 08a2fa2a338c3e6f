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

fn post(
    port: u16,
    op: &str,
    extra_headers: &str,
    body: &str,
) -> (u16, Vec<(String, String)>, String) {
    raw(
        port,
        &format!(
            "POST /api/{op} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra_headers}\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

#[test]
fn a_browser_session_is_an_httponly_cookie_and_a_token_in_a_url_is_refused() {
    let scratch = Scratch::new();
    let station = Station::start(scratch.path(), &Options::default());
    let port = station.http_port;
    let here = format!("127.0.0.1:{port}");

    let login = format!(r#"{{"username":"admin","password":"{ADMIN_PASSWORD}"}}"#);
    let (status, headers, body) = post(port, "login", "Content-Type: application/json\r\n", &login);
    assert_eq!(status, 200, "{body}");
    let set_cookie = header(&headers, "set-cookie").expect("login sets the session cookie");
    for part in ["station_session=", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set_cookie.contains(part), "{part} not in {set_cookie}");
    }
    let cookie = set_cookie.split(';').next().expect("name=value").to_owned();
    let token = cookie.trim_start_matches("station_session=").to_owned();

    // The cookie is the browser's session: its calls, files and event stream.
    let with_cookie = format!("Cookie: {cookie}\r\n");
    let json_cookie = format!("{with_cookie}Content-Type: application/json\r\n");
    let (status, _, body) = post(port, "me", &json_cookie, "{}");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"admin\""), "{body}");
    // A request is a JSON object, or no body at all (`{}`), as the OpenAPI document says.
    for (request, want) in [("", 200), ("\t", 400), ("null", 400), ("[]", 400)] {
        let (status, _, body) = post(port, "me", &json_cookie, request);
        assert_eq!(status, want, "{request:?}: {body}");
    }
    let (status, _, body) = raw(
        port,
        &format!(
            "GET /api/log.txt HTTP/1.1\r\nHost: {here}\r\n{with_cookie}Connection: close\r\n\r\n"
        ),
    );
    assert_eq!(status, 200, "{body}");
    // A call on the cookie that is not JSON (what a form elsewhere could send) is refused.
    let (status, _, _) = post(
        port,
        "me",
        &format!("{with_cookie}Content-Type: text/plain\r\n"),
        "{}",
    );
    assert_eq!(status, 400);

    // The old `?token=`: refused everywhere, even with a live session's token.
    for path in [
        format!("/api/log.txt?token={token}"),
        format!("/api/events?token={token}"),
        format!("/api/preview/1.2.3.png?token={token}"),
        format!("/dicom-web/studies?token={token}"),
    ] {
        let (status, _, body) = get(port, &path, &here);
        assert_eq!(status, 401, "{path}: {body}");
        assert!(body.contains("网址"), "{path}: {body}");
    }

    // The desktop window's file key reads files, and nothing else, while its session lives.
    let client = Client::new(&station);
    let key = client.ok(&token, "file_key", serde_json::json!({}))["key"]
        .as_str()
        .expect("a key")
        .to_owned();
    assert!(!key.contains(&token));
    let (status, _, body) = get(port, &format!("/api/log.txt?key={key}"), &here);
    assert_eq!(status, 200, "{body}");
    let (status, _, _) = get(port, "/api/log.txt?key=fk_forged", &here);
    assert_eq!(status, 401);
    let (status, _, _) = get(port, &format!("/dicom-web/studies?key={key}"), &here);
    assert_eq!(status, 401, "a file key is not a DICOMweb login");

    // Logging out ends the session and tells the browser to drop the cookie.
    let (status, headers, _) = post(port, "logout", &json_cookie, "{}");
    assert_eq!(status, 200);
    assert!(header(&headers, "set-cookie").is_some_and(|c| c.contains("Max-Age=0")));
    let (status, _, _) = post(port, "me", &json_cookie, "{}");
    assert_eq!(status, 401);
    let (status, _, _) = get(port, &format!("/api/log.txt?key={key}"), &here);
    assert_eq!(status, 401, "the file key ended with its session");
}
