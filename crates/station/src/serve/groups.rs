//! The parts of a running station an admin's settings change restarts, each group with its own
//! stop flag: *sending* (sync workers, report pollers and the lifecycle ticker, which follow the
//! destinations, the turnaround targets and the studies' quiet period) and *watching* (the
//! watched folders). A supervisor thread waits for a change to the live configuration and
//! restarts only the groups whose settings changed.
//!
//! Must never: run a group's old and new threads at once (the old ones are joined first: a sync
//! worker finishes the request it is in, and what it leaves `sending` is queued again by the
//! new workers before they claim), or stop receiving (the listener follows the live
//! configuration without a restart).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use super::ServeError;
use crate::config::{Config, Live};
use crate::events::Events;
use crate::ingest::Ingest;
use crate::store::Store;
use crate::watch;

/// Threads that stop together.
#[derive(Default)]
pub(super) struct Group {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Group {
    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            let _ = t.join();
        }
    }
}

/// What the groups are built over.
#[derive(Clone)]
pub(super) struct Parts {
    pub store: Arc<Store>,
    pub ingest: Arc<Ingest>,
    pub events: Events,
}

/// Sync workers, report pollers and the lifecycle ticker for `config`.
pub(super) fn start_sending(config: &Config, parts: &Parts) -> Result<Group, ServeError> {
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads =
        crate::upstream::sync::spawn_workers(config, parts.store.clone(), stop.clone())?;
    threads.extend(crate::reports::poller::spawn_pollers(
        config,
        parts.ingest.clone(),
        parts.events.clone(),
        stop.clone(),
    )?);
    let (store, ticker_stop) = (parts.store.clone(), stop.clone());
    let policy = crate::lifecycle::Policy::from_config(config);
    threads.push(std::thread::spawn(move || {
        crate::lifecycle::run_ticker(store, policy, ticker_stop)
    }));
    Ok(Group { stop, threads })
}

/// The watched folders of `config`.
pub(super) fn start_watching(config: &Config, parts: &Parts) -> Group {
    let stop = Arc::new(AtomicBool::new(false));
    let threads = watch::spawn_watchers(
        parts.ingest.clone(),
        &config.watch,
        config.station.uid_root.as_deref(),
        stop.clone(),
    );
    Group { stop, threads }
}

/// Whether the sending group must restart to follow `new`.
fn sending_changed(old: &Config, new: &Config) -> bool {
    old.destinations != new.destinations
        || old.reports.targets != new.reports.targets
        || old.studies != new.studies
}

/// Runs until `shutdown`: restarts the groups whose settings change in `live`, then stops both.
pub(super) fn supervise(
    live: Live,
    parts: Parts,
    mut sending: Group,
    mut watching: Group,
    shutdown: Arc<AtomicBool>,
) {
    let mut seen = live.generation();
    let mut current = live.get();
    while !shutdown.load(Ordering::Relaxed) {
        let Some(generation) = live.wait_change(seen, Duration::from_millis(250)) else {
            continue;
        };
        seen = generation;
        let new = live.get();
        if sending_changed(&current, &new) {
            tracing::info!("settings changed: restarting sync workers and report pollers");
            sending.stop();
            sending = start_sending(&new, &parts).unwrap_or_else(|e| {
                tracing::error!(error = %e, "cannot start sending with the new settings");
                Group::default()
            });
        }
        if current.watch != new.watch {
            tracing::info!("settings changed: restarting the watched folders");
            watching.stop();
            watching = start_watching(&new, &parts);
        }
        current = new;
    }
    sending.stop();
    watching.stop();
}
