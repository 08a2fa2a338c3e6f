//! Studies no destination took (未发送（无目的地）): listing them, and routing them once a
//! destination that accepts them exists (issue 18 item 6). The Settings page offers it after an
//! admin adds or changes a destination; `station sync route --since DATE` does it from a shell.
//!
//! Must never: send a study a person holds or one still unassigned (only `complete` studies
//! with no send are looked at).

use serde::{Deserialize, Serialize};

use super::{ApiError, Ctx};
use crate::actions::study::{self, StudiesRouted};
use crate::store::studies::StudySummary;
use crate::store::{self, audit};

/// At most this many days back (the unrouted list; the dashboard's period too).
pub(crate) const MAX_DAYS: u32 = 366;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Which complete studies no destination took to look at: those received lately.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnroutedQuery {
    /// Studies received in the last this many days (1 to 366).
    #[schema(minimum = 1, maximum = 366)]
    pub since_days: u32,
}

/// The complete studies no destination took (shown as 未发送（无目的地）), received in the period.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UnroutedList {
    /// Those studies, oldest arrival first.
    pub studies: Vec<StudySummary>,
    /// How many of them a destination configured now accepts.
    pub routable: usize,
}

fn since(days: u32) -> Result<i64, ApiError> {
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(super::invalid::invalid_field(
            "since_days",
            format!("{days}: expected 1 to {MAX_DAYS}"),
        ));
    }
    Ok(store::now_ms() - i64::from(days) * DAY_MS)
}

/// Complete studies no destination took, and how many the destinations configured now accept.
/// Audited (it lists patients).
pub(crate) fn studies_unrouted(ctx: &Ctx<'_>, q: UnroutedQuery) -> Result<UnroutedList, ApiError> {
    let since = since(q.since_days)?;
    let routes = crate::lifecycle::routes(&ctx.api.config());
    let conn = ctx.api.store.lock();
    let mut studies = Vec::new();
    let mut routable = 0;
    for (id, uid) in store::unrouted(&conn, since)? {
        routable += usize::from(store::would_route(&conn, id, &routes)?);
        studies.extend(store::studies::summary_of(&conn, &uid)?);
    }
    let patients: Vec<&str> = studies.iter().map(|s| s.patient_id.as_str()).collect();
    if !patients.is_empty() {
        audit::read(&conn, ctx.actor(), "studies.unrouted", "", "", &patients)?;
    }
    Ok(UnroutedList { studies, routable })
}

/// Queues those studies for the destinations configured now that accept them.
pub(crate) fn studies_route(ctx: &Ctx<'_>, q: UnroutedQuery) -> Result<StudiesRouted, ApiError> {
    let since = since(q.since_days)?;
    let routes = crate::lifecycle::routes(&ctx.api.config());
    Ok(study::route_unrouted(&ctx.acting(), since, &routes)?)
}
