//! Study lifecycle: a study is `receiving` while instances arrive and becomes `complete` once
//! none arrived for the quiet period; completing matches it to its order (`registry::matching`)
//! and queues it for each destination, unless it is held for a person to assign.
//!
//! With `send_while_receiving`, a study is also looked at once while it still arrives: when
//! matching would change nothing of what the device sent, it is queued at once and its
//! instances go as they come (the upload overlaps the reception); it is still verified and
//! delivered only after it completes.
//!
//! Must never: change a study a person has acted on (held, failed) or one already past complete,
//! or send early a study whose order asks for a correction or that `hold_unmatched` holds, or
//! send a study whose patient differs from its order's while `hold_on_mismatch` holds it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::Connection;

use crate::registry::{matching, RegistryError};
use crate::store::{self, queue, Route, Store, StoreError};

/// What the ticker does with studies; from `[studies]` and the destinations' routes.
#[derive(Debug, Clone)]
pub struct Policy {
    /// How long a study must receive nothing before it counts as complete.
    pub quiet_period: Duration,
    /// Which destinations each study is queued for.
    pub routes: Vec<Route>,
    /// Which studies wait for a person instead of being sent (matching's holds).
    pub holds: matching::Holds,
    /// Whether a study may be sent while its images still arrive.
    pub send_while_receiving: bool,
}

impl Policy {
    /// The policy the configuration asks for (read again when the settings change).
    pub fn from_config(config: &crate::config::Config) -> Policy {
        Policy {
            quiet_period: Duration::from_secs(config.studies.quiet_period_secs),
            routes: routes(config),
            holds: matching::Holds {
                unmatched: config.studies.hold_unmatched,
                mismatch: config.studies.hold_on_mismatch,
            },
            send_while_receiving: config.studies.send_while_receiving,
        }
    }
}

/// The routes of a configuration's destinations: where each completed study goes.
pub fn routes(config: &crate::config::Config) -> Vec<Route> {
    config
        .destinations
        .iter()
        .map(|d| Route {
            destination: d.name.clone(),
            modalities: d.modalities.clone(),
            calling_aes: d.calling_aes.clone(),
            sop_classes: d.sop_classes.clone(),
        })
        .collect()
}

/// The longest the ticker sleeps: how soon `shutdown` and changes made by another process are
/// seen.
const MAX_TICK: Duration = Duration::from_millis(250);

/// Looks for new and quiet studies until `shutdown` is set: when an instance arrives (the
/// store's doorbell), when the next study's quiet period ends, and at least four times a
/// second (a few indexed queries each). A study that may go early is queued as its first
/// instance is committed; a quiet one is completed as its quiet period ends.
pub fn run_ticker(store: Arc<Store>, policy: Policy, shutdown: Arc<AtomicBool>) {
    let quiet_ms = policy.quiet_period.as_millis() as i64;
    let (mut seen, mut next) = (store.doorbell.rings(), Duration::ZERO);
    while !shutdown.load(Ordering::Relaxed) {
        // At once when rung since the last look (an instance arrived).
        store.doorbell.wait(seen, next);
        seen = store.doorbell.rings();
        // Matching decides whether a completing study is queued now or waits for a person.
        let decide = |tx: &rusqlite::Transaction<'_>, id| {
            let queue_now = match matching::on_complete(tx, id, policy.holds) {
                Ok(queue_now) => queue_now,
                Err(RegistryError::Store(e)) => return Err(e),
                Err(e) => {
                    tracing::warn!(study = id, error = %e, "cannot match the study; sending it as received");
                    true
                }
            };
            queue::on_study_complete(tx, id)?;
            Ok(queue_now)
        };
        let mut conn = store.lock();
        if let Err(e) = matching::mark_started(&conn) {
            tracing::warn!(error = %e, "cannot mark orders in progress");
        }
        let mut queued = 0;
        if policy.send_while_receiving {
            match send_early(&mut conn, &policy.routes, policy.holds) {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(studies = n, "studies sent while they arrive");
                    queued += n;
                }
                Err(e) => tracing::error!(error = %e, "cannot queue arriving studies"),
            }
        }
        match store::complete_quiet_studies_with(&mut conn, quiet_ms, &policy.routes, decide) {
            Ok(0) => {}
            Ok(n) => {
                tracing::info!(studies = n, "studies complete after the quiet period");
                queued += n;
            }
            Err(e) => tracing::error!(error = %e, "cannot update study states"),
        }
        next = match store::studies::next_quiet(&conn, quiet_ms) {
            Ok(Some(at)) => Duration::from_millis((at - store::now_ms()).clamp(5, 250) as u64),
            Ok(None) => MAX_TICK,
            Err(e) => {
                tracing::error!(error = %e, "cannot read study states");
                MAX_TICK
            }
        };
        drop(conn);
        if queued > 0 {
            // Workers wake (and so does this loop, for one more look that finds nothing).
            store.doorbell.ring();
        }
    }
}

/// Decides once for each study still arriving whether it is sent as it arrives
/// (`matching::on_arrival`), and queues those that are for each destination routed so far (the
/// rest are added when it completes). Returns how many studies were queued.
pub fn send_early(
    conn: &mut Connection,
    routes: &[Route],
    holds: matching::Holds,
) -> Result<usize, StoreError> {
    // Read first: a write transaction every tick would take the write lock for nothing.
    let ids = store::studies::arriving_undecided(conn)?;
    if ids.is_empty() {
        return Ok(0);
    }
    let tx = conn.transaction()?;
    let mut queued = 0;
    for id in ids {
        let early = match matching::on_arrival(&tx, id, holds) {
            Ok(early) => early,
            Err(RegistryError::Store(e)) => return Err(e),
            Err(e) => {
                tracing::warn!(study = id, error = %e, "cannot match the arriving study; it waits until complete");
                false
            }
        };
        store::studies::set_send_early(&tx, id, early)?;
        if early {
            store::queue_study(&tx, id, routes)?;
            queued += 1;
        }
    }
    tx.commit()?;
    Ok(queued)
}
