//! User administration: who may log in, with which role and password (`store::users` keeps
//! them).
//!
//! Shared by the API's user administration and the `station user` CLI, so both apply the same
//! rules (valid names, minimum password length, always one active admin left).
//!
//! Must never: return a password hash outside this crate, or leave the station without an
//! active admin.

use rusqlite::Connection;

use super::{password, Role};
pub(crate) use crate::store::users::find;
pub use crate::store::users::{list, UserRecord};
use crate::store::{self, audit, Store, StoreError};

/// Why a user change was refused; the API turns these into `invalid` / `conflict` / `not_found`.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// The username has characters or a length a username may not have.
    #[error("a username is 1 to 64 letters, digits, '.', '_' or '-'")]
    BadUsername,
    /// The password is too short or too long.
    #[error(
        "a password has {} to {} characters",
        password::MIN_LENGTH,
        password::MAX_LENGTH
    )]
    WeakPassword,
    /// The username is taken.
    #[error("user {0} already exists")]
    Exists(String),
    /// No user has that name.
    #[error("no user {0}")]
    NotFound(String),
    /// The change would leave nobody to administer the station.
    #[error("the last active admin cannot be removed or demoted")]
    LastAdmin,
    /// The index could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for UserError {
    fn from(e: rusqlite::Error) -> Self {
        UserError::Store(e.into())
    }
}

/// What to change; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    /// The name shown in the UI and the audit trail.
    pub display_name: Option<String>,
    /// A new role (the last active admin keeps theirs); it ends the user's sessions.
    pub role: Option<Role>,
    /// A new password (checked and hashed here); it ends the user's sessions.
    pub password: Option<String>,
    /// Deactivated users cannot log in; their sessions end.
    pub active: Option<bool>,
}

impl UserChange {
    /// For the audit trail: what changed, never the password itself.
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(n) = &self.display_name {
            parts.push(format!("display_name={n}"));
        }
        if let Some(r) = self.role {
            parts.push(format!("role={}", r.as_str()));
        }
        if self.password.is_some() {
            parts.push("password".to_owned());
        }
        if let Some(a) = self.active {
            parts.push(format!("active={a}"));
        }
        parts.join(", ")
    }
}

/// Creates a user with its audit entry, in one transaction: the API's `user_create` and
/// `station user add`. The password is hashed before the store is locked.
pub fn add(
    store: &Store,
    actor: &str,
    username: &str,
    display_name: &str,
    role: Role,
    password: &str,
) -> Result<UserRecord, UserError> {
    let hash = hash_new_password(password)?;
    let mut conn = store.lock();
    let tx = conn.transaction()?;
    let user = create(&tx, username, display_name, role, &hash)?;
    let detail = format!("role {}", role.as_str());
    audit::record(&tx, actor, "user.create", &user.username, &detail)?;
    tx.commit()?;
    Ok(user)
}

/// Applies `change` with its audit entry, in one transaction: the API's `user_update` and
/// `station user passwd`.
pub fn change(
    store: &Store,
    actor: &str,
    username: &str,
    change: &UserChange,
) -> Result<UserRecord, UserError> {
    let hash = change
        .password
        .as_deref()
        .map(hash_new_password)
        .transpose()?;
    let mut conn = store.lock();
    let tx = conn.transaction()?;
    let user = update(&tx, username, change, hash.as_deref())?;
    audit::record(
        &tx,
        actor,
        "user.update",
        &user.username,
        &change.describe(),
    )?;
    tx.commit()?;
    Ok(user)
}

pub(crate) fn valid_username(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn check_password(pw: &str) -> Result<(), UserError> {
    // Characters both ways, as the message (and the API's document) says.
    let length = pw.chars().count();
    if !(password::MIN_LENGTH..=password::MAX_LENGTH).contains(&length) {
        return Err(UserError::WeakPassword);
    }
    Ok(())
}

/// Active admins: there must always be one to manage the others.
pub fn active_admins(conn: &Connection) -> Result<i64, StoreError> {
    store::users::active_admins(conn)
}

/// Creates a user. `password_hash` is computed by the caller outside any store lock
/// (argon2 is slow on purpose).
pub(crate) fn create(
    conn: &Connection,
    username: &str,
    display_name: &str,
    role: Role,
    password_hash: &str,
) -> Result<UserRecord, UserError> {
    if !valid_username(username) {
        return Err(UserError::BadUsername);
    }
    if find(conn, username)?.is_some() {
        return Err(UserError::Exists(username.to_owned()));
    }
    store::users::insert(conn, username, display_name, role, password_hash)?;
    find(conn, username)?
        .map(|c| c.record)
        .ok_or_else(|| UserError::NotFound(username.to_owned()))
}

/// Checks a new password and hashes it (slow: call without holding the store lock).
pub fn hash_new_password(pw: &str) -> Result<String, UserError> {
    check_password(pw)?;
    Ok(password::hash(pw))
}

/// Applies `change` (with its password already hashed by [`hash_new_password`]). A password
/// change, a role change or deactivation ends the user's sessions.
fn update(
    conn: &Connection,
    username: &str,
    change: &UserChange,
    new_hash: Option<&str>,
) -> Result<UserRecord, UserError> {
    let current = find(conn, username)?.ok_or_else(|| UserError::NotFound(username.to_owned()))?;
    let loses_admin = current.record.role == Role::Admin
        && current.record.active
        && (change.role.is_some_and(|r| r != Role::Admin) || change.active == Some(false));
    if loses_admin && active_admins(conn)? <= 1 {
        return Err(UserError::LastAdmin);
    }
    store::users::update(
        conn,
        current.id,
        store::users::Update {
            display_name: change.display_name.as_deref(),
            role: change.role,
            password_hash: new_hash,
            active: change.active,
        },
    )?;
    // A new role ends them too: an open window (and its live stream) must not keep what the
    // old role was allowed to see.
    let new_role = change.role.is_some_and(|r| r != current.record.role);
    if new_hash.is_some() || change.active == Some(false) || new_role {
        super::sessions::end_all(conn, current.id)?;
    }
    find(conn, username)?
        .map(|c| c.record)
        .ok_or_else(|| UserError::NotFound(username.to_owned()))
}

pub(crate) fn touch_login(conn: &Connection, user_id: i64) -> Result<(), StoreError> {
    store::users::touch_login(conn, user_id)
}
