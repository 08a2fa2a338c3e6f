//! The API over retention and fetch-back (issue 13): keeping a study's files, fetching a
//! purged study back (with its progress), what a purge would do now; and the one check every
//! reader of instance files makes first ([`Api::on_disk`]).
//!
//! Must never: read a purged instance's file without fetching it back first, or name a patient
//! in the retention plan (it lists studies by UID, date and modality for the maintenance staff).

use serde::{Deserialize, Serialize};

use super::studies::StudyActionResult;
use super::{Api, ApiError, Ctx, Empty, ErrorCode};
use crate::actions;
use crate::storage::fetchback::{FetchError, FetchProgress};
use crate::storage::purge::Plan;
use crate::store::{self, HubProblem};

/// Pin a study's files on this station, or unpin them.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeepRequest {
    /// The study's Study Instance UID (0020,000D).
    pub study_uid: String,
    /// `true`: never purge this study's files; `false`: retention decides again.
    pub keep: bool,
}

/// Keep a study's files on this station (or let retention decide again).
pub(crate) fn study_keep(ctx: &Ctx<'_>, req: KeepRequest) -> Result<StudyActionResult, ApiError> {
    Ok(actions::study::set_keep(
        &ctx.acting(),
        &req.study_uid,
        req.keep,
    )?)
}

/// Starts fetching a purged study's files back from its hub; its progress.
pub(crate) fn study_fetch(
    ctx: &Ctx<'_>,
    req: super::studies::StudyRef,
) -> Result<FetchProgress, ApiError> {
    let conn = ctx.api.store.lock();
    let summary = store::studies::summary_of(&conn, &req.study_uid)?
        .ok_or_else(|| ApiError::study_not_found(&req.study_uid))?;
    store::audit::read(
        &conn,
        ctx.actor(),
        "study.fetch",
        &req.study_uid,
        "",
        &[&summary.patient_id],
    )?;
    drop(conn);
    if summary.purged_instances == 0 {
        return Ok(ctx.api.fetch.progress(&req.study_uid).unwrap_or_default());
    }
    Ok(ctx.api.fetch.start(&ctx.api.config(), &req.study_uid))
}

/// What a retention run would do now, and why each study stays.
pub(crate) fn storage_plan(ctx: &Ctx<'_>, _: Empty) -> Result<Plan, ApiError> {
    let config = ctx.api.config();
    Ok(actions::storage::plan(
        &ctx.acting(),
        &config,
        store::now_ms(),
    )?)
}

impl Api {
    /// Fetches back the purged files of `study_uid` (or only `sop_instance_uid`'s) before a
    /// reader opens them; nothing to do when they are on disk.
    pub(crate) fn on_disk(
        &self,
        study_uid: &str,
        sop_instance_uid: Option<&str>,
    ) -> Result<(), ApiError> {
        match self
            .fetch
            .fetch(&self.config(), study_uid, sop_instance_uid)
        {
            Ok(_) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

impl From<FetchError> for ApiError {
    fn from(e: FetchError) -> Self {
        tracing::warn!(error = %e, "fetch-back failed");
        let raw = e.to_string();
        let error = match e {
            FetchError::NoHub(_) => ApiError::new(
                ErrorCode::Conflict,
                "该检查的影像只存于中心（中心存档），但没有配置保存着这些影像的中心服务器，无法取回",
                "The images are kept at the center only, and no configured hub holds them.",
            ),
            FetchError::Upstream(_) => {
                let unreachable = matches!(
                    e.problem(),
                    Some(HubProblem::Refused | HubProblem::NameNotFound | HubProblem::Timeout)
                );
                if unreachable {
                    ApiError::new(
                        ErrorCode::Conflict,
                        "该检查的影像只存于中心（中心存档），现在连不上中心服务器，暂时无法取回；网络恢复后再试",
                        "The images are kept at the center only, and the center cannot be reached now; try again once the network is back.",
                    )
                } else {
                    ApiError::new(
                        ErrorCode::Conflict,
                        "该检查的影像只存于中心（中心存档），中心未能返回影像",
                        "The images are kept at the center only, and the center did not return them.",
                    )
                }
            }
            FetchError::Ingest(_) | FetchError::Runtime(_) => ApiError::new(
                ErrorCode::Conflict,
                "从中心取回的影像与本机删除前的不一致，或未能保存",
                "The images fetched back from the center are not the ones deleted here, or could not be stored.",
            ),
            FetchError::Store(s) => return s.into(),
        };
        error.with_detail(raw)
    }
}
