//! User administration, API tokens and the audit trail, for admins; the trail's system events
//! for the maintenance role too.
//!
//! Must never: put a password or its hash in an audit entry or a response.

use serde::{Deserialize, Serialize};

use super::{ApiError, Ctx, Empty};
use crate::actions;
use crate::auth::tokens::{self, TokenRecord};
use crate::auth::users::{self, UserChange, UserRecord};
use crate::auth::Role;
use crate::store::audit::{self, AuditEntry, AuditFilter};

/// Every user account, disabled ones included.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UsersResponse {
    /// By username.
    pub users: Vec<UserRecord>,
}

/// A new account, made by an admin.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserCreate {
    /// 1 to 64 letters, digits, '.', '_' or '-' (`auth::users::valid_username`).
    #[schema(pattern = r"^[A-Za-z0-9._-]{1,64}$")]
    pub username: String,
    /// The person's full name as screens show it; may be empty.
    #[serde(default)]
    pub display_name: String,
    /// What the account may do.
    pub role: Role,
    /// 8 to 1024 characters (`auth::password`).
    #[schema(min_length = 8, max_length = 1024)]
    pub password: String,
}

/// Absent fields stay as they are.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserUpdate {
    /// The account to change (usernames never change).
    pub username: String,
    /// The new full name; `""` clears it.
    #[serde(default)]
    pub display_name: Option<String>,
    /// The new role; a different one ends the user's sessions (they log in again).
    #[serde(default)]
    pub role: Option<Role>,
    /// A new password ends the user's sessions; 8 to 1024 characters.
    #[serde(default)]
    #[schema(min_length = 8, max_length = 1024)]
    pub password: Option<String>,
    /// `false` disables the account and ends its sessions.
    #[serde(default)]
    pub active: Option<bool>,
}

/// Which audit entries to list: each given filter narrows; all absent lists everything.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only entries by this username (an API token's calls: `token:NAME`), exactly.
    #[serde(default)]
    pub actor: Option<String>,
    /// e.g. `study.` for every study action, `login` for logins and failures.
    #[serde(default)]
    pub action_prefix: Option<String>,
    /// Only entries about this subject, exactly (a Study Instance UID, a username, a
    /// destination…).
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

/// One page of audit entries.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditPage {
    /// Newest first.
    pub entries: Vec<AuditEntry>,
}

pub(crate) fn users_list(ctx: &Ctx<'_>, _: Empty) -> Result<UsersResponse, ApiError> {
    Ok(UsersResponse {
        users: users::list(&ctx.api.store.lock())?,
    })
}

pub(crate) fn user_create(ctx: &Ctx<'_>, req: UserCreate) -> Result<UserRecord, ApiError> {
    Ok(actions::user::create(
        &ctx.acting(),
        &req.username,
        &req.display_name,
        req.role,
        &req.password,
    )?)
}

pub(crate) fn user_update(ctx: &Ctx<'_>, req: UserUpdate) -> Result<UserRecord, ApiError> {
    let new_password = req.password.is_some();
    let change = UserChange {
        display_name: req.display_name,
        role: req.role,
        password: req.password,
        active: req.active,
    };
    let user = actions::user::update(&ctx.acting(), &req.username, &change)?;
    if new_password {
        ctx.api.password_changed(&user.username);
    }
    Ok(user)
}

pub(crate) fn audit_list(ctx: &Ctx<'_>, q: AuditQuery) -> Result<AuditPage, ApiError> {
    audit_page(ctx, q, false)
}

/// The maintenance role's view of the trail: the station's own events, no patient's.
pub(crate) fn system_events(ctx: &Ctx<'_>, q: AuditQuery) -> Result<AuditPage, ApiError> {
    if q.patient_id.is_some() {
        return Err(ApiError::invalid(
            "system events are about no patient: patient_id is for audit_list",
        ));
    }
    audit_page(ctx, q, true)
}

fn audit_page(ctx: &Ctx<'_>, q: AuditQuery, system_only: bool) -> Result<AuditPage, ApiError> {
    let filter = AuditFilter {
        actor: q.actor,
        action_prefix: q.action_prefix,
        subject: q.subject,
        patient_id: q.patient_id,
        since: q.since,
        until: q.until,
        before_id: q.before_id,
        system_only,
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

/// Every API token, for the admin's token page.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokensResponse {
    /// Newest first, revoked ones included.
    pub tokens: Vec<TokenRecord>,
}

/// A new API token for a script or a HIS.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenCreate {
    /// Who uses it, e.g. `center-ops` or `his`: letters, digits, '.', '_', '-'.
    pub name: String,
    /// Any role but admin.
    pub role: Role,
    /// Days until it stops working (1 to 1830, `auth::tokens::MAX_LIFETIME`); absent: until
    /// revoked.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1830)]
    pub expires_days: Option<u32>,
}

/// The token just made.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenCreated {
    /// The bearer token, shown this once: only its SHA-256 is kept.
    pub token: String,
    /// What the token list shows for it from now on.
    pub record: TokenRecord,
}

/// Which API token.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRef {
    /// The token's name as given at creation.
    pub name: String,
}

pub(crate) fn tokens_list(ctx: &Ctx<'_>, _: Empty) -> Result<TokensResponse, ApiError> {
    Ok(TokensResponse {
        tokens: tokens::list(&ctx.api.store.lock())?,
    })
}

pub(crate) fn token_create(ctx: &Ctx<'_>, req: TokenCreate) -> Result<TokenCreated, ApiError> {
    let lifetime = req
        .expires_days
        .map(|d| std::time::Duration::from_secs(u64::from(d) * 24 * 3600));
    let (token, record) = actions::token::create(&ctx.acting(), &req.name, req.role, lifetime)?;
    Ok(TokenCreated { token, record })
}

pub(crate) fn token_revoke(ctx: &Ctx<'_>, req: TokenRef) -> Result<TokenRecord, ApiError> {
    Ok(actions::token::revoke(&ctx.acting(), &req.name)?)
}
