//! Acknowledging a report: a local doctor has read it. Audited (`report.acknowledge`, in the
//! same transaction) and announced to the reader's other windows.
//!
//! Must never: acknowledge for anyone but the actor.

use serde::Serialize;

use super::{ActionError, Actor};
use crate::events::Event;
use crate::reports::view;

/// The answer to acknowledging a report.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReportAcked {
    /// The report's id (as in the report list).
    pub id: i64,
    /// False when the caller had acknowledged it before (the first time is kept).
    pub first: bool,
    /// When the caller first acknowledged it (Unix ms; show in local time).
    pub acknowledged_at: Option<i64>,
}

/// The actor has read report `id`.
pub fn acknowledge(by: &Actor<'_>, id: i64) -> Result<ReportAcked, ActionError> {
    let mut conn = by.store.lock();
    let first = view::acknowledge(&mut conn, id, by.name)?;
    let acknowledged_at = view::get(&conn, id, Some(by.name))?.report.acknowledged_at;
    drop(conn);
    if first {
        by.announce(Event::ReportAcknowledged {
            report_id: id,
            user: by.name.to_owned(),
        });
    }
    Ok(ReportAcked {
        id,
        first,
        acknowledged_at,
    })
}
