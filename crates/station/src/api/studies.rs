//! Studies: search, detail with send history, and what a person does to a study's sending
//! (hold, release, retry, urgent, confirming the patient of a study held for "check patient").
//!
//! Must never: read a study without an audit entry (a read repeated by a live screen counts on
//! one, `audit::read`), or change one without an audit entry in the same transaction.

use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use super::{ApiError, Ctx, ErrorCode};
pub use crate::actions::study::StudyActionResult;
use crate::actions::study::{self, Action, PatientConfirmed};
use crate::actions::ActionError;
use crate::registry::matching::{self, PatientCheck};
use crate::store::studies::{self, StudyFilter};
pub use crate::store::studies::{
    InstanceFailure, InstanceInfo, SendInfo, SeriesInfo, StudySummary,
};
use crate::store::{audit, StudyState};

/// A study search: each given filter narrows; none given lists every study.
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
    /// Only studies with a series of this modality (e.g. `CT`), exactly.
    #[serde(default)]
    pub modality: Option<String>,
    /// Only studies in this state.
    #[serde(default)]
    pub state: Option<StudyState>,
    /// Only studies marked urgent.
    #[serde(default)]
    pub urgent_only: bool,
    /// Rows to skip (0 when absent).
    #[serde(default)]
    pub offset: u32,
    /// 50 when absent; at most 500.
    #[serde(default)]
    pub limit: Option<u32>,
}

/// One page of a study search, most recently received first.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StudyPage {
    /// Studies matching the query, all pages.
    pub total: i64,
    /// This page's studies.
    pub items: Vec<StudySummary>,
}

/// Which study.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StudyRef {
    /// The study's Study Instance UID (0020,000D).
    pub study_uid: String,
}

/// Mark a study urgent, or back to normal.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UrgentRequest {
    /// The study's Study Instance UID (0020,000D).
    pub study_uid: String,
    /// `true`: its sends go first at every destination; `false`: back to arrival order.
    pub urgent: bool,
}

/// One study in full, for its page; reading it is audited.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StudyDetail {
    /// The study's header values, state and counts, as in the list.
    pub study: StudySummary,
    /// Its series, by series number.
    pub series: Vec<SeriesInfo>,
    /// One entry per destination it is queued for, by destination name.
    pub sends: Vec<SendInfo>,
    /// The patient as the device sent it beside the order's, when the study has an order.
    pub patient_check: Option<PatientCheck>,
    /// Its purged files coming back from the hub, when a fetch-back was started.
    pub fetch: Option<crate::storage::fetchback::FetchProgress>,
}

/// `YYYY-MM-DD` or `YYYYMMDD` to the DICOM DA form the index holds.
pub(crate) fn dicom_date(field: &str, value: &str) -> Result<String, ApiError> {
    let digits: String = value.chars().filter(|c| *c != '-').collect();
    if digits.len() != 8 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(super::invalid::invalid_field(
            field,
            format!("{field} = {value:?}: expected YYYYMMDD or YYYY-MM-DD"),
        ));
    }
    Ok(digits)
}

pub(crate) fn list(ctx: &Ctx<'_>, q: StudiesQuery) -> Result<StudyPage, ApiError> {
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
    let filter = StudyFilter {
        text: q.text.clone(),
        patient_id: q.patient_id.clone(),
        date_from,
        date_to,
        modality: q.modality.clone(),
        state: q.state,
        urgent_only: q.urgent_only,
        offset: q.offset,
        limit: q.limit.unwrap_or(50).clamp(1, 500),
    };
    let conn = ctx.api.store.lock();
    let (total, items) = studies::search(&conn, &filter)?;
    let page = StudyPage { total, items };
    // The query alone is the detail (not how many it returned, which changes as studies
    // arrive), so a list refetched on live events is one entry, adding the patients it shows.
    let detail = serde_json::json!({ "query": q }).to_string();
    let patients: Vec<&str> = page.items.iter().map(|s| s.patient_id.as_str()).collect();
    audit::read(&conn, ctx.actor(), "studies.list", "", &detail, &patients)?;
    Ok(page)
}

fn find_summary(conn: &Connection, study_uid: &str) -> Result<StudySummary, ApiError> {
    studies::summary_of(conn, study_uid)?.ok_or_else(|| ApiError::study_not_found(study_uid))
}

pub(crate) fn get(ctx: &Ctx<'_>, req: StudyRef) -> Result<StudyDetail, ApiError> {
    let conn = ctx.api.store.lock();
    let study = find_summary(&conn, &req.study_uid)?;
    let series = studies::series_of(&conn, &req.study_uid)?;
    let sends = studies::sends_of(&conn, &req.study_uid)?;
    let patient_check = match studies::id_of(&conn, &req.study_uid)? {
        Some(id) => matching::patient_check(&conn, id)?,
        None => None,
    };
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
        patient_check,
        fetch: ctx.api.fetch.progress(&req.study_uid),
    })
}

impl From<ActionError> for ApiError {
    fn from(e: ActionError) -> Self {
        match e {
            ActionError::StudyNotFound(uid) => ApiError::study_not_found(&uid),
            ActionError::NothingTo { action, .. } => {
                let (zh, en) = match action {
                    Action::Hold => (
                        "该检查没有可暂停的发送",
                        "nothing to hold: the study is not queued, sending or failed",
                    ),
                    Action::Release => (
                        "该检查没有被暂停",
                        "nothing to release: the study is not held",
                    ),
                    Action::Retry => (
                        "该检查没有失败的发送可重试",
                        "nothing to retry: no send of this study failed",
                    ),
                };
                ApiError::new(ErrorCode::Conflict, zh, en)
            }
            ActionError::Unplaced { .. } => ApiError::new(
                ErrorCode::Conflict,
                "该检查在等待关联申请或核对患者，还没有可暂停、继续或重试的发送。请在检查页关联申请或核对患者，之后会自动发送。",
                "This study waits to be assigned or its patient checked: it has no send to pause, \
                 resume or retry yet. Assign it or check its patient on its page; then it is sent.",
            ),
            ActionError::Registry(e) => e.into(),
            ActionError::Report(e) => e.into(),
            ActionError::User(e) => e.into(),
            ActionError::Store(e) => e.into(),
            ActionError::Storage(crate::storage::StorageError::Store(e)) => e.into(),
            ActionError::Storage(e) => {
                tracing::error!(error = %e, "retention failed");
                ApiError::internal()
            }
        }
    }
}

/// Pause sending a study (`actions::study::hold`).
pub(crate) fn hold(ctx: &Ctx<'_>, req: StudyRef) -> Result<StudyActionResult, ApiError> {
    Ok(study::hold(&ctx.acting(), &req.study_uid)?)
}

pub(crate) fn release(ctx: &Ctx<'_>, req: StudyRef) -> Result<StudyActionResult, ApiError> {
    Ok(study::release(&ctx.acting(), &req.study_uid)?)
}

pub(crate) fn retry(ctx: &Ctx<'_>, req: StudyRef) -> Result<StudyActionResult, ApiError> {
    Ok(study::retry(&ctx.acting(), &req.study_uid)?)
}

/// A study held for "check patient" is its order's patient: sent to the routes configured now.
pub(crate) fn confirm_patient(ctx: &Ctx<'_>, req: StudyRef) -> Result<PatientConfirmed, ApiError> {
    let routes = crate::lifecycle::routes(&ctx.api.config());
    Ok(study::confirm_patient(
        &ctx.acting(),
        &req.study_uid,
        &routes,
    )?)
}

/// Urgent studies are claimed first by every destination's worker (`send_queue.priority`).
pub(crate) fn mark_urgent(
    ctx: &Ctx<'_>,
    req: UrgentRequest,
) -> Result<StudyActionResult, ApiError> {
    Ok(study::mark_urgent(
        &ctx.acting(),
        &req.study_uid,
        req.urgent,
    )?)
}
