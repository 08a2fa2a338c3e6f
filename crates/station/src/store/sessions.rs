//! The `sessions` table: one row per login, keyed by the SHA-256 of its bearer token (made and
//! hashed in `auth::sessions`), with when it ends.
//!
//! Must never: see a token in clear, or find a session past its end or of an inactive user.

use rusqlite::{params, Connection, OptionalExtension};

use super::{now_ms, StoreError};

/// Starts a session ending at `expires_at`, and drops the sessions already ended.
pub fn insert(
    conn: &Connection,
    token_sha256: &str,
    user_id: i64,
    expires_at: i64,
) -> Result<(), StoreError> {
    let now = now_ms();
    conn.execute(
        "INSERT INTO sessions (token_sha256, user_ref, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
        params![token_sha256, user_id, now, expires_at],
    )?;
    // Expired sessions are of no use to anyone: drop them while we are here.
    conn.execute("DELETE FROM sessions WHERE expires_at <= ?1", [now])?;
    Ok(())
}

/// A live session's user, end, and start (its login).
pub(crate) struct LiveSession {
    pub username: String,
    pub expires_at: i64,
    pub created_at: i64,
}

/// The live session with this token digest, if any.
pub(crate) fn live(
    conn: &Connection,
    token_sha256: &str,
) -> Result<Option<LiveSession>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT u.username, s.expires_at, s.created_at FROM sessions s
             JOIN users u ON u.id = s.user_ref
             WHERE s.token_sha256 = ?1 AND s.expires_at > ?2 AND u.active = 1",
            params![token_sha256, now_ms()],
            |r| {
                Ok(LiveSession {
                    username: r.get(0)?,
                    expires_at: r.get(1)?,
                    created_at: r.get(2)?,
                })
            },
        )
        .optional()?)
}

/// Moves the end of the session with this token digest to `expires_at` (Unix ms): activity
/// keeps a session alive.
pub(crate) fn extend(
    conn: &Connection,
    token_sha256: &str,
    expires_at: i64,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE sessions SET expires_at = ?2 WHERE token_sha256 = ?1",
        params![token_sha256, expires_at],
    )?;
    Ok(())
}

/// Ends one session. Returns whether it existed.
pub fn delete(conn: &Connection, token_sha256: &str) -> Result<bool, StoreError> {
    Ok(conn.execute(
        "DELETE FROM sessions WHERE token_sha256 = ?1",
        [token_sha256],
    )? > 0)
}

/// Ends every session of a user.
pub fn delete_all(conn: &Connection, user_id: i64) -> Result<(), StoreError> {
    conn.execute("DELETE FROM sessions WHERE user_ref = ?1", [user_id])?;
    Ok(())
}
