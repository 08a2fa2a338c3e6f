//! Login sessions in SQLite: a random bearer token per login, kept as its SHA-256, ending after
//! a configured time without use (each use pushes the end back).
//!
//! Must never: store a token in clear, or accept a session past its end or of an inactive user.

use rand::RngCore;
use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};

use super::users::{self, UserRecord};
use crate::store::{now_ms, StoreError};

/// A live session and its user.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: UserRecord,
    pub expires_at: i64,
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Starts a session; returns the token (shown once, to the client) and its end.
pub fn start(conn: &Connection, user_id: i64, ttl_ms: i64) -> Result<(String, i64), StoreError> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    let now = now_ms();
    conn.execute(
        "INSERT INTO sessions (token_sha256, user_ref, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
        params![digest(&token), user_id, now, now + ttl_ms],
    )?;
    // Expired sessions are of no use to anyone: drop them while we are here.
    conn.execute("DELETE FROM sessions WHERE expires_at <= ?1", [now])?;
    Ok((token, now + ttl_ms))
}

/// The session for `token` if it is live. With `extend_to` (the TTL), a use extends it to that
/// long from now once half of it is gone (so a busy session does not write on every request);
/// without, it is only looked at (an open event stream is no sign of a person at work).
pub fn lookup(
    conn: &Connection,
    token: &str,
    extend_to: Option<i64>,
) -> Result<Option<Session>, StoreError> {
    let now = now_ms();
    let key = digest(token);
    let found: Option<(String, i64)> = conn
        .query_row(
            "SELECT u.username, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_ref
             WHERE s.token_sha256 = ?1 AND s.expires_at > ?2 AND u.active = 1",
            params![key, now],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((username, mut expires_at)) = found else {
        return Ok(None);
    };
    if let Some(ttl_ms) = extend_to.filter(|ttl| expires_at - now < ttl / 2) {
        expires_at = now + ttl_ms;
        conn.execute(
            "UPDATE sessions SET expires_at = ?2 WHERE token_sha256 = ?1",
            params![key, expires_at],
        )?;
    }
    Ok(users::find(conn, &username)?.map(|c| Session {
        user: c.record,
        expires_at,
    }))
}

/// Ends one session (logout). Returns whether it existed.
pub fn end(conn: &Connection, token: &str) -> Result<bool, StoreError> {
    Ok(conn.execute(
        "DELETE FROM sessions WHERE token_sha256 = ?1",
        [digest(token)],
    )? > 0)
}

/// Ends every session of a user (password changed, account disabled).
pub fn end_all(conn: &Connection, user_id: i64) -> Result<(), StoreError> {
    conn.execute("DELETE FROM sessions WHERE user_ref = ?1", [user_id])?;
    Ok(())
}
