//! The desktop window's file key: its page (`tauri://localhost`) is on another origin than the
//! engine's HTTP server, so neither the browser session cookie nor a header reaches an `<img>`
//! or a report window it opens there. A file key lets those URLs (`?key=`) read the session's
//! files (previews, report print views and PDFs, the log and diagnostics, each still checked
//! against the session's role) and nothing else: no operation, no event stream, no DICOMweb.
//!
//! Must never: stand for a session that ended (it resolves through the session each time),
//! outlive the process (kept in memory only), or be the session token itself.

use std::collections::HashMap;
use std::sync::Mutex;

use rand::RngCore;
use serde::{Deserialize, Serialize};

use super::{Api, ApiError, Ctx, Empty};

/// Keys at most before the ones of ended sessions are dropped (a key a login: a handful).
const PRUNE_ABOVE: usize = 64;

/// key → the session token it reads files for.
#[derive(Default)]
pub struct FileKeys(Mutex<HashMap<String, String>>);

/// The desktop window's key for this session's file URLs.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FileKeyAnswer {
    /// Put as `?key=` on `/api/preview/...`, `/api/report/{id}/print|pdf`, `/api/log.txt`,
    /// `/api/diagnostics.tar.gz`; valid while the session is.
    pub key: String,
}

pub(crate) fn file_key(ctx: &Ctx<'_>, _: Empty) -> Result<FileKeyAnswer, ApiError> {
    let token = ctx.token.ok_or_else(ApiError::unauthenticated)?;
    let mut keys = ctx
        .api
        .file_keys
        .0
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some((key, _)) = keys.iter().find(|(_, t)| t.as_str() == token) {
        return Ok(FileKeyAnswer { key: key.clone() });
    }
    if keys.len() >= PRUNE_ABOVE {
        keys.retain(|_, t| matches!(ctx.api.session_alive(t), Ok(true)));
    }
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    let key = format!("fk_{}", hex::encode(bytes));
    keys.insert(key.clone(), token.to_owned());
    Ok(FileKeyAnswer { key })
}

impl Api {
    /// The session token a file key reads for, if it is one.
    pub fn file_key_session(&self, key: &str) -> Option<String> {
        let keys = self.file_keys.0.lock().unwrap_or_else(|p| p.into_inner());
        keys.get(key).cloned()
    }
}
