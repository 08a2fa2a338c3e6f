//! Station configuration: a TOML file over embedded defaults, then command-line overrides.
//!
//! `station serve` runs with no file at all. Unknown keys are errors (a typo must not silently
//! fall back to a default), and every error names the key or value at fault.
//!
//! Must never: read or write anything but the configuration file itself.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

mod destination;
pub mod device;
mod dicom;
mod editor;
mod http;
mod live;
mod registration;
mod schedule;
mod storage;
mod validate;
pub use destination::{Destination, OAuth2Config, RateWindow, Secret, WireCompression, WireSyntax};
pub use device::{DeviceProfile, ExportKind, WatchFolder};
pub use dicom::{DicomConfig, MoveDestination};
pub use editor::write_editable;
pub use http::{HttpConfig, TlsMode};
pub use live::Live;
pub use registration::RegistrationConfig;
pub use schedule::{kbit_to_bytes, parse_clock, Schedule, Window};
pub use storage::StorageConfig;
pub use validate::{validate_caller, validate_query_caller, validate_worklist_caller};

/// Where a station started on embedded defaults keeps the settings an admin saves, inside its
/// data directory; read at the next start when no `--config` is given.
pub const SAVED_SETTINGS_FILE: &str = "station.toml";

/// What the UI shows in place of a secret, and sends back to keep it.
pub const HIDDEN: &str = "***";

/// The defaults every station starts from; a config file overrides any part of it.
pub const DEFAULT_TOML: &str = include_str!("config/default.toml");

/// Why a configuration could not be loaded or saved; the station does not start on one.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read (or written back).
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The configuration file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The file is not valid TOML, or has an unknown key or a value of the wrong type.
    #[error("config file {path}: {message}")]
    Parse {
        /// The configuration file.
        path: PathBuf,
        /// The TOML parser's message (with the line).
        message: String,
    },
    /// A value is out of range or contradicts another.
    #[error("config: {message}")]
    Invalid {
        /// Which setting, for the Settings page to point at.
        setting: Setting,
        /// What is wrong, in English, naming the key.
        message: String,
    },
}

impl ConfigError {
    fn invalid(setting: Setting, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            setting,
            message: message.into(),
        }
    }
}

/// Which setting a validation error is about: the Settings page points at it from this, not
/// from the message's English words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// `dicom.ae_title`.
    AeTitle,
    /// `dicom.allowed_callers`.
    AllowedCallers,
    /// `dicom.worklist_callers`.
    WorklistCallers,
    /// `dicom.query_callers`.
    QueryCallers,
    /// `dicom.move_destinations`.
    MoveDestinations,
    /// `dicom.max_pdu_length`.
    MaxPduLength,
    /// `dicom.max_associations` with `reserved_associations` and `max_per_address`.
    MaxAssociations,
    /// `dicom.artim_timeout_secs` and `dicom.idle_timeout_secs`.
    DicomTimeouts,
    /// `studies.quiet_period_secs`.
    QuietPeriod,
    /// The `[auth]` session lengths and failed-login limits.
    Auth,
    /// A destination's `name`.
    DestinationName,
    /// A destination's `display_name`.
    DestinationDisplayName,
    /// A destination's `url`.
    DestinationUrl,
    /// Credentials to a plain `http://` hub without `allow_insecure`.
    InsecureCredentials,
    /// Batch size, request timeout, retry wait.
    DestinationLimits,
    /// A destination's `parallel_requests`.
    ParallelRequests,
    /// A destination's `rate_windows`.
    RateWindows,
    /// The `[reports]` poll periods and batch size.
    ReportPolling,
    /// A `[[reports.targets]]` entry.
    TurnaroundTarget,
    /// A `[[watch]]` folder's `path`.
    WatchPath,
    /// A `[[watch]]` folder's `rescan_secs`.
    WatchRescan,
    /// A `[[watch]]` folder's `device` profile.
    WatchDevice,
    /// `station.uid_root`.
    UidRoot,
    /// `metrics.token`.
    MetricsToken,
    /// `[http] tls` with its certificate files.
    Tls,
    /// Retention's days and disk marks.
    Retention,
    /// The backup time and how many backups are kept.
    Backup,
    /// The file as a whole (writing it back).
    File,
}

/// A station's whole configuration: the embedded defaults, the file over them, then the
/// command line; validated before anything starts.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the database, the instance files, staging and quarantine live.
    #[schema(value_type = String)]
    pub data_dir: PathBuf,
    /// The DICOM listener (`[dicom]`).
    pub dicom: DicomConfig,
    /// The HTTP API and web UI (`[http]`).
    pub http: HttpConfig,
    /// Logins and sessions (`[auth]`).
    pub auth: AuthConfig,
    /// Disk floor, retention, backups and checks (`[storage]`).
    pub storage: StorageConfig,
    /// When a study is complete and what waits for a person (`[studies]`).
    pub studies: StudiesConfig,
    /// Watched folders (`[[watch]]`), for devices that only export files.
    #[serde(default)]
    pub watch: Vec<WatchFolder>,
    /// Diagnostic centers to send to; every complete study goes to each one it is routed to.
    #[serde(default)]
    pub destinations: Vec<Destination>,
    /// Reports coming back: how often to look, turnaround targets, the printed header.
    pub reports: ReportsConfig,
    /// The station's identity in objects it creates (`[station]`).
    #[serde(default)]
    pub station: StationConfig,
    /// The daily log file of `station serve`.
    #[serde(default)]
    pub log: LogConfig,
    /// `GET /metrics` for the center's Prometheus.
    #[serde(default)]
    pub metrics: MetricsConfig,
    /// The Register page's common exam items (`[registration]`).
    #[serde(default)]
    pub registration: RegistrationConfig,
    /// The file this configuration was read from (absent: embedded defaults only); settings an
    /// admin saves are written back to it.
    #[serde(skip)]
    pub file: Option<PathBuf>,
}

/// Reports coming back from the hubs (`[reports]`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportsConfig {
    /// The clinic's name, at the top of a printed report.
    pub clinic_name: String,
    /// A second header line for printing (department, address, phone); may be empty.
    pub print_header: String,
    /// Seconds between looks for the report of an urgent study that has no final report yet.
    pub urgent_poll_secs: u64,
    /// Seconds between looks for a study sent within `recent_hours` without a final report.
    pub recent_poll_secs: u64,
    /// How many hours after sending a study counts as recent (polled every `recent_poll_secs`).
    pub recent_hours: u64,
    /// Seconds between looks for every other study (older, or final but maybe amended later).
    pub idle_poll_secs: u64,
    /// Days after sending when the station stops looking for reports of a study.
    pub poll_days: u64,
    /// Studies asked about per QIDO-RS request.
    pub batch_studies: usize,
    /// Turnaround targets; the first whose modality and priority match a study applies.
    pub targets: Vec<TurnaroundTarget>,
}

/// How soon a study's final report is due, by modality and priority.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TurnaroundTarget {
    /// A modality (DX, US, ECG...) or "*" for any.
    pub modality: String,
    /// "urgent", "routine" or "*".
    pub priority: String,
    /// Minutes from sending to the final report.
    pub minutes: u64,
}

/// The station's own identity in the objects it makes (converted exports).
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StationConfig {
    /// Root for the UIDs of objects the station creates, e.g. "1.2.156.112605.1"; absent: each
    /// UID is "2.25." + a random UUID as an integer (PS3.5 §B.2), which needs no registration.
    #[serde(default)]
    pub uid_root: Option<String>,
}

/// The Prometheus endpoint. Metrics carry no patient data but describe the clinic's work, so
/// they are not public: with no token the endpoint is off (404), and a scrape must send the
/// token as `Authorization: Bearer`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// The scrape token; absent: `GET /metrics` answers 404.
    #[serde(default)]
    pub token: Option<Secret>,
}

/// The daily log files (`[log]`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// Where `station.YYYY-MM-DD.log` files go; absent: the directory systemd gives the service
    /// (`$LOGS_DIRECTORY`), else `logs` in the data directory.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub dir: Option<PathBuf>,
    /// Days of log files kept; older ones are deleted as a new day's file opens.
    #[serde(default = "default_log_keep_days")]
    pub keep_days: u32,
}

fn default_log_keep_days() -> u32 {
    14
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            dir: None,
            keep_days: default_log_keep_days(),
        }
    }
}

impl Config {
    /// The directory of the daily log files (see [`LogConfig::dir`]).
    pub fn log_dir(&self) -> PathBuf {
        self.log
            .dir
            .clone()
            .or_else(|| std::env::var_os("LOGS_DIRECTORY").map(PathBuf::from))
            .unwrap_or_else(|| self.data_dir.join("logs"))
    }
}

fn default_session_max_secs() -> u64 {
    86400
}

/// Logins and sessions for the UI and the LAN HTTP API.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// A session ends after this long without use.
    pub session_ttl_secs: u64,
    /// A session ends this long after its login however busy it is (a login left open on a
    /// shared PC does not live on).
    #[serde(default = "default_session_max_secs")]
    pub session_max_secs: u64,
    /// Wrong passwords in a row for a username from one computer before that username is
    /// locked out at that computer for `lockout_secs` (elsewhere it can still log in).
    pub max_failed_logins: u32,
    /// Failed logins (any usernames) from one computer within `lockout_secs` before every
    /// login from it is refused for `lockout_secs`.
    pub max_failed_logins_per_address: u32,
    /// How long a lockout lasts, and the window the per-address count covers, in seconds.
    pub lockout_secs: u64,
    /// Password for the `admin` account created at first run; when absent (and the environment
    /// variable `STATION_ADMIN_PASSWORD` is unset) a random one is printed once to the log.
    #[serde(default)]
    pub initial_admin_password: Option<String>,
}

/// When a study is complete, and which studies wait for a person (`[studies]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StudiesConfig {
    /// A study with no new instance for this long counts as complete.
    pub quiet_period_secs: u64,
    /// When true, a complete study that matches no order waits (state `unassigned`) and is
    /// not sent until a person assigns it to a patient and order.
    #[serde(default)]
    pub hold_unmatched: bool,
    /// When true, a study matched by accession or worklist Study UID whose device-sent name, sex
    /// or birth date differs from its order's patient waits ("check patient", state
    /// `unassigned`) until a technician confirms it or assigns it elsewhere.
    #[serde(default = "default_hold_on_mismatch")]
    pub hold_on_mismatch: bool,
    /// When true, a study whose order asks for no correction (or that matches none, unless
    /// held) is sent as its instances arrive; it is still delivered only once complete.
    #[serde(default = "default_send_while_receiving")]
    pub send_while_receiving: bool,
}

fn default_send_while_receiving() -> bool {
    true
}

fn default_hold_on_mismatch() -> bool {
    true
}

/// Command-line overrides; `None` keeps the file's value.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--data-dir`: replaces `data_dir`.
    pub data_dir: Option<PathBuf>,
    /// `--ae-title`: replaces `dicom.ae_title`.
    pub ae_title: Option<String>,
    /// `--dicom-port`: replaces `dicom.port`.
    pub dicom_port: Option<u16>,
    /// `--http-port`: replaces `http.port`.
    pub http_port: Option<u16>,
}

impl Config {
    /// The embedded defaults alone.
    pub fn defaults() -> Config {
        match toml::from_str(DEFAULT_TOML) {
            Ok(c) => c,
            Err(e) => panic!("embedded default config is invalid: {e}"),
        }
    }

    /// Defaults, then `file` if given, then `overrides`; validated. Without a file, the settings
    /// an admin saved into the data directory ([`SAVED_SETTINGS_FILE`]) are the file.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        let saved;
        let file = match file {
            Some(f) => Some(f),
            None => {
                let data_dir = match &overrides.data_dir {
                    Some(d) => d.clone(),
                    None => Config::defaults().data_dir,
                };
                saved = data_dir.join(SAVED_SETTINGS_FILE);
                saved.is_file().then_some(saved.as_path())
            }
        };
        let mut merged: toml::Table =
            toml::from_str(DEFAULT_TOML).map_err(|e| ConfigError::Parse {
                path: "<embedded defaults>".into(),
                message: e.to_string(),
            })?;
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.to_owned(),
                source,
            })?;
            let user: toml::Table = toml::from_str(&text).map_err(|e| ConfigError::Parse {
                path: path.to_owned(),
                message: e.to_string(),
            })?;
            merge(&mut merged, user);
        }
        let mut config: Config =
            merged
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Parse {
                    path: file
                        .map(Path::to_owned)
                        .unwrap_or_else(|| "<embedded defaults>".into()),
                    message: e.to_string(),
                })?;
        if let Some(d) = &overrides.data_dir {
            config.data_dir = d.clone();
        }
        if let Some(a) = &overrides.ae_title {
            config.dicom.ae_title = a.clone();
        }
        if let Some(p) = overrides.dicom_port {
            config.dicom.port = p;
        }
        if let Some(p) = overrides.http_port {
            config.http.port = p;
        }
        config.file = file.map(Path::to_owned);
        config.validate()?;
        Ok(config)
    }

    /// Where settings saved from the UI go: the file the station was started with, else
    /// [`SAVED_SETTINGS_FILE`] in the data directory.
    pub fn settings_file(&self) -> PathBuf {
        self.file
            .clone()
            .unwrap_or_else(|| self.data_dir.join(SAVED_SETTINGS_FILE))
    }

    /// This configuration with every secret replaced by [`HIDDEN`]: what the Settings page
    /// and the diagnostics bundle show.
    pub fn redacted(&self) -> Config {
        let mut config = self.clone();
        if config.auth.initial_admin_password.is_some() {
            config.auth.initial_admin_password = Some(HIDDEN.into());
        }
        let hidden = || Secret(HIDDEN.into());
        if config.metrics.token.is_some() {
            config.metrics.token = Some(hidden());
        }
        for d in &mut config.destinations {
            if d.password.is_some() {
                d.password = Some(hidden());
            }
            if d.bearer_token.is_some() {
                d.bearer_token = Some(hidden());
            }
            if let Some(o) = &mut d.oauth2 {
                o.client_secret = hidden();
            }
        }
        config
    }

    /// The index database: `station.db` in the data directory.
    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("station.db")
    }

    /// Where the nightly backups go: `[storage] backup_dir`, else `backups` in the data
    /// directory.
    pub fn backup_dir(&self) -> PathBuf {
        self.storage
            .backup_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("backups"))
    }
}

/// Deep-merges `over` into `base`: tables merge key by key, anything else replaces.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(key, v);
            }
        }
    }
}

#[cfg(test)]
mod tests;
