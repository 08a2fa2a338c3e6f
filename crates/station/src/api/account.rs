//! Logging in and out, and who the caller is.
//!
//! Must never: say whether it was the username or the password that was wrong.

use serde::{Deserialize, Serialize};

use super::{Api, ApiError, Ctx, Empty, ErrorCode};
use crate::auth::{LoginError, Role, Scope};

/// What the login page sends.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The account name (at most 64 bytes), as typed: compared exactly.
    pub username: String,
    /// The password in clear (the connection carries it; the station keeps only its hash).
    pub password: String,
}

/// A user as the UI shows them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct UserInfo {
    /// The login name (an API token's caller: `token:NAME`).
    pub username: String,
    /// The person's full name as an admin typed it; may be empty (show `username` then). For
    /// an API token's caller, the token's name.
    pub display_name: String,
    /// What the user may do; decides which pages and buttons the UI shows.
    pub role: Role,
}

/// A successful login: the session's token and who it belongs to.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`. A browser need not: the answer also sets its
    /// HttpOnly session cookie.
    pub token: String,
    /// When the session ends if not used: Unix milliseconds (UTC); each use pushes it back, up
    /// to the longest a session may last.
    pub expires_at: i64,
    /// Who logged in.
    pub user: UserInfo,
}

/// A user changing their own password.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The password as it is now, checked (and throttled) as a login is.
    pub current_password: String,
    /// 8 to 1024 characters (`auth::password`).
    #[schema(min_length = 8, max_length = 1024)]
    pub new_password: String,
}

/// The caller and their session, for the UI to build itself after a reload.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MeResponse {
    /// Who is logged in.
    pub user: UserInfo,
    /// When the session ends if not used: Unix milliseconds (UTC); each call pushes it back, up
    /// to the longest a session may last.
    pub expires_at: i64,
    /// Operations this user's role may call.
    pub allowed_ops: Vec<String>,
}

fn user_info(user: &crate::auth::users::UserRecord) -> UserInfo {
    UserInfo {
        username: user.username.clone(),
        display_name: user.display_name.clone(),
        role: user.role,
    }
}

pub(crate) fn login(ctx: &Ctx<'_>, req: LoginRequest) -> Result<LoginResponse, ApiError> {
    // Hashing a megabyte-long "password" is work for nothing: refuse it before argon2.
    if req.username.len() > 64 || req.password.chars().count() > crate::auth::password::MAX_LENGTH {
        return Err(ApiError::new(
            super::ErrorCode::Invalid,
            "用户名或密码过长",
            "The user name or password is too long.",
        ));
    }
    match ctx.api.auth.login(&req.username, &req.password, ctx.origin) {
        Ok((token, session)) => Ok(LoginResponse {
            token,
            expires_at: session.expires_at,
            user: user_info(&session.user),
        }),
        Err(LoginError::BadCredentials) => Err(ApiError::new(
            ErrorCode::Unauthenticated,
            "用户名或密码错误",
            "wrong username or password",
        )),
        Err(LoginError::Throttled { wait, scope }) => Err(throttled(wait, scope)),
        Err(LoginError::Store(e)) => Err(e.into()),
    }
}

/// The refusal of a login (or a current password) while the throttle holds it back: said so
/// the person knows it is this computer, and that another PC still works.
fn throttled(wait: std::time::Duration, scope: Scope) -> ApiError {
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    let mut e = match scope {
        Scope::User => ApiError::new(
            ErrorCode::Throttled,
            format!("该用户在这台电脑上登录失败次数过多，请 {secs} 秒后再试，或换一台电脑登录"),
            format!(
                "too many failed logins for this user from this computer: try again in \
                 {secs} s, or log in from another computer"
            ),
        ),
        Scope::Origin => ApiError::new(
            ErrorCode::Throttled,
            format!("这台电脑登录失败次数过多，请 {secs} 秒后再试"),
            format!("too many failed logins from this computer: try again in {secs} s"),
        ),
    };
    e.retry_after_secs = Some(secs);
    e
}

pub(crate) fn logout(ctx: &Ctx<'_>, _: Empty) -> Result<Empty, ApiError> {
    let session = ctx.session()?;
    if let Some(token) = ctx.token {
        ctx.api.auth.logout(token)?;
    }
    crate::store::audit::record(
        &ctx.api.store.lock(),
        &session.user.username,
        "logout",
        &session.user.username,
        "",
    )?;
    Ok(Empty {})
}

/// Changes the caller's own password (audited `user.update`, as any password change): the
/// current one first. Every session of the user ends, this one too: they log in again. The
/// `admin` account's new password makes the first-run password file useless: it is deleted.
pub(crate) fn password_change(ctx: &Ctx<'_>, req: PasswordChange) -> Result<Empty, ApiError> {
    let session = ctx.session()?;
    let username = session.user.username.clone();
    let checked = if req.current_password.chars().count() > crate::auth::password::MAX_LENGTH {
        Err(LoginError::BadCredentials)
    } else {
        ctx.api
            .auth
            .check_password(&username, &req.current_password, ctx.origin)
    };
    match checked {
        Ok(()) => {}
        Err(LoginError::BadCredentials) => {
            crate::store::audit::record(
                &ctx.api.store.lock(),
                &username,
                "password.change_refused",
                &username,
                "wrong current password",
            )?;
            let mut e = ApiError::new(
                ErrorCode::Invalid,
                "当前密码不正确",
                "the current password is wrong",
            );
            e.field = Some("current_password".into());
            return Err(e);
        }
        Err(LoginError::Throttled { wait, scope }) => return Err(throttled(wait, scope)),
        Err(LoginError::Store(e)) => return Err(e.into()),
    }
    let change = crate::auth::users::UserChange {
        password: Some(req.new_password),
        ..Default::default()
    };
    crate::actions::user::update(&ctx.acting(), &username, &change)?;
    ctx.api.password_changed(&username);
    Ok(Empty {})
}

pub(crate) fn me(ctx: &Ctx<'_>, _: Empty) -> Result<MeResponse, ApiError> {
    let session = ctx.session()?;
    Ok(MeResponse {
        user: user_info(&session.user),
        expires_at: session.expires_at,
        allowed_ops: Api::allowed_ops(session.user.role)
            .into_iter()
            .map(String::from)
            .collect(),
    })
}
