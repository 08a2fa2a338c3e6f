//! The SQLite index: patients, studies, series, instances, quarantine and the send queue.
//!
//! One `Store` per process owns the writing connection (WAL, foreign keys on, migrations applied
//! at open). Readers such as `station status` open their own connection.
//!
//! Must never: touch instance files (that is `ingest`'s job), or hold the lock across network I/O.

pub mod audit;
pub mod conversions;
pub mod migrations;
pub mod queue;
mod routing;

pub use routing::{
    complete_quiet_studies, complete_quiet_studies_with, queue_study, routes, Route,
};

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::Serialize;

use crate::dicom::header::Header;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error(
        "database {path} was written by a newer station (schema {found}, this build knows {known})"
    )]
    TooNew {
        path: String,
        found: i64,
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
    Dicom { calling_ae: String },
    /// A watched folder; the file's original path.
    Folder { path: String },
    /// `station import`; the file's original path.
    Import { path: String },
    /// A complete file found under `instances/` without an index row after a crash.
    Recovery { path: String },
    /// A report fetched from a hub (WADO-RS); the destination's name. Never sent back.
    Report { destination: String },
}

impl Source {
    pub fn kind(&self) -> &'static str {
        match self {
            Source::Dicom { .. } => "dicom",
            Source::Folder { .. } => "folder",
            Source::Import { .. } => "import",
            Source::Recovery { .. } => "recovery",
            Source::Report { .. } => "report",
        }
    }
    pub fn detail(&self) -> &str {
        match self {
            Source::Dicom { calling_ae } => calling_ae,
            Source::Folder { path } | Source::Import { path } | Source::Recovery { path } => path,
            Source::Report { destination } => destination,
        }
    }
}

/// An instance about to be indexed: its header and where its bytes now are.
#[derive(Debug)]
pub struct NewInstance<'a> {
    pub header: &'a Header,
    pub size: u64,
    pub sha256: &'a str,
    /// Relative to the data directory.
    pub path: &'a str,
    pub source: &'a Source,
    pub review_reason: Option<String>,
}

/// An existing instance with the same SOP Instance UID.
#[derive(Debug, Clone)]
pub struct Existing {
    pub id: i64,
    pub sha256: String,
    pub path: String,
}

/// One indexed instance, as list screens and tests read it.
#[derive(Debug, Clone, Serialize)]
pub struct InstanceRow {
    pub id: i64,
    pub sop_instance_uid: String,
    pub sop_class_uid: String,
    pub transfer_syntax: String,
    pub series_uid: String,
    pub study_uid: String,
    pub modality: String,
    pub patient_id: String,
    pub patient_name: String,
    pub size: i64,
    pub sha256: String,
    pub path: String,
    pub source_kind: String,
    pub source: String,
    pub charset: String,
    pub charset_repaired: Option<String>,
    pub review_reason: Option<String>,
}

/// What `station status` prints.
#[derive(Debug, Clone, Serialize, serde::Deserialize, Default, utoipa::ToSchema)]
pub struct StatusCounts {
    pub studies_by_state: BTreeMap<String, i64>,
    pub instances: i64,
    pub instances_for_review: i64,
    pub instances_charset_repaired: i64,
    pub quarantined: i64,
    pub send_queue_by_state: BTreeMap<String, i64>,
}

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

fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
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

/// Instances already indexed under this SOP Instance UID.
pub fn instances_with_sop(
    conn: &Connection,
    sop_instance_uid: &str,
) -> Result<Vec<Existing>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, sha256, path FROM instances WHERE sop_instance_uid = ?1 ORDER BY id",
    )?;
    let rows = stmt
        .query_map([sop_instance_uid], |r| {
            Ok(Existing {
                id: r.get(0)?,
                sha256: r.get(1)?,
                path: r.get(2)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Indexes one instance with its patient, study and series, in the caller's transaction.
/// A later instance of a known study updates the study's last-received time; one arriving
/// after the study was closed reopens nothing (the sync issue sends late instances).
pub fn insert_instance(tx: &Transaction<'_>, new: &NewInstance<'_>) -> Result<i64, StoreError> {
    let h = new.header;
    let now = now_ms();
    tx.execute(
        "INSERT INTO patients (patient_id, name, birth_date, sex, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (patient_id, name) DO UPDATE SET
           birth_date = CASE WHEN excluded.birth_date <> '' THEN excluded.birth_date ELSE birth_date END,
           sex = CASE WHEN excluded.sex <> '' THEN excluded.sex ELSE sex END",
        params![h.patient_id, h.patient_name, h.patient_birth_date, h.patient_sex, now],
    )?;
    let patient_ref: i64 = tx.query_row(
        "SELECT id FROM patients WHERE patient_id = ?1 AND name = ?2",
        params![h.patient_id, h.patient_name],
        |r| r.get(0),
    )?;
    tx.execute(
        "INSERT INTO studies (study_uid, patient_ref, accession, study_date, study_time, description,
                              first_received_at, last_received_at, state_changed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?7)
         ON CONFLICT (study_uid) DO UPDATE SET last_received_at = excluded.last_received_at",
        params![h.study_uid, patient_ref, h.accession, h.study_date, h.study_time, h.study_description, now],
    )?;
    let study_ref: i64 = tx.query_row(
        "SELECT id FROM studies WHERE study_uid = ?1",
        [&h.study_uid],
        |r| r.get(0),
    )?;
    // An instance arriving after its study was delivered is sent too; a report the hub wrote
    // is not sent back to it.
    if !matches!(new.source, Source::Report { .. }) {
        tx.execute(
            "UPDATE send_queue SET state = 'queued', next_attempt_at = NULL, updated_at = ?2
             WHERE study_ref = ?1 AND state = 'delivered'",
            params![study_ref, now],
        )?;
    }
    tx.execute(
        "INSERT INTO series (study_ref, series_uid, modality, number, description) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (series_uid) DO NOTHING",
        params![study_ref, h.series_uid, h.modality, h.series_number, h.series_description],
    )?;
    let series_ref: i64 = tx.query_row(
        "SELECT id FROM series WHERE series_uid = ?1",
        [&h.series_uid],
        |r| r.get(0),
    )?;
    tx.execute(
        "INSERT INTO instances (series_ref, sop_instance_uid, sop_class_uid, transfer_syntax, instance_number,
                                size, sha256, path, received_at, source_kind, source, charset,
                                charset_repaired, review_reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        params![
            series_ref,
            h.sop_instance_uid,
            h.sop_class_uid,
            h.transfer_syntax,
            h.instance_number,
            new.size as i64,
            new.sha256,
            new.path,
            now,
            new.source.kind(),
            new.source.detail(),
            h.charset,
            h.charset_repaired,
            new.review_reason,
        ],
    )?;
    Ok(tx.last_insert_rowid())
}

/// Records a file put in quarantine, so the UI and `station status` can show it with its reason.
pub fn insert_quarantine(
    conn: &Connection,
    source: &str,
    stored_path: &str,
    reason: &str,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO quarantine (source, stored_path, reason, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![source, stored_path, reason, now_ms()],
    )?;
    Ok(())
}

/// Every indexed path, for crash recovery's scan of `instances/`.
pub fn all_instance_paths(
    conn: &Connection,
) -> Result<std::collections::HashSet<String>, StoreError> {
    let mut stmt = conn.prepare("SELECT path FROM instances")?;
    let paths = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(paths)
}

pub fn list_instances(conn: &Connection) -> Result<Vec<InstanceRow>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT i.id, i.sop_instance_uid, i.sop_class_uid, i.transfer_syntax, se.series_uid, st.study_uid,
                se.modality, p.patient_id, p.name, i.size, i.sha256, i.path, i.source_kind, i.source,
                i.charset, i.charset_repaired, i.review_reason
         FROM instances i JOIN series se ON se.id = i.series_ref JOIN studies st ON st.id = se.study_ref
         JOIN patients p ON p.id = st.patient_ref ORDER BY i.id",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok(InstanceRow {
                id: r.get(0)?,
                sop_instance_uid: r.get(1)?,
                sop_class_uid: r.get(2)?,
                transfer_syntax: r.get(3)?,
                series_uid: r.get(4)?,
                study_uid: r.get(5)?,
                modality: r.get(6)?,
                patient_id: r.get(7)?,
                patient_name: r.get(8)?,
                size: r.get(9)?,
                sha256: r.get(10)?,
                path: r.get(11)?,
                source_kind: r.get(12)?,
                source: r.get(13)?,
                charset: r.get(14)?,
                charset_repaired: r.get(15)?,
                review_reason: r.get(16)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn status_counts(conn: &Connection) -> Result<StatusCounts, StoreError> {
    let mut counts = StatusCounts::default();
    {
        let mut stmt = conn.prepare("SELECT state, COUNT(*) FROM studies GROUP BY state")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
            let (state, n) = row?;
            counts.studies_by_state.insert(state, n);
        }
        let mut stmt = conn.prepare("SELECT state, COUNT(*) FROM send_queue GROUP BY state")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
            let (state, n) = row?;
            counts.send_queue_by_state.insert(state, n);
        }
    }
    counts.instances = conn.query_row("SELECT COUNT(*) FROM instances", [], |r| r.get(0))?;
    counts.instances_for_review = conn.query_row(
        "SELECT COUNT(*) FROM instances WHERE review_reason IS NOT NULL",
        [],
        |r| r.get(0),
    )?;
    counts.instances_charset_repaired = conn.query_row(
        "SELECT COUNT(*) FROM instances WHERE charset_repaired IS NOT NULL",
        [],
        |r| r.get(0),
    )?;
    counts.quarantined = conn.query_row("SELECT COUNT(*) FROM quarantine", [], |r| r.get(0))?;
    Ok(counts)
}

/// A read-only look at a station's database from another process (`station status`, tests).
pub fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(conn)
}

/// The study's current state, if the study is known.
pub fn study_state(conn: &Connection, study_uid: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT state FROM studies WHERE study_uid = ?1",
            [study_uid],
            |r| r.get(0),
        )
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;

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
