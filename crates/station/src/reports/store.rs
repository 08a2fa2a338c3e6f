//! The report tables (migration 4): which delivered studies to look at next, each fetched
//! report document with its versions, turnaround against the target, and who read what.
//!
//! Must never: make an older version current over a newer one, flag a study overdue twice, or
//! record a report without its audit entry (both land in one transaction).

use std::collections::BTreeSet;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::sr::{Kind, Parsed};
use crate::config::ReportsConfig;
use crate::store::{audit, now_ms, StoreError};

/// A delivered study due a look at one hub.
#[derive(Debug, Clone)]
pub struct Waiting {
    pub queue_id: i64,
    pub study_uid: String,
}

/// Enrolls newly delivered studies for `destination` (poll schedule and turnaround target) and
/// returns up to `limit` of those due a look now, urgent first.
pub fn due_studies(
    conn: &Connection,
    destination: &str,
    policy: &ReportsConfig,
    limit: usize,
) -> Result<Vec<Waiting>, StoreError> {
    let now = now_ms();
    enroll(conn, destination, policy)?;
    let since = now - (policy.poll_days as i64) * 86_400_000;
    let mut stmt = conn.prepare_cached(
        "SELECT p.queue_ref, s.study_uid FROM report_polls p
         JOIN send_queue q ON q.id = p.queue_ref JOIN studies s ON s.id = q.study_ref
         JOIN report_turnaround t ON t.study_ref = s.id
         WHERE q.destination = ?1 AND q.state = 'delivered' AND p.next_poll_at <= ?2 AND t.sent_at >= ?3
         ORDER BY s.priority DESC, p.next_poll_at, p.queue_ref LIMIT ?4",
    )?;
    let rows = stmt
        .query_map(params![destination, now, since, limit as i64], |r| {
            Ok(Waiting {
                queue_id: r.get(0)?,
                study_uid: r.get(1)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

fn enroll(conn: &Connection, destination: &str, policy: &ReportsConfig) -> Result<(), StoreError> {
    conn.execute(
        "INSERT OR IGNORE INTO report_polls (queue_ref, next_poll_at)
         SELECT id, 0 FROM send_queue WHERE destination = ?1 AND state = 'delivered'",
        [destination],
    )?;
    let mut stmt = conn.prepare_cached(
        "SELECT q.study_ref, q.updated_at, s.priority,
                (SELECT group_concat(se.modality, '\\') FROM series se WHERE se.study_ref = s.id)
         FROM send_queue q JOIN studies s ON s.id = q.study_ref
         WHERE q.destination = ?1 AND q.state = 'delivered'
           AND NOT EXISTS (SELECT 1 FROM report_turnaround t WHERE t.study_ref = q.study_ref)",
    )?;
    let new: Vec<(i64, i64, i64, Option<String>)> = stmt
        .query_map([destination], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<Result<_, _>>()?;
    for (study_ref, sent_at, priority, modalities) in new {
        let modalities: Vec<&str> = modalities.as_deref().unwrap_or("").split('\\').collect();
        let minutes = target_minutes(policy, &modalities, priority > 0);
        conn.execute(
            "INSERT OR IGNORE INTO report_turnaround (study_ref, sent_at, due_at) VALUES (?1, ?2, ?3)",
            params![study_ref, sent_at, sent_at + minutes * 60_000],
        )?;
    }
    Ok(())
}

/// Moves the due time of every study still waiting for its final report to what `policy` says
/// (an admin changed the turnaround targets), so the overdue list follows at once. A study
/// already flagged overdue keeps its flag: it is never flagged twice.
pub fn retarget(conn: &Connection, policy: &ReportsConfig) -> Result<usize, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT t.study_ref, t.sent_at, t.due_at, s.priority,
                (SELECT group_concat(se.modality, '\\') FROM series se WHERE se.study_ref = s.id)
         FROM report_turnaround t JOIN studies s ON s.id = t.study_ref
         WHERE t.final_report_at IS NULL",
    )?;
    let waiting: Vec<(i64, i64, i64, i64, Option<String>)> = stmt
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<Result<_, _>>()?;
    let mut moved = 0;
    for (study_ref, sent_at, due_at, priority, modalities) in waiting {
        let modalities: Vec<&str> = modalities.as_deref().unwrap_or("").split('\\').collect();
        let due = sent_at + target_minutes(policy, &modalities, priority > 0) * 60_000;
        if due != due_at {
            conn.execute(
                "UPDATE report_turnaround SET due_at = ?2 WHERE study_ref = ?1",
                params![study_ref, due],
            )?;
            moved += 1;
        }
    }
    Ok(moved)
}

/// The first target matching the study's modality and priority; a day when none does.
pub fn target_minutes(policy: &ReportsConfig, modalities: &[&str], urgent: bool) -> i64 {
    let priority = if urgent { "urgent" } else { "routine" };
    policy
        .targets
        .iter()
        .find(|t| {
            (t.modality == "*"
                || modalities
                    .iter()
                    .any(|m| m.eq_ignore_ascii_case(&t.modality)))
                && (t.priority == "*" || t.priority == priority)
        })
        .map_or(1440, |t| t.minutes as i64)
}

/// Schedules the next look for each study just asked about: urgent ones without a final report
/// soon, recent ones often, the rest (older, or final already) rarely.
pub fn mark_polled(
    conn: &Connection,
    queue_ids: &[i64],
    policy: &ReportsConfig,
) -> Result<(), StoreError> {
    let now = now_ms();
    let recent_since = now - (policy.recent_hours as i64) * 3_600_000;
    for id in queue_ids {
        let (urgent, sent_at, has_final): (bool, i64, bool) = conn.query_row(
            "SELECT s.priority > 0, t.sent_at, t.final_report_at IS NOT NULL
             FROM send_queue q JOIN studies s ON s.id = q.study_ref
             JOIN report_turnaround t ON t.study_ref = s.id WHERE q.id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let secs = match (has_final, urgent, sent_at >= recent_since) {
            (false, true, _) => policy.urgent_poll_secs,
            (false, false, true) => policy.recent_poll_secs,
            _ => policy.idle_poll_secs,
        };
        conn.execute(
            "UPDATE report_polls SET last_poll_at = ?2, next_poll_at = ?3 WHERE queue_ref = ?1",
            params![id, now, now + (secs as i64) * 1000],
        )?;
    }
    Ok(())
}

/// Of these SOP Instance UIDs, the ones not to fetch: a report already recorded, or an object
/// the clinic itself produced (a device's measurement SR we sent).
pub fn known_sops(conn: &Connection, sops: &[String]) -> Result<BTreeSet<String>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT 1 FROM instances i WHERE i.sop_instance_uid = ?1
           AND (i.source_kind <> 'report' OR EXISTS (SELECT 1 FROM reports r WHERE r.instance_ref = i.id))",
    )?;
    let mut known = BTreeSet::new();
    for sop in sops {
        if stmt.exists([sop])? {
            known.insert(sop.clone());
        }
    }
    Ok(known)
}

/// What recording a report changed, for the events.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub report_id: i64,
    pub is_current: bool,
    /// The study moved to `reported` now.
    pub study_reported: bool,
}

/// Records a fetched report document of `study_uid` (its instance already committed). A newer
/// version (by content date/time, then arrival) becomes current; turnaround is stamped.
pub fn record(
    conn: &mut Connection,
    study_uid: &str,
    instance_id: i64,
    destination: &str,
    kind: Kind,
    parsed: &Parsed,
) -> Result<Recorded, StoreError> {
    let now = now_ms();
    // Immediate: a deferred transaction that reads, then writes after another process (CLI,
    // server) committed, gets SQLITE_BUSY at once instead of waiting for the lock.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let study_ref: i64 = tx.query_row(
        "SELECT id FROM studies WHERE study_uid = ?1",
        [study_uid],
        |r| r.get(0),
    )?;
    let newest: Option<String> = tx.query_row(
        "SELECT max(content_at) FROM reports WHERE study_ref = ?1 AND kind = ?2",
        params![study_ref, kind.as_str()],
        |r| r.get(0),
    )?;
    let is_current = newest.is_none_or(|n| parsed.content_at >= n);
    if is_current {
        tx.execute(
            "UPDATE reports SET is_current = 0 WHERE study_ref = ?1 AND kind = ?2",
            params![study_ref, kind.as_str()],
        )?;
    }
    tx.execute(
        "INSERT INTO reports (study_ref, instance_ref, destination, kind, title, text, observer,
                              organization, verified_at, content_at, completion, verification,
                              preliminary, is_final, is_current, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        params![
            study_ref,
            instance_id,
            destination,
            kind.as_str(),
            parsed.title,
            parsed.text,
            parsed.observer,
            parsed.organization,
            parsed.verified_at,
            parsed.content_at,
            parsed.completion,
            parsed.verification,
            parsed.preliminary,
            parsed.is_final,
            is_current,
            now
        ],
    )?;
    let report_id = tx.last_insert_rowid();
    for sop in &parsed.key_images {
        tx.execute(
            "INSERT OR IGNORE INTO report_key_images (report_ref, sop_instance_uid) VALUES (?1, ?2)",
            params![report_id, sop],
        )?;
    }
    let mut study_reported = false;
    if kind != Kind::KeyObjects {
        tx.execute(
            "UPDATE report_turnaround SET first_report_at = coalesce(first_report_at, ?2),
                    final_report_at = CASE WHEN ?3 THEN coalesce(final_report_at, ?2) ELSE final_report_at END
             WHERE study_ref = ?1",
            params![study_ref, now, parsed.is_final],
        )?;
        study_reported = tx.execute(
            "UPDATE studies SET state = 'reported', state_changed_at = ?2 WHERE id = ?1 AND state = 'delivered'",
            params![study_ref, now],
        )? > 0;
    }
    let detail = serde_json::json!({
        "report_id": report_id,
        "kind": kind.as_str(),
        "destination": destination,
        "final": parsed.is_final,
        "current": is_current,
        "observer": parsed.observer,
    });
    audit::record(
        &tx,
        "system",
        "report.received",
        study_uid,
        &detail.to_string(),
    )?;
    tx.commit()?;
    Ok(Recorded {
        report_id,
        is_current,
        study_reported,
    })
}

/// Studies with a report that are shown `delivered` again (a late instance was sent after the
/// report came): back to `reported`. Returns their UIDs.
pub fn restore_reported(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "UPDATE studies SET state = 'reported', state_changed_at = ?1
         WHERE state = 'delivered' AND EXISTS
               (SELECT 1 FROM reports r WHERE r.study_ref = studies.id AND r.kind <> 'ko')
         RETURNING study_uid",
    )?;
    let uids = stmt
        .query_map([now_ms()], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(uids)
}

/// Flags studies past their turnaround target without a final report; each only once.
/// Returns the UIDs flagged now.
pub fn flag_overdue(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let now = now_ms();
    let mut stmt = conn.prepare_cached(
        "UPDATE report_turnaround SET overdue_at = ?1
         WHERE overdue_at IS NULL AND final_report_at IS NULL AND due_at <= ?1
         RETURNING (SELECT study_uid FROM studies WHERE id = study_ref)",
    )?;
    let uids = stmt
        .query_map([now], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(uids)
}

/// A study's turnaround: milliseconds from sending to the first and the final report.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Turnaround {
    pub sent_at: i64,
    pub due_at: i64,
    pub first_report_ms: Option<i64>,
    pub final_report_ms: Option<i64>,
    pub overdue: bool,
}

pub fn turnaround(conn: &Connection, study_uid: &str) -> Result<Option<Turnaround>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT t.sent_at, t.due_at, t.first_report_at - t.sent_at, t.final_report_at - t.sent_at,
                    t.overdue_at IS NOT NULL
             FROM report_turnaround t JOIN studies s ON s.id = t.study_ref WHERE s.study_uid = ?1",
            [study_uid],
            |r| {
                Ok(Turnaround {
                    sent_at: r.get(0)?,
                    due_at: r.get(1)?,
                    first_report_ms: r.get(2)?,
                    final_report_ms: r.get(3)?,
                    overdue: r.get(4)?,
                })
            },
        )
        .optional()?)
}

#[cfg(test)]
mod tests;
