//! Studies: search, detail with send history, and what a person does to a study's sending
//! (hold, release, retry, urgent).
//!
//! Must never: read a study without an audit entry (a read repeated by a live screen counts on
//! one, `audit::read`), or change one without an audit entry in the same transaction.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::{ApiError, Ctx, ErrorCode};
use crate::events::Event;
use crate::store::queue::{self, Action};
use crate::store::{audit, StoreError};

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StudiesQuery {
    /// Part of the patient's name (with or without the DICOM `^`), patient ID or accession.
    #[serde(default)]
    pub text: Option<String>,
    /// Exactly this patient ID.
    #[serde(default)]
    pub patient_id: Option<String>,
    /// Study date from (inclusive), `YYYYMMDD` or `YYYY-MM-DD`.
    #[serde(default)]
    pub date_from: Option<String>,
    /// Study date to (inclusive).
    #[serde(default)]
    pub date_to: Option<String>,
    #[serde(default)]
    pub modality: Option<String>,
    /// One of receiving, complete, unassigned, ready, sending, delivered, reported, failed, held.
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub urgent_only: bool,
    #[serde(default)]
    pub offset: u32,
    /// 50 when absent; at most 500.
    #[serde(default)]
    pub limit: Option<u32>,
}

/// A study as lists show it. Patient and accession are as sent: the registered patient's once
/// the study is matched to an order.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct StudySummary {
    pub study_uid: String,
    pub patient_id: String,
    pub patient_name: String,
    /// The name as the device sent it (differs from `patient_name` when the order corrected it).
    pub received_patient_name: String,
    /// The accession of the order the study is matched to; `null` while unmatched.
    pub order_accession: Option<String>,
    pub patient_sex: String,
    pub patient_birth_date: String,
    pub accession: String,
    pub study_date: String,
    pub study_time: String,
    pub description: String,
    pub modalities: Vec<String>,
    pub instances: i64,
    pub state: String,
    pub urgent: bool,
    pub first_received_at: i64,
    pub last_received_at: i64,
    pub state_changed_at: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StudyPage {
    /// Studies matching the query, all pages.
    pub total: i64,
    pub items: Vec<StudySummary>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StudyRef {
    pub study_uid: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UrgentRequest {
    pub study_uid: String,
    pub urgent: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StudyActionResult {
    pub study_uid: String,
    /// Destinations whose queue row changed.
    pub changed: usize,
    pub state: String,
    pub urgent: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InstanceInfo {
    pub sop_instance_uid: String,
    pub sop_class_uid: String,
    pub instance_number: Option<i64>,
    pub size: i64,
    pub received_at: i64,
    pub source_kind: String,
    pub source: String,
    pub charset: String,
    pub charset_repaired: Option<String>,
    pub review_reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SeriesInfo {
    pub series_uid: String,
    pub modality: String,
    pub number: Option<i64>,
    pub description: String,
    pub instances: Vec<InstanceInfo>,
}

/// An instance the hub refused, with its reason.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InstanceFailure {
    pub sop_instance_uid: String,
    pub error: String,
    pub attempts: i64,
}

/// The study's sending to one destination.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SendInfo {
    pub destination: String,
    pub state: String,
    pub priority: i64,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub instances: i64,
    pub stored: i64,
    pub failed: i64,
    pub failures: Vec<InstanceFailure>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StudyDetail {
    pub study: StudySummary,
    pub series: Vec<SeriesInfo>,
    pub sends: Vec<SendInfo>,
}

/// A study with its patient as received (`p`) and, once matched, its order (`o`) and the
/// registered patient (`rp`) whose data is what is sent (`registry::correction`). Public for
/// the desktop shell's notifications, which name the patient as the screens do.
pub const STUDY_FROM: &str = "FROM studies s JOIN patients p ON p.id = s.patient_ref
     LEFT JOIN orders o ON o.id = s.order_ref LEFT JOIN reg_patients rp ON rp.id = o.patient_ref";

/// Patient ID, name, sex, birth date and accession as sent: the registration's when matched.
pub(crate) const SENT_PATIENT: &str =
    "COALESCE(rp.clinic_id, p.patient_id), COALESCE(rp.name, p.name),
        COALESCE(NULLIF(rp.sex, ''), p.sex), COALESCE(NULLIF(rp.birth_date, ''), p.birth_date),
        COALESCE(o.accession, s.accession)";

fn summary_select() -> String {
    format!(
        "SELECT s.study_uid, {SENT_PATIENT},
        s.study_date, s.study_time, s.description,
        (SELECT group_concat(DISTINCT se.modality) FROM series se WHERE se.study_ref = s.id),
        (SELECT COUNT(*) FROM instances i JOIN series se ON se.id = i.series_ref WHERE se.study_ref = s.id),
        s.state, s.priority, s.first_received_at, s.last_received_at, s.state_changed_at,
        p.name, o.accession
     {STUDY_FROM}"
    )
}

fn summary(r: &rusqlite::Row<'_>) -> rusqlite::Result<StudySummary> {
    let modalities: Option<String> = r.get(9)?;
    Ok(StudySummary {
        study_uid: r.get(0)?,
        patient_id: r.get(1)?,
        patient_name: r.get(2)?,
        patient_sex: r.get(3)?,
        patient_birth_date: r.get(4)?,
        accession: r.get(5)?,
        study_date: r.get(6)?,
        study_time: r.get(7)?,
        description: r.get(8)?,
        modalities: modalities
            .map(|m| {
                m.split(',')
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default(),
        instances: r.get(10)?,
        state: r.get(11)?,
        urgent: r.get::<_, i64>(12)? > 0,
        first_received_at: r.get(13)?,
        last_received_at: r.get(14)?,
        state_changed_at: r.get(15)?,
        received_patient_name: r.get(16)?,
        order_accession: r.get(17)?,
    })
}

/// `YYYY-MM-DD` or `YYYYMMDD` to the DICOM DA form the index holds.
pub(crate) fn dicom_date(field: &str, value: &str) -> Result<String, ApiError> {
    let digits: String = value.chars().filter(|c| *c != '-').collect();
    if digits.len() != 8 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(ApiError::invalid(format!(
            "{field} = {value:?}: expected YYYYMMDD or YYYY-MM-DD"
        )));
    }
    Ok(digits)
}

pub fn list(ctx: &Ctx<'_>, q: StudiesQuery) -> Result<StudyPage, ApiError> {
    let date_from = q
        .date_from
        .as_deref()
        .map(|d| dicom_date("date_from", d))
        .transpose()?;
    let date_to = q
        .date_to
        .as_deref()
        .map(|d| dicom_date("date_to", d))
        .transpose()?;
    // LIKE with the caller's text taken literally.
    let text = q
        .text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            let escaped = t
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("%{}%", escaped.replace('^', ""))
        });
    let filter = "WHERE (?1 IS NULL OR REPLACE(p.name, '^', '') LIKE ?1 ESCAPE '\\'
                         OR REPLACE(rp.name, '^', '') LIKE ?1 ESCAPE '\\' OR rp.clinic_id LIKE ?1 ESCAPE '\\'
                         OR p.patient_id LIKE ?1 ESCAPE '\\' OR s.accession LIKE ?1 ESCAPE '\\'
                         OR o.accession LIKE ?1 ESCAPE '\\')
          AND (?2 IS NULL OR COALESCE(rp.clinic_id, p.patient_id) = ?2)
          AND (?3 IS NULL OR s.study_date >= ?3)
          AND (?4 IS NULL OR s.study_date <= ?4)
          AND (?5 IS NULL OR EXISTS (SELECT 1 FROM series se WHERE se.study_ref = s.id AND se.modality = ?5))
          AND (?6 IS NULL OR s.state = ?6)
          AND (?7 = 0 OR s.priority > 0)";
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let args = params![
        text,
        q.patient_id,
        date_from,
        date_to,
        q.modality,
        q.state,
        q.urgent_only
    ];
    let conn = ctx.api.store.lock();
    let page = (|| -> rusqlite::Result<StudyPage> {
        let total = conn.query_row(
            &format!("SELECT COUNT(*) {STUDY_FROM} {filter}"),
            args,
            |r| r.get(0),
        )?;
        let mut stmt = conn.prepare(&format!(
            "{} {filter} ORDER BY s.last_received_at DESC, s.id DESC LIMIT {limit} OFFSET {}",
            summary_select(),
            q.offset
        ))?;
        let items = stmt
            .query_map(args, summary)?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(StudyPage { total, items })
    })()
    .map_err(StoreError::from)?;
    // The query alone is the detail (not how many it returned, which changes as studies
    // arrive), so a list refetched on live events is one entry, adding the patients it shows.
    let detail = serde_json::json!({ "query": q }).to_string();
    let patients: Vec<&str> = page.items.iter().map(|s| s.patient_id.as_str()).collect();
    audit::read(&conn, ctx.actor(), "studies.list", "", &detail, &patients)?;
    Ok(page)
}

fn find_summary(conn: &Connection, study_uid: &str) -> Result<StudySummary, ApiError> {
    conn.query_row(
        &format!("{} WHERE s.study_uid = ?1", summary_select()),
        [study_uid],
        summary,
    )
    .optional()
    .map_err(StoreError::from)?
    .ok_or_else(|| ApiError::study_not_found(study_uid))
}

pub fn get(ctx: &Ctx<'_>, req: StudyRef) -> Result<StudyDetail, ApiError> {
    let conn = ctx.api.store.lock();
    let study = find_summary(&conn, &req.study_uid)?;
    let series = series_of(&conn, &req.study_uid).map_err(StoreError::from)?;
    let sends = sends_of(&conn, &req.study_uid).map_err(StoreError::from)?;
    let patient = [study.patient_id.as_str()];
    audit::read(
        &conn,
        ctx.actor(),
        "study.read",
        &req.study_uid,
        "",
        &patient,
    )?;
    Ok(StudyDetail {
        study,
        series,
        sends,
    })
}

fn series_of(conn: &Connection, study_uid: &str) -> rusqlite::Result<Vec<SeriesInfo>> {
    let mut stmt = conn.prepare(
        "SELECT se.id, se.series_uid, se.modality, se.number, se.description FROM series se
         JOIN studies s ON s.id = se.study_ref WHERE s.study_uid = ?1 ORDER BY se.number, se.id",
    )?;
    let mut series = stmt
        .query_map([study_uid], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                SeriesInfo {
                    series_uid: r.get(1)?,
                    modality: r.get(2)?,
                    number: r.get(3)?,
                    description: r.get(4)?,
                    instances: Vec::new(),
                },
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut stmt = conn.prepare(
        "SELECT sop_instance_uid, sop_class_uid, instance_number, size, received_at, source_kind,
                source, charset, charset_repaired, review_reason
         FROM instances WHERE series_ref = ?1 ORDER BY instance_number, id",
    )?;
    for (id, s) in &mut series {
        s.instances = stmt
            .query_map([*id], |r| {
                Ok(InstanceInfo {
                    sop_instance_uid: r.get(0)?,
                    sop_class_uid: r.get(1)?,
                    instance_number: r.get(2)?,
                    size: r.get(3)?,
                    received_at: r.get(4)?,
                    source_kind: r.get(5)?,
                    source: r.get(6)?,
                    charset: r.get(7)?,
                    charset_repaired: r.get(8)?,
                    review_reason: r.get(9)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
    }
    Ok(series.into_iter().map(|(_, s)| s).collect())
}

fn sends_of(conn: &Connection, study_uid: &str) -> rusqlite::Result<Vec<SendInfo>> {
    let mut stmt = conn.prepare(
        "SELECT q.id, q.destination, q.state, q.priority, q.attempts, q.last_error, q.next_attempt_at,
                q.created_at, q.updated_at,
                (SELECT COUNT(*) FROM send_instances si WHERE si.queue_ref = q.id),
                (SELECT COUNT(*) FROM send_instances si WHERE si.queue_ref = q.id AND si.state = 'stored'),
                (SELECT COUNT(*) FROM send_instances si WHERE si.queue_ref = q.id AND si.state = 'failed')
         FROM send_queue q JOIN studies s ON s.id = q.study_ref WHERE s.study_uid = ?1 ORDER BY q.destination",
    )?;
    let mut sends = stmt
        .query_map([study_uid], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                SendInfo {
                    destination: r.get(1)?,
                    state: r.get(2)?,
                    priority: r.get(3)?,
                    attempts: r.get(4)?,
                    last_error: r.get(5)?,
                    next_attempt_at: r.get(6)?,
                    created_at: r.get(7)?,
                    updated_at: r.get(8)?,
                    instances: r.get(9)?,
                    stored: r.get(10)?,
                    failed: r.get(11)?,
                    failures: Vec::new(),
                },
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut stmt = conn.prepare(
        "SELECT i.sop_instance_uid, COALESCE(si.last_error, ''), si.attempts FROM send_instances si
         JOIN instances i ON i.id = si.instance_ref
         WHERE si.queue_ref = ?1 AND si.last_error IS NOT NULL ORDER BY i.id",
    )?;
    for (id, send) in &mut sends {
        send.failures = stmt
            .query_map([*id], |r| {
                Ok(InstanceFailure {
                    sop_instance_uid: r.get(0)?,
                    error: r.get(1)?,
                    attempts: r.get(2)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
    }
    Ok(sends.into_iter().map(|(_, s)| s).collect())
}

/// Hold, release or retry, audited in the same transaction, announced on the event bus.
fn act(ctx: &Ctx<'_>, study_uid: &str, action: Action) -> Result<StudyActionResult, ApiError> {
    let (name, zh, en) = match action {
        Action::Hold => (
            "study.hold",
            "该检查没有可暂停的发送",
            "nothing to hold: the study is not queued, sending or failed",
        ),
        Action::Release => (
            "study.release",
            "该检查没有被暂停",
            "nothing to release: the study is not held",
        ),
        Action::Retry => (
            "study.retry",
            "该检查没有失败的发送可重试",
            "nothing to retry: no send of this study failed",
        ),
    };
    let mut conn = ctx.api.store.lock();
    find_summary(&conn, study_uid)?;
    let tx = conn.transaction().map_err(StoreError::from)?;
    let changed = queue::act(&tx, study_uid, action)?;
    if changed == 0 {
        return Err(ApiError::new(ErrorCode::Conflict, zh, en));
    }
    audit::record(
        &tx,
        ctx.actor(),
        name,
        study_uid,
        &format!("{changed} destinations"),
    )?;
    tx.commit().map_err(StoreError::from)?;
    announce(ctx, conn, study_uid, changed)
}

pub fn hold(ctx: &Ctx<'_>, req: StudyRef) -> Result<StudyActionResult, ApiError> {
    act(ctx, &req.study_uid, Action::Hold)
}

pub fn release(ctx: &Ctx<'_>, req: StudyRef) -> Result<StudyActionResult, ApiError> {
    act(ctx, &req.study_uid, Action::Release)
}

pub fn retry(ctx: &Ctx<'_>, req: StudyRef) -> Result<StudyActionResult, ApiError> {
    act(ctx, &req.study_uid, Action::Retry)
}

/// Urgent studies are claimed first by every destination's worker (`send_queue.priority`).
pub fn mark_urgent(ctx: &Ctx<'_>, req: UrgentRequest) -> Result<StudyActionResult, ApiError> {
    let priority = i64::from(req.urgent);
    let mut conn = ctx.api.store.lock();
    find_summary(&conn, &req.study_uid)?;
    let tx = conn.transaction().map_err(StoreError::from)?;
    let now = crate::store::now_ms();
    tx.execute(
        "UPDATE studies SET priority = ?2 WHERE study_uid = ?1",
        params![req.study_uid, priority],
    )
    .map_err(StoreError::from)?;
    let changed = tx
        .execute(
            "UPDATE send_queue SET priority = ?2, updated_at = ?3
             WHERE study_ref = (SELECT id FROM studies WHERE study_uid = ?1)",
            params![req.study_uid, priority, now],
        )
        .map_err(StoreError::from)?;
    let action = if req.urgent {
        "study.urgent"
    } else {
        "study.not_urgent"
    };
    audit::record(&tx, ctx.actor(), action, &req.study_uid, "")?;
    tx.commit().map_err(StoreError::from)?;
    announce(ctx, conn, &req.study_uid, changed)
}

/// After a committed change: tells live views (without holding the store) and answers with
/// the study's new state.
fn announce(
    ctx: &Ctx<'_>,
    conn: std::sync::MutexGuard<'_, Connection>,
    study_uid: &str,
    changed: usize,
) -> Result<StudyActionResult, ApiError> {
    let study = find_summary(&conn, study_uid)?;
    drop(conn);
    ctx.api.emit(Event::StudyChanged {
        study_uid: study_uid.to_owned(),
        state: study.state.clone(),
    });
    Ok(StudyActionResult {
        study_uid: study.study_uid,
        changed,
        state: study.state,
        urgent: study.urgent,
    })
}
