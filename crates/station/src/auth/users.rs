//! The `users` table: who may log in, with which role, and their password hash.
//!
//! Shared by the API's user administration and the `station user` CLI, so both apply the same
//! rules (valid names, minimum password length, always one active admin left).
//!
//! Must never: return a password hash outside this crate, or leave the station without an
//! active admin.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::{password, Role};
use crate::store::{audit, now_ms, Store, StoreError};

/// A user as administrators see it (never with the hash).
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct UserRecord {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub active: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_login_at: Option<i64>,
}

/// A user with what login needs.
#[derive(Debug, Clone)]
pub(crate) struct Credentials {
    pub id: i64,
    pub record: UserRecord,
    pub password_hash: String,
}

/// Why a user change was refused; the API turns these into `invalid` / `conflict` / `not_found`.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("a username is 1 to 64 letters, digits, '.', '_' or '-'")]
    BadUsername,
    #[error(
        "a password has {} to {} characters",
        password::MIN_LENGTH,
        password::MAX_LENGTH
    )]
    WeakPassword,
    #[error("user {0} already exists")]
    Exists(String),
    #[error("no user {0}")]
    NotFound(String),
    #[error("the last active admin cannot be removed or demoted")]
    LastAdmin,
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
    pub display_name: Option<String>,
    pub role: Option<Role>,
    /// A new password (checked and hashed here); it ends the user's sessions.
    pub password: Option<String>,
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

fn valid_username(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn check_password(pw: &str) -> Result<(), UserError> {
    if pw.chars().count() < password::MIN_LENGTH || pw.len() > password::MAX_LENGTH {
        return Err(UserError::WeakPassword);
    }
    Ok(())
}

const COLUMNS: &str =
    "id, username, display_name, role, active, created_at, updated_at, last_login_at, password_hash";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Credentials> {
    let role: String = r.get(3)?;
    Ok(Credentials {
        id: r.get(0)?,
        record: UserRecord {
            username: r.get(1)?,
            display_name: r.get(2)?,
            // The CHECK constraint keeps unknown roles out; technician is the least privilege.
            role: Role::parse(&role).unwrap_or(Role::Technician),
            active: r.get(4)?,
            created_at: r.get(5)?,
            updated_at: r.get(6)?,
            last_login_at: r.get(7)?,
        },
        password_hash: r.get(8)?,
    })
}

pub(crate) fn find(conn: &Connection, username: &str) -> Result<Option<Credentials>, StoreError> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM users WHERE username = ?1"),
            [username],
            row,
        )
        .optional()?)
}

pub fn list(conn: &Connection) -> Result<Vec<UserRecord>, StoreError> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM users ORDER BY username"))?;
    let rows = stmt
        .query_map([], row)?
        .map(|r| r.map(|c| c.record))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Active admins: there must always be one to manage the others.
pub fn active_admins(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM users WHERE role = 'admin' AND active = 1",
        [],
        |r| r.get(0),
    )?)
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
    let now = now_ms();
    conn.execute(
        "INSERT INTO users (username, display_name, role, password_hash, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![username, display_name, role.as_str(), password_hash, now],
    )?;
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
/// change or deactivation ends the user's sessions.
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
    let now = now_ms();
    conn.execute(
        "UPDATE users SET display_name = COALESCE(?2, display_name), role = COALESCE(?3, role),
                password_hash = COALESCE(?4, password_hash), active = COALESCE(?5, active),
                updated_at = ?6 WHERE id = ?1",
        params![
            current.id,
            change.display_name,
            change.role.map(Role::as_str),
            new_hash,
            change.active,
            now
        ],
    )?;
    if new_hash.is_some() || change.active == Some(false) {
        super::sessions::end_all(conn, current.id)?;
    }
    find(conn, username)?
        .map(|c| c.record)
        .ok_or_else(|| UserError::NotFound(username.to_owned()))
}

pub(crate) fn touch_login(conn: &Connection, user_id: i64) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE users SET last_login_at = ?2 WHERE id = ?1",
        params![user_id, now_ms()],
    )?;
    Ok(())
}
