//! Login sessions in SQLite: a random bearer token per login, kept as its SHA-256, ending after
//! a configured time without use (each use pushes the end back).
//!
//! Must never: store a token in clear, or accept a session past its end or of an inactive user.

use rand::RngCore;
use rusqlite::Connection;
use sha2::{Digest, Sha256};

use super::users::{self, UserRecord};
use crate::store::{self, now_ms, StoreError};

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
    let expires_at = now_ms() + ttl_ms;
    store::sessions::insert(conn, &digest(&token), user_id, expires_at)?;
    Ok((token, expires_at))
}

/// The session for `token` if it is live. With `extend_to` (the TTL), a use extends it to that
/// long from now once half of it is gone (so a busy session does not write on every request);
/// without, it is only looked at (an open event stream is no sign of a person at work).
pub fn lookup(
    conn: &Connection,
    token: &str,
    extend_to: Option<i64>,
) -> Result<Option<Session>, StoreError> {
    let key = digest(token);
    let Some((username, mut expires_at)) = store::sessions::live(conn, &key)? else {
        return Ok(None);
    };
    let now = now_ms();
    if let Some(ttl_ms) = extend_to.filter(|ttl| expires_at - now < ttl / 2) {
        expires_at = now + ttl_ms;
        store::sessions::extend(conn, &key, expires_at)?;
    }
    Ok(users::find(conn, &username)?.map(|c| Session {
        user: c.record,
        expires_at,
    }))
}

/// Ends one session (logout). Returns whether it existed.
pub fn end(conn: &Connection, token: &str) -> Result<bool, StoreError> {
    store::sessions::delete(conn, &digest(token))
}

/// Ends every session of a user (password changed, account disabled).
pub fn end_all(conn: &Connection, user_id: i64) -> Result<(), StoreError> {
    store::sessions::delete_all(conn, user_id)
}
