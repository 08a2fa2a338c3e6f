//! How many studies, instances, quarantined files and queue rows there are, by state: what
//! `station status`, the status bar and the dashboard's stages show.
//!
//! Must never: count from anything but the tables (no cached totals).

use std::collections::BTreeMap;

use rusqlite::Connection;
use serde::Serialize;

use super::StoreError;

/// What `station status` prints.
#[derive(Debug, Clone, Serialize, serde::Deserialize, Default, utoipa::ToSchema)]
pub struct StatusCounts {
    pub studies_by_state: BTreeMap<String, i64>,
    pub instances: i64,
    pub instances_for_review: i64,
    pub instances_charset_repaired: i64,
    pub quarantined: i64,
    pub send_queue_by_state: BTreeMap<String, i64>,
}

pub fn status_counts(conn: &Connection) -> Result<StatusCounts, StoreError> {
    let mut counts = StatusCounts::default();
    {
        let mut stmt = conn.prepare("SELECT state, COUNT(*) FROM studies GROUP BY state")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
            let (state, n) = row?;
            counts.studies_by_state.insert(state, n);
        }
        let mut stmt = conn.prepare("SELECT state, COUNT(*) FROM send_queue GROUP BY state")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
            let (state, n) = row?;
            counts.send_queue_by_state.insert(state, n);
        }
    }
    counts.instances = conn.query_row("SELECT COUNT(*) FROM instances", [], |r| r.get(0))?;
    counts.instances_for_review = conn.query_row(
        "SELECT COUNT(*) FROM instances WHERE review_reason IS NOT NULL",
        [],
        |r| r.get(0),
    )?;
    counts.instances_charset_repaired = conn.query_row(
        "SELECT COUNT(*) FROM instances WHERE charset_repaired IS NOT NULL",
        [],
        |r| r.get(0),
    )?;
    counts.quarantined = conn.query_row("SELECT COUNT(*) FROM quarantine", [], |r| r.get(0))?;
    Ok(counts)
}
