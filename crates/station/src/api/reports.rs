//! Reports that came back from the hub, as the caller reads them: the list (all or unread, with
//! the caller's unread count), one report with its versions, PDFs and key images, and
//! acknowledging it; and the ECG waveform of an instance, for the plot beside its report.
//!
//! Must never: acknowledge for anyone but the caller, or read a report without an audit entry.

use serde::{Deserialize, Serialize};

use super::{ApiError, Ctx, ErrorCode};
use crate::actions;
pub use crate::actions::report::ReportAcked;
use crate::dicom::waveform::{EcgWaveform, WaveformError};
use crate::reports::view::{self, ReportError, ReportFilter, ReportSummary, ReportView};
use crate::scp::preview;
use crate::store::audit;

/// Which reports to list for the caller.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportsQuery {
    /// Only reports the caller has not acknowledged.
    #[serde(default)]
    pub unread_only: bool,
    /// Only this study's reports.
    #[serde(default)]
    pub study_uid: Option<String>,
    /// Superseded versions too.
    #[serde(default)]
    pub all_versions: bool,
    /// 200 when absent; at most 5000.
    #[serde(default)]
    pub limit: Option<u32>,
}

/// Reports for the caller, with their unread count.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReportList {
    /// Current reports the caller has not acknowledged (whatever the query).
    pub unread: i64,
    /// Newest first; `acknowledged_at` is the caller's acknowledgement.
    pub items: Vec<ReportSummary>,
}

/// Which report: the `id` a report list gives.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportRef {
    /// The report's row id on this station (`id` in `reports_list` items).
    pub id: i64,
}

/// One report as its page shows it, for the caller.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReportDetail {
    /// The report, its versions, the study's PDFs and key images, and its turnaround.
    #[serde(flatten)]
    pub view: ReportView,
    /// Whether `GET /api/report/{id}/pdf` has a document for this report (it is a PDF).
    pub has_pdf: bool,
}

/// Which instance's ECG waveform.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstanceRef {
    /// The instance's SOP Instance UID (0008,0018).
    pub sop_instance_uid: String,
}

impl From<ReportError> for ApiError {
    fn from(e: ReportError) -> Self {
        match e {
            ReportError::NotFound(id) => ApiError::new(
                ErrorCode::NotFound,
                format!("找不到报告 #{id}"),
                e.to_string(),
            ),
            ReportError::NotPdf(id) => ApiError::new(
                ErrorCode::NotFound,
                format!("报告 #{id} 不是 PDF 文档"),
                e.to_string(),
            ),
            ReportError::NoUser => ApiError::unauthenticated(),
            ReportError::Store(s) => s.into(),
            ReportError::File { .. } => {
                tracing::error!(error = %e, "report file unreadable");
                ApiError::new(
                    ErrorCode::Internal,
                    "报告文件无法读取，详情见日志",
                    "the report's file cannot be read; see the station's log",
                )
            }
        }
    }
}

impl From<WaveformError> for ApiError {
    fn from(e: WaveformError) -> Self {
        match e {
            WaveformError::NotFound(ref sop) => ApiError::new(
                ErrorCode::NotFound,
                format!("找不到影像 {sop}"),
                e.to_string(),
            ),
            WaveformError::NotWaveform(_) => {
                ApiError::new(ErrorCode::Invalid, "该影像不是心电波形", e.to_string())
            }
            WaveformError::Read(_) | WaveformError::Malformed(_) => {
                tracing::warn!(error = %e, "waveform unreadable");
                ApiError::new(
                    ErrorCode::Conflict,
                    format!("心电波形无法读取：{e}"),
                    e.to_string(),
                )
            }
        }
    }
}

pub(crate) fn reports_list(ctx: &Ctx<'_>, req: ReportsQuery) -> Result<ReportList, ApiError> {
    let user = ctx.session()?.user.username.clone();
    let conn = ctx.api.store.lock();
    let items = view::list(
        &conn,
        &ReportFilter {
            user: Some(user.clone()),
            unread_only: req.unread_only,
            study_uid: req.study_uid.clone(),
            all_versions: req.all_versions,
            limit: req.limit.unwrap_or(200),
        },
    )?;
    let unread = view::unread_count(&conn, &user)?;
    // Coalesced: the Reports page refetches on live events (`audit::read`).
    let detail = serde_json::json!({ "query": req }).to_string();
    let patients: Vec<&str> = items.iter().map(|r| r.patient_id.as_str()).collect();
    audit::read(&conn, &user, "reports.list", "", &detail, &patients)?;
    Ok(ReportList { unread, items })
}

pub(crate) fn report_get(ctx: &Ctx<'_>, req: ReportRef) -> Result<ReportDetail, ApiError> {
    let user = &ctx.session()?.user.username;
    let conn = ctx.api.store.lock();
    let view = view::get(&conn, req.id, Some(user))?;
    let detail = serde_json::json!({ "report_id": req.id }).to_string();
    let patient = [view.report.patient_id.as_str()];
    audit::read(
        &conn,
        user,
        "report.read",
        &view.report.study_uid,
        &detail,
        &patient,
    )?;
    Ok(ReportDetail {
        has_pdf: view.report.kind == "pdf",
        view,
    })
}

/// The caller acknowledges (`actions::report::acknowledge`, audited as `report.acknowledge`).
pub(crate) fn report_ack(ctx: &Ctx<'_>, req: ReportRef) -> Result<ReportAcked, ApiError> {
    ctx.session()?;
    Ok(actions::report::acknowledge(&ctx.acting(), req.id)?)
}

pub(crate) fn waveform_get(ctx: &Ctx<'_>, req: InstanceRef) -> Result<EcgWaveform, ApiError> {
    let file = preview::waveform_file(
        &ctx.api.store.lock(),
        &ctx.api.config().data_dir,
        &req.sop_instance_uid,
    )?;
    let wave = preview::waveform_read(&file)?;
    audit::record(
        &ctx.api.store.lock(),
        ctx.actor(),
        "waveform.read",
        &req.sop_instance_uid,
        "",
    )?;
    Ok(wave)
}
