//! User administration and the audit trail, for admins.
//!
//! Must never: put a password or its hash in an audit entry or a response.

use serde::{Deserialize, Serialize};

use super::{ApiError, Ctx, Empty};
use crate::actions;
use crate::auth::users::{self, UserChange, UserRecord};
use crate::auth::Role;
use crate::store::audit::{self, AuditEntry, AuditFilter};

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UsersResponse {
    pub users: Vec<UserRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserCreate {
    pub username: String,
    #[serde(default)]
    pub display_name: String,
    pub role: Role,
    pub password: String,
}

/// Absent fields stay as they are.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserUpdate {
    pub username: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub role: Option<Role>,
    /// A new password ends the user's sessions.
    #[serde(default)]
    pub password: Option<String>,
    /// `false` disables the account and ends its sessions.
    #[serde(default)]
    pub active: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    #[serde(default)]
    pub actor: Option<String>,
    /// e.g. `study.` for every study action, `login` for logins and failures.
    #[serde(default)]
    pub action_prefix: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
    /// Who saw or changed this patient: reads that showed the patient ID, and entries about it.
    #[serde(default)]
    pub patient_id: Option<String>,
    /// Unix milliseconds, inclusive (a repeated read counts by its last time).
    #[serde(default)]
    pub since: Option<i64>,
    /// Unix milliseconds, exclusive.
    #[serde(default)]
    pub until: Option<i64>,
    /// Entries older than this id: pass the last id of a page to get the next one.
    #[serde(default)]
    pub before_id: Option<i64>,
    /// 100 when absent; at most 1000.
    #[serde(default)]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditPage {
    /// Newest first.
    pub entries: Vec<AuditEntry>,
}

pub fn users_list(ctx: &Ctx<'_>, _: Empty) -> Result<UsersResponse, ApiError> {
    Ok(UsersResponse {
        users: users::list(&ctx.api.store.lock())?,
    })
}

pub fn user_create(ctx: &Ctx<'_>, req: UserCreate) -> Result<UserRecord, ApiError> {
    Ok(actions::user::create(
        &ctx.acting(),
        &req.username,
        &req.display_name,
        req.role,
        &req.password,
    )?)
}

pub fn user_update(ctx: &Ctx<'_>, req: UserUpdate) -> Result<UserRecord, ApiError> {
    let change = UserChange {
        display_name: req.display_name,
        role: req.role,
        password: req.password,
        active: req.active,
    };
    Ok(actions::user::update(
        &ctx.acting(),
        &req.username,
        &change,
    )?)
}

pub fn audit_list(ctx: &Ctx<'_>, q: AuditQuery) -> Result<AuditPage, ApiError> {
    let filter = AuditFilter {
        actor: q.actor,
        action_prefix: q.action_prefix,
        subject: q.subject,
        patient_id: q.patient_id,
        since: q.since,
        until: q.until,
        before_id: q.before_id,
        limit: q.limit.unwrap_or(100),
    };
    let conn = ctx.api.store.lock();
    let entries = audit::list(&conn, &filter)?;
    // The trail itself names patients' studies and searches: reading it is recorded too.
    audit::record(
        &conn,
        ctx.actor(),
        "audit.read",
        "",
        &format!("{} entries", entries.len()),
    )?;
    Ok(AuditPage { entries })
}
