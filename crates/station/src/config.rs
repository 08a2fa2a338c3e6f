//! Station configuration: a TOML file over embedded defaults, then command-line overrides.
//!
//! `station serve` runs with no file at all. Unknown keys are errors (a typo must not silently
//! fall back to a default), and every error names the key or value at fault.
//!
//! Must never: read or write anything but the configuration file itself.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The defaults every station starts from; a config file overrides any part of it.
pub const DEFAULT_TOML: &str = include_str!("config/default.toml");

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the database, the instance files, staging and quarantine live.
    pub data_dir: PathBuf,
    pub dicom: DicomConfig,
    pub http: HttpConfig,
    pub auth: AuthConfig,
    pub storage: StorageConfig,
    pub studies: StudiesConfig,
    #[serde(default)]
    pub watch: Vec<WatchFolder>,
    /// Diagnostic centers to send to; every complete study goes to each one it is routed to.
    #[serde(default)]
    pub destinations: Vec<Destination>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Destination {
    /// Short name shown in the UI and used in the queue, e.g. "hub".
    pub name: String,
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
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub bearer_token: Option<String>,
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
}

fn default_request_timeout_secs() -> u64 {
    300
}
fn default_batch_instances() -> usize {
    10
}
fn default_batch_mb() -> u64 {
    50
}
fn default_retry_max_secs() -> u64 {
    300
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DicomConfig {
    pub ae_title: String,
    pub port: u16,
    pub bind: String,
    /// Calling AE titles allowed to associate; empty accepts any (and logs who called).
    pub allowed_callers: Vec<String>,
    /// Largest P-DATA PDU we advertise and accept.
    pub max_pdu_length: u32,
    pub max_associations: usize,
    /// How long we wait for the A-ASSOCIATE-RQ after a TCP connect (PS3.8 §9.1.5, ARTIM).
    pub artim_timeout_secs: u64,
    /// How long an established association may stay silent before we abort it.
    pub idle_timeout_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    pub port: u16,
    pub bind: String,
}

/// Logins and sessions for the UI and the LAN HTTP API.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// A session ends after this long without use.
    pub session_ttl_secs: u64,
    /// Wrong passwords in a row before a username is locked out for `lockout_secs`.
    pub max_failed_logins: u32,
    pub lockout_secs: u64,
    /// Password for the `admin` account created at first run; when absent (and the environment
    /// variable `STATION_ADMIN_PASSWORD` is unset) a random one is printed once to the log.
    #[serde(default)]
    pub initial_admin_password: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// Below this much free space on the data disk new images are refused (status A700).
    pub min_free_mb: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudiesConfig {
    /// A study with no new instance for this long counts as complete.
    pub quiet_period_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchFolder {
    pub path: PathBuf,
    /// A file is taken once its size and mtime have not changed for this long.
    #[serde(default = "default_settle_ms")]
    pub settle_ms: u64,
    /// Full rescan period, for network shares and missed events.
    #[serde(default = "default_rescan_secs")]
    pub rescan_secs: u64,
}

fn default_settle_ms() -> u64 {
    1500
}
fn default_rescan_secs() -> u64 {
    30
}

/// Command-line overrides; `None` keeps the file's value.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub data_dir: Option<PathBuf>,
    pub ae_title: Option<String>,
    pub dicom_port: Option<u16>,
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

    /// Defaults, then `file` if given, then `overrides`; validated.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
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
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let ae = &self.dicom.ae_title;
        if ae.trim().is_empty()
            || ae.len() > 16
            || !ae
                .chars()
                .all(|c| c.is_ascii() && !c.is_ascii_control() && c != '\\')
        {
            return Err(ConfigError::Invalid(format!(
                "dicom.ae_title = {ae:?}: an AE title is 1 to 16 printable ASCII characters without backslash"
            )));
        }
        for caller in &self.dicom.allowed_callers {
            if caller.trim().is_empty() || caller.len() > 16 {
                return Err(ConfigError::Invalid(format!(
                    "dicom.allowed_callers: {caller:?} is not a valid AE title (1 to 16 characters)"
                )));
            }
        }
        if self.dicom.max_pdu_length < 4096 {
            return Err(ConfigError::Invalid(format!(
                "dicom.max_pdu_length = {}: must be at least 4096",
                self.dicom.max_pdu_length
            )));
        }
        if self.dicom.max_associations == 0 {
            return Err(ConfigError::Invalid(
                "dicom.max_associations must be at least 1".into(),
            ));
        }
        if self.dicom.artim_timeout_secs == 0 || self.dicom.idle_timeout_secs == 0 {
            return Err(ConfigError::Invalid(
                "dicom.artim_timeout_secs and dicom.idle_timeout_secs must be at least 1".into(),
            ));
        }
        if self.studies.quiet_period_secs == 0 {
            return Err(ConfigError::Invalid(
                "studies.quiet_period_secs must be at least 1".into(),
            ));
        }
        if self.auth.session_ttl_secs == 0 || self.auth.max_failed_logins == 0 {
            return Err(ConfigError::Invalid(
                "auth.session_ttl_secs and auth.max_failed_logins must be at least 1".into(),
            ));
        }
        let mut names = std::collections::HashSet::new();
        for d in &self.destinations {
            if d.name.trim().is_empty() || !names.insert(d.name.as_str()) {
                return Err(ConfigError::Invalid(format!(
                    "destinations.name {:?}: each destination needs a unique, non-empty name",
                    d.name
                )));
            }
            if !(d.url.starts_with("http://") || d.url.starts_with("https://")) {
                return Err(ConfigError::Invalid(format!(
                    "destinations.url for {:?} = {:?}: must start with http:// or https://",
                    d.name, d.url
                )));
            }
            if d.batch_instances == 0
                || d.batch_mb == 0
                || d.timeout_secs == 0
                || d.retry_max_secs == 0
            {
                return Err(ConfigError::Invalid(format!(
                    "destinations {:?}: batch_instances, batch_mb, timeout_secs and retry_max_secs must be at least 1",
                    d.name
                )));
            }
        }
        for w in &self.watch {
            if w.path.as_os_str().is_empty() {
                return Err(ConfigError::Invalid("watch.path must not be empty".into()));
            }
            if w.rescan_secs == 0 {
                return Err(ConfigError::Invalid(format!(
                    "watch.rescan_secs for {}: must be at least 1",
                    w.path.display()
                )));
            }
        }
        Ok(())
    }

    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("station.db")
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
mod tests {
    use super::*;

    fn load_str(text: &str) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("station.toml");
        std::fs::write(&path, text).expect("write");
        Config::load(Some(&path), &Overrides::default())
    }

    #[test]
    fn defaults_are_valid_and_usable() {
        let c = Config::load(None, &Overrides::default()).expect("defaults load");
        assert_eq!(c.dicom.ae_title, "STATION");
        assert_eq!(c.dicom.port, 11112);
        assert!(c.dicom.allowed_callers.is_empty());
        assert!(c.dicom.max_pdu_length >= 65536);
    }

    #[test]
    fn file_overrides_part_and_keeps_the_rest() {
        let c = load_str("[dicom]\nae_title = \"CLINIC1\"\n").expect("load");
        assert_eq!(c.dicom.ae_title, "CLINIC1");
        assert_eq!(c.dicom.port, 11112);
    }

    #[test]
    fn unknown_key_is_named() {
        let err = load_str("[dicom]\nae_titel = \"X\"\n").expect_err("must fail");
        assert!(err.to_string().contains("ae_titel"), "{err}");
    }

    #[test]
    fn bad_value_is_named() {
        let err = load_str("[dicom]\nport = \"eleven\"\n").expect_err("must fail");
        assert!(err.to_string().contains("port"), "{err}");
        let err =
            load_str("[dicom]\nae_title = \"THIS_AE_TITLE_IS_TOO_LONG\"\n").expect_err("must fail");
        assert!(err.to_string().contains("ae_title"), "{err}");
    }

    #[test]
    fn command_line_wins_over_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("station.toml");
        std::fs::write(&path, "[dicom]\nport = 104\n").expect("write");
        let o = Overrides {
            dicom_port: Some(4242),
            ae_title: Some("CLI".into()),
            ..Default::default()
        };
        let c = Config::load(Some(&path), &o).expect("load");
        assert_eq!(c.dicom.port, 4242);
        assert_eq!(c.dicom.ae_title, "CLI");
    }
}
