//! What a person sees of the send queue: each study's row per destination (`station sync
//! status`, the UI), the instances a hub refused, with its reasons, and each destination's
//! link state and backlog.
//!
//! Must never: write to the queue.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use crate::store::{HubProblem, SendState, StoreError};

/// One row of `station sync status` and the API's `queue_list`: a study by its UID, never its
/// patient.
#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct QueueRow {
    /// Study Instance UID of the study being sent.
    pub study_uid: String,
    /// The destination's configured name.
    pub destination: String,
    /// Where this study's send to this destination stands.
    pub state: SendState,
    /// Sends tried that ended in a retry or a failure (0 while the first is pending).
    pub attempts: i64,
    /// The last error recorded for this row (the hub's or the network's, in English as the
    /// engine logged it); cleared when delivered.
    pub last_error: Option<String>,
    /// What `last_error` means, for the sentence a person reads.
    pub last_error_kind: Option<HubProblem>,
    /// Instances of the study queued for this destination.
    pub instances: i64,
    /// Of those, how many the hub reported stored.
    pub stored: i64,
    /// Of those, how many the hub refused (each with its reason in `station sync status`).
    pub failed: i64,
}

/// Every queue row, oldest first (the order they were queued in).
pub fn queue_rows(conn: &Connection) -> Result<Vec<QueueRow>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT s.study_uid, q.destination, q.state, q.attempts, q.last_error,
                (SELECT COUNT(*) FROM send_instances si WHERE si.queue_ref = q.id),
                (SELECT COUNT(*) FROM send_instances si WHERE si.queue_ref = q.id AND si.state = 'stored'),
                (SELECT COUNT(*) FROM send_instances si WHERE si.queue_ref = q.id AND si.state = 'failed')
         FROM send_queue q JOIN studies s ON s.id = q.study_ref ORDER BY q.id",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok(QueueRow {
                study_uid: r.get(0)?,
                destination: r.get(1)?,
                state: r.get(2)?,
                attempts: r.get(3)?,
                last_error_kind: r
                    .get::<_, Option<String>>(4)?
                    .as_deref()
                    .map(HubProblem::of),
                last_error: r.get(4)?,
                instances: r.get(5)?,
                stored: r.get(6)?,
                failed: r.get(7)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// An instance a hub refused, with the hub's reason: what a person looks at before retrying.
#[derive(Debug, Clone, Serialize)]
pub struct RefusedInstance {
    /// Study Instance UID of its study.
    pub study_uid: String,
    /// The destination's configured name.
    pub destination: String,
    /// SOP Instance UID of the refused instance.
    pub sop_instance_uid: String,
    /// The hub's reason as recorded (e.g. the C-STORE status); empty if it gave none.
    pub reason: String,
}

/// Every refused instance, per study and destination.
pub fn refused_instances(conn: &Connection) -> Result<Vec<RefusedInstance>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT s.study_uid, q.destination, i.sop_instance_uid, COALESCE(si.last_error, '')
         FROM send_instances si
         JOIN send_queue q ON q.id = si.queue_ref
         JOIN studies s ON s.id = q.study_ref
         JOIN instances i ON i.id = si.instance_ref
         WHERE si.state = 'failed' ORDER BY q.id, i.instance_number, i.id",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok(RefusedInstance {
                study_uid: r.get(0)?,
                destination: r.get(1)?,
                sop_instance_uid: r.get(2)?,
                reason: r.get(3)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// A destination's link as last seen.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LinkRow {
    pub online: bool,
    pub last_success_at: Option<i64>,
    pub last_error: Option<String>,
    pub last_error_at: Option<i64>,
}

/// The link state of `destination`, once the station has talked to it.
pub(crate) fn link(conn: &Connection, destination: &str) -> Result<Option<LinkRow>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT online, last_success_at, last_error, last_error_at FROM links WHERE destination = ?1",
            [destination],
            |r| {
                Ok(LinkRow {
                    online: r.get(0)?,
                    last_success_at: r.get(1)?,
                    last_error: r.get(2)?,
                    last_error_at: r.get(3)?,
                })
            },
        )
        .optional()?)
}

/// Destinations with studies not yet delivered (queued, sending, failed or held), by name:
/// one an admin removed keeps its history.
pub fn destinations_with_unsent(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT destination FROM send_queue WHERE state IN ('queued','sending','failed','held')
         ORDER BY destination",
    )?;
    let names = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(names)
}

/// How many of `destination`'s rows are in one of `states`.
pub fn rows_in(
    conn: &Connection,
    destination: &str,
    states: &[SendState],
) -> Result<i64, StoreError> {
    let mut n = 0;
    for state in states {
        n += conn.query_row(
            "SELECT COUNT(*) FROM send_queue WHERE destination = ?1 AND state = ?2",
            params![destination, state],
            |r| r.get::<_, i64>(0),
        )?;
    }
    Ok(n)
}

/// Destinations whose last exchange worked, and destinations talked to at all.
pub fn links_online(conn: &Connection) -> Result<(i64, i64), StoreError> {
    Ok(conn.query_row(
        "SELECT COALESCE(SUM(online), 0), COUNT(*) FROM links",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}
