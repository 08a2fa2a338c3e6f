//! API tokens: long-lived bearer tokens with a name and a role, for the center's maintenance
//! scripts and a clinic HIS, so they need not keep a password session alive. Made by an admin
//! (API `token_create`, `station token create`), listed and revoked the same two ways; kept as
//! their SHA-256 (`store::tokens`), shown in clear once, when made.
//!
//! A token's caller is `token:NAME` in the audit trail (a username cannot hold `:`), with the
//! token's role, checked by `api::roles` like anyone's.
//!
//! Must never: make an admin token (changing users and settings needs a person), store or log
//! a token in clear, or accept one that is revoked or past its end.

use std::time::Duration;

use rand::RngCore;
use rusqlite::Connection;
use sha2::{Digest, Sha256};

use super::{Role, Session};
pub use crate::store::tokens::TokenRecord;
use crate::store::tokens::{self as table};
use crate::store::users::UserRecord;
use crate::store::{audit, now_ms, Store, StoreError};

/// What every API token starts with, so a leaked one is recognisable (and told from a session
/// token without a lookup).
pub const PREFIX: &str = "cst_";

/// The end shown for a token that has none: the last time a JavaScript `Date` can hold.
const NO_END: i64 = 8_640_000_000_000_000;

/// The longest a token may be made to last; without an end it lasts until revoked.
pub const MAX_LIFETIME: Duration = Duration::from_secs(5 * 366 * 24 * 3600);

/// Why a token was not made or revoked; the API turns these into `invalid` / `conflict` /
/// `not_found`.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The name has characters or a length a name may not have.
    #[error("a token name is 1 to 64 letters, digits, '.', '_' or '-'")]
    BadName,
    /// Tokens may not administer.
    #[error("a token cannot have the admin role: administration needs a person")]
    AdminRole,
    /// The lifetime is outside what a token may have.
    #[error("a token lasts from one second to five years")]
    BadLifetime,
    /// The name is taken, by a live or a revoked token.
    #[error("a token named {0} exists (revoked tokens keep their names)")]
    Exists(String),
    /// No live token has that name.
    #[error("no live token {0}")]
    NotFound(String),
    /// The index could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for TokenError {
    fn from(e: rusqlite::Error) -> Self {
        TokenError::Store(e.into())
    }
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The name the audit trail records for calls made with the token `name`.
pub fn actor_name(name: &str) -> String {
    format!("token:{name}")
}

/// Makes a token with its audit entry (`token.create`), in one transaction. Returns the token
/// in clear (to be shown once) and its record.
pub fn create(
    store: &Store,
    actor: &str,
    name: &str,
    role: Role,
    lifetime: Option<Duration>,
) -> Result<(String, TokenRecord), TokenError> {
    let name = name.trim();
    if !super::users::valid_username(name) {
        return Err(TokenError::BadName);
    }
    if role == Role::Admin {
        return Err(TokenError::AdminRole);
    }
    if lifetime.is_some_and(|d| d < Duration::from_secs(1) || d > MAX_LIFETIME) {
        return Err(TokenError::BadLifetime);
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = format!("{PREFIX}{}", hex::encode(bytes));
    let expires_at = lifetime.map(|d| now_ms() + d.as_millis() as i64);
    let mut conn = store.lock();
    let tx = conn.transaction()?;
    if !table::insert(&tx, &digest(&token), name, role, actor, expires_at)? {
        return Err(TokenError::Exists(name.to_owned()));
    }
    let detail = match expires_at {
        Some(end) => format!("role {}, until {end}", role.as_str()),
        None => format!("role {}, until revoked", role.as_str()),
    };
    audit::record(&tx, actor, "token.create", name, &detail)?;
    let record = table::find(&tx, name)?.ok_or_else(|| TokenError::NotFound(name.to_owned()))?;
    tx.commit()?;
    Ok((token, record))
}

/// Revokes a live token with its audit entry (`token.revoke`), in one transaction: the next
/// call made with it is refused.
pub fn revoke(store: &Store, actor: &str, name: &str) -> Result<TokenRecord, TokenError> {
    let mut conn = store.lock();
    let tx = conn.transaction()?;
    let record = table::revoke(&tx, name.trim())?
        .ok_or_else(|| TokenError::NotFound(name.trim().to_owned()))?;
    audit::record(&tx, actor, "token.revoke", &record.name, "")?;
    tx.commit()?;
    Ok(record)
}

pub use table::list;

/// The caller a live token stands for, as a session: `token:NAME` with the token's role.
pub fn lookup(conn: &Connection, token: &str) -> Result<Option<Session>, StoreError> {
    Ok(table::live(conn, &digest(token))?.map(|t| Session {
        user: UserRecord {
            username: actor_name(&t.name),
            display_name: t.name,
            role: t.role,
            active: true,
            created_at: t.created_at,
            updated_at: t.created_at,
            last_login_at: t.last_used_at,
        },
        expires_at: t.expires_at.unwrap_or(NO_END),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::migrations::MIGRATIONS;

    fn store(dir: &std::path::Path) -> Store {
        Store::open(&dir.join("s.db")).expect("store")
    }

    #[test]
    fn a_token_stands_for_its_role_until_revoked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store(dir.path());
        let (token, record) =
            create(&store, "admin", "center-ops", Role::Maintenance, None).expect("create");
        assert!(token.starts_with(PREFIX) && token.len() == PREFIX.len() + 64);
        assert_eq!((record.role, record.expires_at), (Role::Maintenance, None));

        let session = lookup(&store.lock(), &token)
            .expect("lookup")
            .expect("live");
        assert_eq!(session.user.username, "token:center-ops");
        assert_eq!(session.user.role, Role::Maintenance);
        // Its use is marked, for the admin who wonders whether a script still runs.
        let listed = list(&store.lock()).expect("list");
        assert!(listed[0].last_used_at.is_some(), "{listed:?}");
        // Only the digest is kept.
        let kept: i64 = store
            .lock()
            .query_row(
                "SELECT COUNT(*) FROM api_tokens WHERE token_sha256 = ?1",
                [&token],
                |r| r.get(0),
            )
            .expect("count");
        assert_eq!(kept, 0);

        assert!(matches!(
            create(&store, "admin", "Center-Ops", Role::Doctor, None),
            Err(TokenError::Exists(_))
        ));
        revoke(&store, "admin", "center-ops").expect("revoke");
        assert!(lookup(&store.lock(), &token).expect("lookup").is_none());
        assert!(matches!(
            revoke(&store, "admin", "center-ops"),
            Err(TokenError::NotFound(_))
        ));
        // The name stays taken: one name in the audit trail is one token.
        assert!(matches!(
            create(&store, "admin", "center-ops", Role::Maintenance, None),
            Err(TokenError::Exists(_))
        ));
        let trail = crate::store::audit::list(
            &store.lock(),
            &crate::store::audit::AuditFilter {
                action_prefix: Some("token.".into()),
                ..Default::default()
            },
        )
        .expect("audit");
        let actions: Vec<&str> = trail.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["token.revoke", "token.create"]);
        assert!(trail.iter().all(|e| !e.detail.contains(&token)));
    }

    #[test]
    fn admin_tokens_bad_names_and_lifetimes_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store(dir.path());
        assert!(matches!(
            create(&store, "admin", "ops", Role::Admin, None),
            Err(TokenError::AdminRole)
        ));
        assert!(matches!(
            create(&store, "admin", "center ops", Role::Maintenance, None),
            Err(TokenError::BadName)
        ));
        assert!(matches!(
            create(
                &store,
                "admin",
                "ops",
                Role::Maintenance,
                Some(MAX_LIFETIME * 2)
            ),
            Err(TokenError::BadLifetime)
        ));
        assert!(list(&store.lock()).expect("list").is_empty());
    }

    #[test]
    fn a_token_past_its_end_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store(dir.path());
        let token = format!("{PREFIX}{}", "ab".repeat(32));
        let past = now_ms() - 1;
        table::insert(
            &store.lock(),
            &digest(&token),
            "his",
            Role::Technician,
            "admin",
            Some(past),
        )
        .expect("insert");
        assert!(lookup(&store.lock(), &token).expect("lookup").is_none());
        let future = format!("{PREFIX}{}", "cd".repeat(32));
        table::insert(
            &store.lock(),
            &digest(&future),
            "his2",
            Role::Technician,
            "admin",
            Some(now_ms() + 60_000),
        )
        .expect("insert");
        assert!(lookup(&store.lock(), &future).expect("lookup").is_some());
    }

    #[test]
    fn upgrading_keeps_users_and_lets_the_maintenance_role_in() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.db");
        {
            // A station as it was before the maintenance role: migrations 1 to 12.
            let conn = rusqlite::Connection::open(&path).expect("open");
            for (i, sql) in MIGRATIONS.iter().take(12).enumerate() {
                conn.execute_batch(sql).expect("old migration");
                conn.pragma_update(None, "user_version", (i + 1) as i64)
                    .expect("version");
            }
            conn.execute(
                "INSERT INTO users (username, role, password_hash, created_at, updated_at)
                 VALUES ('li', 'technician', 'x', 1, 1)",
                [],
            )
            .expect("user");
            conn.execute(
                "INSERT INTO sessions (token_sha256, user_ref, created_at, expires_at)
                 VALUES ('d', 1, 1, 9999999999999)",
                [],
            )
            .expect("session");
        }
        let store = Store::open(&path).expect("upgrade");
        let conn = store.lock();
        let li = crate::store::users::find(&conn, "li")
            .expect("find")
            .expect("kept");
        assert_eq!((li.id, li.record.role), (1, Role::Technician));
        crate::store::users::insert(&conn, "ops", "", Role::Maintenance, "x")
            .expect("the new role is allowed");
        let role: String = conn
            .query_row("SELECT role FROM users WHERE username = 'ops'", [], |r| {
                r.get(0)
            })
            .expect("ops");
        assert_eq!(role, "maintenance");
        let fk: i64 = conn
            .query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .expect("fk check");
        assert_eq!(fk, 0);
    }
}
