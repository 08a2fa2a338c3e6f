//! What moved in the store since a time, for the change feed (`crate::changes`): studies whose
//! instances, state or send rows changed, and each destination's link state.
//!
//! Must never: write, or hold a statement open between two looks.

use rusqlite::{params, Connection};

use super::{StoreError, StudyState};

/// A study as the change feed compares it between two looks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StudyMark {
    pub study_uid: String,
    pub state: StudyState,
    pub last_received_at: i64,
    /// The latest change to any of its send rows (0: none).
    pub queue_updated_at: i64,
    /// Where its latest instance came from (calling AE title, folder...).
    pub source: String,
}

/// Studies that received an instance, changed state or had a send row change at or after
/// `since`.
pub(crate) fn studies_since(conn: &Connection, since: i64) -> Result<Vec<StudyMark>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT s.study_uid, s.state, s.last_received_at,
                COALESCE((SELECT MAX(q.updated_at) FROM send_queue q WHERE q.study_ref = s.id), 0),
                COALESCE((SELECT i.source FROM series se JOIN instances i ON i.series_ref = se.id
                          WHERE se.study_ref = s.id ORDER BY i.received_at DESC LIMIT 1), '')
         FROM studies s
         WHERE s.last_received_at >= ?1 OR s.state_changed_at >= ?1
            OR s.id IN (SELECT study_ref FROM send_queue WHERE updated_at >= ?1)",
    )?;
    let rows = stmt
        .query_map(params![since], |r| {
            Ok(StudyMark {
                study_uid: r.get(0)?,
                state: r.get(1)?,
                last_received_at: r.get(2)?,
                queue_updated_at: r.get(3)?,
                source: r.get(4)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// Each destination talked to, and whether its last exchange worked.
pub fn links(conn: &Connection) -> Result<Vec<(String, bool)>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT destination, online FROM links")?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}
