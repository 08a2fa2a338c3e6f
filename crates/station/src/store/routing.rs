//! Routing and completion: a study with no new instance for the quiet period is complete, and
//! is queued for every destination whose route accepts it (by modality, calling AE title, SOP
//! class; empty filters accept everything).
//!
//! Must never: queue a study twice for one destination, or queue what a person holds back.

use rusqlite::{params, Connection, Transaction};

use super::{now_ms, StoreError};

/// Where completed studies go. Each non-empty filter must match something in the study
/// (any of its modalities, calling AE titles, SOP classes); empty filters match everything.
#[derive(Debug, Clone, Default)]
pub struct Route {
    /// The destination's configured name (`send_queue.destination`).
    pub destination: String,
    /// Modality (0008,0060) values accepted, case-insensitive (`CT`, `US`…).
    pub modalities: Vec<String>,
    /// Calling AE titles of devices whose studies are accepted.
    pub calling_aes: Vec<String>,
    /// SOP Class UIDs (0008,0016) accepted.
    pub sop_classes: Vec<String>,
}

/// What routing looks at in a study.
#[derive(Debug, Default)]
struct RoutingFacts {
    modalities: Vec<String>,
    calling_aes: Vec<String>,
    sop_classes: Vec<String>,
}

impl Route {
    fn accepts(&self, study: &RoutingFacts) -> bool {
        let matches = |filter: &[String], values: &[String]| {
            filter.is_empty()
                || values.iter().any(|v| {
                    filter
                        .iter()
                        .any(|f| f.trim().eq_ignore_ascii_case(v.trim()))
                })
        };
        matches(&self.modalities, &study.modalities)
            && matches(&self.calling_aes, &study.calling_aes)
            && matches(&self.sop_classes, &study.sop_classes)
    }
}

fn study_facts(conn: &Connection, study_id: i64) -> Result<RoutingFacts, StoreError> {
    let mut facts = RoutingFacts::default();
    let mut stmt = conn.prepare(
        "SELECT DISTINCT se.modality, CASE WHEN i.source_kind = 'dicom' THEN i.source END, i.sop_class_uid
         FROM instances i JOIN series se ON se.id = i.series_ref WHERE se.study_ref = ?1",
    )?;
    let rows = stmt.query_map([study_id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Option<String>>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    for row in rows {
        let (modality, calling_ae, sop_class) = row?;
        facts.modalities.push(modality);
        facts.calling_aes.extend(calling_ae);
        facts.sop_classes.push(sop_class);
    }
    Ok(facts)
}

/// Marks studies `complete` once no instance arrived for `quiet_ms`, and queues each for every
/// destination it is routed to. Returns how many studies completed.
pub fn complete_quiet_studies(
    conn: &mut Connection,
    quiet_ms: i64,
    routes: &[Route],
) -> Result<usize, StoreError> {
    complete_quiet_studies_with(conn, quiet_ms, routes, |_, _| Ok(true))
}

/// As [`complete_quiet_studies`], asking `decide` (in the same transaction, after the study is
/// marked complete) whether to queue it now; a study it declines is queued later by whoever
/// decides so (matching holds unmatched studies for a person to assign).
pub fn complete_quiet_studies_with(
    conn: &mut Connection,
    quiet_ms: i64,
    routes: &[Route],
    mut decide: impl FnMut(&Transaction<'_>, i64) -> Result<bool, StoreError>,
) -> Result<usize, StoreError> {
    let now = now_ms();
    let tx = conn.transaction()?;
    let ids: Vec<i64> = {
        let mut stmt = tx.prepare(
            "SELECT id FROM studies WHERE state = 'receiving' AND last_received_at <= ?1",
        )?;
        let ids = stmt
            .query_map([now - quiet_ms], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        ids
    };
    for id in &ids {
        tx.execute(
            "UPDATE studies SET state = 'complete', completed_at = ?2, state_changed_at = ?2 WHERE id = ?1",
            params![id, now],
        )?;
        if decide(&tx, *id)? {
            queue_study(&tx, *id, routes)?;
        }
    }
    tx.commit()?;
    Ok(ids.len())
}

/// Queues a complete study for every destination it is routed to (once per destination).
pub fn queue_study(conn: &Connection, study_id: i64, routes: &[Route]) -> Result<(), StoreError> {
    let now = now_ms();
    let facts = study_facts(conn, study_id)?;
    for route in routes {
        if !route.accepts(&facts) {
            continue;
        }
        conn.execute(
            "INSERT INTO send_queue (study_ref, destination, priority, created_at, updated_at)
             SELECT id, ?2, priority, ?3, ?3 FROM studies WHERE id = ?1
             ON CONFLICT (study_ref, destination) DO NOTHING",
            params![study_id, route.destination, now],
        )?;
    }
    Ok(())
}

/// Complete studies that no destination took (no route accepted them when they completed, or
/// none existed), received since `since` (Unix ms), oldest first: (id, Study Instance UID).
pub fn unrouted(conn: &Connection, since: i64) -> Result<Vec<(i64, String)>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT s.id, s.study_uid FROM studies s
         WHERE s.state = 'complete' AND s.last_received_at >= ?1
           AND NOT EXISTS (SELECT 1 FROM send_queue q WHERE q.study_ref = s.id)
         ORDER BY s.last_received_at, s.id",
    )?;
    let rows = stmt
        .query_map([since], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Whether the study is queued for at least one destination.
pub fn is_routed(conn: &Connection, study_id: i64) -> Result<bool, StoreError> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM send_queue WHERE study_ref = ?1)",
        [study_id],
        |r| r.get(0),
    )?)
}

/// Whether some route of `routes` accepts the study now.
pub fn would_route(conn: &Connection, study_id: i64, routes: &[Route]) -> Result<bool, StoreError> {
    let facts = study_facts(conn, study_id)?;
    Ok(routes.iter().any(|r| r.accepts(&facts)))
}
