//! Who is calling: users with roles, argon2 password checks, expiring sessions, long-lived API
//! tokens (`tokens`), failed-login throttling per username and computer (`throttle`), and the
//! admin account created at first run.
//!
//! What each role may do is decided in one place, `api::roles`; this module only says who the
//! caller is.
//!
//! Must never: hold the store lock while hashing (argon2 is slow on purpose), tell a caller
//! whether a username exists, or let a locked-out username in from where it is locked, even
//! with the right password.

pub mod password;
pub mod sessions;
pub mod throttle;
pub mod tokens;
pub mod users;

use std::sync::Arc;
use std::time::Duration;

use crate::config::AuthConfig;
pub use crate::store::users::Role;
use crate::store::{audit, Store, StoreError};
pub use sessions::Session;
use throttle::Throttle;
pub use throttle::{Origin, Scope};

/// Why a login failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// No active user with that name and password: one answer for every case, so a guesser
    /// cannot tell which part was wrong.
    #[error("wrong username or password")]
    BadCredentials,
    /// Too many failures lately (the throttle); nothing is checked until the wait is over.
    #[error("too many failed logins; try again in {wait:?}")]
    Throttled {
        /// How long until the next try is heard.
        wait: Duration,
        /// Which limit was reached.
        scope: Scope,
    },
    /// The index could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A login's audit detail: where it came from, and the lock it hit or set.
fn where_from(origin: Origin, lock: Option<Scope>) -> String {
    match lock {
        None => format!("from {origin}"),
        Some(Scope::User) => format!("from {origin}: username locked there"),
        Some(Scope::Origin) => format!("from {origin}: address locked"),
    }
}

/// Logins and sessions over the store. Cheap to share behind an `Arc`.
pub struct Auth {
    store: Arc<Store>,
    config: AuthConfig,
    throttle: Throttle,
}

impl Auth {
    /// Logins, sessions and users over `store`, with `[auth]`'s limits.
    pub fn new(store: Arc<Store>, config: AuthConfig) -> Auth {
        Auth {
            store,
            throttle: Throttle::new(&config),
            config,
        }
    }

    fn lifetime(&self) -> sessions::Lifetime {
        let ms = |secs: u64| i64::try_from(secs).unwrap_or(i64::MAX).saturating_mul(1000);
        sessions::Lifetime {
            idle_ms: ms(self.config.session_ttl_secs),
            max_ms: ms(self.config.session_max_secs),
        }
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

    /// Checks a username and password coming from `origin`; on success starts a session and
    /// returns its token. Every outcome is audited with its origin.
    pub fn login(
        &self,
        username: &str,
        pw: &str,
        origin: Origin,
    ) -> Result<(String, Session), LoginError> {
        let key = username.trim().to_lowercase();
        let attempt = match self.throttle.begin(&key, origin) {
            Ok(attempt) => attempt,
            Err((wait, scope)) => {
                // Refused before any password check, so a client can send these as fast as it
                // likes: retries count on one entry (`audit::read`) instead of a row each. A
                // locked computer's entry is the computer's, whatever usernames it types.
                let detail = where_from(origin, Some(scope));
                let (actor, subject) = match scope {
                    Scope::User => (username, username.to_owned()),
                    Scope::Origin => ("anonymous", origin.to_string()),
                };
                let conn = self.store.lock();
                audit::read(&conn, actor, "login.throttled", &subject, &detail, &[])?;
                return Err(LoginError::Throttled { wait, scope });
            }
        };
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
                self.throttle.succeeded(attempt);
                let (token, expires_at) = sessions::start(&conn, c.id, self.lifetime())?;
                users::touch_login(&conn, c.id)?;
                let name = &c.record.username;
                audit::record(&conn, name, "login", name, &where_from(origin, None))?;
                Ok((
                    token,
                    Session {
                        user: c.record,
                        expires_at,
                    },
                ))
            }
            None => {
                let detail = where_from(origin, attempt.locks());
                audit::record(&conn, username, "login.failed", username, &detail)?;
                Err(LoginError::BadCredentials)
            }
        }
    }

    /// The caller behind a bearer token: a live login session (its use extends it) or a live
    /// API token.
    pub fn session(&self, token: &str) -> Result<Option<Session>, StoreError> {
        if token.starts_with(tokens::PREFIX) {
            return tokens::lookup(&self.store.lock(), token);
        }
        sessions::lookup(&self.store.lock(), token, Some(self.lifetime()))
    }

    /// As [`Auth::session`], without extending a login session.
    pub fn peek(&self, token: &str) -> Result<Option<Session>, StoreError> {
        if token.starts_with(tokens::PREFIX) {
            return tokens::lookup(&self.store.lock(), token);
        }
        sessions::lookup(&self.store.lock(), token, None)
    }

    /// Whether `pw` is `username`'s password now (an active user's), checked without holding
    /// the store lock: a person changing their own password proves they know it.
    /// Checks `username`'s current password, typed at `origin` to change it: counted by the
    /// same throttle as logins, so a session left open on a shared PC cannot be used to guess
    /// the password faster than the login page allows.
    pub fn check_password(
        &self,
        username: &str,
        pw: &str,
        origin: Origin,
    ) -> Result<(), LoginError> {
        let attempt = self
            .throttle
            .begin(&username.trim().to_lowercase(), origin)
            .map_err(|(wait, scope)| LoginError::Throttled { wait, scope })?;
        let found = users::find(&self.store.lock(), username)?;
        let ok = match found {
            Some(c) if c.record.active => password::verify(pw, &c.password_hash),
            _ => {
                password::verify_dummy(pw);
                false
            }
        };
        if ok {
            self.throttle.succeeded(attempt);
            Ok(())
        } else {
            Err(LoginError::BadCredentials)
        }
    }

    /// Ends the session of `token`; false when there was none.
    pub fn logout(&self, token: &str) -> Result<bool, StoreError> {
        sessions::end(&self.store.lock(), token)
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
            .login("admin", "admin-secret-1", Origin::Desktop)
            .expect("admin logs in");
        assert_eq!(session.user.role, Role::Admin);

        // Without a configured password one is generated and handed back to be shown once.
        let dir = tempfile::tempdir().expect("tempdir");
        let auth = new_auth(dir.path(), None);
        if std::env::var_os("STATION_ADMIN_PASSWORD").is_none() {
            let pw = auth.ensure_admin().expect("ensure").expect("generated");
            auth.login("admin", &pw, Origin::Desktop)
                .expect("the printed password works");
        }
    }

    #[test]
    fn the_desktop_window_logs_in_while_a_lan_computer_is_locked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let auth = new_auth(dir.path(), Some("admin-secret-1"));
        auth.ensure_admin().expect("admin");
        let stranger = Origin::network("192.168.1.66".parse().expect("ip"));
        let limit = auth.config.max_failed_logins_per_address;
        for i in 0..limit {
            let user = format!("user{i}");
            assert!(matches!(
                auth.login(&user, "wrong-password", stranger),
                Err(LoginError::BadCredentials)
            ));
        }
        assert!(matches!(
            auth.login("admin", "admin-secret-1", stranger),
            Err(LoginError::Throttled {
                scope: Scope::Origin,
                ..
            })
        ));
        let (_, session) = auth
            .login("admin", "admin-secret-1", Origin::Desktop)
            .expect("the desktop window is not that computer");
        assert_eq!(session.user.username, "admin");
    }
}
