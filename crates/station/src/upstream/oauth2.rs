//! OAuth 2.0 client credentials (RFC 6749 §4.4) for hubs behind a token server: the station
//! asks for an access token with its client id and secret, sends it as a Bearer token, and asks
//! for a new one shortly before it expires or as soon as the hub refuses it.
//!
//! Must never: log or format the client secret or a token, or ask the token server for a new
//! token on every request (one token is shared by every request to the hub until it expires).

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::ACCEPT;
use serde::Deserialize;
use tokio::sync::Mutex;

use super::error::{status_error, transport_error, UpstreamError};

/// A token is renewed this long before the token server said it expires, so a request never
/// leaves with a token that dies on the way.
const RENEW_BEFORE: Duration = Duration::from_secs(30);
/// When the token server gives no `expires_in`.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);

/// Where and as whom to ask for tokens.
#[derive(Clone)]
pub struct ClientCredentials {
    /// The token endpoint (full URL) the credentials are posted to.
    pub token_url: String,
    /// The station's `client_id` registered at the token server.
    pub client_id: String,
    /// The matching `client_secret`; never logged.
    pub client_secret: String,
    /// The `scope` parameter asked for; `None`: not sent (the server's default scope).
    pub scope: Option<String>,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .field("scope", &self.scope)
            .finish()
    }
}

/// The current token, shared by clones of one hub.
#[derive(Clone)]
pub struct TokenSource {
    credentials: ClientCredentials,
    current: Arc<Mutex<Option<(String, Instant)>>>,
}

impl std::fmt::Debug for TokenSource {
    /// The credentials without their secret, and never the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("TokenSource")
            .field(&self.credentials)
            .finish()
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl TokenSource {
    /// A source with no token yet: the first request asks the token server.
    pub fn new(credentials: ClientCredentials) -> TokenSource {
        TokenSource {
            credentials,
            current: Arc::new(Mutex::new(None)),
        }
    }

    /// A token valid for a while yet, from the cache or fresh from the token server. Holding
    /// the lock while asking means parallel requests wait for one answer instead of each asking.
    pub async fn token(&self, client: &reqwest::Client) -> Result<String, UpstreamError> {
        let mut current = self.current.lock().await;
        if let Some((token, expires)) = current.as_ref() {
            if Instant::now() + RENEW_BEFORE < *expires {
                return Ok(token.clone());
            }
        }
        let fresh = self.fetch(client).await?;
        let token = fresh.access_token.clone();
        let lifetime = fresh
            .expires_in
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_LIFETIME);
        *current = Some((fresh.access_token, Instant::now() + lifetime));
        Ok(token)
    }

    /// The hub refused the token (HTTP 401): forget it, so the next request asks for a new one.
    pub async fn invalidate(&self) {
        *self.current.lock().await = None;
    }

    async fn fetch(&self, client: &reqwest::Client) -> Result<TokenResponse, UpstreamError> {
        let c = &self.credentials;
        let mut form = vec![("grant_type", "client_credentials")];
        if let Some(scope) = &c.scope {
            form.push(("scope", scope));
        }
        // §2.3.1: the client authenticates with HTTP Basic.
        let response = client
            .post(&c.token_url)
            .basic_auth(&c.client_id, Some(&c.client_secret))
            .header(ACCEPT, "application/json")
            .form(&form)
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status();
        let body = response.text().await.map_err(transport_error)?;
        if !status.is_success() {
            // A refused client stays refused until a person fixes the settings, but the queue
            // keeps its work and shows why; retrying with backoff costs the server little.
            let refused = status_error(status, None, &body);
            return Err(UpstreamError::Transient {
                message: format!("token server: {refused}"),
                retry_after: refused.retry_after(),
            });
        }
        serde_json::from_str::<TokenResponse>(&body).map_err(|_| UpstreamError::Transient {
            message: format!(
                "token server answered HTTP {} without an access_token",
                status.as_u16()
            ),
            retry_after: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_secret() {
        let c = ClientCredentials {
            token_url: "http://127.0.0.1:1/token".into(),
            client_id: "clinic01".into(),
            client_secret: "s3cret".into(),
            scope: None,
        };
        let shown = format!("{:?}", TokenSource::new(c));
        assert!(shown.contains("clinic01"), "{shown}");
        assert!(!shown.contains("s3cret"), "{shown}");
    }
}
