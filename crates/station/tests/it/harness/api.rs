//! A blocking client of one station's HTTP API, as the UI uses it: `POST /api/{op}` with a
//! bearer token, logins and users, plain `GET`s, and the live event stream (`GET /api/events`,
//! server-sent events).
//!
//! Never retries or waits out a refusal: what the station answers is what the test sees.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::station::{Station, ADMIN_PASSWORD};

/// One answer: status, JSON body and the `Retry-After` header.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub retry_after: Option<String>,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
    pub fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or("")
    }
}

/// A blocking HTTP client of one station's API.
pub struct Client {
    base: String,
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
}

/// An open `GET /api/events` stream.
pub struct EventStream {
    response: reqwest::Response,
    buffer: String,
}

impl Client {
    pub fn new(station: &Station) -> Client {
        Client::on_port(station.http_port)
    }

    /// A client of whatever station serves HTTP on this loopback port.
    pub fn on_port(port: u16) -> Client {
        Client::from_address(port, None, &[])
    }

    /// A client at another computer: its connections leave from `local` (a loopback address
    /// such as 127.0.0.2), so the station sees a different peer; every request carries
    /// `headers` (e.g. a forged `X-Forwarded-For`).
    pub fn from_address(
        port: u16,
        local: Option<std::net::IpAddr>,
        headers: &[(&'static str, &'static str)],
    ) -> Client {
        let mut default_headers = reqwest::header::HeaderMap::new();
        for (name, value) in headers {
            default_headers.insert(*name, reqwest::header::HeaderValue::from_static(value));
        }
        Client {
            base: format!("http://127.0.0.1:{port}"),
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime"),
            http: reqwest::Client::builder()
                .local_address(local)
                .default_headers(default_headers)
                .build()
                .expect("HTTP client"),
        }
    }

    /// `POST /api/{op}` with `body`, as the holder of `token`, messages in `lang`.
    pub fn call_lang(&self, token: Option<&str>, op: &str, body: Value, lang: &str) -> Reply {
        self.rt.block_on(async {
            let mut req = self
                .http
                .post(format!("{}/api/{op}", self.base))
                .header("Accept-Language", lang)
                .timeout(Duration::from_secs(30))
                .header("Content-Type", "application/json")
                .body(body.to_string());
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let resp = req
                .send()
                .await
                .unwrap_or_else(|e| panic!("POST {op}: {e}"));
            let status = resp.status().as_u16();
            let retry_after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(String::from);
            let text = resp.text().await.expect("reading the answer");
            let body = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{op} answered {status} with non-JSON ({e}): {text}"));
            Reply {
                status,
                body,
                retry_after,
            }
        })
    }

    pub fn call(&self, token: Option<&str>, op: &str, body: Value) -> Reply {
        self.call_lang(token, op, body, "zh-CN")
    }

    /// Calls `op` and expects success.
    pub fn ok(&self, token: &str, op: &str, body: Value) -> Value {
        let r = self.call(Some(token), op, body);
        assert_eq!(r.status, 200, "{op}: {r:?}");
        r.body
    }

    pub fn login(&self, username: &str, password: &str) -> String {
        let r = self.call(
            None,
            "login",
            json!({ "username": username, "password": password }),
        );
        assert_eq!(r.status, 200, "login {username}: {r:?}");
        r.body["token"].as_str().expect("token").to_owned()
    }

    pub fn admin(&self) -> String {
        self.login("admin", ADMIN_PASSWORD)
    }

    /// Creates a user with `role` (password `"{username}-pw-1"`) and logs them in.
    pub fn user(&self, admin: &str, username: &str, role: &str) -> String {
        let password = format!("{username}-pw-1");
        self.ok(
            admin,
            "user_create",
            json!({ "username": username, "display_name": username, "role": role, "password": password }),
        );
        self.login(username, &password)
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        let (status, _, body) = self.get_bytes(path);
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    /// `GET path` as the holder of `token` (a bearer header: tokens never go in URLs).
    pub fn get_as(&self, token: &str, path: &str) -> (u16, String) {
        let (status, _, body) = self.fetch(path, Some(token), None);
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    /// `GET path`: status, `Content-Type` and the body's bytes.
    pub fn get_bytes(&self, path: &str) -> (u16, String, Vec<u8>) {
        self.fetch(path, None, None)
    }

    /// As [`Client::get_bytes`], as the holder of `token`.
    pub fn get_bytes_as(&self, token: &str, path: &str) -> (u16, String, Vec<u8>) {
        self.fetch(path, Some(token), None)
    }

    /// GET with an Accept header, as a DICOMweb client asking for one image type.
    pub fn get_bytes_accepting(
        &self,
        token: &str,
        path: &str,
        accept: &str,
    ) -> (u16, String, Vec<u8>) {
        self.fetch(path, Some(token), Some(accept))
    }

    fn fetch(
        &self,
        path: &str,
        token: Option<&str>,
        accept: Option<&str>,
    ) -> (u16, String, Vec<u8>) {
        self.rt.block_on(async {
            let mut request = self.http.get(format!("{}{path}", self.base));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            if let Some(accept) = accept {
                request = request.header("accept", accept);
            }
            let resp = request
                .timeout(Duration::from_secs(60))
                .send()
                .await
                .unwrap_or_else(|e| panic!("GET {path}: {e}"));
            let status = resp.status().as_u16();
            let content_type = resp
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            let body = resp.bytes().await.expect("body").to_vec();
            (status, content_type, body)
        })
    }

    /// Opens the event stream; subscribed once this returns.
    pub fn events(&self, token: &str) -> EventStream {
        let response = self.rt.block_on(async {
            self.http
                .get(format!("{}/api/events", self.base))
                .bearer_auth(token)
                .send()
                .await
                .expect("GET /api/events")
        });
        assert_eq!(response.status().as_u16(), 200, "event stream refused");
        EventStream {
            response,
            buffer: String::new(),
        }
    }

    /// The first event on `stream` that `matches`, within `timeout`.
    pub fn next_event(
        &self,
        stream: &mut EventStream,
        timeout: Duration,
        matches: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        self.rt.block_on(async {
            for _ in 0..10_000 {
                while let Some(end) = stream.buffer.find('\n') {
                    let line: String = stream.buffer.drain(..=end).collect();
                    if let Some(data) = line.trim_end().strip_prefix("data:") {
                        let event: Value = serde_json::from_str(data.trim()).expect("event JSON");
                        if matches(&event) {
                            return event;
                        }
                    }
                }
                let left = deadline.saturating_duration_since(Instant::now());
                match tokio::time::timeout(left, stream.response.chunk()).await {
                    Ok(Ok(Some(bytes))) => stream.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                    Ok(Ok(None)) => panic!("event stream ended"),
                    Ok(Err(e)) => panic!("event stream failed: {e}"),
                    Err(_) => break,
                }
            }
            panic!("no matching event within {timeout:?}");
        })
    }
}

impl Client {
    /// Whether the server ends `stream` within `timeout` (events before the end are skipped).
    pub fn stream_ends(&self, stream: &mut EventStream, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        self.rt.block_on(async {
            for _ in 0..10_000 {
                let left = deadline.saturating_duration_since(Instant::now());
                match tokio::time::timeout(left, stream.response.chunk()).await {
                    Ok(Ok(Some(_))) => continue,
                    Ok(Ok(None)) | Ok(Err(_)) => return true,
                    Err(_) => return false,
                }
            }
            false
        })
    }
}

/// Every entry of the audit trail matching `filter`, as the admin browses it.
pub fn audit(client: &Client, admin: &str, filter: Value) -> Vec<Value> {
    let page = client.ok(admin, "audit_list", filter);
    page["entries"].as_array().expect("entries").clone()
}

/// The update the Settings page sends: the editable sections as shown, secrets as `***`.
pub fn settings_as_shown(client: &Client, token: &str) -> Value {
    let shown = client.ok(token, "settings_get", json!({}));
    let c = &shown["config"];
    json!({
        "allowed_callers": c["dicom"]["allowed_callers"],
        "quiet_period_secs": c["studies"]["quiet_period_secs"],
        "hold_unmatched": c["studies"]["hold_unmatched"],
        "send_while_receiving": c["studies"]["send_while_receiving"],
        "watch": c["watch"],
        "destinations": c["destinations"],
        "targets": c["reports"]["targets"],
    })
}
