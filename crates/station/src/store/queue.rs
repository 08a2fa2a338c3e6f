//! The send queue: one row per study and destination (`send_queue`), one per instance in it
//! (`send_instances`), and each destination's link state (`links`). The sync workers are its
//! only consumers; everything a person sees about sending is read from these rows.
//!
//! A study may be queued while it is still arriving (`[studies] send_while_receiving`): its
//! row is then due only while it has instances not yet sent, and is verified and delivered
//! only once the study is complete.
//!
//! A claim is owned: claiming a row gives it the next claim number (`send_queue.claim`), and a
//! correction requeuing the study during a send marks that claim `superseded`. A worker's
//! writes count only while the row carries its claim's number, not superseded; a superseded
//! send ends with the row due again (the corrected copies go next), a row a person held during
//! a send stays held, and a claim a newer one replaced changes nothing. A row is claimed only
//! once the worker of its last claim ended it (`in_flight`), even if a person held and released
//! it meanwhile: no two sends of one row are ever in flight together.
//!
//! Must never: mark a study delivered for a destination unless it is complete, every instance
//! in it was reported stored and the hub confirmed holding them; let a superseded claim record
//! an outcome; or let a send's outcome undo a person's hold.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::{params, Connection, OptionalExtension};

use super::{now_ms, StoreError};

mod doorbell;
mod view;
pub use doorbell::Doorbell;
pub(crate) use view::link;
pub use view::{
    destinations_with_unsent, links_online, queue_rows, refused_instances, rows_in, QueueRow,
    RefusedInstance,
};

/// A study claimed for sending to one destination.
#[derive(Debug, Clone)]
pub struct Claim {
    /// The claimed `send_queue` row.
    pub queue_id: i64,
    /// Study Instance UID of the study to send.
    pub study_uid: String,
    /// Sends of this row that ended in a retry or a failure before this one (backoff grows
    /// with it).
    pub attempts: i64,
    /// The row's claim number when claimed: the worker's writes count only while it is current.
    pub token: i64,
}

/// One instance still to send.
#[derive(Debug, Clone)]
pub struct PendingInstance {
    /// Row id in `instances`.
    pub instance_id: i64,
    /// SOP Instance UID (0008,0018) the hub will report it stored under.
    pub sop_instance_uid: String,
    /// Relative to the data directory.
    pub path: String,
    /// Bytes of the file at `path` (the corrected copy's when one is sent).
    pub size: i64,
}

/// Rows a previous run left `sending` (it crashed or was killed mid-send) are due again: the
/// hub ignores what it already holds, and verification decides. Called once at start, before
/// any worker claims, so a row another worker is sending is never claimed twice.
pub fn requeue_interrupted(conn: &Connection) -> Result<usize, StoreError> {
    conn.execute("UPDATE send_queue SET in_flight = 0 WHERE in_flight", [])?;
    Ok(conn.execute(
        "UPDATE send_queue SET state = 'queued', updated_at = ?1 WHERE state = 'sending'",
        [now_ms()],
    )?)
}

/// The instances of a queue row's study that are sent: not waiting for a person's review, and
/// not reports that came from a hub. `{q}` is the queue row's id expression.
const SENT_INSTANCES: &str = "SELECT i.id FROM series se JOIN instances i ON i.series_ref = se.id
     WHERE se.study_ref = (SELECT study_ref FROM send_queue WHERE id = {q})
       AND i.review_reason IS NULL AND i.source_kind <> 'report'";

/// The next study due for `destination`: urgent first, then oldest. Claiming marks it
/// `sending`, so parallel workers of one destination each take a different study. A study
/// still arriving is due only while it has instances not yet sent (never just to verify it).
pub fn claim_next(conn: &Connection, destination: &str) -> Result<Option<Claim>, StoreError> {
    let now = now_ms();
    let unsent = SENT_INSTANCES.replace("{q}", "q.id");
    let claim = conn
        .query_row(
            &format!(
                "SELECT q.id, s.study_uid, q.attempts, q.claim + 1 FROM send_queue q JOIN studies s ON s.id = q.study_ref
                 WHERE q.destination = ?1 AND q.state = 'queued' AND NOT q.in_flight
                   AND (q.next_attempt_at IS NULL OR q.next_attempt_at <= ?2)
                   AND (s.state <> 'receiving' OR EXISTS (
                        SELECT 1 FROM ({unsent}) u LEFT JOIN send_instances si
                          ON si.queue_ref = q.id AND si.instance_ref = u.id
                        WHERE si.state IS NULL OR si.state = 'pending'))
                 ORDER BY q.priority DESC, q.created_at, q.id LIMIT 1"
            ),
            params![destination, now],
            |r| {
                Ok(Claim {
                    queue_id: r.get(0)?,
                    study_uid: r.get(1)?,
                    attempts: r.get(2)?,
                    token: r.get(3)?,
                })
            },
        )
        .optional()?;
    if let Some(c) = &claim {
        conn.execute(
            "UPDATE send_queue SET state = 'sending', claim = ?3, superseded = 0, in_flight = 1, updated_at = ?2
             WHERE id = ?1",
            params![c.queue_id, now, c.token],
        )?;
        conn.execute(
            "UPDATE studies SET state = 'sending', state_changed_at = ?2
             WHERE id = (SELECT study_ref FROM send_queue WHERE id = ?1) AND state IN ('complete', 'ready', 'delivered')",
            params![c.queue_id, now],
        )?;
    }
    Ok(claim)
}

/// Adds the study's instances that arrived since (see [`SENT_INSTANCES`]) to the queue row,
/// as pending.
fn enroll(conn: &Connection, queue_id: i64) -> Result<(), StoreError> {
    let sent = SENT_INSTANCES.replace("{q}", "?1");
    conn.execute(
        &format!(
            "INSERT OR IGNORE INTO send_instances (queue_ref, instance_ref, updated_at)
             SELECT ?1, id, ?2 FROM ({sent})"
        ),
        params![queue_id, now_ms()],
    )?;
    Ok(())
}

/// Whether the queue row's study is still arriving (not complete yet).
pub fn study_receiving(conn: &Connection, queue_id: i64) -> Result<bool, StoreError> {
    Ok(conn.query_row(
        "SELECT s.state = 'receiving' FROM send_queue q JOIN studies s ON s.id = q.study_ref WHERE q.id = ?1",
        [queue_id],
        |r| r.get(0),
    )?)
}

/// Adds the study's instances that arrived since to the queue row and returns the ones not
/// yet stored at the hub that are ready to go: when the study has corrections, only those
/// whose corrected copy is up to date (`registry::correction::prepare` makes the others).
pub fn pending_instances(
    conn: &Connection,
    queue_id: i64,
) -> Result<Vec<PendingInstance>, StoreError> {
    enroll(conn, queue_id)?;
    let mut stmt = conn.prepare(
        // A corrected copy (registry::correction), when the study has one, is what is sent.
        "SELECT i.id, i.sop_instance_uid, COALESCE(i.send_path, i.path), COALESCE(i.send_size, i.size)
         FROM send_instances si
         JOIN instances i ON i.id = si.instance_ref JOIN series se ON se.id = i.series_ref
         WHERE si.queue_ref = ?1 AND si.state = 'pending'
           AND i.send_correction IS (SELECT MAX(id) FROM study_corrections WHERE study_ref = se.study_ref)
         ORDER BY i.id",
    )?;
    let rows = stmt
        .query_map([queue_id], |r| {
            Ok(PendingInstance {
                instance_id: r.get(0)?,
                sop_instance_uid: r.get(1)?,
                path: r.get(2)?,
                size: r.get(3)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Whether `claim` still owns its row: no correction requeued the study and no other worker
/// claimed it since.
pub fn claim_current(conn: &Connection, claim: &Claim) -> Result<bool, StoreError> {
    Ok(conn
        .query_row(
            "SELECT claim = ?2 AND NOT superseded FROM send_queue WHERE id = ?1",
            params![claim.queue_id, claim.token],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(false))
}

/// What one instance weighed on the wire, recorded with its stored outcome ([`record_stored`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentBytes {
    /// The file the instance would have gone as: the stored original, or its corrected copy
    /// when the study has one (what a compressed copy is made from).
    pub original: i64,
    /// The file actually sent: its compressed copy where one was made, else that same file.
    pub sent: i64,
}

/// Records what the hub said of one instance: `Ok` stored, `Err(reason)` refused for good.
/// Returns false, recording nothing, when the claim was superseded (what was sent may be an
/// uncorrected copy). A row a person held during the send still records it. No sizes are
/// recorded (see [`record_stored`]).
pub fn record_instance(
    conn: &Connection,
    claim: &Claim,
    instance_id: i64,
    outcome: Result<(), &str>,
) -> Result<bool, StoreError> {
    record(conn, claim, instance_id, outcome, None)
}

/// [`record_instance`] for an instance the hub reports stored, with the sizes of what was
/// sent, for the study page's and the dashboard's bytes on the wire (`store::wire`).
pub fn record_stored(
    conn: &Connection,
    claim: &Claim,
    instance_id: i64,
    bytes: SentBytes,
) -> Result<bool, StoreError> {
    record(conn, claim, instance_id, Ok(()), Some(bytes))
}

/// The sizes belong to the outcome recorded with them: a later outcome without sizes clears
/// them, so a row never shows the bytes of an earlier send as its own.
fn record(
    conn: &Connection,
    claim: &Claim,
    instance_id: i64,
    outcome: Result<(), &str>,
    bytes: Option<SentBytes>,
) -> Result<bool, StoreError> {
    let (state, error) = match outcome {
        Ok(()) => ("stored", None),
        Err(reason) => ("failed", Some(reason)),
    };
    let n = conn.execute(
        "UPDATE send_instances SET state = ?3, last_error = ?4, attempts = attempts + 1, updated_at = ?5,
                original_bytes = ?7, sent_bytes = ?8
         WHERE queue_ref = ?1 AND instance_ref = ?2
           AND EXISTS (SELECT 1 FROM send_queue WHERE id = ?1 AND claim = ?6 AND NOT superseded)",
        params![
            claim.queue_id,
            instance_id,
            state,
            error,
            now_ms(),
            claim.token,
            bytes.map(|b| b.original),
            bytes.map(|b| b.sent)
        ],
    )?;
    Ok(n > 0)
}

/// SOP Instance UIDs reported stored for this queue row, by Series Instance UID: what
/// verification expects the hub to hold, series by series.
pub fn stored_by_series(
    conn: &Connection,
    queue_id: i64,
) -> Result<BTreeMap<String, BTreeSet<String>>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT se.series_uid, i.sop_instance_uid FROM send_instances si
         JOIN instances i ON i.id = si.instance_ref JOIN series se ON se.id = i.series_ref
         WHERE si.queue_ref = ?1 AND si.state = 'stored'",
    )?;
    let mut by_series: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let rows = stmt.query_map([queue_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    for row in rows {
        let (series, sop): (String, String) = row?;
        by_series.entry(series).or_default().insert(sop);
    }
    Ok(by_series)
}

/// How many instances of queue row `queue_id` the hub refused (`send_instances.state`
/// `failed`): a row with any is not delivered.
pub fn failed_count(conn: &Connection, queue_id: i64) -> Result<i64, StoreError> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM send_instances WHERE queue_ref = ?1 AND state = 'failed'",
        [queue_id],
        |r| r.get(0),
    )?)
}

/// Verification found these missing at the hub: send them again (unless the claim was
/// superseded: then they are pending already).
pub fn mark_missing(
    conn: &Connection,
    claim: &Claim,
    missing: &BTreeSet<String>,
) -> Result<(), StoreError> {
    for sop in missing {
        conn.execute(
            "UPDATE send_instances SET state = 'pending', last_error = 'not found at the hub when verified', updated_at = ?3
             WHERE queue_ref = ?1 AND instance_ref IN (SELECT id FROM instances WHERE sop_instance_uid = ?2)
               AND EXISTS (SELECT 1 FROM send_queue WHERE id = ?1 AND claim = ?4 AND NOT superseded)",
            params![claim.queue_id, sop, now_ms(), claim.token],
        )?;
    }
    Ok(())
}

/// The hub lists every instance but not as sent (it kept an earlier copy): each goes again
/// when the study is retried, with `reason` shown against it.
pub fn mark_unconfirmed(conn: &Connection, claim: &Claim, reason: &str) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE send_instances SET state = 'pending', last_error = ?2, updated_at = ?3
         WHERE queue_ref = ?1 AND state = 'stored'
           AND EXISTS (SELECT 1 FROM send_queue WHERE id = ?1 AND claim = ?4 AND NOT superseded)",
        params![claim.queue_id, reason, now_ms(), claim.token],
    )?;
    Ok(())
}

/// The worker of `claim` has nothing of it in flight any more: the row may be claimed again.
/// Every ending below calls it first, whatever the row's state (a person may have held it).
fn end_claim(conn: &Connection, claim: &Claim) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE send_queue SET in_flight = 0 WHERE id = ?1 AND claim = ?2 AND in_flight",
        params![claim.queue_id, claim.token],
    )?;
    Ok(())
}

/// Ends a claim a correction superseded during its send: the row, which stayed `sending` so no
/// other worker could take it while the uncorrected copies were in flight, is due at once (the
/// corrected copies go next); what the stale worker learned is dropped. Returns whether the
/// claim no longer owns the row: superseded, or replaced by a newer claim (whose row it leaves
/// alone, as it leaves a row a person held).
fn end_superseded(conn: &Connection, claim: &Claim) -> Result<bool, StoreError> {
    if claim_current(conn, claim)? {
        return Ok(false);
    }
    release(conn, claim)?;
    Ok(true)
}

/// Every instance stored and confirmed: delivered for this destination, and the study is
/// delivered once it is for all of its destinations. Instances made pending meanwhile (a
/// correction while sending) or arrived meanwhile keep the row due instead. A study that
/// already has its report stays `reported` when a late instance is delivered. A row held during
/// the send stays held; a superseded claim delivers nothing.
pub fn mark_delivered(conn: &Connection, claim: &Claim) -> Result<(), StoreError> {
    let (queue_id, now) = (claim.queue_id, now_ms());
    // One transaction: a reader never sees the row delivered and its study not.
    let tx = conn.unchecked_transaction()?;
    end_claim(&tx, claim)?;
    if end_superseded(&tx, claim)? {
        return Ok(tx.commit()?);
    }
    enroll(&tx, queue_id)?;
    let delivered = tx.execute(
        "UPDATE send_queue SET state = 'delivered', last_error = NULL, next_attempt_at = NULL, updated_at = ?2
         WHERE id = ?1 AND state = 'sending' AND claim = ?3
           AND NOT EXISTS (SELECT 1 FROM send_instances WHERE queue_ref = ?1 AND state = 'pending')",
        params![queue_id, now, claim.token],
    )?;
    if delivered == 0 {
        release(&tx, claim)?;
    } else {
        tx.execute(
            "UPDATE studies SET state = 'delivered', state_changed_at = ?2
             WHERE id = (SELECT study_ref FROM send_queue WHERE id = ?1) AND state <> 'reported'
               AND NOT EXISTS (SELECT 1 FROM send_queue q2 WHERE q2.study_ref = studies.id AND q2.state <> 'delivered')",
            params![queue_id, now],
        )?;
    }
    Ok(tx.commit()?)
}

/// The worker is done with the row for now, nothing failed (or its claim was superseded): due
/// again when it has work (at once, or for a study still arriving, when more instances come or
/// it completes). A row a person held meanwhile stays held; one a newer claim took is left.
pub fn release(conn: &Connection, claim: &Claim) -> Result<(), StoreError> {
    end_claim(conn, claim)?;
    conn.execute(
        "UPDATE send_queue SET state = 'queued', next_attempt_at = NULL, updated_at = ?2
         WHERE id = ?1 AND state = 'sending' AND claim = ?3",
        params![claim.queue_id, now_ms(), claim.token],
    )?;
    Ok(())
}

/// As a study completes: what a person did to its rows while it arrived (a hold), or a hub's
/// refusal, now shows on the study (unless matching holds it as unassigned, which says more).
pub fn on_study_complete(conn: &Connection, study_id: i64) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE studies SET state = CASE
             WHEN EXISTS (SELECT 1 FROM send_queue WHERE study_ref = ?1 AND state = 'held') THEN 'held'
             ELSE 'failed' END, state_changed_at = ?2
         WHERE id = ?1 AND state <> 'unassigned' AND EXISTS (SELECT 1 FROM send_queue WHERE study_ref = ?1 AND state IN ('held', 'failed'))",
        params![study_id, now_ms()],
    )?;
    Ok(())
}

/// A transient failure: try again at `next_attempt_at`, with the error visible meanwhile.
/// A row a person held while it was being sent stays held; a superseded claim is due at once.
pub fn mark_retry(
    conn: &Connection,
    claim: &Claim,
    error: &str,
    next_attempt_at: i64,
) -> Result<(), StoreError> {
    end_claim(conn, claim)?;
    if end_superseded(conn, claim)? {
        return Ok(());
    }
    conn.execute(
        "UPDATE send_queue SET state = 'queued', attempts = attempts + 1, last_error = ?2,
                next_attempt_at = ?3, updated_at = ?4 WHERE id = ?1 AND state = 'sending' AND claim = ?5",
        params![claim.queue_id, error, next_attempt_at, now_ms(), claim.token],
    )?;
    Ok(())
}

/// A failure retrying cannot fix: a person must look; the study shows as failed with the reason
/// (once complete: a study still arriving keeps receiving, see [`on_study_complete`]). A row a
/// person held during the send stays held (with what the hub stored counted); a superseded
/// claim is due again at once instead (its failure may be about an uncorrected copy).
pub fn mark_failed(conn: &Connection, claim: &Claim, error: &str) -> Result<(), StoreError> {
    end_claim(conn, claim)?;
    if end_superseded(conn, claim)? {
        return Ok(());
    }
    let now = now_ms();
    let failed = conn.execute(
        "UPDATE send_queue SET state = 'failed', attempts = attempts + 1, last_error = ?2, updated_at = ?3
         WHERE id = ?1 AND state = 'sending' AND claim = ?4",
        params![claim.queue_id, error, now, claim.token],
    )?;
    if failed > 0 {
        conn.execute(
            "UPDATE studies SET state = 'failed', state_changed_at = ?2
             WHERE id = (SELECT study_ref FROM send_queue WHERE id = ?1) AND state <> 'receiving'",
            params![claim.queue_id, now],
        )?;
    }
    Ok(())
}

/// Records whether the last exchange with `destination` worked.
pub fn set_link(
    conn: &Connection,
    destination: &str,
    outcome: Result<(), &str>,
) -> Result<(), StoreError> {
    let now = now_ms();
    match outcome {
        Ok(()) => conn.execute(
            "INSERT INTO links (destination, online, last_success_at) VALUES (?1, 1, ?2)
             ON CONFLICT (destination) DO UPDATE SET online = 1, last_success_at = ?2",
            params![destination, now],
        )?,
        Err(e) => conn.execute(
            "INSERT INTO links (destination, online, last_error, last_error_at) VALUES (?1, 0, ?2, ?3)
             ON CONFLICT (destination) DO UPDATE SET online = 0, last_error = ?2, last_error_at = ?3",
            params![destination, e, now],
        )?,
    };
    Ok(())
}

/// Whether the study has a row for any destination (it was queued or sent).
pub fn is_queued(conn: &Connection, study_id: i64) -> Result<bool, StoreError> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM send_queue WHERE study_ref = ?1)",
        [study_id],
        |r| r.get(0),
    )?)
}

/// After a correction of a study already queued or sent: every destination sends every
/// instance again (same SOP Instance UIDs, corrected copies). A send in flight (perhaps of
/// uncorrected copies) is superseded and records nothing; its row stays `sending` until that
/// send is answered, and is then due again, so no second worker sends it meanwhile and no
/// uncorrected copy lands after a corrected one. A row a person held stays held. Returns how
/// many rows are due again now.
pub fn requeue_corrected(conn: &Connection, study_id: i64) -> Result<usize, StoreError> {
    let now = now_ms();
    conn.execute(
        "UPDATE send_instances SET state = 'pending', last_error = NULL, updated_at = ?2
         WHERE queue_ref IN (SELECT id FROM send_queue WHERE study_ref = ?1)",
        params![study_id, now],
    )?;
    conn.execute(
        "UPDATE send_queue SET superseded = 1, updated_at = ?2 WHERE study_ref = ?1",
        params![study_id, now],
    )?;
    let n = conn.execute(
        "UPDATE send_queue SET state = 'queued', next_attempt_at = NULL, updated_at = ?2
         WHERE study_ref = ?1 AND state IN ('delivered', 'failed', 'queued')",
        params![study_id, now],
    )?;
    conn.execute(
        "UPDATE studies SET state = 'ready', state_changed_at = ?2
         WHERE id = ?1 AND state IN ('delivered', 'failed', 'sending', 'reported')",
        params![study_id, now],
    )?;
    Ok(n)
}

/// The hub answers again: studies waiting out a backoff for `destination` are due now.
pub fn due_now(conn: &Connection, destination: &str) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE send_queue SET next_attempt_at = NULL WHERE destination = ?1 AND state = 'queued'",
        [destination],
    )?;
    Ok(())
}

/// What a person did to a study's sending, from `station sync hold|release|retry` or the UI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Pause: the workers skip it until released.
    Hold,
    /// Undo a hold: due now.
    Release,
    /// After a failure: refused instances are tried again, due now.
    Retry,
}

impl Action {
    /// The verb: `study.{verb}` in the audit trail.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Hold => "hold",
            Action::Release => "release",
            Action::Retry => "retry",
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Applies `action` to every destination's row of the study; returns how many rows changed.
/// A study still arriving keeps receiving (its rows change); it completes as usual.
pub fn act(conn: &Connection, study_uid: &str, action: Action) -> Result<usize, StoreError> {
    let now = now_ms();
    let (from, to, study_state) = match action {
        Action::Hold => ("('queued','sending','failed')", "held", "held"),
        Action::Release => ("('held')", "queued", "ready"),
        Action::Retry => ("('failed')", "queued", "ready"),
    };
    if action == Action::Retry {
        conn.execute(
            "UPDATE send_instances SET state = 'pending', updated_at = ?2
             WHERE state = 'failed' AND queue_ref IN (SELECT q.id FROM send_queue q JOIN studies s ON s.id = q.study_ref
                                                     WHERE s.study_uid = ?1 AND q.state = 'failed')",
            params![study_uid, now],
        )?;
    }
    let changed = conn.execute(
        &format!(
            "UPDATE send_queue SET state = '{to}', next_attempt_at = NULL, updated_at = ?2
             WHERE state IN {from} AND study_ref = (SELECT id FROM studies WHERE study_uid = ?1)"
        ),
        params![study_uid, now],
    )?;
    if changed > 0 {
        conn.execute(
            "UPDATE studies SET state = ?2, state_changed_at = ?3 WHERE study_uid = ?1 AND state <> 'receiving'",
            params![study_uid, study_state, now],
        )?;
    }
    Ok(changed)
}

#[cfg(test)]
mod tests;
