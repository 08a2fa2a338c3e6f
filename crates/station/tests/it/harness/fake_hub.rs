//! A scripted HTTP/1.1 server on a loopback port, for what a real Orthanc will not do on
//! demand: answer 409, 429 or 503 with Retry-After, list only some instances, never answer,
//! or show us the exact request (headers, framing, credentials) the client sent.
//! One reply per connection, in order; when the script is used up, the port closes.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub enum Reply {
    /// Status line text (e.g. "409 Conflict"), extra header lines, and a JSON body.
    Json(&'static str, Vec<String>, String),
    /// Read the request, then say nothing for this long before closing.
    Stall(Duration),
    /// Answer 200 with this JSON body and keep the connection open (HTTP keep-alive); the next
    /// request on it is read and the connection closed unanswered, as a hub does whose
    /// keep-alive timeout runs out just as that request arrives. The next script entry
    /// answers on a new connection.
    KeepAlive(String),
}

/// One request as received: the request line, headers (names lower-cased), decoded body.
#[derive(Debug, Clone)]
pub struct Captured {
    pub request_line: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Captured {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

pub struct FakeHub {
    pub port: u16,
    pub requests: Arc<Mutex<Vec<Captured>>>,
}

impl FakeHub {
    pub fn start(script: Vec<Reply>) -> FakeHub {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind fake hub");
        let port = listener.local_addr().expect("addr").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for reply in script {
                let Ok((stream, _)) = listener.accept() else {
                    return;
                };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
                let mut reader = BufReader::new(stream);
                let Some(request) = read_request(&mut reader) else {
                    continue;
                };
                seen.lock().expect("requests").push(request);
                let mut stream = reader.into_inner();
                match reply {
                    Reply::Json(status, headers, body) => {
                        let mut head = format!(
                            "HTTP/1.1 {status}\r\nContent-Type: application/dicom+json\r\n\
                             Content-Length: {}\r\nConnection: close\r\n",
                            body.len()
                        );
                        for h in headers {
                            head.push_str(&h);
                            head.push_str("\r\n");
                        }
                        head.push_str("\r\n");
                        let _ = stream.write_all(head.as_bytes());
                        let _ = stream.write_all(body.as_bytes());
                    }
                    Reply::Stall(pause) => std::thread::sleep(pause),
                    Reply::KeepAlive(body) => {
                        let head = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: application/dicom+json\r\n\
                             Content-Length: {}\r\n\r\n",
                            body.len()
                        );
                        let _ = stream.write_all(head.as_bytes());
                        let _ = stream.write_all(body.as_bytes());
                        let _ = read_request(&mut BufReader::new(stream));
                    }
                }
            }
        });
        FakeHub { port, requests }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/dicom-web", self.port)
    }

    pub fn requests(&self) -> Vec<Captured> {
        self.requests.lock().expect("requests").clone()
    }
}

/// A request with a Content-Length or a chunked body; `None` if the peer went away.
fn read_request(reader: &mut impl BufRead) -> Option<Captured> {
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let find = |n: &str| headers.iter().find(|(h, _)| h == n).map(|(_, v)| v.clone());
    let mut body = Vec::new();
    if let Some(len) = find("content-length") {
        let len: usize = len.parse().ok()?;
        body.resize(len, 0);
        reader.read_exact(&mut body).ok()?;
    } else if find("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    }
    Some(Captured {
        request_line: request_line.trim_end().to_string(),
        headers,
        body,
    })
}

/// A STOW-RS response dataset: `stored` (UID, optional Warning Reason) and `failed`
/// (UID, Failure Reason), as DICOM JSON.
pub fn stow_response(stored: &[(&str, Option<u16>)], failed: &[(&str, u16)]) -> String {
    let referenced: Vec<_> = stored
        .iter()
        .map(|(uid, warning)| {
            let mut item = serde_json::json!({ "00081155": { "vr": "UI", "Value": [uid] } });
            if let Some(w) = warning {
                item["00081196"] = serde_json::json!({ "vr": "US", "Value": [w] });
            }
            item
        })
        .collect();
    let failed: Vec<_> = failed
        .iter()
        .map(|(uid, reason)| {
            serde_json::json!({
                "00081155": { "vr": "UI", "Value": [uid] },
                "00081197": { "vr": "US", "Value": [reason] }
            })
        })
        .collect();
    serde_json::json!({
        "00081199": { "vr": "SQ", "Value": referenced },
        "00081198": { "vr": "SQ", "Value": failed }
    })
    .to_string()
}
