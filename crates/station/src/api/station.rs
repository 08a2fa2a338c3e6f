//! Station-wide views: status bar, links, quarantine (the dashboard: `dashboard.rs`, settings:
//! `settings.rs`).
//!
//! Must never: return a secret from the configuration (hub passwords, tokens, the initial admin
//! password).

use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use super::{ApiError, Ctx, Empty};
pub use crate::store::quarantine::QuarantineItem;
use crate::store::{self, audit, queue, HubProblem, SendState, StatusCounts};

/// What the header bar shows: the station's name, clock and counts, and how many links work.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatusResponse {
    /// The station's DICOM AE title (`[dicom] ae_title`), the name devices send to.
    pub ae_title: String,
    /// The engine's version (its Cargo package version, `MAJOR.MINOR.PATCH`).
    pub version: String,
    /// Unix milliseconds on the station's clock (UTC; show in local time).
    pub now: i64,
    /// Studies per state, instances, quarantined files and sends per state, over the whole index.
    pub counts: StatusCounts,
    /// Configured destinations whose last exchange worked (removed destinations not counted).
    pub links_online: usize,
    /// Configured destinations (removed destinations not counted).
    pub links_total: usize,
}

/// One destination: where it is, whether the last exchange worked, what waits for it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LinkInfo {
    /// The destination's configured name (`[[destinations]] name`): the key other answers use.
    pub destination: String,
    /// What the clinic calls it (`display_name`), else the destination's name: what screens show.
    pub label: String,
    /// The hub's base URL; empty for a removed destination.
    pub url: String,
    /// `null` until the station has talked to it once.
    pub online: Option<bool>,
    /// When a transfer to it last succeeded: Unix milliseconds (UTC; show in local time); `null`
    /// if never.
    pub last_success_at: Option<i64>,
    /// The last failure's raw text (English, as the hub or the network said it); `null` if none
    /// yet. Kept after a later success: compare `last_error_at` with `last_success_at`.
    pub last_error: Option<String>,
    /// What `last_error` means, for the sentence a person reads.
    pub last_error_kind: Option<HubProblem>,
    /// When `last_error` happened: Unix milliseconds (UTC; show in local time); `null` if never.
    pub last_error_at: Option<i64>,
    /// Studies queued or being sent.
    pub backlog: i64,
    /// No longer configured (an admin removed it): what was queued for it stays, unsent.
    pub removed: bool,
    /// Studies whose send to it failed: a person must look (retry or hold).
    pub failed: i64,
    /// Studies held (paused) for it by a person.
    pub held: i64,
}

/// Every destination: configured ones first (in config order), then removed ones still holding
/// unsent studies.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LinksResponse {
    /// One entry per destination.
    pub links: Vec<LinkInfo>,
}

/// A page of a list: skip `offset` rows, then return at most `limit`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PageRequest {
    /// Rows to skip (0 when absent).
    #[serde(default)]
    pub offset: u32,
    /// 50 when absent; at most 500.
    #[serde(default)]
    pub limit: Option<u32>,
}

impl PageRequest {
    /// The page size asked for: 50 when absent, kept within 1..=500.
    pub fn limit(&self) -> u32 {
        self.limit.unwrap_or(50).clamp(1, 500)
    }
}

/// Which rows of the send queue to list, and which page of them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    /// Delivered sends too; by default only what is still to do (queued, sending, held,
    /// failed, unconfirmed).
    #[serde(default)]
    pub include_delivered: bool,
    /// Rows to skip (0 when absent).
    #[serde(default)]
    pub offset: u32,
    /// 50 when absent; at most 500.
    #[serde(default)]
    pub limit: Option<u32>,
}

/// One page of the send queue (one row per study and destination).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QueuePage {
    /// Rows matching the query over all pages, for the pager.
    pub total: i64,
    /// Oldest first.
    pub rows: Vec<queue::QueueRow>,
}

/// One page of the files refused at arrival, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QuarantinePage {
    /// Quarantined files over all pages, for the pager.
    pub total: i64,
    /// This page's files.
    pub items: Vec<QuarantineItem>,
}

pub(crate) fn links(ctx: &Ctx<'_>, conn: &Connection) -> Result<Vec<LinkInfo>, ApiError> {
    let config = ctx.api.config();
    // (name, label, url, removed)
    let mut destinations: Vec<(String, String, String, bool)> = config
        .destinations
        .iter()
        .map(|d| {
            let label = d.display_name.clone().filter(|l| !l.trim().is_empty());
            let label = label.unwrap_or_else(|| d.name.clone());
            (d.name.clone(), label, d.url.clone(), false)
        })
        .collect();
    // A destination an admin removed keeps its history; its unsent studies are still shown.
    for name in queue::destinations_with_unsent(conn)? {
        if !destinations.iter().any(|(n, ..)| *n == name) {
            destinations.push((name.clone(), name, String::new(), true));
        }
    }
    let mut out = Vec::new();
    for (name, label, url, removed) in destinations {
        let link = queue::link(conn, &name)?;
        out.push(LinkInfo {
            online: link.as_ref().map(|l| l.online),
            last_success_at: link.as_ref().and_then(|l| l.last_success_at),
            last_error: link.as_ref().and_then(|l| l.last_error.clone()),
            last_error_kind: link
                .as_ref()
                .and_then(|l| l.last_error.as_deref())
                .map(HubProblem::of),
            last_error_at: link.as_ref().and_then(|l| l.last_error_at),
            backlog: queue::rows_in(conn, &name, &[SendState::Queued, SendState::Sending])?,
            failed: queue::rows_in(conn, &name, &[SendState::Failed])?,
            held: queue::rows_in(conn, &name, &[SendState::Held])?,
            destination: name,
            label,
            url,
            removed,
        });
    }
    Ok(out)
}

pub(crate) fn status(ctx: &Ctx<'_>, _: Empty) -> Result<StatusResponse, ApiError> {
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

pub(crate) fn links_list(ctx: &Ctx<'_>, _: Empty) -> Result<LinksResponse, ApiError> {
    let conn = ctx.api.store.lock();
    Ok(LinksResponse {
        links: links(ctx, &conn)?,
    })
}

pub(crate) fn queue_list(ctx: &Ctx<'_>, q: QueueQuery) -> Result<QueuePage, ApiError> {
    let conn = ctx.api.store.lock();
    let mut rows: Vec<_> = queue::queue_rows(&conn)?
        .into_iter()
        .filter(|r| q.include_delivered || r.state != SendState::Delivered)
        .collect();
    let total = rows.len() as i64;
    let page = PageRequest {
        offset: q.offset,
        limit: q.limit,
    };
    let mut rows: Vec<_> = rows
        .drain(..)
        .skip(page.offset as usize)
        .take(page.limit() as usize)
        .collect();
    crate::diagnose::scrub_queue(&conn, &mut rows)?;
    Ok(QueuePage { total, rows })
}

pub(crate) fn quarantine_list(ctx: &Ctx<'_>, req: PageRequest) -> Result<QuarantinePage, ApiError> {
    let conn = ctx.api.store.lock();
    let (total, items) = store::quarantine::page(&conn, req.offset, req.limit())?;
    let page = QuarantinePage { total, items };
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
