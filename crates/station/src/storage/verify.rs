//! The integrity check (`station verify`, weekly by the service): every index row whose file
//! should be on disk is looked at (missing, another size, and with `rehash` another SHA-256),
//! every file under `instances/` the index does not know (a crash's leftover) is moved to
//! quarantine with its reason, and SQLite checks the database itself.
//!
//! Must never: delete or change a file (an unknown one is moved to quarantine, byte for byte), or
//! take a file still on its way into the index for an unknown one: the index is read after the
//! folder (ingest renames a file and commits its row under the store's lock), and a file
//! younger than [`GRACE`] is left for the next check (another process may be committing it).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

use super::{sha256_file_with, HASH_BLOCK};
use crate::ingest::quarantine::quarantine_file;
use crate::ingest::{IngestError, Refusal};
use crate::store::runs::StorageRun;
use crate::store::{self, QuarantineReason, StorageRunKind, Store, StoreError};

/// Files under `instances/` without a row younger than this are not judged yet.
pub const GRACE: Duration = Duration::from_secs(120);

/// Why the check could not finish (a problem it finds is in the [`Report`], not an error).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The index could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A folder under `instances/` could not be listed.
    #[error("reading {path}: {detail}")]
    Walk {
        /// The folder or file concerned.
        path: String,
        /// The error met.
        detail: String,
    },
    /// A file the index does not know could not be moved to quarantine.
    #[error("quarantining an unknown file: {0}")]
    Quarantine(#[from] IngestError),
}

/// What is wrong with an indexed file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    /// No file where the row says.
    Missing,
    /// The file's length is not the one recorded.
    SizeDiffers,
    /// Same length, another SHA-256 (only looked at with `rehash`).
    HashDiffers,
    /// It is there but cannot be read (permissions, a failing disk).
    Unreadable,
}

/// An index row whose file is not as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileProblem {
    /// The index row's id.
    pub instance_id: i64,
    /// Relative to the data directory.
    pub path: String,
    /// What is wrong.
    pub problem: Problem,
    /// What the index and the disk say (size in bytes, or SHA-256), or the I/O error.
    pub expected: String,
    /// What the disk says (or the I/O error), beside `expected`.
    pub found: String,
}

/// A file under `instances/` the index does not know, and where it was moved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Orphan {
    /// Where it was, relative to the data directory.
    pub path: String,
    /// Where it is now, under `quarantine/`.
    pub quarantined_to: String,
}

/// What one integrity check found (recorded as a storage run; shown by `station verify`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Report {
    /// Index rows looked at.
    pub checked: u64,
    /// Whether every file was hashed, not only its size compared.
    pub rehashed: bool,
    /// Bytes read to hash them (0 without `rehash`).
    pub bytes_hashed: u64,
    /// How long the check took, in seconds.
    pub seconds: f64,
    /// Index rows whose file is not as recorded.
    pub files: Vec<FileProblem>,
    /// Files without a row, now in quarantine.
    pub orphans: Vec<Orphan>,
    /// Files without a row too young to judge (see [`GRACE`]).
    pub too_new: u64,
    /// What `PRAGMA integrity_check` found (empty: sound).
    pub database: Vec<String>,
}

impl Report {
    /// Everything a person must look at.
    pub fn problems(&self) -> usize {
        self.files.len() + self.orphans.len() + self.database.len()
    }

    /// One line for the dashboard and the log.
    pub fn summary(&self) -> String {
        let count = |p: Problem| self.files.iter().filter(|f| f.problem == p).count();
        format!(
            "{} files checked{}: {} missing, {} of another size, {} of other content, {} unreadable, {} unknown moved to quarantine, database: {}",
            self.checked,
            if self.rehashed { " and rehashed" } else { "" },
            count(Problem::Missing),
            count(Problem::SizeDiffers),
            count(Problem::HashDiffers),
            count(Problem::Unreadable),
            self.orphans.len(),
            if self.database.is_empty() { "ok".to_string() } else { format!("{} problems", self.database.len()) },
        )
    }
}

/// Checks the station whose index is `store` and whose data directory is `data_dir`.
pub fn run(store: &Store, data_dir: &Path, rehash: bool) -> Result<Report, VerifyError> {
    let started = Instant::now();
    let mut report = Report {
        rehashed: rehash,
        ..Report::default()
    };
    let expected = store::files_expected(&store.lock())?;
    let mut buf = if rehash {
        vec![0u8; HASH_BLOCK]
    } else {
        Vec::new()
    };
    for row in expected {
        report.checked += 1;
        if let Some(p) = check_file(data_dir, &row, &mut buf, &mut report.bytes_hashed) {
            report.files.push(p);
        }
    }
    let (candidates, too_new) = unknown_files(store, data_dir)?;
    report.too_new = too_new;
    let quarantine = data_dir.join("quarantine");
    for (rel, file) in candidates {
        let refusal = Refusal::new(
            QuarantineReason::Orphan,
            format!("{rel} was under instances/ without an index row (left by a crash?); moved here by the integrity check"),
        );
        let dest = quarantine_file(store, &file, &quarantine, &refusal, false)?;
        report.orphans.push(Orphan {
            path: rel,
            quarantined_to: dest.display().to_string(),
        });
    }
    // On a connection of its own, so the station's writes go on meanwhile.
    report.database =
        store::upkeep::integrity_problems(&store::open_reader(&data_dir.join("station.db"))?)?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// What is wrong with `row`'s file; its content is hashed (through `buf`) unless `buf` is
/// empty.
fn check_file(
    data_dir: &Path,
    row: &store::ExpectedFile,
    buf: &mut [u8],
    bytes_hashed: &mut u64,
) -> Option<FileProblem> {
    let problem = |problem, expected: String, found: String| FileProblem {
        instance_id: row.id,
        path: row.path.clone(),
        problem,
        expected,
        found,
    };
    let path = data_dir.join(&row.path);
    let size = match std::fs::metadata(&path) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Some(problem(Problem::Missing, row.path.clone(), String::new()))
        }
        Err(e) => return Some(problem(Problem::Unreadable, String::new(), e.to_string())),
    };
    if size as i64 != row.size {
        return Some(problem(
            Problem::SizeDiffers,
            row.size.to_string(),
            size.to_string(),
        ));
    }
    if buf.is_empty() {
        return None;
    }
    match sha256_file_with(&path, buf) {
        Ok((sha, len)) => {
            *bytes_hashed += len;
            (sha != row.sha256).then(|| problem(Problem::HashDiffers, row.sha256.clone(), sha))
        }
        Err(e) => Some(problem(Problem::Unreadable, String::new(), e.to_string())),
    }
}

/// Files under `instances/` without an index row and older than [`GRACE`] (relative path and
/// full path), and how many younger ones were left.
fn unknown_files(
    store: &Store,
    data_dir: &Path,
) -> Result<(Vec<(String, PathBuf)>, u64), VerifyError> {
    let root = data_dir.join("instances");
    let mut found = Vec::new();
    if !root.exists() {
        return Ok((Vec::new(), 0));
    }
    for entry in walkdir::WalkDir::new(&root) {
        let entry = entry.map_err(|e| VerifyError::Walk {
            path: root.display().to_string(),
            detail: e.to_string(),
        })?;
        if !entry.file_type().is_file() {
            continue;
        }
        let Ok(rel) = entry.path().strip_prefix(data_dir) else {
            continue;
        };
        let modified = entry.metadata().ok().and_then(|m| m.modified().ok());
        found.push((
            rel.to_string_lossy().replace('\\', "/"),
            entry.into_path(),
            modified,
        ));
    }
    // Read after the walk: a file the walk saw was renamed under the store's lock, which is
    // held until its row is committed (in this process; GRACE covers another).
    let known = store::all_instance_paths(&store.lock())?;
    let now = SystemTime::now();
    let mut too_new = 0;
    let mut unknown = Vec::new();
    for (rel, path, modified) in found {
        if known.contains(&rel) {
            continue;
        }
        let age = modified.and_then(|m| now.duration_since(m).ok());
        if age.is_none_or(|a| a < GRACE) {
            too_new += 1;
            continue;
        }
        unknown.push((rel, path));
    }
    Ok((unknown, too_new))
}

/// Runs the check and records it (what the dashboard shows); a check that could not finish is
/// recorded as failed with its error. Files it moved to quarantine are in the audit trail as
/// done by `actor` (`cli`, or `station` for the service's schedule).
pub fn run_and_record(
    store: &Store,
    data_dir: &Path,
    rehash: bool,
    actor: &str,
) -> Result<Report, VerifyError> {
    let started_at = store::now_ms();
    let result = run(store, data_dir, rehash);
    if let Ok(r) = &result {
        if !r.orphans.is_empty() {
            let moved: Vec<&str> = r.orphans.iter().map(|o| o.path.as_str()).collect();
            let audited = store::audit::record(
                &store.lock(),
                actor,
                "storage.quarantine_orphans",
                &data_dir.display().to_string(),
                &format!("moved to quarantine: {}", moved.join(", ")),
            );
            if let Err(e) = audited {
                tracing::error!(error = %e, "cannot audit the files moved to quarantine");
            }
        }
    }
    let (ok, problems, detail) = match &result {
        Ok(r) => (r.problems() == 0, r.problems() as i64, r.summary()),
        Err(e) => (false, 1, format!("the check did not finish: {e}")),
    };
    super::record(
        store,
        &StorageRun {
            kind: StorageRunKind::Verify,
            started_at,
            finished_at: store::now_ms(),
            ok,
            problems,
            detail,
        },
    );
    result
}

#[cfg(test)]
mod tests;
