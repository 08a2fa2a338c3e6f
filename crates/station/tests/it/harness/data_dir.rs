//! Read-only looks at a station's data directory, and the end-of-test check: a station at rest
//! leaves no staging file under `tmp/` and no file under `instances/` without an index row.
//!
//! Never writes to a data directory: what a test finds must be what the station left.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use station::store::InstanceRow;

use sha2::{Digest, Sha256};

/// Data directories a station handle already checked while its station ran (the check after it
/// is killed could see debris of the kill itself, not of the station at rest).
static CHECKED: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

/// Every index row (empty when the database does not exist yet).
pub fn read_instances(data_dir: &Path) -> Vec<InstanceRow> {
    let db = data_dir.join("station.db");
    if !db.exists() {
        return Vec::new();
    }
    let conn = station::store::open_reader(&db).expect("opening the index read-only");
    station::store::list_instances(&conn).expect("listing instances")
}

/// All regular files under `dir` (recursive), empty when it does not exist.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    if !dir.exists() {
        return Vec::new();
    }
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.expect("walking a directory"))
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect()
}

/// Checks the index against the files: every row's file exists with its SHA-256 and size (or,
/// for a row retention purged, no longer exists), and every file under `instances/` has a row.
/// Returns the rows.
pub fn assert_index_matches_files(data_dir: &Path) -> Vec<InstanceRow> {
    let rows = read_instances(data_dir);
    for row in &rows {
        let file = data_dir.join(&row.path);
        if row.purged_at.is_some() {
            // The purge marks the rows, then deletes the files: a moment apart while it runs.
            let gone = super::try_poll(Duration::from_secs(10), Duration::from_millis(50), || {
                (!file.exists()).then_some(())
            });
            assert!(
                gone.is_some(),
                "row #{} ({}) is purged but its file {} is still there",
                row.id,
                row.sop_instance_uid,
                row.path
            );
            continue;
        }
        // A running station's retention may purge the file after the rows were read: that is
        // sound exactly when its row now says so (the purge marks the row, then deletes).
        let Ok(bytes) = std::fs::read(&file) else {
            let now = read_instances(data_dir)
                .into_iter()
                .find(|r| r.id == row.id)
                .and_then(|r| r.purged_at);
            assert!(
                now.is_some(),
                "row #{} ({}) points at missing file {}",
                row.id,
                row.sop_instance_uid,
                row.path
            );
            continue;
        };
        assert_eq!(
            hex::encode(Sha256::digest(&bytes)),
            row.sha256,
            "sha256 of {} does not match its row",
            row.path
        );
        assert_eq!(bytes.len() as i64, row.size, "size of {}", row.path);
    }
    let unindexed = unindexed_files(data_dir, &rows);
    assert!(
        unindexed.is_empty(),
        "under instances/ but without an index row: {unindexed:?}"
    );
    rows
}

/// Files under `instances/` that no row points at.
fn unindexed_files(data_dir: &Path, rows: &[InstanceRow]) -> Vec<PathBuf> {
    let indexed: BTreeSet<PathBuf> = rows.iter().map(|r| data_dir.join(&r.path)).collect();
    files_under(&data_dir.join("instances"))
        .into_iter()
        .filter(|f| !indexed.contains(f))
        .collect()
}

/// `Err` naming what is left behind: staging files under `tmp/`, files under `instances/`
/// without an index row.
pub fn check_clean(data_dir: &Path) -> Result<(), String> {
    let staging = files_under(&data_dir.join("tmp"));
    let unindexed = unindexed_files(data_dir, &read_instances(data_dir));
    if staging.is_empty() && unindexed.is_empty() {
        return Ok(());
    }
    Err(format!(
        "data directory {} is not clean at the end of the test:\n  staging leftovers under tmp/: {staging:?}\n  files under instances/ without an index row: {unindexed:?}",
        data_dir.display()
    ))
}

/// For a running station: waits (bounded) until the data directory is clean, since an object
/// may be on its way from staging to the index; `Err` with what is left when it never is.
/// Records the directory as checked.
pub fn wait_clean(data_dir: &Path, timeout: Duration) -> Result<(), String> {
    let clean = super::try_poll(timeout, Duration::from_millis(50), || {
        check_clean(data_dir).ok()
    });
    CHECKED
        .lock()
        .expect("checked data dirs")
        .insert(data_dir.to_owned());
    match clean {
        Some(()) => Ok(()),
        None => check_clean(data_dir).map_err(|m| format!("after waiting {timeout:?}, {m}")),
    }
}

/// Data directories (folders holding a `station.db`) under `root` that no station handle
/// checked while its station ran.
pub fn unchecked_data_dirs(root: &Path) -> Vec<PathBuf> {
    let checked = CHECKED.lock().expect("checked data dirs");
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && e.file_name() == "station.db")
        .filter_map(|e| e.path().parent().map(Path::to_owned))
        .filter(|dir| !checked.contains(dir))
        .collect()
}
