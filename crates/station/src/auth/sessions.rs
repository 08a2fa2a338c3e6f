//! Login sessions in SQLite: a random bearer token per login, kept as its SHA-256, ending after
//! a configured time without use (each use pushes the end back), and at the latest a configured
//! time after the login, however busy (a session left open on a shared PC does not live on).
//!
//! Must never: store a token in clear, accept a session past its end or of an inactive user, or
//! push an end past the login's absolute limit.

use rand::RngCore;
use rusqlite::Connection;
use sha2::{Digest, Sha256};

use super::users::{self, UserRecord};
use crate::store::{self, now_ms, StoreError};

/// A live session and its user.
#[derive(Debug, Clone)]
pub struct Session {
    /// Whose session it is.
    pub user: UserRecord,
    /// When it ends unless used again, Unix ms.
    pub expires_at: i64,
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// How long a session lives: `idle_ms` without use, `max_ms` after its login at most.
#[derive(Debug, Clone, Copy)]
pub struct Lifetime {
    /// Unused this long, a session ends (ms).
    pub idle_ms: i64,
    /// This long after its login, a session ends however used (ms).
    pub max_ms: i64,
}

/// Starts a session; returns the token (shown once, to the client) and its end.
pub fn start(
    conn: &Connection,
    user_id: i64,
    lifetime: Lifetime,
) -> Result<(String, i64), StoreError> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    let expires_at = now_ms() + lifetime.idle_ms.min(lifetime.max_ms);
    store::sessions::insert(conn, &digest(&token), user_id, expires_at)?;
    Ok((token, expires_at))
}

/// The session for `token` if it is live. With `extend` (its lifetime), a use extends it to the
/// idle time from now once half of that is gone (so a busy session does not write on every
/// request), never past the login's absolute limit; without, it is only looked at (an open
/// event stream is no sign of a person at work).
pub fn lookup(
    conn: &Connection,
    token: &str,
    extend: Option<Lifetime>,
) -> Result<Option<Session>, StoreError> {
    let key = digest(token);
    let Some(live) = store::sessions::live(conn, &key)? else {
        return Ok(None);
    };
    let mut expires_at = live.expires_at;
    let now = now_ms();
    if let Some(l) = extend.filter(|l| expires_at - now < l.idle_ms / 2) {
        let extended = (now + l.idle_ms).min(live.created_at.saturating_add(l.max_ms));
        if extended > expires_at {
            expires_at = extended;
            store::sessions::extend(conn, &key, expires_at)?;
        }
    }
    Ok(users::find(conn, &live.username)?.map(|c| Session {
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
