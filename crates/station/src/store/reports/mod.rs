//! The report tables (migration 5): report documents with their versions and key images, the
//! poll schedule per delivered study, turnaround against the target, and who read what
//! (`read`). The rules (when to look again, which target applies) are `reports::store`'s.
//!
//! Must never: make an older version current over a newer one, flag a study overdue twice, or
//! record a report without its audit entry (both land in one transaction).

mod read;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::{audit, now_ms, StoreError};
pub use read::{
    acknowledge, acknowledgements, get, list, pdf_instance, unacknowledged_count, unread_count,
    KeyImage, ReportFilter, ReportSummary, ReportView,
};

/// What kind of report document an instance is (`reports.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    /// A Structured Report (Basic Text, Enhanced or Comprehensive SR; PS3.3 A.35).
    Sr,
    /// An Encapsulated PDF (PS3.3 A.45.1).
    Pdf,
    /// A Key Object Selection (PS3.3 A.35.4): the images the reader marked, no report text.
    KeyObjects,
}

impl ReportKind {
    /// The `reports.kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Sr => "sr",
            ReportKind::Pdf => "pdf",
            ReportKind::KeyObjects => "ko",
        }
    }
}

/// A report document as read from its file (`reports::sr`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Parsed {
    /// Document Title (0042,0010) of a PDF, else the root Concept Name's meaning.
    pub title: String,
    /// The content tree as text: headings, then "concept: value" lines, indented by depth.
    pub text: String,
    /// The verifying observer (the reading doctor), as a display name.
    pub observer: String,
    /// The verifying observer's Verifying Organization (0040,A027); empty when unverified.
    pub organization: String,
    /// Verification DateTime (DT) as given.
    pub verified_at: String,
    /// Content Date and Time, `YYYYMMDDHHMMSS…`: orders versions of a study's report.
    pub content_at: String,
    /// Completion Flag (0040,A491): `PARTIAL` or `COMPLETE`; empty for a PDF.
    pub completion: String,
    /// Verification Flag (0040,A493): `UNVERIFIED` or `VERIFIED`; empty for a PDF.
    pub verification: String,
    /// Preliminary Flag (0040,A496): `PRELIMINARY`, `FINAL` or empty.
    pub preliminary: String,
    /// The signed report: complete, verified and not preliminary (a PDF unless marked
    /// preliminary). Stops the turnaround clock.
    pub is_final: bool,
    /// SOP Instance UIDs of the images a Key Object Selection (or an SR) references.
    pub key_images: Vec<String>,
}

/// A delivered study due a look at one hub.
#[derive(Debug, Clone)]
pub struct Waiting {
    /// The delivered `send_queue` row (its `report_polls` row is keyed by it).
    pub queue_id: i64,
    /// Study Instance UID to ask the hub about.
    pub study_uid: String,
}

/// A study waiting for a report, as turnaround targets see it: row id in `studies`, when its
/// send was delivered (Unix ms), its priority and image modalities.
#[derive(Debug, Clone)]
pub(crate) struct Delivered {
    pub study_ref: i64,
    pub sent_at: i64,
    /// `None` until its turnaround row exists.
    pub due_at: Option<i64>,
    pub urgent: bool,
    pub modalities: Vec<String>,
}

fn modalities(joined: Option<String>) -> Vec<String> {
    joined
        .as_deref()
        .unwrap_or("")
        .split('\\')
        .map(String::from)
        .collect()
}

/// Newly delivered studies for `destination` get a poll schedule; returns those without a
/// turnaround row yet (their target is the caller's to choose).
pub(crate) fn enroll(conn: &Connection, destination: &str) -> Result<Vec<Delivered>, StoreError> {
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
    let new = stmt
        .query_map([destination], |r| {
            Ok(Delivered {
                study_ref: r.get(0)?,
                sent_at: r.get(1)?,
                due_at: None,
                urgent: r.get::<_, i64>(2)? > 0,
                modalities: modalities(r.get(3)?),
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(new)
}

/// Starts a study's turnaround clock (once).
pub fn start_turnaround(
    conn: &Connection,
    study_ref: i64,
    sent_at: i64,
    due_at: i64,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT OR IGNORE INTO report_turnaround (study_ref, sent_at, due_at) VALUES (?1, ?2, ?3)",
        params![study_ref, sent_at, due_at],
    )?;
    Ok(())
}

/// Up to `limit` studies delivered to `destination` since `since` that are due a look now,
/// urgent first.
pub fn due(
    conn: &Connection,
    destination: &str,
    since: i64,
    limit: usize,
) -> Result<Vec<Waiting>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT p.queue_ref, s.study_uid FROM report_polls p
         JOIN send_queue q ON q.id = p.queue_ref JOIN studies s ON s.id = q.study_ref
         JOIN report_turnaround t ON t.study_ref = s.id
         WHERE q.destination = ?1 AND q.state = 'delivered' AND p.next_poll_at <= ?2 AND t.sent_at >= ?3
         ORDER BY s.priority DESC, p.next_poll_at, p.queue_ref LIMIT ?4",
    )?;
    let rows = stmt
        .query_map(params![destination, now_ms(), since, limit as i64], |r| {
            Ok(Waiting {
                queue_id: r.get(0)?,
                study_uid: r.get(1)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Studies still waiting for their final report.
pub(crate) fn waiting_for_final(conn: &Connection) -> Result<Vec<Delivered>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT t.study_ref, t.sent_at, t.due_at, s.priority,
                (SELECT group_concat(se.modality, '\\') FROM series se WHERE se.study_ref = s.id)
         FROM report_turnaround t JOIN studies s ON s.id = t.study_ref
         WHERE t.final_report_at IS NULL",
    )?;
    let waiting = stmt
        .query_map([], |r| {
            Ok(Delivered {
                study_ref: r.get(0)?,
                sent_at: r.get(1)?,
                due_at: r.get(2)?,
                urgent: r.get::<_, i64>(3)? > 0,
                modalities: modalities(r.get(4)?),
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(waiting)
}

/// Moves study `study_ref`'s turnaround target to `due_at` (Unix ms); `reports::store::retarget`
/// calls it when the targets change.
pub(crate) fn set_due(conn: &Connection, study_ref: i64, due_at: i64) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE report_turnaround SET due_at = ?2 WHERE study_ref = ?1",
        params![study_ref, due_at],
    )?;
    Ok(())
}

/// What scheduling the next look at a queue row's study needs: (urgent, sent at, has a final
/// report).
pub fn poll_facts(conn: &Connection, queue_id: i64) -> Result<(bool, i64, bool), StoreError> {
    Ok(conn.query_row(
        "SELECT s.priority > 0, t.sent_at, t.final_report_at IS NOT NULL
         FROM send_queue q JOIN studies s ON s.id = q.study_ref
         JOIN report_turnaround t ON t.study_ref = s.id WHERE q.id = ?1",
        [queue_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?)
}

/// Looked at now; the next look at `next_poll_at`.
pub fn set_polled(conn: &Connection, queue_id: i64, next_poll_at: i64) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE report_polls SET last_poll_at = ?2, next_poll_at = ?3 WHERE queue_ref = ?1",
        params![queue_id, now_ms(), next_poll_at],
    )?;
    Ok(())
}

/// Whether the instance is one not to fetch: a report already recorded, or an object the
/// clinic itself produced (a device's measurement SR we sent).
pub fn is_known_sop(conn: &Connection, sop_instance_uid: &str) -> Result<bool, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT 1 FROM instances i WHERE i.sop_instance_uid = ?1
           AND (i.source_kind <> 'report' OR EXISTS (SELECT 1 FROM reports r WHERE r.instance_ref = i.id))",
    )?;
    Ok(stmt.exists([sop_instance_uid])?)
}

/// What recording a report changed, for the events.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// Row id of the new `reports` row.
    pub report_id: i64,
    /// It is now the study's current version of its kind (not an older version arriving late).
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
    kind: ReportKind,
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
    if kind != ReportKind::KeyObjects {
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
    /// When the study's send was delivered (Unix ms): the clock starts here.
    pub sent_at: i64,
    /// When its final report is due (Unix ms), from the turnaround target for its modality
    /// and priority.
    pub due_at: i64,
    /// Milliseconds from sending to the first report of any kind; `None` while none came.
    pub first_report_ms: Option<i64>,
    /// Milliseconds from sending to the final (signed) report; `None` while it has not come.
    pub final_report_ms: Option<i64>,
    /// It was flagged overdue (past `due_at` without a final report); stays set once flagged.
    pub overdue: bool,
}

/// Study `study_uid`'s turnaround; `None` when it was never delivered to a hub that reports.
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

/// The modalities of a study's images (its report documents left out).
const IMAGE_MODALITIES: &str = "(SELECT group_concat(DISTINCT se.modality) FROM series se
     JOIN instances i ON i.series_ref = se.id WHERE se.study_ref = t.study_ref AND i.source_kind <> 'report')";

fn split(modalities: Option<String>) -> Vec<String> {
    modalities
        .unwrap_or_default()
        .split(',')
        .filter(|m| !m.is_empty())
        .map(String::from)
        .collect()
}

/// One study delivered in a period, for the turnaround figures: its image modalities,
/// milliseconds to the first and the final report, and whether it is overdue at `now`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TurnaroundRow {
    pub modalities: Vec<String>,
    pub first_report_ms: Option<i64>,
    pub final_report_ms: Option<i64>,
    pub overdue: bool,
}

/// Every study delivered since `since`.
pub(crate) fn turnaround_since(
    conn: &Connection,
    since: i64,
    now: i64,
) -> Result<Vec<TurnaroundRow>, StoreError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {IMAGE_MODALITIES}, t.first_report_at - t.sent_at, t.final_report_at - t.sent_at,
                t.final_report_at IS NULL AND t.due_at <= ?2
         FROM report_turnaround t WHERE t.sent_at >= ?1"
    ))?;
    let rows = stmt
        .query_map([since, now], |r| {
            Ok(TurnaroundRow {
                modalities: split(r.get(0)?),
                first_report_ms: r.get(1)?,
                final_report_ms: r.get(2)?,
                overdue: r.get(3)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// A study past its turnaround target without a final report.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct OverdueStudy {
    /// Study Instance UID (0020,000D).
    pub study_uid: String,
    /// Patient ID as sent: the registered patient's clinic ID once matched to an order, else
    /// the device's.
    pub patient_id: String,
    /// Patient's name as sent (registered or device's, like `patient_id`), DICOM PN form.
    pub patient_name: String,
    /// Accession Number as sent (the order's once matched); empty when there is none.
    pub accession: String,
    /// Modalities of the study's images (its report documents left out), e.g. `["CT"]`.
    pub modalities: Vec<String>,
    /// When the study's send was delivered (Unix ms).
    pub sent_at: i64,
    /// When its final report was due (Unix ms); always in the past here.
    pub due_at: i64,
    /// A preliminary report came back; the final one is late.
    pub has_preliminary: bool,
}

/// How many studies are overdue at `now`, and the `listed` most overdue, patient as sent.
pub fn overdue(
    conn: &Connection,
    now: i64,
    listed: i64,
) -> Result<(i64, Vec<OverdueStudy>), StoreError> {
    use super::studies::{SENT_PATIENT, STUDY_FROM};
    let late = "t.final_report_at IS NULL AND t.due_at <= ?1";
    let total = conn.query_row(
        &format!("SELECT COUNT(*) FROM report_turnaround t WHERE {late}"),
        [now],
        |r| r.get(0),
    )?;
    let mut stmt = conn.prepare(&format!(
        "SELECT s.study_uid, {SENT_PATIENT}, {IMAGE_MODALITIES}, t.sent_at, t.due_at,
                t.first_report_at IS NOT NULL
         {STUDY_FROM} JOIN report_turnaround t ON t.study_ref = s.id
         WHERE {late} ORDER BY t.due_at, s.id LIMIT {listed}"
    ))?;
    let items = stmt
        .query_map([now], |r| {
            Ok(OverdueStudy {
                study_uid: r.get(0)?,
                patient_id: r.get(1)?,
                patient_name: r.get(2)?,
                accession: r.get(5)?,
                modalities: split(r.get(6)?),
                sent_at: r.get(7)?,
                due_at: r.get(8)?,
                has_preliminary: r.get(9)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok((total, items))
}
