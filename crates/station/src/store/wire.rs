//! The `wire_refusals` table: destinations whose hub refused an instance in a compressed
//! transfer syntax, per syntax, so that later studies go to it as received at once. And the
//! bytes on the wire (`send_instances.original_bytes`, `sent_bytes`, written by
//! `queue::record_stored`) summed for the study page and the dashboard.
//!
//! Must never: forget a refusal on its own: only a person does (`actions::destination`), e.g.
//! once the hub was upgraded (a change of the destination's `transfer_syntax` to another codec
//! needs no forgetting: refusals are kept per codec); or count an instance whose sizes were not
//! recorded (stored before they were) as sent for 0.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::{now_ms, StoreError};

/// One remembered refusal, as the destination's dialog shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WireRefusal {
    /// The destination's configured name.
    pub destination: String,
    /// The setting's word (`jpeg-ls-lossless`, `jpeg2000-lossless`).
    pub transfer_syntax: String,
    /// Unix milliseconds.
    pub refused_at: i64,
    /// What the hub said (status and its words).
    pub reason: String,
}

/// Every remembered refusal, by destination and syntax.
pub fn refusals(conn: &Connection) -> Result<Vec<WireRefusal>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT destination, transfer_syntax, refused_at, reason FROM wire_refusals
         ORDER BY destination, transfer_syntax",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(WireRefusal {
            destination: r.get(0)?,
            transfer_syntax: r.get(1)?,
            refused_at: r.get(2)?,
            reason: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// What the hub said when it refused, if `destination` refused `syntax` (a setting's word).
pub fn refusal(
    conn: &Connection,
    destination: &str,
    syntax: &str,
) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT reason FROM wire_refusals WHERE destination = ?1 AND transfer_syntax = ?2",
            params![destination, syntax],
            |r| r.get(0),
        )
        .optional()?)
}

/// Remembers that `destination` refused `syntax`, with the hub's words (the first kept).
pub fn record_refusal(
    conn: &Connection,
    destination: &str,
    syntax: &str,
    reason: &str,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT OR IGNORE INTO wire_refusals (destination, transfer_syntax, refused_at, reason)
         VALUES (?1, ?2, ?3, ?4)",
        params![destination, syntax, now_ms(), reason],
    )?;
    Ok(())
}

/// Bytes on the wire of the instances stored at a hub whose sizes were recorded.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WireBytes {
    /// Instances counted.
    pub instances: i64,
    /// Bytes of the files they would have gone as: the stored originals, or their corrected
    /// copies where the study has them.
    pub original_bytes: i64,
    /// Bytes actually sent: compressed copies where they were made, else those same files.
    pub sent_bytes: i64,
    /// `original_bytes - sent_bytes`: what compression spared the link (negative if it cost).
    pub saved_bytes: i64,
    /// `sent_bytes / original_bytes`: 0.33 for a third, 1 when nothing was compressed.
    pub ratio: f64,
}

/// The sum over the stored rows of `send_instances` that `filter` (an SQL condition on `si`,
/// with `?1`) selects; `None` when none of them has its sizes recorded.
fn wire_bytes(
    conn: &Connection,
    filter: &str,
    param: i64,
) -> Result<Option<WireBytes>, StoreError> {
    let (instances, original_bytes, sent_bytes): (i64, i64, i64) = conn.query_row(
        &format!(
            "SELECT COUNT(*), COALESCE(SUM(si.original_bytes), 0), COALESCE(SUM(si.sent_bytes), 0)
             FROM send_instances si
             WHERE si.state = 'stored' AND si.sent_bytes IS NOT NULL AND si.original_bytes IS NOT NULL
               AND {filter}"
        ),
        [param],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    Ok((instances > 0).then(|| WireBytes::from_sums(instances, original_bytes, sent_bytes)))
}

impl WireBytes {
    fn from_sums(instances: i64, original_bytes: i64, sent_bytes: i64) -> WireBytes {
        WireBytes {
            instances,
            original_bytes,
            sent_bytes,
            saved_bytes: original_bytes - sent_bytes,
            ratio: if original_bytes > 0 {
                sent_bytes as f64 / original_bytes as f64
            } else {
                1.0
            },
        }
    }
}

/// The bytes on the wire per destination (by name, in order), over every instance its hub
/// stored whose sizes were recorded: the metrics' counters. A destination with none is absent.
pub fn bytes_by_destination(conn: &Connection) -> Result<Vec<(String, WireBytes)>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT q.destination, COUNT(*), SUM(si.original_bytes), SUM(si.sent_bytes)
         FROM send_instances si JOIN send_queue q ON q.id = si.queue_ref
         WHERE si.state = 'stored' AND si.sent_bytes IS NOT NULL AND si.original_bytes IS NOT NULL
         GROUP BY q.destination ORDER BY q.destination",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get(0)?,
            WireBytes::from_sums(r.get(1)?, r.get(2)?, r.get(3)?),
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The bytes on the wire of one send queue row (a study to one destination).
pub fn bytes_of_row(conn: &Connection, queue_id: i64) -> Result<Option<WireBytes>, StoreError> {
    wire_bytes(conn, "si.queue_ref = ?1", queue_id)
}

/// The bytes on the wire of every instance reported stored, at any destination, at or after
/// `since_ms` (Unix ms). A row reports when it was last stored: an instance sent again (a
/// correction) counts when it went again, once.
pub fn bytes_since(conn: &Connection, since_ms: i64) -> Result<Option<WireBytes>, StoreError> {
    wire_bytes(conn, "si.updated_at >= ?1", since_ms)
}

/// Forgets every refusal `destination` gave, so its next request tries the codec again;
/// returns the syntaxes forgotten (none: nothing was remembered).
pub fn forget_refusals(conn: &Connection, destination: &str) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT transfer_syntax FROM wire_refusals WHERE destination = ?1 ORDER BY transfer_syntax",
    )?;
    let syntaxes = stmt
        .query_map([destination], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    conn.execute(
        "DELETE FROM wire_refusals WHERE destination = ?1",
        [destination],
    )?;
    Ok(syntaxes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn a_refusal_is_remembered_per_destination_and_syntax_and_the_first_reason_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        let conn = store.lock();
        assert_eq!(refusal(&conn, "hub", "jpeg-ls-lossless").unwrap(), None);
        record_refusal(&conn, "hub", "jpeg-ls-lossless", "HTTP 415").unwrap();
        record_refusal(&conn, "hub", "jpeg-ls-lossless", "later").unwrap();
        assert_eq!(
            refusal(&conn, "hub", "jpeg-ls-lossless")
                .unwrap()
                .as_deref(),
            Some("HTTP 415")
        );
        assert_eq!(refusal(&conn, "hub", "jpeg2000-lossless").unwrap(), None);
        assert_eq!(refusal(&conn, "other", "jpeg-ls-lossless").unwrap(), None);
        let all = refusals(&conn).unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(
            (all[0].destination.as_str(), all[0].reason.as_str()),
            ("hub", "HTTP 415")
        );
    }

    #[test]
    fn forgetting_clears_one_destination_s_refusals_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        let conn = store.lock();
        record_refusal(&conn, "hub", "jpeg-ls-lossless", "HTTP 415").unwrap();
        record_refusal(&conn, "hub", "jpeg2000-lossless", "HTTP 406").unwrap();
        record_refusal(&conn, "other", "jpeg-ls-lossless", "0xc122").unwrap();
        assert_eq!(
            forget_refusals(&conn, "hub").unwrap(),
            ["jpeg-ls-lossless", "jpeg2000-lossless"]
        );
        assert_eq!(refusal(&conn, "hub", "jpeg-ls-lossless").unwrap(), None);
        assert_eq!(refusal(&conn, "hub", "jpeg2000-lossless").unwrap(), None);
        assert!(refusal(&conn, "other", "jpeg-ls-lossless")
            .unwrap()
            .is_some());
        assert!(forget_refusals(&conn, "hub").unwrap().is_empty());
        // Remembered again at the next refusal, with the new words.
        record_refusal(&conn, "hub", "jpeg-ls-lossless", "HTTP 406 later").unwrap();
        assert_eq!(
            refusal(&conn, "hub", "jpeg-ls-lossless")
                .unwrap()
                .as_deref(),
            Some("HTTP 406 later")
        );
    }
}
