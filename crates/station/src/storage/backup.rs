//! Backup and restore of a station's index. A backup is a folder holding `station.db` (a
//! consistent copy made while the station runs, see `store::upkeep::copy_database`),
//! `station.toml` (the settings with every secret hidden, as the Settings page shows them) and
//! `manifest.json` (version, schema, time, counts, and the SHA-256 of each file), written last:
//! a folder without a manifest is not a backup. Instance files are not in it (the hub holds the
//! delivered ones; the README says how to keep the rest).
//!
//! Must never: restore a backup whose files do not match its manifest, restore while a station
//! runs on the data directory, or overwrite an index without being told to (and then the old
//! one is kept aside, never deleted).

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::sha256_file;
use crate::config::Config;
use crate::store::upkeep::{self, Contents};
use crate::store::{self, StoreError};

pub(crate) const MANIFEST: &str = "manifest.json";
pub(crate) const INDEX: &str = "station.db";
/// The backup's copy of the settings, secrets hidden (compare by hand; never restored).
pub const SETTINGS: &str = "station.toml";
/// Nightly backups are folders named `station-YYYYMMDD-HHMMSS` (local time) in the backup
/// directory; only those are rotated.
const NIGHTLY_PREFIX: &str = "station-";

/// Why a backup or a restore did not happen (nothing was replaced).
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// Reading, writing or renaming a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder concerned.
        path: String,
        /// The operating system's error.
        source: io::Error,
    },
    /// The index could not be copied, opened or audited.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The data directory has no `station.db` to back up (the path).
    #[error("no station database at {0}")]
    NoIndex(String),
    /// The output folder (the path) already holds a backup.
    #[error("{0} already holds a backup; choose an empty folder")]
    NotEmpty(String),
    /// The folder (first) has no readable manifest (second: why).
    #[error("{0} is not a backup (no readable {MANIFEST}): {1}")]
    NoManifest(String, String),
    /// A file is missing or differs from the manifest's size or SHA-256.
    #[error("the backup is damaged: {0}")]
    Damaged(String),
    /// The backup comes from a newer station: its schema has more migrations than this one.
    #[error("the backup's index has schema {found}, newer than this station knows ({known}); restore it with a newer station")]
    TooNew {
        /// The backup's schema version (`PRAGMA user_version`).
        found: i64,
        /// How many migrations this station knows.
        known: usize,
    },
    /// A station holds the data directory's lock (the path): never restore under it.
    #[error("a station is running on {0}; stop it before restoring")]
    Running(String),
    /// The data directory (the path) has an index and `force` was not given.
    #[error("{0} already holds an index; use --force to replace it (the old one is kept aside)")]
    IndexExists(String),
    /// The settings or the manifest could not be serialized.
    #[error("encoding: {0}")]
    Encode(String),
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// One file of a backup, as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Length in bytes.
    pub size: u64,
    /// SHA-256, lower-case hex.
    pub sha256: String,
}

/// `manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// The version of the station that wrote it.
    pub station_version: String,
    /// Local time, RFC 3339.
    pub created_at: String,
    /// The same time, in milliseconds since the Unix epoch (when the copy started).
    pub created_at_ms: i64,
    /// The data directory it was taken from.
    pub data_dir: String,
    /// The copied index's schema version and counts.
    #[serde(flatten)]
    pub contents: Contents,
    /// Each file of the backup by name (the manifest itself aside).
    pub files: BTreeMap<String, FileEntry>,
}

/// Writes a backup of `config`'s station into `out` (created; it must not hold one already).
/// The station may be running: the index copy is a snapshot taken as this starts.
pub fn write(config: &Config, out: &Path) -> Result<Manifest, BackupError> {
    let db = config.db_path();
    if !db.exists() {
        return Err(BackupError::NoIndex(db.display().to_string()));
    }
    if out.join(MANIFEST).exists() || out.join(INDEX).exists() {
        return Err(BackupError::NotEmpty(out.display().to_string()));
    }
    std::fs::create_dir_all(out).map_err(io_at(out))?;
    let created_at_ms = store::now_ms();
    let partial = out.join(format!("{INDEX}.partial"));
    // A partial copy left by a crash: VACUUM INTO wants a file that does not exist.
    if partial.exists() {
        std::fs::remove_file(&partial).map_err(io_at(&partial))?;
    }
    upkeep::copy_database(&db, &partial)?;
    let index = out.join(INDEX);
    sync_file(&partial)?;
    std::fs::rename(&partial, &index).map_err(io_at(&index))?;
    let contents = upkeep::contents(&store::open_reader(&index)?)?;
    let settings = toml::to_string_pretty(&config.redacted())
        .map_err(|e| BackupError::Encode(e.to_string()))?;
    let settings_path = out.join(SETTINGS);
    std::fs::write(&settings_path, settings).map_err(io_at(&settings_path))?;
    sync_file(&settings_path)?;
    let mut files = BTreeMap::new();
    for name in [INDEX, SETTINGS] {
        files.insert(name.to_string(), entry(&out.join(name))?);
    }
    let manifest = Manifest {
        station_version: env!("CARGO_PKG_VERSION").into(),
        created_at: chrono::Local::now().to_rfc3339(),
        created_at_ms,
        data_dir: config.data_dir.display().to_string(),
        contents,
        files,
    };
    let text =
        serde_json::to_string_pretty(&manifest).map_err(|e| BackupError::Encode(e.to_string()))?;
    // Written last, and renamed into place: its presence says the backup is whole.
    let tmp = out.join(format!("{MANIFEST}.partial"));
    std::fs::write(&tmp, text).map_err(io_at(&tmp))?;
    sync_file(&tmp)?;
    let manifest_path = out.join(MANIFEST);
    std::fs::rename(&tmp, &manifest_path).map_err(io_at(&manifest_path))?;
    crate::disk::sync_dir(out).map_err(io_at(out))?;
    Ok(manifest)
}

/// [`write`], recorded as a run of its kind (what the dashboard shows), failed or not.
pub fn write_and_record(
    config: &Config,
    store: &store::Store,
    out: &Path,
) -> Result<Manifest, BackupError> {
    let started_at = store::now_ms();
    let result = write(config, out);
    let (ok, detail) = match &result {
        Ok(m) => (
            true,
            format!(
                "{}: {} studies, {} instances, {} reports",
                out.display(),
                m.contents.studies,
                m.contents.instances,
                m.contents.reports
            ),
        ),
        Err(e) => (false, format!("{}: {e}", out.display())),
    };
    super::record(
        store,
        &store::runs::StorageRun {
            kind: store::StorageRunKind::Backup,
            started_at,
            finished_at: store::now_ms(),
            ok,
            problems: i64::from(!ok),
            detail,
        },
    );
    result
}

fn entry(path: &Path) -> Result<FileEntry, BackupError> {
    let (sha256, size) = sha256_file(path).map_err(io_at(path))?;
    Ok(FileEntry { size, sha256 })
}

fn sync_file(path: &Path) -> Result<(), BackupError> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(io_at(path))
}

/// Reads `dir`'s manifest and checks every file it lists against its size and SHA-256.
pub fn check(dir: &Path) -> Result<Manifest, BackupError> {
    let path = dir.join(MANIFEST);
    let manifest: Manifest = std::fs::read_to_string(&path)
        .map_err(|e| e.to_string())
        .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string()))
        .map_err(|e| BackupError::NoManifest(dir.display().to_string(), e))?;
    if !manifest.files.contains_key(INDEX) {
        return Err(BackupError::Damaged(format!(
            "the manifest lists no {INDEX}"
        )));
    }
    for (name, want) in &manifest.files {
        let file = dir.join(name);
        let found = sha256_file(&file).map_err(|e| BackupError::Damaged(format!("{name}: {e}")))?;
        if found != (want.sha256.clone(), want.size) {
            return Err(BackupError::Damaged(format!(
                "{name} is not the file the manifest lists (size or SHA-256 differs)"
            )));
        }
    }
    Ok(manifest)
}

/// What a restore did.
#[derive(Debug, Clone)]
pub struct Restored {
    /// The manifest of the backup restored.
    pub manifest: Manifest,
    /// The index file now in place (`station.db` in the data directory).
    pub index: PathBuf,
    /// Where the index it replaced was put (with `--force`).
    pub previous: Option<PathBuf>,
}

/// Puts the backup in `from` into `config`'s data directory: checks the manifest's hashes,
/// takes the data directory's lock (refused while a station runs there), moves an existing
/// index aside when `force` (refused otherwise), then copies the index in. The settings are
/// not touched: the backup's `station.toml` has its secrets hidden, for a person to compare.
/// The restored index's audit trail records it, done by `actor`.
pub fn restore(
    config: &Config,
    from: &Path,
    force: bool,
    actor: &str,
) -> Result<Restored, BackupError> {
    let manifest = check(from)?;
    let known = store::migrations::MIGRATIONS.len();
    if manifest.contents.schema_version > known as i64 {
        return Err(BackupError::TooNew {
            found: manifest.contents.schema_version,
            known,
        });
    }
    let data_dir = &config.data_dir;
    std::fs::create_dir_all(data_dir)
        .and_then(|()| crate::disk::make_private(data_dir))
        .map_err(io_at(data_dir))?;
    let _lock = crate::disk::lock_data_dir(data_dir)
        .map_err(io_at(data_dir))?
        .ok_or_else(|| BackupError::Running(data_dir.display().to_string()))?;
    let index = config.db_path();
    let previous = if index.exists() {
        if !force {
            return Err(BackupError::IndexExists(data_dir.display().to_string()));
        }
        Some(move_aside(&index)?)
    } else {
        None
    };
    let partial = data_dir.join(format!("{INDEX}.restoring"));
    std::fs::copy(from.join(INDEX), &partial).map_err(io_at(&partial))?;
    sync_file(&partial)?;
    std::fs::rename(&partial, &index).map_err(io_at(&index))?;
    crate::disk::sync_dir(data_dir).map_err(io_at(data_dir))?;
    // Opened once here: an older backup's schema is brought up to date now, not at start.
    let restored = store::Store::open(&index)?;
    store::audit::record(
        &restored.lock(),
        actor,
        "storage.restore",
        &from.display().to_string(),
        &format!(
            "index of {} restored ({} studies, {} instances){}",
            manifest.created_at,
            manifest.contents.studies,
            manifest.contents.instances,
            previous
                .as_ref()
                .map(|p| format!("; the one replaced kept as {}", p.display()))
                .unwrap_or_default()
        ),
    )?;
    Ok(Restored {
        manifest,
        index,
        previous,
    })
}

/// Renames `station.db` (with its WAL and shared-memory files, which may hold committed
/// transactions) to `station.before-restore-<time>.db…`, which SQLite still opens as one.
fn move_aside(index: &Path) -> Result<PathBuf, BackupError> {
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    let dir = index.parent().unwrap_or(Path::new("."));
    let aside = dir.join(format!("station.before-restore-{stamp}.db"));
    for suffix in ["-wal", "-shm", ""] {
        let from = PathBuf::from(format!("{}{suffix}", index.display()));
        if from.exists() {
            let to = PathBuf::from(format!("{}{suffix}", aside.display()));
            std::fs::rename(&from, &to).map_err(io_at(&to))?;
        }
    }
    Ok(aside)
}

/// A new nightly backup folder in `dir`, named by the local time.
pub fn nightly_folder(dir: &Path) -> PathBuf {
    dir.join(format!(
        "{NIGHTLY_PREFIX}{}",
        chrono::Local::now().format("%Y%m%d-%H%M%S")
    ))
}

/// Deletes the nightly backups in `dir` past the newest `keep` (and folders a crash left
/// without a manifest, older than the newest whole one). Returns the folders deleted.
pub fn rotate(dir: &Path, keep: usize) -> Result<Vec<PathBuf>, BackupError> {
    let mut whole = Vec::new();
    let mut broken = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_at(dir))? {
        let path = entry.map_err(io_at(dir))?.path();
        let ours = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(NIGHTLY_PREFIX));
        if !ours || !path.is_dir() {
            continue;
        }
        if path.join(MANIFEST).exists() {
            whole.push(path);
        } else {
            broken.push(path);
        }
    }
    // The names sort by time.
    whole.sort();
    let newest = whole.last().cloned();
    let mut gone = whole[..whole.len().saturating_sub(keep)].to_vec();
    gone.extend(
        broken
            .into_iter()
            .filter(|b| newest.as_ref().is_some_and(|n| b < n)),
    );
    for path in &gone {
        std::fs::remove_dir_all(path).map_err(io_at(path))?;
    }
    Ok(gone)
}

#[cfg(test)]
mod tests;
