//! `[http]`: where the LAN HTTP server listens, its bounds on connections, the host names it
//! answers to, and whether it speaks TLS (`tls`: off, a certificate the station makes itself at
//! first start, or the admin's own certificate and key files).
//!
//! Must never: read the certificate files (the HTTP server loads them at start and names the
//! file it could not use).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{ConfigError, Setting};

/// The HTTP API and web UI (`[http]`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// The TCP port (default 8080).
    pub port: u16,
    /// The address it listens on (default `127.0.0.1`: this computer only).
    pub bind: String,
    /// A connection must send a request's whole header within this many seconds of connecting
    /// (or of its previous answer), else it is closed: a slow client cannot hold a slot. Over
    /// TLS the handshake has the same time, before the header's.
    #[serde(default = "default_header_read_timeout_secs")]
    pub header_read_timeout_secs: u64,
    /// Open connections at most; more wait to be accepted until one closes.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Open connections from one computer at most; more are closed at once, so one computer
    /// cannot take the slots every other one needs.
    #[serde(default = "default_max_connections_per_address")]
    pub max_connections_per_address: usize,
    /// Host names (besides IP addresses, `localhost` and this computer's name) the UI and API
    /// answer to, e.g. `station.clinic.lan`. A request naming any other host is refused, so a
    /// web page elsewhere cannot reach the station through a name it controls (DNS rebinding).
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// HTTPS for the LAN UI and API: `off` (plain HTTP), `self-signed` (a certificate the
    /// station makes at its first start and keeps in its data directory; browsers ask once,
    /// and its SHA-256 fingerprint is shown to compare) or `files` (`tls_cert` and `tls_key`).
    #[serde(default)]
    pub tls: TlsMode,
    /// With `tls = "files"`: the certificate chain, PEM, the station's own certificate first.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub tls_cert: Option<PathBuf>,
    /// With `tls = "files"`: the certificate's private key, PEM (PKCS#8, PKCS#1 or SEC1).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub tls_key: Option<PathBuf>,
}

/// Whether, and with which certificate, the LAN HTTP server speaks TLS.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TlsMode {
    /// Plain HTTP.
    #[default]
    Off,
    /// A certificate the station made for its own names.
    SelfSigned,
    /// The certificate and key files an admin gave.
    Files,
}

impl HttpConfig {
    /// The shape of the TLS settings: files exactly when `tls = "files"`.
    pub(super) fn validate_tls(&self) -> Result<(), ConfigError> {
        let files = self.tls_cert.is_some() || self.tls_key.is_some();
        let both = self.tls_cert.is_some() && self.tls_key.is_some();
        let problem = match self.tls {
            TlsMode::Files if !both => {
                "http.tls = \"files\" needs both http.tls_cert and http.tls_key (PEM files)"
            }
            TlsMode::Off | TlsMode::SelfSigned if files => {
                "http.tls_cert and http.tls_key are used only with http.tls = \"files\""
            }
            _ => return Ok(()),
        };
        Err(ConfigError::invalid(Setting::Tls, problem))
    }
}

fn default_header_read_timeout_secs() -> u64 {
    10
}

fn default_max_connections() -> usize {
    512
}

fn default_max_connections_per_address() -> usize {
    64
}
