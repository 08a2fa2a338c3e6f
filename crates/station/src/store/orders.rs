//! The `orders` table: one requested procedure for a registered patient with its Scheduled
//! Procedure Step (`registry::orders` checks and numbers them; `registry::matching` links
//! studies to them).
//!
//! Must never: write a row the caller did not check.

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;

use super::patients::{self, Patient};
use super::{is_unique_violation, now_ms, OrderState, StoreError};

/// One order: what the worklist offers a device, and what a study that matches it is linked to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Order {
    /// Row id in `orders`.
    pub id: i64,
    /// The patient's row id in `reg_patients`.
    pub patient_ref: i64,
    /// Accession Number (0008,0050), unique: "A" + YYYYMMDD + the day's number unless given.
    pub accession: String,
    /// The Study Instance UID the worklist offers (0020,000D); a device that uses it is
    /// matched by it.
    pub study_uid: String,
    /// Scheduled Procedure Step ID (0040,0009).
    pub sps_id: String,
    /// Modality (0008,0060) of the device that should do it: DX, US, ECG, …
    pub modality: String,
    /// What to do, e.g. "胸部正侧位" (Requested Procedure and Step Description).
    pub procedure: String,
    /// Body Part Examined (0018,0015), upper case; may be empty.
    pub body_part: String,
    /// "routine" or "urgent".
    pub priority: String,
    /// Referring Physician's Name (0008,0090); may be empty.
    pub referring: String,
    /// Free text for the technician (Requested Procedure Comments); may be empty.
    pub note: String,
    /// The AE title of the device that should do it; empty: any device of the modality.
    pub station_ae: String,
    /// Scheduled date, YYYYMMDD in the clinic's local calendar.
    pub scheduled_date: String,
    /// Scheduled time, HHMMSS local; may be empty.
    pub scheduled_time: String,
    /// Where the order stands (scheduled, in progress, completed, cancelled).
    pub state: OrderState,
}

/// An order with its patient, as the worklist and the CLI show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrderWithPatient {
    /// The order.
    pub order: Order,
    /// Its registered patient.
    pub patient: Patient,
}

const COLUMNS: &str =
    "id, patient_ref, accession, study_uid, sps_id, modality, procedure, body_part,
     priority, referring, note, station_ae, scheduled_date, scheduled_time, state FROM orders";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Order> {
    Ok(Order {
        id: r.get(0)?,
        patient_ref: r.get(1)?,
        accession: r.get(2)?,
        study_uid: r.get(3)?,
        sps_id: r.get(4)?,
        modality: r.get(5)?,
        procedure: r.get(6)?,
        body_part: r.get(7)?,
        priority: r.get(8)?,
        referring: r.get(9)?,
        note: r.get(10)?,
        station_ae: r.get(11)?,
        scheduled_date: r.get(12)?,
        scheduled_time: r.get(13)?,
        state: r.get(14)?,
    })
}

/// How many accession numbers start with `prefix` (9 characters: "A" and the date).
pub fn count_accessions(conn: &Connection, prefix: &str) -> Result<i64, StoreError> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM orders WHERE substr(accession, 1, 9) = ?1",
        [prefix],
        |r| r.get(0),
    )?)
}

/// Adds `o` (its `id` and `state` are ignored: a new order is scheduled); returns the new
/// row's id, or `None` when its accession number is taken.
pub fn insert(conn: &Connection, o: &Order) -> Result<Option<i64>, StoreError> {
    let inserted = conn.execute(
        "INSERT INTO orders (patient_ref, accession, study_uid, sps_id, modality, procedure, body_part,
                             priority, referring, note, station_ae, scheduled_date, scheduled_time,
                             created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?14)",
        params![
            o.patient_ref,
            o.accession,
            o.study_uid,
            o.sps_id,
            o.modality,
            o.procedure,
            o.body_part,
            o.priority,
            o.referring,
            o.note,
            o.station_ae,
            o.scheduled_date,
            o.scheduled_time,
            now_ms()
        ],
    );
    match inserted {
        Err(e) if is_unique_violation(&e) => Ok(None),
        other => {
            other?;
            Ok(Some(conn.last_insert_rowid()))
        }
    }
}

/// Moves an order to `state`.
pub fn set_state(conn: &Connection, order_id: i64, state: OrderState) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE orders SET state = ?2, updated_at = ?3 WHERE id = ?1",
        params![order_id, state, now_ms()],
    )?;
    Ok(())
}

/// The order with this accession number (surrounding spaces ignored), if any, whatever its state.
pub fn by_accession(conn: &Connection, accession: &str) -> Result<Option<Order>, StoreError> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} WHERE accession = ?1"),
            [accession.trim()],
            from_row,
        )
        .optional()?)
}

/// The order of row `id`, if any.
pub fn by_id(conn: &Connection, id: i64) -> Result<Option<Order>, StoreError> {
    Ok(conn
        .query_row(&format!("SELECT {COLUMNS} WHERE id = ?1"), [id], from_row)
        .optional()?)
}

/// The order (not cancelled) whose Study Instance UID the worklist offered for this study.
pub fn open_by_study_uid(conn: &Connection, study_uid: &str) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT id FROM orders WHERE study_uid = ?1 AND state <> 'cancelled'",
            [study_uid],
            |r| r.get(0),
        )
        .optional()?)
}

/// Open orders of the patient with `clinic_id` scheduled on `date` that no study is linked to
/// yet: (id, modality).
pub fn unlinked_for(
    conn: &Connection,
    clinic_id: &str,
    date: &str,
) -> Result<Vec<(i64, String)>, StoreError> {
    // An order another study is already linked to (still arriving) is not a candidate.
    let mut stmt = conn.prepare(
        "SELECT o.id, o.modality FROM orders o JOIN reg_patients p ON p.id = o.patient_ref
         WHERE p.clinic_id = ?1 AND o.scheduled_date = ?2 AND o.state IN ('scheduled', 'in_progress')
           AND NOT EXISTS (SELECT 1 FROM studies s WHERE s.order_ref = o.id)",
    )?;
    let rows = stmt
        .query_map(params![clinic_id, date], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Orders scheduled from `from` to `to` (YYYYMMDD, inclusive), in the given states (empty: all),
/// by date and time, with their patients.
pub fn list(
    conn: &Connection,
    from: &str,
    to: &str,
    states: &[OrderState],
) -> Result<Vec<OrderWithPatient>, StoreError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} WHERE scheduled_date BETWEEN ?1 AND ?2
         ORDER BY scheduled_date, scheduled_time, id"
    ))?;
    let orders = stmt
        .query_map(params![from, to], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = Vec::with_capacity(orders.len());
    for order in orders {
        if !states.is_empty() && !states.contains(&order.state) {
            continue;
        }
        // The foreign key keeps every order's patient.
        if let Some(patient) = patients::by_id(conn, order.patient_ref)? {
            out.push(OrderWithPatient { order, patient });
        }
    }
    Ok(out)
}

/// Orders whose study has started arriving (by accession) are in progress. Returns how many.
pub fn mark_started(conn: &Connection) -> Result<usize, StoreError> {
    // Read first: an UPDATE takes the write lock even when it changes nothing, every tick.
    let any: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM orders o JOIN studies s ON s.accession = o.accession
                        WHERE o.state = 'scheduled' AND s.state = 'receiving' AND s.accession <> '')",
        [],
        |r| r.get(0),
    )?;
    if !any {
        return Ok(0);
    }
    Ok(conn.execute(
        "UPDATE orders SET state = 'in_progress', updated_at = ?1
         WHERE state = 'scheduled' AND accession IN
               (SELECT accession FROM studies WHERE state = 'receiving' AND accession <> '')",
        [now_ms()],
    )?)
}
