//! The service's upkeep schedule: the nightly backup at `[storage] backup_time` (local time)
//! into the backup directory, keeping the newest `backup_keep`, and the integrity check (with
//! rehash) after it every `verify_every_days`. A station that was off at that time (clinic PCs
//! are switched off at night) makes up for it once it has run for [`CATCH_UP_DELAY`], so the
//! morning's first images are not slowed by it.
//!
//! Must never: run two upkeep jobs at once (one thread does them in turn), or stop the station
//! when one fails (the failure is recorded for the dashboard and logged).

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Local, NaiveTime, TimeDelta};

use crate::config::{Config, Live};
use crate::store::{self, runs, StorageRunKind, Store};

/// How often the schedule is looked at.
const TICK: Duration = Duration::from_secs(30);
/// How long after start a run missed while the station was off is made up for.
pub const CATCH_UP_DELAY: Duration = Duration::from_secs(600);
const DAY_MS: i64 = 24 * 3600 * 1000;

/// The latest time of day `at` that is not after `now`, as Unix milliseconds (None in a
/// daylight-saving gap, where that time does not exist).
pub fn last_slot(now: DateTime<Local>, at: NaiveTime) -> Option<i64> {
    let today = now.date_naive().and_time(at);
    let day = if today <= now.naive_local() {
        today
    } else {
        today - TimeDelta::days(1)
    };
    day.and_local_timezone(Local)
        .earliest()
        .map(|t| t.timestamp_millis())
}

/// Whether a run is due: none since the last slot. A slot passed before the station started
/// waits for [`CATCH_UP_DELAY`] of running.
fn due(last_run: Option<i64>, slot: i64, started_ms: i64, running_for: Duration) -> bool {
    let missed = last_run.is_none_or(|t| t < slot);
    missed && (slot >= started_ms || running_for >= CATCH_UP_DELAY)
}

/// Runs until `stop`, following the live configuration.
pub fn run(live: Live, store: Arc<Store>, data_dir: &Path, stop: Arc<AtomicBool>) {
    let started = Instant::now();
    let started_ms = store::now_ms();
    while !stop.load(Ordering::Relaxed) {
        let config = live.get();
        if let Err(e) = tick(&config, &store, data_dir, started_ms, started.elapsed()) {
            tracing::error!(error = %e, "storage upkeep schedule");
        }
        // Bounded wait that notices a stop within a quarter second.
        let until = Instant::now() + TICK;
        while Instant::now() < until && !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

fn tick(
    config: &Config,
    store: &Store,
    data_dir: &Path,
    started_ms: i64,
    running_for: Duration,
) -> Result<(), store::StoreError> {
    let Some(at) = config.storage.backup_at() else {
        return Ok(());
    };
    let Some(slot) = last_slot(Local::now(), at) else {
        return Ok(());
    };
    let last = runs::last(&store.lock(), StorageRunKind::Backup)?.map(|r| r.started_at);
    if !due(last, slot, started_ms, running_for) {
        return Ok(());
    }
    let dir = config.backup_dir();
    let out = super::backup::nightly_folder(&dir);
    match super::backup::write_and_record(config, store, &out) {
        Ok(m) => {
            tracing::info!(folder = %out.display(), instances = m.contents.instances, "nightly backup written");
            match super::backup::rotate(&dir, config.storage.backup_keep.max(1) as usize) {
                Ok(gone) => {
                    for g in gone {
                        tracing::info!(folder = %g.display(), "old backup deleted");
                    }
                }
                Err(e) => tracing::error!(error = %e, "cannot delete old backups"),
            }
        }
        Err(e) => tracing::error!(folder = %out.display(), error = %e, "nightly backup failed"),
    }
    let days = i64::from(config.storage.verify_every_days);
    if days == 0 {
        return Ok(());
    }
    let last_verify = runs::last(&store.lock(), StorageRunKind::Verify)?.map(|r| r.started_at);
    // An hour's slack: a check that started at 02:30 a week ago is due at this week's 02:30.
    if last_verify.is_none_or(|t| t <= slot - days * DAY_MS + 3_600_000) {
        match super::verify::run_and_record(store, data_dir, true, "station") {
            Ok(r) => {
                tracing::info!(problems = r.problems(), summary = %r.summary(), "integrity check done")
            }
            Err(e) => tracing::error!(error = %e, "integrity check failed"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_last_slot_is_today_once_passed_else_yesterday() {
        let at = NaiveTime::from_hms_opt(2, 30, 0).expect("time");
        let morning = Local
            .with_ymd_and_hms(2026, 3, 10, 9, 0, 0)
            .earliest()
            .expect("local time");
        let night = Local
            .with_ymd_and_hms(2026, 3, 10, 1, 0, 0)
            .earliest()
            .expect("local time");
        let slot = |y, m, d| {
            Local
                .with_ymd_and_hms(y, m, d, 2, 30, 0)
                .earliest()
                .map(|t| t.timestamp_millis())
        };
        assert_eq!(last_slot(morning, at), slot(2026, 3, 10));
        assert_eq!(last_slot(night, at), slot(2026, 3, 9));
    }

    #[test]
    fn a_missed_run_waits_for_the_catch_up_delay_and_a_done_one_is_not_repeated() {
        let (slot, started) = (1_000, 5_000);
        // Slot passed while the station was off: not at once, but after the delay.
        assert!(!due(None, slot, started, Duration::from_secs(5)));
        assert!(due(None, slot, started, CATCH_UP_DELAY));
        assert!(due(Some(slot - 1), slot, started, CATCH_UP_DELAY));
        // Slot reached while running: at once.
        assert!(due(Some(0), started + 10, started, Duration::ZERO));
        // Already done since the slot.
        assert!(!due(Some(slot + 1), slot, started, CATCH_UP_DELAY));
    }
}
