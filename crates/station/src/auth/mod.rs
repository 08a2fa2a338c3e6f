//! Who is calling: users with roles, argon2 password checks, expiring sessions, failed-login
//! throttling, and the admin account created at first run.
//!
//! What each role may do is decided in one place, `api::roles`; this module only says who the
//! caller is.
//!
//! Must never: hold the store lock while hashing (argon2 is slow on purpose), tell a caller
//! whether a username exists, or let a locked-out username in even with the right password.

pub mod password;
pub mod sessions;
pub mod users;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::config::AuthConfig;
use crate::store::{audit, Store, StoreError};
pub use sessions::Session;

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
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Technician, Role::Doctor, Role::Manager, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Technician => "technician",
            Role::Doctor => "doctor",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// Why a login failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("wrong username or password")]
    BadCredentials,
    #[error("too many failed logins; try again in {0:?}")]
    Throttled(Duration),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Recent failures of one username.
#[derive(Debug, Default)]
struct Failures {
    count: u32,
    locked_until: Option<Instant>,
}

/// Logins and sessions over the store. Cheap to share behind an `Arc`.
pub struct Auth {
    store: Arc<Store>,
    config: AuthConfig,
    /// In memory on purpose: a restart clears lockouts, which an attacker cannot trigger.
    failures: Mutex<HashMap<String, Failures>>,
}

impl Auth {
    pub fn new(store: Arc<Store>, config: AuthConfig) -> Auth {
        Auth {
            store,
            config,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn ttl_ms(&self) -> i64 {
        (self.config.session_ttl_secs as i64).saturating_mul(1000)
    }

    /// Creates the `admin` account when there is no active admin (first run, or users added
    /// with `station user add` before the first start). Its password comes from the config,
    /// else `STATION_ADMIN_PASSWORD`, else is generated and returned so the caller can show it
    /// once.
    pub fn ensure_admin(&self) -> Result<Option<String>, users::UserError> {
        if users::active_admins(&self.store.lock())? > 0 {
            return Ok(None);
        }
        let given = self
            .config
            .initial_admin_password
            .clone()
            .or_else(|| std::env::var("STATION_ADMIN_PASSWORD").ok())
            .filter(|p| !p.is_empty());
        let generated = given.is_none();
        let pw = given.unwrap_or_else(password::generate);
        let hash = users::hash_new_password(&pw)?;
        let conn = self.store.lock();
        // Another process may have created one meanwhile; first writer wins.
        if users::active_admins(&conn)? > 0 {
            return Ok(None);
        }
        if users::find(&conn, "admin")?.is_some() {
            // Someone took the name for another role; do not guess which account to promote.
            tracing::warn!(
                "no active admin, and the name `admin` is taken: create one with \
                 `station user add NAME --role admin`"
            );
            return Ok(None);
        }
        users::create(&conn, "admin", "Administrator", Role::Admin, &hash)?;
        audit::record(&conn, "system", "user.create", "admin", "first-run admin")?;
        Ok(generated.then_some(pw))
    }

    /// Checks a username and password; on success starts a session and returns its token.
    /// Every outcome is audited.
    pub fn login(&self, username: &str, pw: &str) -> Result<(String, Session), LoginError> {
        let key = username.trim().to_lowercase();
        if let Some(wait) = self.locked_for(&key) {
            audit::record(
                &self.store.lock(),
                username,
                "login.throttled",
                username,
                "",
            )?;
            return Err(LoginError::Throttled(wait));
        }
        let found = users::find(&self.store.lock(), username.trim())?;
        let ok = match &found {
            Some(c) if c.record.active => password::verify(pw, &c.password_hash),
            _ => {
                password::verify_dummy(pw);
                false
            }
        };
        let conn = self.store.lock();
        match found.filter(|_| ok) {
            Some(c) => {
                self.failures_lock().remove(&key);
                let (token, expires_at) = sessions::start(&conn, c.id, self.ttl_ms())?;
                users::touch_login(&conn, c.id)?;
                audit::record(&conn, &c.record.username, "login", &c.record.username, "")?;
                Ok((
                    token,
                    Session {
                        user: c.record,
                        expires_at,
                    },
                ))
            }
            None => {
                let locked = self.note_failure(&key);
                let detail = if locked { "locked out" } else { "" };
                audit::record(&conn, username, "login.failed", username, detail)?;
                Err(LoginError::BadCredentials)
            }
        }
    }

    /// The live session for a bearer token; its use extends it.
    pub fn session(&self, token: &str) -> Result<Option<Session>, StoreError> {
        sessions::lookup(&self.store.lock(), token, Some(self.ttl_ms()))
    }

    /// The live session for a bearer token, without extending it.
    pub fn peek(&self, token: &str) -> Result<Option<Session>, StoreError> {
        sessions::lookup(&self.store.lock(), token, None)
    }

    pub fn logout(&self, token: &str) -> Result<bool, StoreError> {
        sessions::end(&self.store.lock(), token)
    }

    fn failures_lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Failures>> {
        self.failures.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn locked_for(&self, key: &str) -> Option<Duration> {
        let mut map = self.failures_lock();
        let f = map.get_mut(key)?;
        let until = f.locked_until?;
        let now = Instant::now();
        if until > now {
            return Some(until - now);
        }
        // The lockout is over: a fresh run of attempts.
        map.remove(key);
        None
    }

    /// Counts a failure; returns whether it locked the username.
    fn note_failure(&self, key: &str) -> bool {
        let mut map = self.failures_lock();
        // Bound the map: unknown usernames from a scan must not grow it without limit.
        if map.len() > 10_000 {
            let now = Instant::now();
            map.retain(|_, f| f.locked_until.is_some_and(|u| u > now));
        }
        let f = map.entry(key.to_owned()).or_default();
        f.count += 1;
        if f.count >= self.config.max_failed_logins {
            f.locked_until = Some(Instant::now() + Duration::from_secs(self.config.lockout_secs));
            f.count = 0;
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_auth(dir: &std::path::Path, pw: Option<&str>) -> Auth {
        let store = Arc::new(Store::open(&dir.join("s.db")).expect("store"));
        let mut config = crate::config::Config::defaults().auth;
        config.initial_admin_password = pw.map(String::from);
        Auth::new(store, config)
    }

    #[test]
    fn an_admin_is_made_when_there_is_none_even_if_other_users_came_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let auth = new_auth(dir.path(), Some("admin-secret-1"));
        let hash = users::hash_new_password("tech-secret-1").expect("hash");
        users::create(&auth.store.lock(), "li", "", Role::Technician, &hash).expect("tech");
        assert_eq!(
            auth.ensure_admin().expect("ensure"),
            None,
            "password was given"
        );
        assert_eq!(auth.ensure_admin().expect("again"), None);
        assert_eq!(users::active_admins(&auth.store.lock()).expect("count"), 1);
        let (_, session) = auth
            .login("admin", "admin-secret-1")
            .expect("admin logs in");
        assert_eq!(session.user.role, Role::Admin);

        // Without a configured password one is generated and handed back to be shown once.
        let dir = tempfile::tempdir().expect("tempdir");
        let auth = new_auth(dir.path(), None);
        if std::env::var_os("STATION_ADMIN_PASSWORD").is_none() {
            let pw = auth.ensure_admin().expect("ensure").expect("generated");
            auth.login("admin", &pw)
                .expect("the printed password works");
        }
    }
}
