//! What a person sees of the send queue: each study's row per destination (`station sync
//! status`, the UI) and the instances a hub refused, with its reasons.
//!
//! Must never: write to the queue.

use rusqlite::Connection;
use serde::Serialize;

use crate::store::StoreError;

/// One row of `station sync status`.
#[derive(Debug, Clone, Serialize)]
pub struct QueueRow {
    pub study_uid: String,
    pub destination: String,
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub instances: i64,
    pub stored: i64,
    pub failed: i64,
}

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
    pub study_uid: String,
    pub destination: String,
    pub sop_instance_uid: String,
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
