//! The SQLite index, and the one owner of every SQL statement: one submodule per table (or
//! group of tables read together), each with the functions the rest of the engine calls.
//! No SQL text leaves this module.
//!
//! One `Store` per process owns the writing connection (WAL, foreign keys on, migrations applied
//! at open). Readers such as `station status` open their own connection.
//!
//! Must never: touch instance files (that is `ingest`'s job), or hold the lock across network I/O.

pub mod audit;
pub mod changes;
pub mod conversions;
pub mod corrections;
mod instances;
pub mod migrations;
pub mod orders;
pub mod patients;
pub mod qr;
pub mod quarantine;
pub mod queue;
pub mod reports;
pub mod retention;
mod routing;
pub mod runs;
pub mod sessions;
pub mod states;
pub mod status;
pub mod studies;
pub mod tokens;
pub mod upkeep;
pub mod users;
pub mod wire;

pub use instances::{
    all_instance_paths, devices, files_expected, insert_instance, instances_with_sop,
    list_instances, path_of, received_identifying_texts, DeviceSeen, Existing, ExpectedFile,
    InstanceRow, NewInstance,
};
pub use quarantine::insert_quarantine;
pub use routing::{
    complete_quiet_studies, complete_quiet_studies_with, is_routed, queue_study, unrouted,
    would_route, Route,
};
pub use states::{
    HubProblem, InstanceSendState, OrderState, QuarantineReason, SendState, StorageRunKind,
    StudyState,
};
pub use status::{status_counts, StatusCounts};
pub use studies::study_state;

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::Connection;

/// Why the index could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed: a constraint, a lock held past the busy timeout, a full disk, a damaged
    /// file, or no row where one was required.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database has migrations this build does not know: a newer station wrote it, and
    /// this one must not (downgrading needs a backup from before the upgrade).
    #[error(
        "database {path} was written by a newer station (schema {found}, this build knows {known})"
    )]
    TooNew {
        /// The database file.
        path: String,
        /// Its schema version (`PRAGMA user_version`).
        found: i64,
        /// The newest schema version this build has migrations for.
        known: usize,
    },
}

/// Unix time in milliseconds, the unit of every timestamp column.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Where an instance came from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A device over DICOM; the calling AE title.
    Dicom {
        /// The device's AE title (A-ASSOCIATE-RQ, PS3.8 9.3.2).
        calling_ae: String,
    },
    /// A watched folder; the file's original path.
    Folder {
        /// Where the file was found.
        path: String,
    },
    /// `station import`; the file's original path.
    Import {
        /// The file given to the command (or found under the folder given).
        path: String,
    },
    /// A complete file found under `instances/` without an index row after a crash.
    Recovery {
        /// The file under `instances/`.
        path: String,
    },
    /// A report fetched from a hub (WADO-RS); the destination's name. Never sent back.
    Report {
        /// The destination's configured name.
        destination: String,
    },
}

impl Source {
    /// The `instances.source_kind` column: `dicom`, `folder`, `import`, `recovery` or `report`.
    pub fn kind(&self) -> &'static str {
        match self {
            Source::Dicom { .. } => "dicom",
            Source::Folder { .. } => "folder",
            Source::Import { .. } => "import",
            Source::Recovery { .. } => "recovery",
            Source::Report { .. } => "report",
        }
    }
    /// The `instances.source` column: the calling AE title, the original path or the
    /// destination's name.
    pub fn detail(&self) -> &str {
        match self {
            Source::Dicom { calling_ae } => calling_ae,
            Source::Folder { path } | Source::Import { path } | Source::Recovery { path } => path,
            Source::Report { destination } => destination,
        }
    }
}

/// The index as the process that writes it holds it: one connection behind a mutex, so writes
/// are serialized; calls lock it only for the statements, never across network I/O.
pub struct Store {
    conn: Mutex<Connection>,
    /// Rung when queue work may have become due; idle sync workers and the lifecycle wait on it.
    pub doorbell: queue::Doorbell,
}

impl Store {
    /// Opens (creating if needed) the database and applies pending migrations.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let mut conn = open_connection(path)?;
        migrate(&mut conn, path)?;
        Ok(Store {
            conn: Mutex::new(conn),
            doorbell: queue::Doorbell::default(),
        })
    }

    /// The writing connection. A poisoned lock only means another thread panicked mid-call;
    /// SQLite rolled its transaction back, so the connection is still consistent.
    pub fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// How long a statement waits for another connection's lock before failing.
pub(crate) const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: a commit is on disk before we tell the device "success".
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let applied: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if applied as usize > migrations::MIGRATIONS.len() {
        return Err(StoreError::TooNew {
            path: path.display().to_string(),
            found: applied,
            known: migrations::MIGRATIONS.len(),
        });
    }
    for (i, sql) in migrations::MIGRATIONS
        .iter()
        .enumerate()
        .skip(applied as usize)
    {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

/// Whether `e` is a UNIQUE constraint failure (a duplicate the caller names).
fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

/// `text` with LIKE's wildcards and escape character escaped (for `LIKE ? ESCAPE '\'`).
fn like_escaped(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// A read-only look at a station's database from another process (`station status`, tests).
pub fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dicom::header::Header;

    /// A DX instance `sop` of study 1.2.3, series 1.2.3.4, as a device sends it.
    pub(super) fn header(sop: &str) -> Header {
        Header {
            transfer_syntax: "1.2.840.10008.1.2.1".into(),
            sop_class_uid: "1.2.840.10008.5.1.4.1.1.1.1".into(),
            sop_instance_uid: sop.into(),
            study_uid: "1.2.3".into(),
            series_uid: "1.2.3.4".into(),
            modality: "DX".into(),
            patient_id: "P1".into(),
            patient_name: "王^小明".into(),
            ..Default::default()
        }
    }

    #[test]
    fn migrations_apply_once_and_reopen_cleanly() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("s.db");
        drop(Store::open(&db).expect("first open"));
        let store = Store::open(&db).expect("second open");
        let v: i64 = store
            .lock()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("version");
        assert_eq!(v as usize, migrations::MIGRATIONS.len());
    }

    #[test]
    fn quiet_study_completes_and_is_queued_per_destination() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("s.db")).expect("open");
        let mut conn = store.lock();
        let src = Source::Dicom {
            calling_ae: "DR1".into(),
        };
        let h = header("1.2.3.4.5");
        let tx = conn.transaction().expect("tx");
        insert_instance(
            &tx,
            &NewInstance {
                header: &h,
                size: 10,
                sha256: "ab",
                path: "instances/a.dcm",
                source: &src,
                review_reason: None,
            },
        )
        .expect("insert");
        tx.commit().expect("commit");
        let route = |d: &str, m: &[&str], ae: &[&str]| Route {
            destination: d.into(),
            modalities: m.iter().map(|s| s.to_string()).collect(),
            calling_aes: ae.iter().map(|s| s.to_string()).collect(),
            sop_classes: vec![],
        };
        // A DX study from DR1 goes to the hub and to radiology; not to the ECG room, nor to a
        // destination that only takes the ultrasound unit's studies.
        let routes = [
            route("hub", &[], &[]),
            route("radiology", &["DX", "CR"], &["DR1"]),
            route("ecg", &["ECG"], &[]),
            route("us-only", &[], &["US1"]),
        ];
        // Not quiet yet: a one-hour quiet period keeps it receiving.
        assert_eq!(
            complete_quiet_studies(&mut conn, 3_600_000, &routes).expect("tick"),
            0
        );
        assert_eq!(
            study_state(&conn, "1.2.3").expect("state").as_deref(),
            Some("receiving")
        );
        assert_eq!(
            complete_quiet_studies(&mut conn, 0, &routes).expect("tick"),
            1
        );
        assert_eq!(
            study_state(&conn, "1.2.3").expect("state").as_deref(),
            Some("complete")
        );
        let counts = status_counts(&conn).expect("counts");
        assert_eq!(counts.send_queue_by_state.get("queued"), Some(&2));
        assert_eq!(counts.instances, 1);
    }
}
