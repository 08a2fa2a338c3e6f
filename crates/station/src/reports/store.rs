//! The rules of the report tables (`store::reports` holds them): which delivered studies to
//! look at next and when again, which turnaround target a study gets, and recording a fetched
//! report document.
//!
//! Must never: make an older version current over a newer one, flag a study overdue twice, or
//! record a report without its audit entry (`store::reports::record` lands both together).

use std::collections::BTreeSet;

use rusqlite::Connection;

use super::sr::{Kind, Parsed};
use crate::config::ReportsConfig;
pub use crate::store::reports::{
    flag_overdue, restore_reported, turnaround, Recorded, Turnaround, Waiting,
};
use crate::store::{self, now_ms, StoreError};

/// Enrolls newly delivered studies for `destination` (poll schedule and turnaround target) and
/// returns up to `limit` of those due a look now, urgent first.
pub fn due_studies(
    conn: &Connection,
    destination: &str,
    policy: &ReportsConfig,
    limit: usize,
) -> Result<Vec<Waiting>, StoreError> {
    for new in store::reports::enroll(conn, destination)? {
        let modalities: Vec<&str> = new.modalities.iter().map(String::as_str).collect();
        let minutes = target_minutes(policy, &modalities, new.urgent);
        store::reports::start_turnaround(
            conn,
            new.study_ref,
            new.sent_at,
            new.sent_at + minutes * 60_000,
        )?;
    }
    let since = now_ms() - (policy.poll_days as i64) * 86_400_000;
    store::reports::due(conn, destination, since, limit)
}

/// Moves the due time of every study still waiting for its final report to what `policy` says
/// (an admin changed the turnaround targets), so the overdue list follows at once. A study
/// already flagged overdue keeps its flag: it is never flagged twice.
pub fn retarget(conn: &Connection, policy: &ReportsConfig) -> Result<usize, StoreError> {
    let mut moved = 0;
    for waiting in store::reports::waiting_for_final(conn)? {
        let modalities: Vec<&str> = waiting.modalities.iter().map(String::as_str).collect();
        let due = waiting.sent_at + target_minutes(policy, &modalities, waiting.urgent) * 60_000;
        if waiting.due_at != Some(due) {
            store::reports::set_due(conn, waiting.study_ref, due)?;
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
        let (urgent, sent_at, has_final) = store::reports::poll_facts(conn, *id)?;
        let secs = match (has_final, urgent, sent_at >= recent_since) {
            (false, true, _) => policy.urgent_poll_secs,
            (false, false, true) => policy.recent_poll_secs,
            _ => policy.idle_poll_secs,
        };
        store::reports::set_polled(conn, *id, now + (secs as i64) * 1000)?;
    }
    Ok(())
}

/// Of these SOP Instance UIDs, the ones not to fetch: a report already recorded, or an object
/// the clinic itself produced (a device's measurement SR we sent).
pub fn known_sops(conn: &Connection, sops: &[String]) -> Result<BTreeSet<String>, StoreError> {
    let mut known = BTreeSet::new();
    for sop in sops {
        if store::reports::is_known_sop(conn, sop)? {
            known.insert(sop.clone());
        }
    }
    Ok(known)
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
    store::reports::record(conn, study_uid, instance_id, destination, kind, parsed)
}

#[cfg(test)]
mod tests;
