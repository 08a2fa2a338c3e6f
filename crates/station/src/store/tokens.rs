//! The `api_tokens` table: long-lived bearer tokens for the center's scripts and a clinic HIS,
//! each with a name, a role, an optional end and a revocation time, keyed by the SHA-256 of the
//! token (made and hashed in `auth::tokens`).
//!
//! Must never: see a token in clear, or find a token that is revoked or past its end.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::users::Role;
use super::{now_ms, StoreError};

/// A token as administrators see it (never the token itself, nor its digest).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct TokenRecord {
    /// Name the admin gave it, unique ignoring case (the audit trail records its calls as `token:NAME`).
    pub name: String,
    /// What calls made with it may do.
    pub role: Role,
    /// The username that made it (`cli` from the command line).
    pub created_by: String,
    /// When it was made (Unix ms).
    pub created_at: i64,
    /// When it stops working; absent: until revoked.
    pub expires_at: Option<i64>,
    /// When an admin revoked it (Unix ms); absent while it works. Revoked tokens stay listed.
    pub revoked_at: Option<i64>,
    /// The last call it made, to the minute.
    pub last_used_at: Option<i64>,
}

const COLUMNS: &str =
    "name, role, created_by, created_at, expires_at, revoked_at, last_used_at, id";

/// A token row and its id; `None` when its role is one this station does not know.
fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Option<(i64, TokenRecord)>> {
    let role: String = r.get(1)?;
    let Some(role) = Role::parse(&role) else {
        return Ok(None);
    };
    Ok(Some((
        r.get(7)?,
        TokenRecord {
            name: r.get(0)?,
            role,
            created_by: r.get(2)?,
            created_at: r.get(3)?,
            expires_at: r.get(4)?,
            revoked_at: r.get(5)?,
            last_used_at: r.get(6)?,
        },
    )))
}

/// Adds a token. Returns `false` when the name is taken (by a live or a revoked token: a name
/// in the audit trail means one token).
pub fn insert(
    conn: &Connection,
    token_sha256: &str,
    name: &str,
    role: Role,
    created_by: &str,
    expires_at: Option<i64>,
) -> Result<bool, StoreError> {
    let result = conn.execute(
        "INSERT INTO api_tokens (name, role, token_sha256, created_by, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            name,
            role.as_str(),
            token_sha256,
            created_by,
            now_ms(),
            expires_at
        ],
    );
    match result {
        Ok(_) => Ok(true),
        Err(e) if super::is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Every token, newest first, revoked ones included.
pub fn list(conn: &Connection) -> Result<Vec<TokenRecord>, StoreError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM api_tokens ORDER BY created_at DESC, id DESC"
    ))?;
    let rows = stmt.query_map([], row)?.collect::<Result<Vec<_>, _>>()?;
    Ok(rows.into_iter().flatten().map(|(_, t)| t).collect())
}

/// The live token with this digest: not revoked, not past its end, of a known role. Marks its
/// use when the last mark is a minute old (a busy script does not write on every call).
pub fn live(conn: &Connection, token_sha256: &str) -> Result<Option<TokenRecord>, StoreError> {
    let now = now_ms();
    let found = conn
        .query_row(
            &format!(
                "SELECT {COLUMNS} FROM api_tokens WHERE token_sha256 = ?1
                 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?2)"
            ),
            params![token_sha256, now],
            row,
        )
        .optional()?
        .flatten();
    let Some((id, mut token)) = found else {
        return Ok(None);
    };
    if token.last_used_at.is_none_or(|at| now - at >= 60_000) {
        conn.execute(
            "UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1",
            params![id, now],
        )?;
        token.last_used_at = Some(now);
    }
    Ok(Some(token))
}

/// Revokes the live token named `name`; returns it, or `None` when there is no such live
/// token (unknown, or already revoked).
pub fn revoke(conn: &Connection, name: &str) -> Result<Option<TokenRecord>, StoreError> {
    let changed = conn.execute(
        "UPDATE api_tokens SET revoked_at = ?2 WHERE name = ?1 AND revoked_at IS NULL",
        params![name, now_ms()],
    )?;
    if changed == 0 {
        return Ok(None);
    }
    find(conn, name)
}

/// The token named `name` (names compare without case), live or not.
pub fn find(conn: &Connection, name: &str) -> Result<Option<TokenRecord>, StoreError> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM api_tokens WHERE name = ?1"),
            [name],
            row,
        )
        .optional()?
        .flatten()
        .map(|(_, t)| t))
}
