//! One `[[destinations]]` entry: a diagnostic center's DICOMweb endpoint, what is routed to it,
//! how the station authenticates (Basic, static Bearer, OAuth 2.0 client credentials), TLS
//! trust, batching, parallel requests and upload bandwidth.
//!
//! Must never: let a secret reach Debug output (secrets are [`Secret`]).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::schedule::{kbit_to_bytes, parse_clock, Schedule, Window};
use super::{ConfigError, Setting};

/// A diagnostic center the station sends studies to (one `[[destinations]]` table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Destination {
    /// Short name used in the queue, the logs and the metrics, e.g. "hub".
    pub name: String,
    /// What the clinic calls the center, shown on screens in place of `name`, e.g.
    /// "市医院影像中心". At most 64 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// DICOMweb root, e.g. "http://hub:8042/dicom-web".
    pub url: String,
    /// Routing: only studies with one of these modalities go here; empty sends everything.
    #[serde(default)]
    pub modalities: Vec<String>,
    /// Routing: only studies sent by one of these devices (calling AE titles).
    #[serde(default)]
    pub calling_aes: Vec<String>,
    /// Routing: only studies holding one of these SOP classes (e.g. 12-lead ECG).
    #[serde(default)]
    pub sop_classes: Vec<String>,
    /// HTTP Basic user at the hub; used only when neither `oauth2` nor `bearer_token` is set.
    #[serde(default)]
    pub username: Option<String>,
    /// HTTP Basic password for `username` (absent: an empty password).
    #[serde(default)]
    pub password: Option<Secret>,
    /// A fixed token sent as `Authorization: Bearer …`; ignored when `oauth2` is set.
    #[serde(default)]
    pub bearer_token: Option<Secret>,
    /// Seconds one request to the hub may take, from sending to the end of its answer
    /// (default 300); a STOW-RS upload gets more when `min_upload_kbit` is set.
    #[serde(default = "default_request_timeout_secs")]
    pub timeout_secs: u64,
    /// Instances per STOW-RS request.
    #[serde(default = "default_batch_instances")]
    pub batch_instances: usize,
    /// Megabytes per STOW-RS request (an instance larger than this goes alone).
    #[serde(default = "default_batch_mb")]
    pub batch_mb: u64,
    /// Longest wait between retries while the hub is unreachable.
    #[serde(default = "default_retry_max_secs")]
    pub retry_max_secs: u64,
    /// OAuth 2.0 client credentials: the station asks this token server for access tokens.
    #[serde(default)]
    pub oauth2: Option<OAuth2Config>,
    /// PEM file of extra CA certificates trusted for this hub (besides the system's).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub ca_file: Option<PathBuf>,
    /// PEM file with the station's client certificate and key, for hubs that require mutual TLS.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub client_identity_file: Option<PathBuf>,
    /// Slowest upload still considered alive, in kbit/s: a request of N bytes may take
    /// `timeout_secs` plus N at this rate. Absent: `timeout_secs` alone.
    #[serde(default)]
    pub min_upload_kbit: Option<u64>,
    /// STOW-RS requests in flight at once to this hub.
    #[serde(default = "default_parallel_requests")]
    pub parallel_requests: usize,
    /// Upload limit in kbit/s outside the windows below; absent: unlimited.
    #[serde(default)]
    pub rate_limit_kbit: Option<u64>,
    /// Times of day with their own upload limit, e.g. 1000 kbit/s from 08:00 to 18:00.
    #[serde(default)]
    pub rate_windows: Vec<RateWindow>,
    /// Look for reports at this hub (off for an archive-only cloud that never reports).
    #[serde(default = "default_poll_reports")]
    pub poll_reports: bool,
    /// Send credentials (password, bearer token, OAuth 2.0) to a plain `http://` hub anyway,
    /// e.g. over a VPN the clinic trusts. Without it that is refused: anyone on the way would
    /// read them. A hub on this computer (loopback) needs no such leave.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_insecure: bool,
    /// How images go on the wire: re-encoded losslessly (JPEG-LS, the default, or JPEG 2000;
    /// pixel-exact, only images received uncompressed) or as received.
    #[serde(default)]
    pub transfer_syntax: WireSyntax,
    /// When the lossless `transfer_syntax` is used: `auto` (the default) compresses while the
    /// encoder outruns the link, so a fast link (a LAN, a hub on this computer) is never
    /// slowed by the encoder; `always` compresses whatever the link's speed.
    #[serde(default, skip_serializing_if = "WireCompression::is_auto")]
    pub compression: WireCompression,
}

/// A destination's `compression`: whether the fast-link rule may skip the codec.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum WireCompression {
    /// Compress while the encoder is faster than the link (and before either is measured);
    /// send as received while the link is faster.
    #[default]
    Auto,
    /// Compress every image the codec can hold, however fast the link.
    Always,
}

impl WireCompression {
    fn is_auto(&self) -> bool {
        *self == WireCompression::Auto
    }
}

/// A destination's `transfer_syntax`: what images received uncompressed are sent as (PS3.5
/// A.4.3, A.4.4). Images the device compressed, and objects without pixel data, always go as
/// received; nothing is ever made lossy.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum WireSyntax {
    /// Every file byte for byte as the device sent it (or as corrected).
    AsReceived,
    /// JPEG-LS Lossless, 1.2.840.10008.1.2.4.80: the default (about 2–3× fewer bytes on real
    /// radiographs and ultrasound, and the fastest of the two codecs).
    #[default]
    JpegLsLossless,
    /// JPEG 2000 Lossless Only, 1.2.840.10008.1.2.4.90.
    #[serde(rename = "jpeg2000-lossless")]
    Jpeg2000Lossless,
}

impl WireSyntax {
    /// The codec this setting re-encodes with; None: as received.
    pub fn codec(self) -> Option<station_codec::Codec> {
        match self {
            WireSyntax::AsReceived => None,
            WireSyntax::JpegLsLossless => Some(station_codec::Codec::JpegLsLossless),
            WireSyntax::Jpeg2000Lossless => Some(station_codec::Codec::Jpeg2000Lossless),
        }
    }
}

/// Whether `url` is plain `http://` to a host other than this computer.
fn in_clear_over_network(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host_port.rsplit_once(':').map_or(host_port, |(h, _)| h),
    };
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    !loopback
}

/// OAuth 2.0 client credentials grant (RFC 6749 §4.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OAuth2Config {
    /// The token server's endpoint (full URL, https unless `allow_insecure`).
    pub token_url: String,
    /// The station's client id registered at the token server.
    pub client_id: String,
    /// The secret issued with the client id.
    pub client_secret: Secret,
    /// The `scope` to ask for; absent: none sent (the server's default).
    #[serde(default)]
    pub scope: Option<String>,
}

/// A password, token or client secret from the config: written as a plain string in the file,
/// shown as `***` by Debug so a logged config never carries it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// A time of day with its own upload limit to this destination (e.g. 1000 kbit/s during
/// clinic hours); outside every window the destination's default limit applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateWindow {
    /// "HH:MM", local time; a window whose `from` is after its `to` runs past midnight.
    pub from: String,
    /// "HH:MM", local time, when the window ends (not included; "24:00" is midnight).
    pub to: String,
    /// kbit/s inside the window; absent: unlimited.
    #[serde(default)]
    pub kbit: Option<u64>,
}

impl Destination {
    /// Checks what serde cannot: the name is checked for uniqueness by the caller.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self
            .display_name
            .as_ref()
            .is_some_and(|n| n.chars().count() > 64)
        {
            return Err(ConfigError::invalid(
                Setting::DestinationDisplayName,
                format!(
                    "destinations.display_name for {:?}: at most 64 characters",
                    self.name
                ),
            ));
        }
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            return Err(ConfigError::invalid(
                Setting::DestinationUrl,
                format!(
                    "destinations.url for {:?} = {:?}: must start with http:// or https://",
                    self.name, self.url
                ),
            ));
        }
        let has_credentials =
            self.password.is_some() || self.bearer_token.is_some() || self.oauth2.is_some();
        let token_url_in_clear = self
            .oauth2
            .as_ref()
            .is_some_and(|o| in_clear_over_network(&o.token_url));
        if has_credentials
            && (in_clear_over_network(&self.url) || token_url_in_clear)
            && !self.allow_insecure
        {
            return Err(ConfigError::invalid(
                Setting::InsecureCredentials,
                format!(
                    "destinations {:?}: credentials would go over plain http:// in clear: use \
                     https://, or set allow_insecure = true if the link is trusted (e.g. a VPN)",
                    self.name
                ),
            ));
        }
        if self.batch_instances == 0
            || self.batch_mb == 0
            || self.timeout_secs == 0
            || self.retry_max_secs == 0
        {
            return Err(ConfigError::invalid(
                Setting::DestinationLimits,
                format!(
                    "destinations {:?}: batch_instances, batch_mb, timeout_secs and retry_max_secs must be at least 1",
                    self.name
                ),
            ));
        }
        if !(1..=16).contains(&self.parallel_requests) {
            return Err(ConfigError::invalid(
                Setting::ParallelRequests,
                format!(
                    "destinations {:?}: parallel_requests must be from 1 to 16",
                    self.name
                ),
            ));
        }
        self.rate_schedule()?;
        Ok(())
    }

    /// The upload schedule these settings describe.
    pub fn rate_schedule(&self) -> Result<Schedule, ConfigError> {
        let invalid = |e: String| {
            ConfigError::invalid(
                Setting::RateWindows,
                format!("destinations {:?} rate_windows: {e}", self.name),
            )
        };
        let mut windows = Vec::new();
        for w in &self.rate_windows {
            windows.push(Window {
                from_minute: parse_clock(&w.from).map_err(invalid)?,
                to_minute: parse_clock(&w.to).map_err(invalid)?,
                bytes_per_sec: w.kbit.map(kbit_to_bytes),
            });
        }
        Ok(Schedule {
            default_bytes_per_sec: self.rate_limit_kbit.map(kbit_to_bytes),
            windows,
        })
    }
}

fn default_poll_reports() -> bool {
    true
}

fn default_request_timeout_secs() -> u64 {
    300
}
fn default_batch_instances() -> usize {
    10
}
/// Small enough that on a slow uplink the hub stores one batch while the next is uploading (a
/// 50 MB batch left a 4 Mbit/s link idle 12% of the time), and a dropped connection costs
/// little; on a LAN the extra requests cost nothing measurable.
fn default_batch_mb() -> u64 {
    8
}
fn default_retry_max_secs() -> u64 {
    300
}
fn default_parallel_requests() -> usize {
    2
}
