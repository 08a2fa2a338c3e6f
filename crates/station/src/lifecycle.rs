//! Study lifecycle: a study is `receiving` while instances arrive and becomes `complete` once
//! none arrived for the quiet period; completing matches it to its order (`registry::matching`)
//! and queues it for each destination, unless it is held for a person to assign.
//!
//! Must never: change a study a person has acted on (held, failed) or one already past complete.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::registry::RegistryError;
use crate::store::{self, Store};

/// Checks for quiet studies four times a second until `shutdown` is set: a study is queued
/// within a quarter second of its quiet period ending (one indexed query per check).
pub fn run_ticker(
    store: Arc<Store>,
    quiet_period: Duration,
    routes: Vec<store::Route>,
    hold_unmatched: bool,
    shutdown: Arc<AtomicBool>,
) {
    let quiet_ms = quiet_period.as_millis() as i64;
    let tick = Duration::from_millis(250);
    while !shutdown.load(Ordering::Relaxed) {
        std::thread::sleep(tick);
        // Matching decides whether a completing study is queued now or waits for a person.
        let decide = |tx: &rusqlite::Transaction<'_>, id| {
            match crate::registry::matching::on_complete(tx, id, hold_unmatched) {
                Ok(queue_now) => Ok(queue_now),
                Err(RegistryError::Store(e)) => Err(e),
                Err(e) => {
                    tracing::warn!(study = id, error = %e, "cannot match the study; sending it as received");
                    Ok(true)
                }
            }
        };
        let mut conn = store.lock();
        if let Err(e) = crate::registry::matching::mark_started(&conn) {
            tracing::warn!(error = %e, "cannot mark orders in progress");
        }
        match store::complete_quiet_studies_with(&mut conn, quiet_ms, &routes, decide) {
            Ok(0) => {}
            Ok(n) => tracing::info!(studies = n, "studies complete after the quiet period"),
            Err(e) => tracing::error!(error = %e, "cannot update study states"),
        }
    }
}
