//! A test station's configuration, built on the engine's own typed `station::config::Config`
//! (its embedded defaults, then what a test asks for) and written as TOML by serde: a setting the
//! engine renames or retypes breaks the build here, not a test at run time.
//!
//! Never hand-writes TOML: a test that needs a file the types cannot express (a misspelt key)
//! writes it itself.

use std::path::Path;

use serde_json::json;
use station::config::{Config, Destination, DeviceProfile, WatchFolder};

use super::dcmtk::AE_TITLE;

/// A change to the configuration beyond [`Options`]' fields.
pub type Tweak = Box<dyn Fn(&mut Config)>;

/// What a test wants different from the defaults. `min_free_mb` defaults to 0 here: the
/// embedded default (1024) would refuse images on a nearly full CI disk.
#[derive(Default)]
pub struct Options {
    pub allowed_callers: Vec<String>,
    pub min_free_mb: u64,
    pub watch: Vec<WatchFolder>,
    /// ARTIM timer; 10 s when not set.
    pub artim_timeout_secs: Option<u64>,
    /// One hour when not set, so studies stay `receiving` unless a test wants them sent.
    pub quiet_period_secs: Option<u64>,
    /// `[studies] hold_unmatched`: complete studies that match no order wait for a person.
    pub hold_unmatched: bool,
    /// `[studies] hold_on_mismatch`: studies matched to an order whose patient differs from
    /// the device's wait for a person. Off here (the station's default is on) so that tests
    /// sending demo patients under an order's accession see them go; the tests of the guard
    /// turn it on.
    pub hold_on_mismatch: bool,
    /// `[studies] send_while_receiving`; unset: the station's default (on).
    pub send_while_receiving: Option<bool>,
    /// See [`destination`] for the test defaults of each.
    pub destinations: Vec<Destination>,
    /// `poll_reports` for every destination; unset: the station's default (on). Tests that count
    /// connections through a proxy turn it off, so report lookups do not take their faults.
    pub poll_reports: Option<bool>,
    /// `[station] uid_root`.
    pub uid_root: Option<String>,
    /// Applied last, in order; see [`Options::tweak`].
    pub tweaks: Vec<Tweak>,
}

impl Options {
    /// Studies complete after 1 s and go to one destination named "hub" at `url`.
    pub fn sending_to(url: impl Into<String>) -> Options {
        Options {
            quiet_period_secs: Some(1),
            destinations: vec![destination("hub", url)],
            ..Options::default()
        }
    }

    /// Any other setting, on the typed configuration, e.g.
    /// `[dicom] worklist_callers`: the devices whose worklist queries are answered (the
    /// station answers none by default).
    pub fn worklist_for(self, callers: &'static [&'static str]) -> Options {
        self.tweak(move |c| {
            c.dicom.worklist_callers = callers.iter().map(|s| s.to_string()).collect();
        })
    }

    /// `.tweak(|c| c.auth.session_ttl_secs = 6)`.
    pub fn tweak(mut self, change: impl Fn(&mut Config) + 'static) -> Options {
        self.tweaks.push(Box::new(change));
        self
    }

    /// The whole configuration of a station on loopback with this data directory and these
    /// ports (0: the station picks one), validated as the station will validate it.
    pub fn config(&self, data_dir: &Path, dicom_port: u16, http_port: u16) -> Config {
        let mut c = Config::defaults();
        c.data_dir = data_dir.to_owned();
        c.dicom.ae_title = AE_TITLE.into();
        c.dicom.port = dicom_port;
        c.dicom.bind = "127.0.0.1".into();
        c.dicom.allowed_callers = self.allowed_callers.clone();
        c.dicom.idle_timeout_secs = 30;
        c.dicom.artim_timeout_secs = self.artim_timeout_secs.unwrap_or(10);
        c.http.port = http_port;
        c.http.bind = "127.0.0.1".into();
        c.storage.min_free_mb = self.min_free_mb;
        // A build machine's disk may well be 90% full with other things: a station's
        // retention would then delete every delivered study of every test at once. Tests of
        // retention set the marks on a small filesystem of their own.
        c.storage.high_water_percent = 100;
        c.storage.low_water_percent = 99;
        c.studies.quiet_period_secs = self.quiet_period_secs.unwrap_or(3600);
        c.studies.hold_unmatched = self.hold_unmatched;
        c.studies.hold_on_mismatch = self.hold_on_mismatch;
        if let Some(early) = self.send_while_receiving {
            c.studies.send_while_receiving = early;
        }
        c.station.uid_root = self.uid_root.clone();
        c.watch = self.watch.clone();
        c.destinations = self.destinations.clone();
        if let Some(poll) = self.poll_reports {
            for d in &mut c.destinations {
                d.poll_reports = poll;
            }
        }
        for tweak in &self.tweaks {
            tweak(&mut c);
        }
        if let Err(e) = c.validate() {
            panic!("the test's configuration is invalid: {e}");
        }
        c
    }
}

/// Writes `config` as the TOML file a station reads with `--config`.
pub fn write(config: &Config, path: &Path) {
    let text = toml::to_string(config).expect("serializing the station config");
    std::fs::write(path, text).expect("writing the station config");
}

/// A `[[destinations]]` entry with the engine's defaults, except retries capped at 2 s (tests
/// see recovery quickly) and a 30 s request timeout. Routing fields are set with struct update
/// syntax: `Destination { modalities: vec!["ECG".into()], ..destination("ecg", url) }`.
pub fn destination(name: &str, url: impl Into<String>) -> Destination {
    let mut d: Destination = serde_json::from_value(json!({ "name": name, "url": url.into() }))
        .expect("a destination with the engine's defaults");
    d.retry_max_secs = 2;
    d.timeout_secs = 30;
    d
}

/// A watched folder (created if missing) that takes a file once it has been still for 300 ms
/// and rescans every second; `device` for a device whose exports are converted.
pub fn watch_folder(path: &Path, device: Option<DeviceProfile>) -> WatchFolder {
    std::fs::create_dir_all(path).expect("watched folder");
    let mut w: WatchFolder = serde_json::from_value(json!({ "path": path }))
        .expect("a watched folder with the engine's defaults");
    w.settle_ms = 300;
    w.rescan_secs = 1;
    w.device = device;
    w
}

/// A device that only exports files: its modality, what it writes ("pdf", "jpeg", "aecg"…) and
/// its model name; the rest as the engine defaults it.
pub fn device(modality: &str, writes: &[&str], name: &str) -> DeviceProfile {
    serde_json::from_value(json!({ "modality": modality, "writes": writes, "name": name }))
        .expect("a device profile with the engine's defaults")
}

/// Looks for reports at the hub every second, and retries a failed look within 2 s.
pub fn fast_report_polling(c: &mut Config) {
    c.reports.urgent_poll_secs = 1;
    c.reports.recent_poll_secs = 1;
    c.reports.idle_poll_secs = 1;
}
