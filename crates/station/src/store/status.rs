//! How many studies, instances, quarantined files and queue rows there are, by state: what
//! `station status`, the status bar and the dashboard's stages show, and the totals the
//! center's Prometheus reads (`metrics`): instances and bytes by source, the send queue per
//! destination, bytes the hubs confirmed.
//!
//! Must never: count from anything but the tables (no cached totals).

use std::collections::BTreeMap;

use rusqlite::Connection;
use serde::Serialize;

use super::{SendState, StoreError};

/// What `station status` prints.
#[derive(Debug, Clone, Serialize, serde::Deserialize, Default, utoipa::ToSchema)]
pub struct StatusCounts {
    /// Studies per study state word (`receiving`, `complete`, `held`, …); a state no study is
    /// in is absent.
    pub studies_by_state: BTreeMap<String, i64>,
    /// Instances in the index (purged files' rows included).
    pub instances: i64,
    /// Instances flagged for a person to review (e.g. a name undecodable in its charset).
    pub instances_for_review: i64,
    /// Instances whose declared character set was wrong and was repaired on reading.
    pub instances_charset_repaired: i64,
    /// Files in quarantine (not indexed).
    pub quarantined: i64,
    /// Send queue rows (a study to one destination) per send state word; absent when none.
    pub send_queue_by_state: BTreeMap<String, i64>,
}

/// Counts every table now (no cache): for `station status`, the status bar and the metrics.
pub fn status_counts(conn: &Connection) -> Result<StatusCounts, StoreError> {
    let mut counts = StatusCounts::default();
    {
        let mut stmt = conn.prepare("SELECT state, COUNT(*) FROM studies GROUP BY state")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
            let (state, n) = row?;
            counts.studies_by_state.insert(state, n);
        }
        let mut stmt = conn.prepare("SELECT state, COUNT(*) FROM send_queue GROUP BY state")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
            let (state, n) = row?;
            counts.send_queue_by_state.insert(state, n);
        }
    }
    counts.instances = conn.query_row("SELECT COUNT(*) FROM instances", [], |r| r.get(0))?;
    counts.instances_for_review = conn.query_row(
        "SELECT COUNT(*) FROM instances WHERE review_reason IS NOT NULL",
        [],
        |r| r.get(0),
    )?;
    counts.instances_charset_repaired = conn.query_row(
        "SELECT COUNT(*) FROM instances WHERE charset_repaired IS NOT NULL",
        [],
        |r| r.get(0),
    )?;
    counts.quarantined = conn.query_row("SELECT COUNT(*) FROM quarantine", [], |r| r.get(0))?;
    Ok(counts)
}

/// Instances received from one kind of source (`dicom`, `folder`, `import`, `recovery`): how
/// many and their bytes as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The kind of source (`instances.source_kind`).
    pub source_kind: String,
    /// Instances received from it.
    pub instances: i64,
    /// Their bytes as stored.
    pub bytes: i64,
}

/// Every instance in the index, by kind of source (the index keeps rows of purged files too,
/// so these only grow).
pub fn received_by_source(conn: &Connection) -> Result<Vec<Received>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT source_kind, COUNT(*), COALESCE(SUM(size), 0) FROM instances
         GROUP BY source_kind ORDER BY source_kind",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(Received {
            source_kind: r.get(0)?,
            instances: r.get(1)?,
            bytes: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Bytes a day that arrived in the `window_ms` before `now_ms` (`None` when nothing did): over
/// the days since the first of it (at least one), so a station installed yesterday is not read
/// as filling its disk a week slower. Counted from the index rows, which a purge keeps, so
/// freeing space does not make the intake look smaller.
pub fn daily_intake(
    conn: &Connection,
    now_ms: i64,
    window_ms: i64,
) -> Result<Option<f64>, StoreError> {
    const DAY_MS: i64 = 24 * 60 * 60 * 1000;
    let (bytes, first): (i64, Option<i64>) = conn.query_row(
        "SELECT COALESCE(SUM(size), 0), MIN(received_at) FROM instances WHERE received_at >= ?1",
        [now_ms - window_ms],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let Some(first) = first.filter(|_| bytes > 0) else {
        return Ok(None);
    };
    let span = (now_ms - first).clamp(DAY_MS, window_ms.max(DAY_MS));
    Ok(Some(bytes as f64 / (span as f64 / DAY_MS as f64)))
}

/// The send queue rows of one destination in one state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueGroup {
    /// The destination's configured name.
    pub destination: String,
    /// The send state these rows are in.
    pub state: SendState,
    /// How many rows (studies) are in it.
    pub studies: i64,
    /// When the oldest of them was queued (Unix ms).
    pub oldest_queued_at: i64,
    /// When the latest of them last changed (Unix ms): for `delivered`, the last delivery.
    pub last_changed_at: i64,
}

/// The send queue grouped by destination and state.
pub fn queue_groups(conn: &Connection) -> Result<Vec<QueueGroup>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT destination, state, COUNT(*), MIN(created_at), MAX(updated_at) FROM send_queue
         GROUP BY destination, state ORDER BY destination, state",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(QueueGroup {
            destination: r.get(0)?,
            state: r.get(1)?,
            studies: r.get(2)?,
            oldest_queued_at: r.get(3)?,
            last_changed_at: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Bytes of the instances each destination's hub named as stored, by destination.
pub fn stored_bytes_by_destination(conn: &Connection) -> Result<Vec<(String, i64)>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT q.destination, COALESCE(SUM(i.size), 0)
         FROM send_instances si
         JOIN send_queue q ON q.id = si.queue_ref
         JOIN instances i ON i.id = si.instance_ref
         WHERE si.state = 'stored' GROUP BY q.destination ORDER BY q.destination",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Whether the database could take a write now: its write lock is had within `wait` (the
/// readiness check; another program holding the lock, a read-only or broken disk all fail it).
pub fn ping_writable(conn: &Connection, wait: std::time::Duration) -> Result<(), StoreError> {
    conn.busy_timeout(wait)?;
    // Taking the write lock and letting it go writes nothing, even to the WAL.
    let probe = conn.execute_batch("BEGIN IMMEDIATE; ROLLBACK;");
    conn.busy_timeout(super::BUSY_TIMEOUT)?;
    probe?;
    Ok(())
}
