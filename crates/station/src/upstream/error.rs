//! What can go wrong talking to a hub, classified for the caller that decides whether to retry:
//! *transient* (the link or a busy hub: retry later, honouring Retry-After) or *permanent*
//! (the hub refused the request itself: retrying the same request will not help).
//!
//! Must never: put a credential or a URL (which may carry one) into an error message, or call
//! a refusal transient (that would hammer the hub) or a link failure permanent (that would
//! give up on an instance a later attempt would deliver).

use std::time::{Duration, SystemTime};

use reqwest::StatusCode;

/// A failed exchange with a hub, classified for retrying (see the module comment).
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// Worth retrying later: no connection, TLS handshake failures, timeouts, a truncated or
    /// unreadable answer, HTTP 408, 429 and 5xx. `retry_after` is the hub's Retry-After.
    #[error("hub unavailable: {message}")]
    Transient {
        /// What failed, without URL or credential.
        message: String,
        /// The wait the hub asked for; `None` when it did not send Retry-After.
        retry_after: Option<Duration>,
    },
    /// Retrying the same request will not help: a person must look (wrong URL, refused
    /// credentials, a request the hub rejects). `status` is the HTTP status the hub answered.
    #[error("hub refused the request: HTTP {status}: {message}")]
    Permanent {
        /// The HTTP status the hub answered; 0 when the refusal sums up per-instance refusals.
        status: u16,
        /// What the hub said (start of its response body) or why the request was refused.
        message: String,
    },
    /// A local file to send cannot be read: nothing was sent.
    #[error("cannot read {path}: {source}")]
    File {
        /// The instance file in the store.
        path: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The hub's settings cannot work (bad URL, unreadable CA file, not a UID…): nothing was sent.
    #[error("invalid hub configuration: {0}")]
    Config(String),
}

impl UpstreamError {
    /// Retry later (with backoff, at the earliest after [`UpstreamError::retry_after`]).
    pub fn is_transient(&self) -> bool {
        matches!(self, UpstreamError::Transient { .. })
    }

    /// How long the hub asked us to wait, when it said so.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            UpstreamError::Transient { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// How a TLS failure starts its message (`store::HubProblem::of` reads these words).
const TLS_CLIENT_REFUSED: &str = "TLS: the hub refused our client certificate (or wants one): ";
const TLS_UNTRUSTED: &str = "TLS: the hub's certificate is not trusted (set the hub's CA file?): ";

/// A request that never got a complete response: the link (or our own body stream) failed.
/// Always transient; the message names a TLS trust failure plainly, since that one needs a
/// person to fix the CA setting even though retrying is harmless.
pub(super) fn transport_error(e: reqwest::Error) -> UpstreamError {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_request() {
        "request failed"
    } else {
        "connection failed"
    };
    // Without the URL: it may carry credentials. The causes (io, TLS, hyper) do not name it.
    let e = e.without_url();
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(&e);
    while let Some(err) = source {
        let text = err.to_string();
        if !causes.contains(&text) {
            causes.push(text);
        }
        source = err.source();
    }
    let detail = causes.join(": ");
    let lower = detail.to_ascii_lowercase();
    let tls = if !lower.contains("certificate") {
        ""
    } else if lower.contains("received fatal alert") {
        // The hub's alert about *our* side: no client certificate, or one it does not accept.
        TLS_CLIENT_REFUSED
    } else {
        TLS_UNTRUSTED
    };
    UpstreamError::Transient {
        message: format!(
            "{tls}{kind}: {}",
            if detail.is_empty() {
                e.to_string()
            } else {
                detail
            }
        ),
        retry_after: None,
    }
}

/// Classifies a response the hub gave that is not what the request wanted.
pub(super) fn status_error(
    status: StatusCode,
    retry_after: Option<Duration>,
    body: &str,
) -> UpstreamError {
    let reason = status.canonical_reason().unwrap_or("");
    let said = body_summary(body);
    let message = if said.is_empty() {
        reason.to_string()
    } else {
        format!("{reason}: {said}")
    };
    if status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
    {
        UpstreamError::Transient {
            message: format!("HTTP {}: {message}", status.as_u16()),
            retry_after,
        }
    } else {
        UpstreamError::Permanent {
            status: status.as_u16(),
            message,
        }
    }
}

/// What an error body says, short: the message field of a JSON error (Orthanc's `Message`,
/// the common `message` / `error`), else the start of the text on one line.
fn body_summary(body: &str) -> String {
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(body) {
        for key in ["Message", "message", "error", "OrthancError", "Details"] {
            if let Some(text) = map.get(key).and_then(|v| v.as_str()) {
                return text.chars().take(300).collect();
            }
        }
    }
    body.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(300)
        .collect()
}

/// Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date (a date in the past is 0).
pub(super) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    parse_retry_after(
        headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?,
        SystemTime::now(),
    )
}

fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now = httpdate::parse_http_date("Sat, 28 Nov 2026 12:00:00 GMT").expect("date");
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Sat, 28 Nov 2026 12:01:30 GMT", now),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            parse_retry_after("Sat, 28 Nov 2026 11:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }

    #[test]
    fn statuses_are_classified_for_retrying() {
        let wait = Some(Duration::from_secs(3));
        for code in [408, 429, 500, 502, 503, 504] {
            let e = status_error(StatusCode::from_u16(code).expect("status"), wait, "");
            assert!(e.is_transient(), "{code}: {e}");
            assert_eq!(e.retry_after(), wait);
        }
        for code in [400, 401, 403, 404, 413, 415] {
            let e = status_error(StatusCode::from_u16(code).expect("status"), None, "");
            assert!(
                matches!(e, UpstreamError::Permanent { status, .. } if status == code),
                "{code}: {e}"
            );
        }
    }

    #[test]
    fn error_bodies_are_summarised() {
        let orthanc = r#"{ "HttpError" : "Not Found", "Message" : "Unknown resource" }"#;
        let e = status_error(StatusCode::NOT_FOUND, None, orthanc);
        assert_eq!(
            e.to_string(),
            "hub refused the request: HTTP 404: Not Found: Unknown resource"
        );
        let long = format!("<html>\n  <body>{}</body></html>", "x".repeat(1000));
        let e = status_error(StatusCode::FORBIDDEN, None, &long);
        assert!(e.to_string().len() < 400, "{e}");
        assert!(e.to_string().contains("Forbidden: <html> <body>xxx"), "{e}");
    }

    /// Each way a send fails reads back as the word the screens turn into a sentence
    /// (`store::HubProblem::of`): the link failures from real requests on loopback, the hub's
    /// answers from their statuses, the TLS ones from the words written above.
    #[test]
    fn every_failure_reads_back_as_what_it_means() {
        use crate::store::HubProblem;
        let of = |e: &UpstreamError| HubProblem::of(&e.to_string());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = closed.local_addr().expect("addr").port();
        drop(closed);
        let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let silent_port = silent.local_addr().expect("addr").port();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(300))
            .build()
            .expect("client");
        let fail = |url: String| {
            rt.block_on(async { client.get(url).send().await })
                .map(|_| ())
                .map_err(transport_error)
                .expect_err("no answer")
        };
        let refused = fail(format!("http://127.0.0.1:{port}/dicom-web"));
        assert_eq!(of(&refused), HubProblem::Refused, "{refused}");
        let slow = fail(format!("http://127.0.0.1:{silent_port}/dicom-web"));
        assert_eq!(of(&slow), HubProblem::Timeout, "{slow}");

        let status = |code: u16, body: &str| {
            of(&status_error(
                StatusCode::from_u16(code).expect("status"),
                None,
                body,
            ))
        };
        assert_eq!(status(401, ""), HubProblem::Unauthorized);
        assert_eq!(status(403, "timed out"), HubProblem::Forbidden);
        assert_eq!(
            status(404, r#"{"Message":"Unknown resource"}"#),
            HubProblem::NotFound
        );
        assert_eq!(status(413, ""), HubProblem::TooLarge);
        assert_eq!(status(429, ""), HubProblem::Busy);
        assert_eq!(status(503, ""), HubProblem::Busy);
        assert_eq!(status(500, ""), HubProblem::HubFailed);
        assert_eq!(status(502, "cannot connect"), HubProblem::HubFailed);
        assert_eq!(status(400, "certificate is not trusted"), HubProblem::Other);

        let transient = |message: String| UpstreamError::Transient {
            message,
            retry_after: None,
        };
        let tls = |prefix: &str| of(&transient(format!("{prefix}cannot connect: handshake")));
        assert_eq!(tls(TLS_CLIENT_REFUSED), HubProblem::TlsClientRefused);
        assert_eq!(tls(TLS_UNTRUSTED), HubProblem::TlsUntrusted);
        let dns = transient(
            "cannot connect: client error (Connect): dns error: failed to lookup address \
             information: Name or service not known"
                .into(),
        );
        assert_eq!(of(&dns), HubProblem::NameNotFound);
    }
}
