//! Station-wide views: status bar, links, quarantine (the dashboard: `dashboard.rs`, settings:
//! `settings.rs`).
//!
//! Must never: return a secret from the configuration (hub passwords, tokens, the initial admin
//! password).

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::{ApiError, Ctx, Empty};
use crate::store::{self, audit, StatusCounts};

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatusResponse {
    pub ae_title: String,
    pub version: String,
    /// Unix milliseconds on the station's clock.
    pub now: i64,
    pub counts: StatusCounts,
    pub links_online: usize,
    pub links_total: usize,
}

/// One destination: where it is, whether the last exchange worked, what waits for it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LinkInfo {
    pub destination: String,
    pub url: String,
    /// `null` until the station has talked to it once.
    pub online: Option<bool>,
    pub last_success_at: Option<i64>,
    pub last_error: Option<String>,
    pub last_error_at: Option<i64>,
    /// Studies queued or being sent.
    pub backlog: i64,
    /// No longer configured (an admin removed it): what was queued for it stays, unsent.
    pub removed: bool,
    pub failed: i64,
    pub held: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LinksResponse {
    pub links: Vec<LinkInfo>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PageRequest {
    #[serde(default)]
    pub offset: u32,
    /// 50 when absent; at most 500.
    #[serde(default)]
    pub limit: Option<u32>,
}

impl PageRequest {
    pub fn limit(&self) -> u32 {
        self.limit.unwrap_or(50).clamp(1, 500)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QuarantineItem {
    pub id: i64,
    pub source: String,
    pub stored_path: String,
    pub reason: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QuarantinePage {
    pub total: i64,
    pub items: Vec<QuarantineItem>,
}

pub(crate) fn links(ctx: &Ctx<'_>, conn: &Connection) -> Result<Vec<LinkInfo>, ApiError> {
    let config = ctx.api.config();
    let mut destinations: Vec<(String, String, bool)> = config
        .destinations
        .iter()
        .map(|d| (d.name.clone(), d.url.clone(), false))
        .collect();
    // A destination an admin removed keeps its history; its unsent studies are still shown.
    let mut stmt = conn
        .prepare_cached(
            "SELECT DISTINCT destination FROM send_queue WHERE state IN ('queued','sending','failed','held')
             ORDER BY destination",
        )
        .map_err(store::StoreError::from)?;
    let queued: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .and_then(|rows| rows.collect())
        .map_err(store::StoreError::from)?;
    for name in queued {
        if !destinations.iter().any(|(n, _, _)| *n == name) {
            destinations.push((name, String::new(), true));
        }
    }
    let mut out = Vec::new();
    for (name, url, removed) in destinations {
        let mut info = LinkInfo {
            destination: name.clone(),
            url,
            removed,
            online: None,
            last_success_at: None,
            last_error: None,
            last_error_at: None,
            backlog: 0,
            failed: 0,
            held: 0,
        };
        let row = |r: &rusqlite::Row<'_>| {
            info.online = Some(r.get(0)?);
            info.last_success_at = r.get(1)?;
            info.last_error = r.get(2)?;
            info.last_error_at = r.get(3)?;
            Ok(())
        };
        conn.query_row(
            "SELECT online, last_success_at, last_error, last_error_at FROM links WHERE destination = ?1",
            [&name],
            row,
        )
        .optional()
        .map_err(store::StoreError::from)?;
        let count = |states: &str| -> Result<i64, ApiError> {
            Ok(conn
                .query_row(
                    &format!(
                        "SELECT COUNT(*) FROM send_queue WHERE destination = ?1 AND state IN ({states})"
                    ),
                    params![name],
                    |r| r.get(0),
                )
                .map_err(store::StoreError::from)?)
        };
        info.backlog = count("'queued','sending'")?;
        info.failed = count("'failed'")?;
        info.held = count("'held'")?;
        out.push(info);
    }
    Ok(out)
}

pub fn status(ctx: &Ctx<'_>, _: Empty) -> Result<StatusResponse, ApiError> {
    let conn = ctx.api.store.lock();
    let links = links(ctx, &conn)?;
    Ok(StatusResponse {
        ae_title: ctx.api.config().dicom.ae_title.clone(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        now: store::now_ms(),
        counts: store::status_counts(&conn)?,
        links_online: links
            .iter()
            .filter(|l| !l.removed && l.online == Some(true))
            .count(),
        links_total: links.iter().filter(|l| !l.removed).count(),
    })
}

pub fn links_list(ctx: &Ctx<'_>, _: Empty) -> Result<LinksResponse, ApiError> {
    let conn = ctx.api.store.lock();
    Ok(LinksResponse {
        links: links(ctx, &conn)?,
    })
}

pub fn quarantine_list(ctx: &Ctx<'_>, req: PageRequest) -> Result<QuarantinePage, ApiError> {
    let conn = ctx.api.store.lock();
    let page = || -> rusqlite::Result<QuarantinePage> {
        let total = conn.query_row("SELECT COUNT(*) FROM quarantine", [], |r| r.get(0))?;
        let mut stmt = conn.prepare(
            "SELECT id, source, stored_path, reason, created_at FROM quarantine
             ORDER BY id DESC LIMIT ?1 OFFSET ?2",
        )?;
        let items = stmt
            .query_map(params![req.limit(), req.offset], |r| {
                Ok(QuarantineItem {
                    id: r.get(0)?,
                    source: r.get(1)?,
                    stored_path: r.get(2)?,
                    reason: r.get(3)?,
                    created_at: r.get(4)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(QuarantinePage { total, items })
    };
    let page = page().map_err(store::StoreError::from)?;
    // Quarantined files are patient data that did not make it into the index.
    audit::record(
        &conn,
        ctx.actor(),
        "quarantine.list",
        "",
        &format!("{} items", page.items.len()),
    )?;
    Ok(page)
}
