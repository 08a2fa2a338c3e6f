//! The diagnostics bundle (`station diagnose --out FILE.tar.gz`): what the center's
//! maintenance staff need to understand a station they cannot visit, in one file the clinic
//! can send: versions and system, disk, the configuration with every secret hidden, the last
//! 2,000 log lines, the status and the send queue, recent errors per destination, a quick
//! index check and the connection test of each destination.
//!
//! Must never: carry a patient's name, ID, ID card or phone number (every text is scrubbed of
//! each one the store knows, received or registered, before it is written), or a secret.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::Serialize;

use crate::config::Config;
use crate::store;
use crate::upstream::probe;

/// Log lines at the end of the newest daily files.
const LOG_LINES: usize = 2000;
/// Errors kept per destination, newest studies first.
const ERRORS_PER_DESTINATION: usize = 20;

/// Why a diagnostic bundle could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DiagnoseError {
    /// The index could not be read.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// The bundle's file could not be written.
    #[error("writing the bundle: {0}")]
    Write(#[from] std::io::Error),
    /// A part of the bundle could not be serialized.
    #[error("encoding: {0}")]
    Encode(String),
}

/// Replaces every identifying text the store knows with a placeholder.
struct Scrubber(Vec<String>);

impl Scrubber {
    fn from_store(conn: &rusqlite::Connection) -> Result<Scrubber, store::StoreError> {
        let mut texts = store::patients::identifying_texts(conn)?;
        texts.extend(store::received_identifying_texts(conn)?);
        Ok(Scrubber::new(texts))
    }

    fn new(texts: Vec<String>) -> Scrubber {
        let mut variants = Vec::new();
        for t in texts {
            // A PN value ("王^小明", "Liu^Yang=刘^洋") also shows up joined and in parts.
            for group in t.split('=') {
                variants.push(group.replace('^', ""));
                variants.push(group.replace('^', " "));
                variants.extend(group.split('^').map(str::to_string));
            }
            variants.push(t);
        }
        // Short parts (one Chinese character, "1") would blank ordinary words: a name is kept
        // out by its whole and its longer parts.
        variants.retain(|v| v.trim().chars().count() >= 2);
        variants.sort_by_key(|v| std::cmp::Reverse(v.len()));
        variants.dedup();
        Scrubber(variants)
    }

    fn scrub(&self, text: &str) -> String {
        let mut text = text.to_string();
        for v in &self.0 {
            if text.contains(v.as_str()) {
                text = text.replace(v.as_str(), "[patient]");
            }
        }
        text
    }
}

#[derive(Serialize)]
struct System {
    station_version: &'static str,
    os: &'static str,
    arch: &'static str,
    generated_at: String,
    data_dir: String,
    disk_free_bytes: Option<u64>,
    disk_total_bytes: Option<u64>,
    disk_floor_bytes: u64,
}

#[derive(Serialize)]
struct IndexCheck {
    instances_indexed: usize,
    files_missing: usize,
    /// Up to 20 of the missing files, relative to the data directory.
    missing_examples: Vec<String>,
}

/// What the bundle takes from the database, read in one go: a running station holds its
/// store's lock only for this, not while the destinations are tested.
pub struct StoreFacts {
    scrubber: Scrubber,
    counts: store::StatusCounts,
    queue: Vec<store::queue::QueueRow>,
    index: std::collections::HashSet<String>,
}

/// Reads what the bundle reports of the index (queue rows, the set of indexed files) in one
/// pass, so the file walk that follows compares against a consistent picture.
pub fn read_store(conn: &rusqlite::Connection) -> Result<StoreFacts, DiagnoseError> {
    Ok(StoreFacts {
        scrubber: Scrubber::from_store(conn)?,
        counts: store::status_counts(conn)?,
        queue: store::queue::queue_rows(conn)?,
        index: store::all_instance_paths(conn)?,
    })
}

/// Writes the bundle (a `.tar.gz`) for the station of `config` to `out`; tests each
/// destination on the way (up to its connect timeout each).
pub fn write_bundle(
    config: &Config,
    facts: StoreFacts,
    out: impl Write,
) -> Result<(), DiagnoseError> {
    let StoreFacts {
        scrubber,
        counts,
        queue,
        index,
    } = facts;
    let missing: Vec<String> = index
        .iter()
        .filter(|p| !config.data_dir.join(p).is_file())
        .cloned()
        .collect();
    let index_check = IndexCheck {
        instances_indexed: index.len(),
        files_missing: missing.len(),
        missing_examples: missing.into_iter().take(20).collect(),
    };
    let mut errors: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
    for row in queue.iter().rev() {
        if let Some(e) = &row.last_error {
            let list = errors.entry(row.destination.as_str()).or_default();
            if list.len() < ERRORS_PER_DESTINATION {
                list.push((row.study_uid.as_str(), e.as_str()));
            }
        }
    }
    let system = System {
        station_version: env!("CARGO_PKG_VERSION"),
        os: std::env::consts::OS,
        arch: std::env::consts::ARCH,
        generated_at: chrono::Local::now().to_rfc3339(),
        data_dir: config.data_dir.display().to_string(),
        disk_free_bytes: fs4::available_space(&config.data_dir).ok(),
        disk_total_bytes: fs4::total_space(&config.data_dir).ok(),
        disk_floor_bytes: config.storage.min_free_bytes(),
    };
    let dests: Vec<_> = config.destinations.iter().collect();
    let hub_tests: BTreeMap<&str, Vec<probe::StepResult>> = dests
        .iter()
        .map(|d| d.name.as_str())
        .zip(probe::probe_blocking(&dests)?)
        .collect();
    let config_text = toml::to_string_pretty(&config.redacted())
        .map_err(|e| DiagnoseError::Encode(e.to_string()))?;

    let files: Vec<(&str, String)> = vec![
        ("system.json", json(&system)?),
        ("station.toml", config_text),
        ("status.json", json(&counts)?),
        ("sync-status.json", json(&queue)?),
        ("errors.json", json(&errors)?),
        ("index-check.json", json(&index_check)?),
        ("hub-test.json", json(&hub_tests)?),
        ("station.log", log_tail(&config.log_dir(), LOG_LINES)),
    ];
    let gz = flate2::write::GzEncoder::new(out, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let now = chrono::Utc::now().timestamp().max(0) as u64;
    for (name, text) in files {
        let bytes = scrubber.scrub(&text).into_bytes();
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(now);
        tar.append_data(
            &mut header,
            format!("station-diagnostics/{name}"),
            &bytes[..],
        )?;
    }
    tar.into_inner()?.finish()?.flush()?;
    Ok(())
}

fn json(value: &impl Serialize) -> Result<String, DiagnoseError> {
    serde_json::to_string_pretty(value).map_err(|e| DiagnoseError::Encode(e.to_string()))
}

/// Queue rows with every patient name and ID the store knows replaced in their hub errors (a
/// hub may quote the patient it refused), as the bundle carries them.
pub fn scrub_queue(
    conn: &rusqlite::Connection,
    rows: &mut [store::queue::QueueRow],
) -> Result<(), store::StoreError> {
    if rows.iter().all(|r| r.last_error.is_none()) {
        return Ok(());
    }
    let scrubber = Scrubber::from_store(conn)?;
    for error in rows.iter_mut().filter_map(|r| r.last_error.as_mut()) {
        *error = scrubber.scrub(error);
    }
    Ok(())
}

/// The station's last log lines, as the bundle carries them (scrubbed of every patient name and
/// ID the store knows): what the maintenance role reads as "the log".
pub fn log_text(conn: &rusqlite::Connection, config: &Config) -> Result<String, DiagnoseError> {
    let scrubber = Scrubber::from_store(conn)?;
    Ok(scrubber.scrub(&log_tail(&config.log_dir(), LOG_LINES)))
}

/// The last `n` lines of the daily log files (`station.YYYY-MM-DD.log`), oldest first.
fn log_tail(dir: &Path, n: usize) -> String {
    let files = crate::logfile::daily_files(dir);
    let mut lines: Vec<String> = Vec::new();
    for file in files.iter().rev() {
        let text = std::fs::read(file).unwrap_or_default();
        let mut these: Vec<String> = String::from_utf8_lossy(&text)
            .lines()
            .map(str::to_string)
            .collect();
        these.append(&mut lines);
        lines = these;
        if lines.len() >= n {
            break;
        }
    }
    let start = lines.len().saturating_sub(n);
    lines[start..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_scrubbed_whole_joined_and_by_its_longer_parts() {
        let scrubber = Scrubber::new(vec![
            "王^小明".into(),
            "Liu^Yang=刘^洋".into(),
            "P001234".into(),
        ]);
        let text = scrubber.scrub("王^小明 王小明 小明 P001234 Liu Yang 刘洋 study 1.2.3");
        for gone in [
            "王^小明",
            "王小明",
            "小明",
            "P001234",
            "Liu",
            "Yang",
            "刘洋",
        ] {
            assert!(!text.contains(gone), "{gone} in {text}");
        }
        assert!(text.contains("study 1.2.3"), "{text}");
    }
}
