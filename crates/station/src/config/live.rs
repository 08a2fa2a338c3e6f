//! The configuration a running station uses now: the admin may change parts of it from the
//! Settings page, and the parts that follow it (the DICOM listener's allowed callers, the API,
//! the restartable worker groups in `serve`) read it here instead of keeping a copy.
//!
//! Must never: hand out a half-applied configuration (a change replaces the whole value), or
//! block a reader while a change is written to disk (the file is written before `set`).

use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::time::Duration;

use super::Config;

/// A shared, replaceable configuration. Clones share the same value.
#[derive(Clone)]
pub struct Live {
    inner: Arc<Inner>,
}

struct Inner {
    current: RwLock<Arc<Config>>,
    /// Bumped by every `set`, so a waiter knows it has not seen the latest change.
    generation: Mutex<u64>,
    changed: Condvar,
}

impl Live {
    /// A shared value starting as `config`.
    pub fn new(config: Config) -> Live {
        Live {
            inner: Arc::new(Inner {
                current: RwLock::new(Arc::new(config)),
                generation: Mutex::new(0),
                changed: Condvar::new(),
            }),
        }
    }

    /// The configuration in force now.
    pub fn get(&self) -> Arc<Config> {
        match self.inner.current.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the configuration and wakes whoever waits for a change.
    pub fn set(&self, config: Config) {
        match self.inner.current.write() {
            Ok(mut c) => *c = Arc::new(config),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(config),
        }
        let mut generation = self
            .inner
            .generation
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        *generation += 1;
        self.inner.changed.notify_all();
    }

    /// How many changes there have been; pass it to [`Live::wait_change`].
    pub fn generation(&self) -> u64 {
        *self
            .inner
            .generation
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Waits up to `timeout` for a change after generation `seen`; returns the new generation
    /// when there was one.
    pub fn wait_change(&self, seen: u64, timeout: Duration) -> Option<u64> {
        let guard = self
            .inner
            .generation
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let (guard, _) = self
            .inner
            .changed
            .wait_timeout_while(guard, timeout, |g| *g == seen)
            .unwrap_or_else(|p| p.into_inner());
        (*guard != seen).then_some(*guard)
    }
}
