//! The `quarantine` table: files refused at arrival, where they were put and why, for the
//! screens and `station status` (the files themselves are `ingest::quarantine`'s).
//!
//! Must never: lose a row: a quarantined file is kept until a person decides.

use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};

use super::{now_ms, QuarantineReason, StoreError};

/// A file refused at arrival and kept aside, as the quarantine list shows it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QuarantineItem {
    /// Row id in `quarantine`; newer files have higher ids.
    pub id: i64,
    /// Where the file came from: its path in the watched folder or given to `station import`,
    /// or under `instances/` (a file the index does not know).
    pub source: String,
    /// Where it is kept now (full path on the station's disk), with `<name>.reason.txt` beside it.
    pub stored_path: String,
    /// Why, for a person: the screens say it in their language. None for files quarantined
    /// before the station recorded it, or by a newer station with a reason this one lacks.
    pub reason_code: Option<QuarantineReason>,
    /// The raw detail (English, as the reason file beside the quarantined file says).
    pub reason: String,
    /// When it was quarantined (Unix ms).
    pub created_at: i64,
}

/// Records a file put in quarantine, so the UI and `station status` can show it with its reason.
pub fn insert_quarantine(
    conn: &Connection,
    source: &str,
    stored_path: &str,
    reason: QuarantineReason,
    detail: &str,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO quarantine (source, stored_path, reason_code, reason, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![source, stored_path, reason, detail, now_ms()],
    )?;
    Ok(())
}

/// How many files are quarantined, and the newest first from `offset`.
pub fn page(
    conn: &Connection,
    offset: u32,
    limit: u32,
) -> Result<(i64, Vec<QuarantineItem>), StoreError> {
    let total = conn.query_row("SELECT COUNT(*) FROM quarantine", [], |r| r.get(0))?;
    let mut stmt = conn.prepare(
        "SELECT id, source, stored_path, reason_code, reason, created_at FROM quarantine
         ORDER BY id DESC LIMIT ?1 OFFSET ?2",
    )?;
    let items = stmt
        .query_map(params![limit, offset], |r| {
            Ok(QuarantineItem {
                id: r.get(0)?,
                source: r.get(1)?,
                stored_path: r.get(2)?,
                reason_code: r
                    .get::<_, Option<String>>(3)?
                    .and_then(|w| QuarantineReason::parse(&w)),
                reason: r.get(4)?,
                created_at: r.get(5)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok((total, items))
}
