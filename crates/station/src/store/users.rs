//! The `users` table: who may log in, with which role and password hash, and when they last
//! did. The rules (valid names, password length, one active admin left) are `auth::users`'s.
//!
//! Must never: hand a password hash outside this crate (login, in `auth`, is its one reader).

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::{now_ms, StoreError};

/// What a user may do is decided in `api::roles`; the role is stored here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Registers patients, acquires and sends studies.
    Technician,
    /// Reads returned reports.
    Doctor,
    /// Watches what is pending and what failed.
    Manager,
    /// Manages users and settings, browses the audit trail.
    Admin,
    /// The diagnostic center's maintenance staff: sees the station's health, queue, links,
    /// settings and system events and works the sending, but no patient data.
    Maintenance,
}

impl Role {
    const ALL: [Role; 5] = [
        Role::Technician,
        Role::Doctor,
        Role::Manager,
        Role::Admin,
        Role::Maintenance,
    ];

    /// The `users.role` column and the JSON value: `technician`, `doctor`, …
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Technician => "technician",
            Role::Doctor => "doctor",
            Role::Manager => "manager",
            Role::Admin => "admin",
            Role::Maintenance => "maintenance",
        }
    }

    /// The role named `s` as `as_str` writes it; `None` for any other text.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// A user as administrators see it (never with the hash).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct UserRecord {
    /// Login name; unique, never changes.
    pub username: String,
    /// Name shown in the UI and audit views; may be empty.
    pub display_name: String,
    /// What the user may do.
    pub role: Role,
    /// May log in; a deactivated user keeps their row (and audit history) but cannot log in.
    pub active: bool,
    /// When the user was added (Unix ms).
    pub created_at: i64,
    /// When name, role, password or active last changed (Unix ms).
    pub updated_at: i64,
    /// Last successful login (Unix ms); `None` if never.
    pub last_login_at: Option<i64>,
}

/// A user with what login needs.
#[derive(Debug, Clone)]
pub(crate) struct Credentials {
    pub id: i64,
    pub record: UserRecord,
    pub password_hash: String,
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

/// The user named `username` with their password hash, for login; `None` if no such user.
pub(crate) fn find(conn: &Connection, username: &str) -> Result<Option<Credentials>, StoreError> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM users WHERE username = ?1"),
            [username],
            row,
        )
        .optional()?)
}

/// Every user, active or not, by username.
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

/// Adds a user whose name is free (the caller checked).
pub fn insert(
    conn: &Connection,
    username: &str,
    display_name: &str,
    role: Role,
    password_hash: &str,
) -> Result<(), StoreError> {
    let now = now_ms();
    conn.execute(
        "INSERT INTO users (username, display_name, role, password_hash, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![username, display_name, role.as_str(), password_hash, now],
    )?;
    Ok(())
}

/// What to write; `None` keeps the current value.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Update<'a> {
    pub display_name: Option<&'a str>,
    pub role: Option<Role>,
    pub password_hash: Option<&'a str>,
    pub active: Option<bool>,
}

/// Writes `u` to user row `user_id` and stamps `updated_at`; the "one active admin left" rule
/// is the caller's (`auth::users`).
pub(crate) fn update(conn: &Connection, user_id: i64, u: Update<'_>) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE users SET display_name = COALESCE(?2, display_name), role = COALESCE(?3, role),
                password_hash = COALESCE(?4, password_hash), active = COALESCE(?5, active),
                updated_at = ?6 WHERE id = ?1",
        params![
            user_id,
            u.display_name,
            u.role.map(Role::as_str),
            u.password_hash,
            u.active,
            now_ms()
        ],
    )?;
    Ok(())
}

/// Stamps `last_login_at` of user row `user_id` with now.
pub(crate) fn touch_login(conn: &Connection, user_id: i64) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE users SET last_login_at = ?2 WHERE id = ?1",
        params![user_id, now_ms()],
    )?;
    Ok(())
}
