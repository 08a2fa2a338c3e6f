//! The diagnostic center ("hub") over standard DICOMweb (PS3.18): STOW-RS to send, QIDO-RS to
//! verify what the hub holds. Built on reqwest directly rather than the young `dicom-web` crate,
//! so that timeouts, TLS and the bodies of error responses stay under our control.
//!
//! Must never: log a credential, hold a whole study in memory, or take an HTTP status as proof
//! of storage (only the per-instance lists in the response body count).

mod dicom_json;
pub mod qido;
pub mod stow;
pub mod sync;

use std::time::Duration;

use reqwest::{RequestBuilder, StatusCode};

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// Worth retrying later: no connection, a timeout, 408, 429, 5xx.
    #[error("hub unavailable: {message}")]
    Transient {
        message: String,
        retry_after: Option<Duration>,
    },
    /// Retrying the same request will not help: a person must look (wrong URL, refused auth…).
    #[error("hub refused the request: HTTP {status}: {message}")]
    Permanent { status: u16, message: String },
    #[error("cannot read {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid hub configuration: {0}")]
    Config(String),
}

impl UpstreamError {
    pub fn is_transient(&self) -> bool {
        matches!(self, UpstreamError::Transient { .. })
    }
}

/// How the station proves who it is to the hub.
#[derive(Clone, Default)]
pub enum Auth {
    #[default]
    None,
    Basic {
        user: String,
        password: String,
    },
    Bearer(String),
}

impl std::fmt::Debug for Auth {
    /// Secrets never reach a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Basic { user, .. } => write!(f, "Basic({user}, ***)"),
            Auth::Bearer(_) => f.write_str("Bearer(***)"),
        }
    }
}

/// One hub's DICOMweb root, e.g. `http://hub:8042/dicom-web`.
#[derive(Debug, Clone)]
pub struct Hub {
    client: reqwest::Client,
    base: String,
    auth: Auth,
}

impl Hub {
    /// `timeout` bounds each whole request; `connect_timeout` fails fast when the link is down.
    pub fn new(base_url: &str, auth: Auth, timeout: Duration) -> Result<Hub, UpstreamError> {
        let parsed = reqwest::Url::parse(base_url)
            .map_err(|e| UpstreamError::Config(format!("url {base_url:?}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(UpstreamError::Config(format!(
                "url {base_url:?}: must be http or https"
            )));
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(10).min(timeout))
            .user_agent(concat!("clinic-station/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| UpstreamError::Config(format!("http client: {e}")))?;
        Ok(Hub {
            client,
            base: base_url.trim_end_matches('/').to_string(),
            auth,
        })
    }

    /// Sends `request` with our credentials and reads the whole (small, JSON) answer. Statuses
    /// `wanted` accepts come back with their body; others become a classified error.
    async fn exchange(
        &self,
        request: RequestBuilder,
        wanted: impl Fn(StatusCode) -> bool,
    ) -> Result<(StatusCode, String), UpstreamError> {
        let response = self
            .authorize(request)
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status();
        let wait = retry_after(response.headers());
        let body = response.text().await.map_err(transport_error)?;
        if !wanted(status) {
            return Err(status_error(status, wait, &body));
        }
        Ok((status, body))
    }

    fn authorize(&self, request: RequestBuilder) -> RequestBuilder {
        match &self.auth {
            Auth::None => request,
            Auth::Basic { user, password } => request.basic_auth(user, Some(password)),
            Auth::Bearer(token) => request.bearer_auth(token),
        }
    }
}

/// A request that never got a response: the link, not the hub, decided.
fn transport_error(e: reqwest::Error) -> UpstreamError {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "connection failed"
    };
    // Without the URL: it may carry credentials.
    UpstreamError::Transient {
        message: format!("{kind}: {}", e.without_url()),
        retry_after: None,
    }
}

/// Classifies a response the hub gave but that is not a success.
fn status_error(status: StatusCode, retry_after: Option<Duration>, body: &str) -> UpstreamError {
    let message = format!(
        "{}{}",
        status.canonical_reason().unwrap_or(""),
        if body.trim().is_empty() {
            String::new()
        } else {
            format!(": {}", body.trim().chars().take(300).collect::<String>())
        }
    );
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

/// Retry-After in seconds (RFC 9110 §10.2.3); the HTTP-date form is rare from hubs and ignored.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}
