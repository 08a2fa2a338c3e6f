//! Which export files have been converted into which instance (see `convert`).
//!
//! Must never: record a conversion whose instance is not committed.

use rusqlite::{params, Connection, OptionalExtension};

use super::{now_ms, StoreError};

/// The instance an export file with these bytes became, if it was converted before.
pub fn find(conn: &Connection, source_sha256: &str) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT instance_ref FROM conversions WHERE source_sha256 = ?1",
            [source_sha256],
            |r| r.get(0),
        )
        .optional()?)
}

/// Records that the export file with these bytes became `instance_id`.
pub fn record(
    conn: &Connection,
    source_sha256: &str,
    instance_id: i64,
    source: &str,
    kind: &str,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO conversions (source_sha256, instance_ref, source, kind, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (source_sha256) DO NOTHING",
        params![source_sha256, instance_id, source, kind, now_ms()],
    )?;
    Ok(())
}

/// The latest image converted from a file in `dir`, with its exam's identity.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LastImage {
    pub study_uid: String,
    pub series_uid: String,
    /// Highest Instance Number in that series.
    pub max_instance: i32,
    pub patient_id: String,
    pub patient_name: String,
    pub accession: String,
    pub study_date: String,
    pub study_time: String,
    pub converted_at: i64,
}

/// The most recent image conversion (since `since_ms`) whose export file was directly in `dir`.
pub(crate) fn latest_image_in(
    conn: &Connection,
    dir: &std::path::Path,
    since_ms: i64,
) -> Result<Option<LastImage>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT c.source, st.study_uid, se.series_uid,
                (SELECT COALESCE(MAX(i2.instance_number), 0) FROM instances i2 WHERE i2.series_ref = se.id),
                p.patient_id, p.name, st.accession, st.study_date, st.study_time, c.created_at
         FROM conversions c JOIN instances i ON i.id = c.instance_ref
         JOIN series se ON se.id = i.series_ref JOIN studies st ON st.id = se.study_ref
         JOIN patients p ON p.id = st.patient_ref
         WHERE c.kind IN ('jpeg', 'png', 'bmp') AND c.created_at >= ?1
         ORDER BY c.created_at DESC, c.rowid DESC LIMIT 500",
    )?;
    let mut rows = stmt.query([since_ms])?;
    while let Some(r) = rows.next()? {
        let source: String = r.get(0)?;
        if std::path::Path::new(&source).parent() != Some(dir) {
            continue;
        }
        return Ok(Some(LastImage {
            study_uid: r.get(1)?,
            series_uid: r.get(2)?,
            max_instance: r.get(3)?,
            patient_id: r.get(4)?,
            patient_name: r.get(5)?,
            accession: r.get(6)?,
            study_date: r.get(7)?,
            study_time: r.get(8)?,
            converted_at: r.get(9)?,
        }));
    }
    Ok(None)
}
