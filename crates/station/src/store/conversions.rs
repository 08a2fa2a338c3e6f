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
