//! One hub's DICOMweb endpoint: the HTTP client (timeouts, TLS trust, client certificate) and
//! the credentials, shared by STOW-RS and QIDO-RS.
//!
//! Must never: log or format a credential (password, token, private key, userinfo in the URL),
//! accept a certificate the configured roots do not vouch for, or read an unbounded response
//! into memory.

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::{RequestBuilder, StatusCode};

use super::error::{retry_after, status_error, transport_error, UpstreamError};
use super::oauth2::{ClientCredentials, TokenSource};
use super::ratelimit::{kbit_to_bytes, RateLimit};
use crate::config::Destination;

/// Largest response body read (QIDO pages, STOW responses, error bodies); beyond it the answer
/// is treated as broken rather than held in memory.
const MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;

/// How the station proves who it is to the hub (besides an optional client certificate).
#[derive(Clone, Default)]
pub enum Auth {
    /// No `Authorization` header (a hub on a trusted network, or client certificate only).
    #[default]
    None,
    /// HTTP Basic (`Authorization: Basic …`, RFC 7617).
    Basic {
        /// The account name at the hub.
        user: String,
        /// Its password; empty when the destination sets only a user.
        password: String,
    },
    /// A static token sent as `Authorization: Bearer …`.
    Bearer(String),
    /// Tokens from an OAuth 2.0 token server (client credentials), renewed before they expire.
    OAuth2(TokenSource),
}

impl std::fmt::Debug for Auth {
    /// Secrets never reach a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Basic { user, .. } => write!(f, "Basic({user}, ***)"),
            Auth::Bearer(_) => f.write_str("Bearer(***)"),
            Auth::OAuth2(source) => write!(f, "OAuth2({source:?})"),
        }
    }
}

/// Everything about a hub besides its URL.
#[derive(Debug, Clone)]
pub struct HubOptions {
    /// The credentials sent with every request.
    pub auth: Auth,
    /// Bounds every request from start to the end of the response. A STOW-RS request gets
    /// more on top when `min_upload_bytes_per_sec` is set.
    pub timeout: Duration,
    /// Bounds establishing a connection (TCP and TLS): a link that is down fails fast.
    pub connect_timeout: Duration,
    /// The slowest upload rate still considered alive: a STOW-RS request of N bytes may take
    /// `timeout + N / rate`. `None`: `timeout` alone (size it for the largest batch).
    pub min_upload_bytes_per_sec: Option<u64>,
    /// PEM file of extra CA certificates trusted for this hub, besides the system's roots.
    pub extra_ca_file: Option<PathBuf>,
    /// PEM file with the station's client certificate (chain) and its private key, for hubs
    /// that require mutual TLS.
    pub client_identity_file: Option<PathBuf>,
    /// QIDO-RS results asked for per request (`limit`); pages continue with `offset`.
    pub qido_page_size: usize,
    /// Upload bandwidth allowed to this hub (shared by its parallel requests); `None`: unlimited.
    pub rate_limit: Option<RateLimit>,
}

impl Default for HubOptions {
    fn default() -> Self {
        HubOptions {
            auth: Auth::None,
            timeout: Duration::from_secs(300),
            connect_timeout: Duration::from_secs(10),
            min_upload_bytes_per_sec: None,
            extra_ca_file: None,
            client_identity_file: None,
            qido_page_size: 1000,
            rate_limit: None,
        }
    }
}

/// One hub's DICOMweb root, e.g. `http://hub:8042/dicom-web`. Cheap to clone (the connection
/// pool is shared).
#[derive(Clone)]
pub struct Hub {
    pub(super) client: reqwest::Client,
    pub(super) base: String,
    pub(super) options: HubOptions,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("base", &redacted_url(&self.base))
            .field("options", &self.options)
            .finish()
    }
}

/// The answer to a request: status, Retry-After and the (bounded) body text.
pub(super) struct Answer {
    pub status: StatusCode,
    pub retry_after: Option<Duration>,
    pub body: String,
}

impl Answer {
    /// This answer as a classified error (the caller decided it is not what it wanted).
    pub fn into_error(self) -> UpstreamError {
        status_error(self.status, self.retry_after, &self.body)
    }
}

impl Hub {
    /// A hub with `auth` whose requests each take at most `timeout`; other options default.
    pub fn new(base_url: &str, auth: Auth, timeout: Duration) -> Result<Hub, UpstreamError> {
        Hub::with_options(
            base_url,
            HubOptions {
                auth,
                timeout,
                connect_timeout: Duration::from_secs(10).min(timeout),
                ..HubOptions::default()
            },
        )
    }

    /// The hub a configured destination describes: its credentials, TLS trust, timeouts and
    /// upload limits.
    pub fn for_destination(dest: &Destination) -> Result<Hub, UpstreamError> {
        let auth = if let Some(o) = &dest.oauth2 {
            Auth::OAuth2(TokenSource::new(ClientCredentials {
                token_url: o.token_url.clone(),
                client_id: o.client_id.clone(),
                client_secret: o.client_secret.0.clone(),
                scope: o.scope.clone(),
            }))
        } else if let Some(token) = &dest.bearer_token {
            Auth::Bearer(token.0.clone())
        } else if let Some(user) = &dest.username {
            Auth::Basic {
                user: user.clone(),
                password: dest
                    .password
                    .as_ref()
                    .map(|p| p.0.clone())
                    .unwrap_or_default(),
            }
        } else {
            Auth::None
        };
        let schedule = dest
            .rate_schedule()
            .map_err(|e| UpstreamError::Config(e.to_string()))?;
        let timeout = Duration::from_secs(dest.timeout_secs);
        Hub::with_options(
            &dest.url,
            HubOptions {
                auth,
                timeout,
                connect_timeout: Duration::from_secs(10).min(timeout),
                min_upload_bytes_per_sec: dest.min_upload_kbit.map(kbit_to_bytes),
                extra_ca_file: dest.ca_file.clone(),
                client_identity_file: dest.client_identity_file.clone(),
                rate_limit: schedule.limits_anything().then(|| RateLimit::new(schedule)),
                ..HubOptions::default()
            },
        )
    }

    /// A hub at `base_url` (the DICOMweb root, http or https, no query) with `options`.
    /// `Config` error: the URL or a TLS file is unusable, or a timeout or page size is zero.
    pub fn with_options(base_url: &str, options: HubOptions) -> Result<Hub, UpstreamError> {
        let shown = redacted_url(base_url);
        let parsed = reqwest::Url::parse(base_url)
            .map_err(|e| UpstreamError::Config(format!("url {shown:?}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(UpstreamError::Config(format!(
                "url {shown:?}: must be http or https"
            )));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(UpstreamError::Config(format!(
                "url {shown:?}: the DICOMweb root takes no query or fragment"
            )));
        }
        if options.timeout.is_zero() || options.qido_page_size == 0 {
            return Err(UpstreamError::Config(
                "timeout and QIDO page size must be more than zero".into(),
            ));
        }
        let mut builder = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.connect_timeout.min(options.timeout))
            .tcp_keepalive(Duration::from_secs(30))
            // Hubs close idle keep-alive connections (Orthanc after 1 s). A request sent on one
            // just as it closes fails with no answer, and the link looked down when it was
            // not: so a connection idle for half a second is not reused. Back-to-back batches
            // still share one.
            .pool_idle_timeout(Duration::from_millis(500))
            .user_agent(concat!("clinic-station/", env!("CARGO_PKG_VERSION")));
        if let Some(path) = &options.extra_ca_file {
            let certs = reqwest::Certificate::from_pem_bundle(&read_pem(path)?)
                .map_err(|e| UpstreamError::Config(format!("CA file {}: {e}", path.display())))?;
            if certs.is_empty() {
                return Err(UpstreamError::Config(format!(
                    "CA file {}: no PEM certificate in it",
                    path.display()
                )));
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        if let Some(path) = &options.client_identity_file {
            // The error text of a key parser could quote key material: say only where.
            let identity = reqwest::Identity::from_pem(&read_pem(path)?).map_err(|_| {
                UpstreamError::Config(format!(
                    "client certificate file {}: needs a PEM certificate and its private key",
                    path.display()
                ))
            })?;
            builder = builder.identity(identity);
        }
        let client = builder
            .build()
            .map_err(|e| UpstreamError::Config(format!("http client: {e}")))?;
        Ok(Hub {
            client,
            base: base_url.trim_end_matches('/').to_string(),
            options,
        })
    }

    /// The same hub with a connection pool of its own, for use from another tokio runtime: a
    /// pooled connection is driven by the runtime that opened it, and stalls while that runtime
    /// is idle. Credentials (and their token cache) and the bandwidth limit stay shared.
    pub fn with_own_connections(&self) -> Result<Hub, UpstreamError> {
        Hub::with_options(&self.base, self.options.clone())
    }

    /// The DICOMweb root this hub was made with, credentials in it masked.
    pub fn base_url(&self) -> String {
        redacted_url(&self.base)
    }

    /// Sends `request` with our credentials and reads the answer, whatever its status. Only a
    /// request that got no complete answer is an error here (always transient).
    pub(super) async fn send(&self, request: RequestBuilder) -> Result<Answer, UpstreamError> {
        read_answer(self.open(request).await?).await
    }

    /// Sends `request` with our credentials; the response's body is still to be read.
    pub(super) async fn open(
        &self,
        request: RequestBuilder,
    ) -> Result<reqwest::Response, UpstreamError> {
        let request = match &self.options.auth {
            Auth::None => request,
            Auth::Basic { user, password } => request.basic_auth(user, Some(password)),
            Auth::Bearer(token) => request.bearer_auth(token),
            Auth::OAuth2(source) => request.bearer_auth(source.token(&self.client).await?),
        };
        let response = request.send().await.map_err(transport_error)?;
        if let (Auth::OAuth2(source), StatusCode::UNAUTHORIZED) =
            (&self.options.auth, response.status())
        {
            // Revoked or expired early: the next attempt asks the token server again.
            source.invalidate().await;
            return Err(UpstreamError::Transient {
                message: "HTTP 401: the hub refused the access token; asking for a new one".into(),
                retry_after: None,
            });
        }
        Ok(response)
    }
}

/// Reads a response's status, Retry-After and (bounded) body.
pub(super) async fn read_answer(mut response: reqwest::Response) -> Result<Answer, UpstreamError> {
    let status = response.status();
    let wait = retry_after(response.headers());
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(UpstreamError::Transient {
                message: format!(
                    "HTTP {}: answer larger than {} MB, not read",
                    status.as_u16(),
                    MAX_RESPONSE_BYTES / (1024 * 1024)
                ),
                retry_after: wait,
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer {
        status,
        retry_after: wait,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// The response's Content-Type, "" when absent or not text.
pub(super) fn content_type(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

fn read_pem(path: &Path) -> Result<Vec<u8>, UpstreamError> {
    std::fs::read(path).map_err(|source| UpstreamError::File {
        path: path.display().to_string(),
        source,
    })
}

/// `url` with any password in it replaced by `***`, for messages and Debug output.
fn redacted_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string().trim_end_matches('/').to_string()
        }
        // Unparseable: show no more than the scheme and host part's shape.
        Err(_) => match url.split_once('@') {
            Some((_, rest)) => format!("***@{rest}"),
            None => url.to_string(),
        },
    }
}

/// `s` as a DICOM UID, fit to put in a URL path (PS3.5 §9.1: digits and dots, at most 64).
pub(super) fn checked_uid(s: &str) -> Result<&str, UpstreamError> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && !s.starts_with('.')
        && !s.ends_with('.')
        && !s.contains("..");
    if ok {
        Ok(s)
    } else {
        Err(UpstreamError::Config(format!("{s:?} is not a DICOM UID")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_urls_are_masked() {
        assert_eq!(
            redacted_url("https://clinic:s3cret@hub.example/dicom-web/"),
            "https://clinic:***@hub.example/dicom-web"
        );
        assert_eq!(
            redacted_url("http://hub:8042/dicom-web"),
            "http://hub:8042/dicom-web"
        );
        assert!(!redacted_url("nonsense://a:s3cret@").contains("s3cret"));
    }

    #[test]
    fn only_uids_go_into_paths() {
        assert!(checked_uid("1.2.840.10008.5.1.4.1.1.7").is_ok());
        for bad in [
            "",
            "1.2/../x",
            "1..2",
            ".1",
            "1.2.",
            "1.2?x=1",
            &"1".repeat(65),
        ] {
            assert!(checked_uid(bad).is_err(), "{bad:?}");
        }
    }
}
