//! What matching needs of a study (`registry::matching`), and the links it makes to orders:
//! link and unlink, the "check patient" hold and its release, the studies a technician must
//! place.
//!
//! Must never: change an order (the `orders` table is `store::orders`'s).

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::super::{now_ms, StoreError, StudyState};

/// What a study looks like for matching.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StudyFacts {
    /// Row id in `studies`.
    pub id: i64,
    /// Study Instance UID (0020,000D): matched against an order's worklist UID.
    pub study_uid: String,
    /// Accession Number as the device sent it: matched against an order's.
    pub accession: String,
    /// Study Date (0008,0020) as the device wrote it.
    pub study_date: String,
    /// Patient ID as the device sent it.
    pub patient_id: String,
    /// Patient's Name as the device sent it (compared with the order's patient).
    pub patient_name: String,
    /// Patient's Birth Date as the device sent it.
    pub birth_date: String,
    /// Patient's Sex as the device sent it.
    pub sex: String,
    /// The modalities of its series.
    pub modalities: Vec<String>,
    /// Its state now.
    pub state: StudyState,
    /// The order it is linked to (row id in `orders`); `None`: unmatched.
    pub order_ref: Option<i64>,
}

/// Row id of the study with this UID (surrounding spaces ignored), if any.
pub fn id_of(conn: &Connection, study_uid: &str) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT id FROM studies WHERE study_uid = ?1",
            [study_uid.trim()],
            |r| r.get(0),
        )
        .optional()?)
}

/// Study Instance UID of row `study_id` (an error if there is none).
pub fn uid_of(conn: &Connection, study_id: i64) -> Result<String, StoreError> {
    Ok(conn.query_row(
        "SELECT study_uid FROM studies WHERE id = ?1",
        [study_id],
        |r| r.get(0),
    )?)
}

/// What matching needs of study `study_id`.
pub fn facts(conn: &Connection, study_id: i64) -> Result<StudyFacts, StoreError> {
    let mut facts = conn.query_row(
        "SELECT s.id, s.study_uid, s.accession, s.study_date, p.patient_id, p.name, p.birth_date, p.sex,
                s.state, s.order_ref
         FROM studies s JOIN patients p ON p.id = s.patient_ref WHERE s.id = ?1",
        [study_id],
        |r| {
            Ok(StudyFacts {
                id: r.get(0)?,
                study_uid: r.get(1)?,
                accession: r.get(2)?,
                study_date: r.get(3)?,
                patient_id: r.get(4)?,
                patient_name: r.get(5)?,
                birth_date: r.get(6)?,
                sex: r.get(7)?,
                modalities: Vec::new(),
                state: r.get(8)?,
                order_ref: r.get(9)?,
            })
        },
    )?;
    let mut stmt = conn
        .prepare("SELECT DISTINCT modality FROM series WHERE study_ref = ?1 ORDER BY modality")?;
    facts.modalities = stmt
        .query_map([study_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(facts)
}

/// Complete studies a technician must place, newest first: those matched to no order (held or
/// sent as received), and those linked to an order but held for "check patient" (`unassigned`
/// with an order).
pub fn unassigned_ids(conn: &Connection) -> Result<Vec<i64>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT id FROM studies
         WHERE (order_ref IS NULL AND state <> 'receiving') OR state = 'unassigned'
         ORDER BY last_received_at DESC",
    )?;
    let ids = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(ids)
}

/// Links the study to its order; an urgent order makes the study urgent.
pub fn link_order(
    conn: &Connection,
    study_id: i64,
    order_id: i64,
    urgent: bool,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE studies SET order_ref = ?2, priority = MAX(priority, ?3) WHERE id = ?1",
        params![study_id, order_id, i64::from(urgent)],
    )?;
    Ok(())
}

/// Takes the study off its order (the order itself is not changed).
pub fn unlink_order(conn: &Connection, study_id: i64) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE studies SET order_ref = NULL WHERE id = ?1",
        [study_id],
    )?;
    Ok(())
}

/// The study waits for a person to assign it: `unassigned`, and its rows (sent while it
/// arrived) held, so nothing more goes until then.
pub fn hold_unassigned(conn: &Connection, study_id: i64) -> Result<(), StoreError> {
    let now = now_ms();
    conn.execute(
        "UPDATE studies SET state = 'unassigned', state_changed_at = ?2 WHERE id = ?1",
        params![study_id, now],
    )?;
    conn.execute(
        "UPDATE send_queue SET state = 'held', updated_at = ?2
         WHERE study_ref = ?1 AND state IN ('queued', 'sending', 'failed')",
        params![study_id, now],
    )?;
    Ok(())
}

/// An unassigned study a person assigned: `complete` again, and the rows held while it waited
/// are due now.
pub fn release_assigned(conn: &Connection, study_id: i64) -> Result<(), StoreError> {
    let now = now_ms();
    conn.execute(
        "UPDATE studies SET state = 'complete', state_changed_at = ?2 WHERE id = ?1",
        params![study_id, now],
    )?;
    // Rows of a study sent while it arrived, held when it became unassigned.
    conn.execute(
        "UPDATE send_queue SET state = 'queued', next_attempt_at = NULL, updated_at = ?2
         WHERE study_ref = ?1 AND state = 'held'",
        params![study_id, now],
    )?;
    Ok(())
}

/// (study id, order id) of every study matched to an order of registered patient `patient_id`.
pub fn of_patient(conn: &Connection, patient_id: i64) -> Result<Vec<(i64, i64)>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT s.id, o.id FROM studies s JOIN orders o ON o.id = s.order_ref WHERE o.patient_ref = ?1",
    )?;
    let rows = stmt
        .query_map([patient_id], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}
