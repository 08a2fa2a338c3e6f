//! When retention runs in a running station: at every full hour (local clocks agree on it, so
//! the dashboard can say when the next one is), and at once when the data disk passes the
//! high-water mark (looked at every 2 seconds). The settings are read at each run, so an admin's
//! change applies at the next.
//!
//! Must never: run two purges at once in one station, or stop the station when a run fails
//! (it is logged and tried again at the next).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::purge::{Disk, Marks, Purger};
use super::retention::Policy;
use crate::config::Live;
use crate::events::Events;
use crate::store::{now_ms, Store};

const HOUR_MS: i64 = 60 * 60 * 1000;
/// How often the disk is looked at between hourly runs (a `statvfs`: cheap), so a disk filling
/// fast is freed before it reaches the floor.
const DISK_LOOK: Duration = Duration::from_secs(2);
/// After a run above the mark found nothing more it may delete, the next waits this long (the
/// plan reads every study on disk; new deliveries are what can change it).
const PROTECTED_BACKOFF: Duration = Duration::from_secs(30);
/// How often the loop notices shutdown.
const STEP: Duration = Duration::from_millis(500);

/// The next hourly run after `now` (Unix ms): the next full hour.
pub fn next_run(now: i64) -> i64 {
    (now.div_euclid(HOUR_MS) + 1) * HOUR_MS
}

/// Runs retention until `shutdown`.
pub fn run(
    store: Arc<Store>,
    data_dir: PathBuf,
    live: Live,
    events: Events,
    shutdown: Arc<AtomicBool>,
) {
    let mut next_hourly = next_run(now_ms());
    let mut next_disk_look = Instant::now();
    // Said once while it lasts, not at every run.
    let mut said_protected = false;
    while !shutdown.load(Ordering::Relaxed) {
        std::thread::sleep(STEP);
        let now = now_ms();
        let config = live.get();
        let marks = Marks::of(&config);
        let hourly = now >= next_hourly;
        let disk_high = Instant::now() >= next_disk_look && {
            next_disk_look = Instant::now() + DISK_LOOK;
            Disk::of(&data_dir)
                .map(|d| d.used_percent() > f64::from(marks.high_water_percent))
                .unwrap_or(false)
        };
        if !hourly && !disk_high {
            continue;
        }
        if hourly {
            next_hourly = next_run(now);
        }
        let purger = Purger {
            store: &store,
            data_dir: &data_dir,
            events: &events,
        };
        let policy = Policy::of(&config);
        let result = purger.plan(&policy, marks, now).and_then(|plan| {
            if plan.only_protected_left {
                next_disk_look = Instant::now() + PROTECTED_BACKOFF;
                if !said_protected {
                    tracing::warn!(
                        kept = plan.keep.len(),
                        "the data disk is above its high-water mark and what is left may not be deleted (not delivered, held, unassigned, flagged, urgent or kept)"
                    );
                }
            }
            said_protected = plan.only_protected_left;
            purger.run(&plan, &policy, "system")
        });
        if let Err(e) = result {
            tracing::error!(error = %e, "retention run failed; tried again at the next");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_run_is_the_next_full_hour() {
        assert_eq!(next_run(0), HOUR_MS);
        assert_eq!(next_run(HOUR_MS - 1), HOUR_MS);
        assert_eq!(next_run(HOUR_MS), 2 * HOUR_MS);
    }
}
