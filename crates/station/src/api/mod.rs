//! The one engine API: every operation the UI (or a clinic's HIS) can do is one typed request
//! and response, run by one dispatcher that checks the caller's role in one place
//! ([`roles::access`]). The HTTP server (`http/`) and the Tauri shell are thin adapters over
//! [`Api::call`].
//!
//! Adding an operation: a line in `ops.rs`, a handler function (taking `&Ctx` and the request),
//! and an entry in `roles.rs`.
//!
//! Must never: let a handler run before the role check, or read patient data without writing
//! an audit entry (`store::audit`).

pub mod account;
pub mod admin;
pub mod dashboard;
pub mod dicomweb;
pub mod downloads;
pub mod errors;
pub mod file_keys;
pub mod invalid;
pub mod ops;
pub mod registry;
pub mod reports;
pub mod roles;
pub mod routing;
pub mod settings;
pub mod station;
pub mod storage;
pub mod studies;

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::actions::Actor;
use crate::auth::{Auth, Origin, Role, Session};
use crate::config::Config;
use crate::events::Events;
use crate::store::Store;
pub use errors::{ApiError, ErrorCode, Lang};
pub use ops::Op;
use roles::Access;
pub use settings::HttpsCertificate;

/// The engine as the API sees it. One per station; share it behind an `Arc`.
pub struct Api {
    pub(crate) store: Arc<Store>,
    pub(crate) events: Events,
    /// The configuration in force; the Settings page may change parts of it while running.
    pub(crate) config: crate::config::Live,
    pub(crate) auth: Auth,
    /// Purged studies' files coming back from the hub.
    pub(crate) fetch: Arc<crate::storage::fetchback::FetchBack>,
    /// Callers whose worklist or Query/Retrieve requests the listener refused, for the
    /// Settings page.
    pub(crate) refused: Arc<crate::scp::refused::Refusals>,
    /// The desktop window's keys for file URLs.
    pub(crate) file_keys: file_keys::FileKeys,
    /// The certificate the HTTP server presents, once it serves HTTPS (the Settings page).
    pub(crate) https: std::sync::OnceLock<HttpsCertificate>,
}

/// The request of operations that take nothing.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

/// What a handler gets: the engine, who is calling (absent only for public operations such as
/// `login`), the caller's token and where the call came from.
pub struct Ctx<'a> {
    pub(crate) api: &'a Api,
    pub(crate) session: Option<&'a Session>,
    pub(crate) token: Option<&'a str>,
    pub(crate) origin: Origin,
}

impl Ctx<'_> {
    /// The logged-in caller; the dispatcher guarantees one for every non-public operation.
    pub fn session(&self) -> Result<&Session, ApiError> {
        self.session.ok_or_else(ApiError::unauthenticated)
    }

    /// The name the audit trail records for this caller.
    pub fn actor(&self) -> &str {
        self.session
            .map_or("anonymous", |s| s.user.username.as_str())
    }

    /// The caller acting on this station, for the operation layer (`crate::actions`).
    pub fn acting(&self) -> Actor<'_> {
        Actor::new(&self.api.store, &self.api.events, self.actor())
    }
}

/// In the data directory: the first-run admin's generated password, for a desktop install
/// with no console. Only the station's own user can read it.
pub const INITIAL_ADMIN_PASSWORD_FILE: &str = "admin-initial-password.txt";

fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())
}

impl Api {
    /// Builds the API over a station's store and event bus, creating the first-run admin if
    /// there are no users (its generated password, if any, is logged once).
    pub fn new(
        config: &Config,
        store: Arc<Store>,
        events: Events,
    ) -> Result<Api, crate::auth::users::UserError> {
        let auth = Auth::new(store.clone(), config.auth.clone());
        if let Some(pw) = auth.ensure_admin()? {
            // Printed, not only logged, for the person installing the station; and written to a
            // file only the station's user can read, because the desktop app started from a
            // launcher has no console to print to.
            let file = config.data_dir.join(INITIAL_ADMIN_PASSWORD_FILE);
            let saved = write_private(&file, &format!("{pw}\n"));
            eprintln!("首次运行：已创建管理员账号 admin，初始密码 / first run: created user admin with password: {pw}");
            match saved {
                Ok(()) => eprintln!(
                    "（也已写入 / also written to {}; 登录并修改密码后请删除 / delete it once you have logged in）",
                    file.display()
                ),
                Err(e) => tracing::warn!(file = %file.display(), error = %e, "cannot write the first-run password file"),
            }
            tracing::warn!(
                "first run: created user `admin`; its password was printed once on the console"
            );
        }
        Ok(Api {
            fetch: Arc::new(crate::storage::fetchback::FetchBack::new(
                store.clone(),
                events.clone(),
            )),
            store,
            events,
            config: crate::config::Live::new(config.clone()),
            auth,
            refused: Arc::default(),
            file_keys: Default::default(),
            https: std::sync::OnceLock::new(),
        })
    }

    /// Told by the HTTP server, at start, which certificate it serves HTTPS with.
    pub fn set_https_certificate(&self, certificate: HttpsCertificate) {
        let _ = self.https.set(certificate);
    }

    /// Where the DICOM listener records refused worklist and Query/Retrieve callers.
    pub fn refusals(&self) -> Arc<crate::scp::refused::Refusals> {
        self.refused.clone()
    }

    /// After `username`'s password changed: the first-run password file, which holds the
    /// `admin` account's generated password, is no longer true, and goes.
    pub(crate) fn password_changed(&self, username: &str) {
        if username != "admin" {
            return;
        }
        let file = self.config().data_dir.join(INITIAL_ADMIN_PASSWORD_FILE);
        match std::fs::remove_file(&file) {
            Ok(()) => tracing::info!(file = %file.display(), "first-run password file deleted"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(file = %file.display(), error = %e, "cannot delete the first-run password file")
            }
        }
    }

    pub(crate) fn events(&self) -> &Events {
        &self.events
    }

    /// The configuration in force now.
    pub fn config(&self) -> Arc<Config> {
        self.config.get()
    }

    /// The live configuration, for the parts of a station that follow the admin's changes.
    pub fn live_config(&self) -> crate::config::Live {
        self.config.clone()
    }

    /// Runs operation `op` (snake_case name) with a JSON request for the caller holding
    /// `token`, in-process (the desktop window).
    pub fn call(&self, token: Option<&str>, op: &str, body: Value) -> Result<Value, ApiError> {
        self.call_from(Origin::Desktop, token, op, body)
    }

    /// As [`Api::call`], for a caller at `origin`: the one entry point of both adapters (the
    /// HTTP server passes the connection's peer address, which login throttling keys on).
    pub fn call_from(
        &self,
        origin: Origin,
        token: Option<&str>,
        op: &str,
        body: Value,
    ) -> Result<Value, ApiError> {
        let op = Op::from_name(op).ok_or_else(|| ApiError::unknown_op(op))?;
        self.run(origin, token, op, body)
    }

    /// As [`Api::call`], typed: `api.call_typed::<_, StudyPage>(token, Op::StudiesList, &query)`.
    pub fn call_typed<Q: Serialize, R: DeserializeOwned>(
        &self,
        token: Option<&str>,
        op: Op,
        request: &Q,
    ) -> Result<R, ApiError> {
        let body = serde_json::to_value(request).map_err(ApiError::invalid)?;
        let out = self.run(Origin::Desktop, token, op, body)?;
        serde_json::from_value(out).map_err(|e| {
            tracing::error!(op = op.name(), error = %e, "response does not match its type");
            ApiError::internal()
        })
    }

    /// The live session for a token, for adapter routes outside the dispatcher (event stream,
    /// previews).
    pub fn session(&self, token: Option<&str>) -> Result<Session, ApiError> {
        let token = token.ok_or_else(ApiError::unauthenticated)?;
        self.auth
            .session(token)?
            .ok_or_else(ApiError::unauthenticated)
    }

    /// Whether `token` is a live session, without extending it (for open event streams).
    pub fn session_alive(&self, token: &str) -> Result<bool, ApiError> {
        Ok(self.auth.peek(token)?.is_some())
    }

    /// The caller's session if `access` lets them in (`name` is what a refusal audits).
    fn authorize(
        &self,
        token: Option<&str>,
        access: Access,
        name: &str,
    ) -> Result<Option<Session>, ApiError> {
        match access {
            Access::Public => Ok(None),
            Access::Roles(allowed) => {
                let session = self.session(token)?;
                if !allowed.contains(&session.user.role) {
                    crate::store::audit::record(
                        &self.store.lock(),
                        &session.user.username,
                        "access.denied",
                        name,
                        session.user.role.as_str(),
                    )?;
                    return Err(ApiError::forbidden());
                }
                Ok(Some(session))
            }
        }
    }

    fn run(
        &self,
        origin: Origin,
        token: Option<&str>,
        op: Op,
        body: Value,
    ) -> Result<Value, ApiError> {
        let session = self.authorize(token, roles::access(op), op.name())?;
        let ctx = Ctx {
            api: self,
            session: session.as_ref(),
            token,
            origin,
        };
        ops::dispatch(op, &ctx, body)
    }

    /// Operations `role` may call, for the UI to show only what works.
    pub fn allowed_ops(role: Role) -> Vec<&'static str> {
        Op::ALL
            .iter()
            .filter(|op| match roles::access(**op) {
                Access::Public => false,
                Access::Roles(r) => r.contains(&role),
            })
            .map(|op| op.name())
            .collect()
    }
}

/// Parses a request body (`null` counts as `{}`), runs the handler and serializes its answer.
pub(crate) fn run_handler<Q: DeserializeOwned, R: Serialize>(
    ctx: &Ctx<'_>,
    body: Value,
    handler: fn(&Ctx<'_>, Q) -> Result<R, ApiError>,
) -> Result<Value, ApiError> {
    // A struct would read a JSON array too, field by field: only an object is a request.
    let body = match body {
        Value::Null => Value::Object(Default::default()),
        Value::Object(_) => body,
        _ => return Err(ApiError::invalid("the request is a JSON object").malformed()),
    };
    let request: Q =
        serde_path_to_error::deserialize(whole_numbers(body)?).map_err(invalid::bad_request)?;
    let response = handler(ctx, request)?;
    serde_json::to_value(response).map_err(|e| {
        tracing::error!(error = %e, "cannot serialize a response");
        ApiError::internal()
    })
}

/// `body` with every whole number written as a float (`30.0`) made an integer: JSON (and the
/// document's `integer`) says they are the same number, but serde refuses a float where it
/// reads an integer. A whole number past i64 is refused: nothing the station keeps (SQLite,
/// the TOML config file) holds one, and the document says so (`http::openapi`).
fn whole_numbers(body: Value) -> Result<Value, ApiError> {
    Ok(match body {
        Value::Number(n) if n.as_u64().is_some_and(|u| i64::try_from(u).is_err()) => {
            return Err(ApiError::invalid(format!(
                "{n}: whole numbers above {} are not taken",
                i64::MAX
            ))
            .malformed())
        }
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            // Only where a float holds every whole number exactly (up to 2^53): past that,
            // `-9223372036854775809` would read as i64::MIN.
            if f.fract() == 0.0 && f.abs() <= 2f64.powi(53) {
                Value::from(f as i64)
            } else {
                Value::Number(n)
            }
        }
        Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(whole_numbers)
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| Ok((k, whole_numbers(v)?)))
                .collect::<Result<_, ApiError>>()?,
        ),
        other => other,
    })
}

#[cfg(test)]
mod tests;
