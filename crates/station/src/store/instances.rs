//! The `patients`, `studies`, `series` and `instances` tables as ingest writes them: one row
//! per received object with its study and series (and the patient as the device sent it), and
//! what crash recovery, the waveform and preview readers and the dashboard read back.
//!
//! Must never: index an instance whose file is not on disk (ingest commits the row last).

use std::collections::HashSet;

use rusqlite::{params, Connection, Transaction};
use serde::Serialize;

use super::{now_ms, Source, StoreError};
use crate::dicom::header::Header;

/// An instance about to be indexed: its header and where its bytes now are.
#[derive(Debug)]
pub struct NewInstance<'a> {
    /// What the index keeps of the object (UIDs, patient, charset), read from the file.
    pub header: &'a Header,
    /// The file's size in bytes.
    pub size: u64,
    /// The file's SHA-256, lower-case hex.
    pub sha256: &'a str,
    /// Relative to the data directory.
    pub path: &'a str,
    /// Where it came from.
    pub source: &'a Source,
    /// Why a person should look at it (e.g. a name undecodable in its charset); `None`: fine.
    pub review_reason: Option<String>,
}

/// An existing instance with the same SOP Instance UID.
#[derive(Debug, Clone)]
pub struct Existing {
    /// Row id in `instances`.
    pub id: i64,
    /// Its file's SHA-256 (of the file deleted, when purged).
    pub sha256: String,
    /// Its file, relative to the data directory.
    pub path: String,
    /// When its file was deleted after verified delivery (retention); `None`: on disk.
    pub purged_at: Option<i64>,
}

/// One indexed instance, as list screens and tests read it.
#[derive(Debug, Clone, Serialize)]
pub struct InstanceRow {
    /// Row id in `instances`.
    pub id: i64,
    /// SOP Instance UID (0008,0018).
    pub sop_instance_uid: String,
    /// SOP Class UID (0008,0016).
    pub sop_class_uid: String,
    /// The transfer syntax UID of the file on disk.
    pub transfer_syntax: String,
    /// Series Instance UID (0020,000E).
    pub series_uid: String,
    /// Study Instance UID (0020,000D).
    pub study_uid: String,
    /// The series' Modality (0008,0060).
    pub modality: String,
    /// Patient ID (0010,0020) as the device sent it.
    pub patient_id: String,
    /// Patient's Name as the device sent it, decoded to Unicode.
    pub patient_name: String,
    /// The file's size in bytes.
    pub size: i64,
    /// The file's SHA-256, lower-case hex.
    pub sha256: String,
    /// The file, relative to the data directory.
    pub path: String,
    /// `dicom`, `folder`, `import`, `recovery` or `report` (see [`Source`]).
    pub source_kind: String,
    /// The calling AE title, the original path, or the destination, by `source_kind`.
    pub source: String,
    /// Specific Character Set (0008,0005) as declared, values joined by `\`; empty when absent.
    pub charset: String,
    /// The charset the text was decoded with when the declared one did not fit the bytes;
    /// `None`: as declared.
    pub charset_repaired: Option<String>,
    /// Why a person should look at it; `None`: fine.
    pub review_reason: Option<String>,
    /// When retention deleted its file (`None`: the file is on disk).
    pub purged_at: Option<i64>,
}

/// Instances already indexed under this SOP Instance UID.
pub fn instances_with_sop(
    conn: &Connection,
    sop_instance_uid: &str,
) -> Result<Vec<Existing>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, sha256, path, purged_at FROM instances WHERE sop_instance_uid = ?1 ORDER BY id",
    )?;
    let rows = stmt
        .query_map([sop_instance_uid], |r| {
            Ok(Existing {
                id: r.get(0)?,
                sha256: r.get(1)?,
                path: r.get(2)?,
                purged_at: r.get(3)?,
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

/// Every indexed path, for crash recovery's scan of `instances/`.
pub fn all_instance_paths(conn: &Connection) -> Result<HashSet<String>, StoreError> {
    let mut stmt = conn.prepare("SELECT path FROM instances")?;
    let paths = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(paths)
}

/// An index row whose file should be on disk, as the integrity check compares it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedFile {
    /// Row id in `instances`.
    pub id: i64,
    /// Relative to the data directory.
    pub path: String,
    /// The size the file must have, in bytes.
    pub size: i64,
    /// The SHA-256 it must have, lower-case hex.
    pub sha256: String,
}

/// Every index row whose file should be on disk, by id: the one question "which files must
/// exist" is asked through (the integrity check). A purged instance's file is at the hub.
pub fn files_expected(conn: &Connection) -> Result<Vec<ExpectedFile>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT id, path, size, sha256 FROM instances WHERE purged_at IS NULL ORDER BY id",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok(ExpectedFile {
                id: r.get(0)?,
                path: r.get(1)?,
                size: r.get(2)?,
                sha256: r.get(3)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Every indexed instance with its series, study and patient, by row id (what the tests read).
pub fn list_instances(conn: &Connection) -> Result<Vec<InstanceRow>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT i.id, i.sop_instance_uid, i.sop_class_uid, i.transfer_syntax, se.series_uid, st.study_uid,
                se.modality, p.patient_id, p.name, i.size, i.sha256, i.path, i.source_kind, i.source,
                i.charset, i.charset_repaired, i.review_reason, i.purged_at
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
                purged_at: r.get(17)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The file of instance `id`, relative to the data directory.
pub fn path_of(conn: &Connection, id: i64) -> Result<String, StoreError> {
    Ok(
        conn.query_row("SELECT path FROM instances WHERE id = ?1", [id], |r| {
            r.get(0)
        })?,
    )
}

/// A device that sent over DICOM, by its calling AE title.
#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct DeviceSeen {
    /// The device's calling AE title.
    pub calling_ae: String,
    /// When it last sent an instance, Unix ms (show in local time).
    pub last_contact: i64,
    /// Instances it has sent, in the index.
    pub instances: i64,
}

/// Every device that sent over DICOM, most recent first.
pub fn devices(conn: &Connection) -> Result<Vec<DeviceSeen>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT source, MAX(received_at), COUNT(*) FROM instances WHERE source_kind = 'dicom'
         GROUP BY source ORDER BY MAX(received_at) DESC",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(DeviceSeen {
            calling_ae: r.get(0)?,
            last_contact: r.get(1)?,
            instances: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Every patient name and ID received from devices (the `patients` table): what a text leaving
/// the clinic (the diagnostics bundle) must not carry.
pub fn received_identifying_texts(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let mut stmt =
        conn.prepare("SELECT name FROM patients UNION SELECT patient_id FROM patients")?;
    let texts = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(texts)
}
