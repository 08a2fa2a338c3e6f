//! The `study_corrections` table and the corrected copies it leads to (`instances.send_path`,
//! `send_size`, `send_correction`): what `registry::correction` records and makes.
//!
//! Must never: point an instance at a copy that is not on disk (the caller writes it first).

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension};

use super::{now_ms, StoreError};

/// Keyword → value.
pub type Values = BTreeMap<String, String>;

/// One row of `study_corrections`.
#[derive(Debug, Clone, PartialEq)]
pub struct Correction {
    /// Row id; copies name the latest correction they include (`instances.send_correction`).
    pub id: i64,
    /// When it was made (Unix ms).
    pub at: i64,
    /// "COERCE" (matching, assignment) or "CORRECT" (an edit after the fact), PS3.3 C.12.1.1.9.
    pub reason: String,
    /// The attributes it changed, by DICOM keyword (`PatientName`…), with their new values.
    pub attributes: Values,
}

/// The values as the devices sent them (from the index).
pub fn received_values(conn: &Connection, study_id: i64) -> Result<Values, StoreError> {
    let (accession, name, id, birth, sex): (String, String, String, String, String) = conn
        .query_row(
            "SELECT s.accession, p.name, p.patient_id, p.birth_date, p.sex
             FROM studies s JOIN patients p ON p.id = s.patient_ref WHERE s.id = ?1",
            [study_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )?;
    Ok([
        ("AccessionNumber", accession),
        ("PatientName", name),
        ("PatientID", id),
        ("PatientBirthDate", birth),
        ("PatientSex", sex),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect())
}

/// The study's corrections, oldest first.
pub fn list(conn: &Connection, study_id: i64) -> Result<Vec<Correction>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT id, at, reason, attributes FROM study_corrections WHERE study_ref = ?1 ORDER BY id",
    )?;
    let rows = stmt
        .query_map([study_id], |r| {
            let json: String = r.get(3)?;
            Ok(Correction {
                id: r.get(0)?,
                at: r.get(1)?,
                reason: r.get(2)?,
                attributes: serde_json::from_str(&json).unwrap_or_default(),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Records a correction; returns its id.
pub fn insert(
    conn: &Connection,
    study_id: i64,
    actor: &str,
    reason: &str,
    changed: &Values,
) -> Result<i64, StoreError> {
    let json = serde_json::to_string(changed).unwrap_or_default();
    conn.execute(
        "INSERT INTO study_corrections (study_ref, at, actor, reason, attributes) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![study_id, now_ms(), actor, reason, json],
    )?;
    Ok(conn.last_insert_rowid())
}

/// The study a queue row sends: (id, Study Instance UID).
pub fn study_of_queue_row(
    conn: &Connection,
    queue_id: i64,
) -> Result<Option<(i64, String)>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT s.id, s.study_uid FROM send_queue q JOIN studies s ON s.id = q.study_ref WHERE q.id = ?1",
            [queue_id],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
        )
        .optional()?)
}

/// One instance whose corrected copy is missing or older than the latest correction.
#[derive(Debug, Clone)]
pub(crate) struct Stale {
    pub id: i64,
    /// The received file, relative to the data directory.
    pub path: String,
    pub sop: String,
    pub transfer_syntax: String,
    pub charset: String,
    pub repaired: Option<String>,
    /// The copy made for an earlier correction, if any.
    pub old_copy: Option<String>,
}

/// The study's instances that are sent (none held for review) without a copy for correction
/// `latest`.
pub(crate) fn stale_copies(
    conn: &Connection,
    study_id: i64,
    latest: i64,
) -> Result<Vec<Stale>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT i.id, i.path, i.sop_instance_uid, i.transfer_syntax, i.charset, i.charset_repaired, i.send_path
         FROM instances i JOIN series se ON se.id = i.series_ref
         WHERE se.study_ref = ?1 AND i.review_reason IS NULL
           AND (i.send_correction IS NULL OR i.send_correction <> ?2)",
    )?;
    let stale = stmt
        .query_map(params![study_id, latest], |r| {
            Ok(Stale {
                id: r.get(0)?,
                path: r.get(1)?,
                sop: r.get(2)?,
                transfer_syntax: r.get(3)?,
                charset: r.get(4)?,
                repaired: r.get(5)?,
                old_copy: r.get(6)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(stale)
}

/// The instance is sent as the copy at `path` (relative), made for correction `correction`.
pub fn set_copy(
    conn: &Connection,
    instance_id: i64,
    path: &str,
    size: u64,
    correction: i64,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE instances SET send_path = ?2, send_size = ?3, send_correction = ?4 WHERE id = ?1",
        params![instance_id, path, size as i64, correction],
    )?;
    Ok(())
}
