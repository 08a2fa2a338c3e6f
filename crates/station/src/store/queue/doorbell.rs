//! The queue's doorbell: how a thread that changed the queue wakes the ones waiting for work.
//!
//! Must never: be the only way work is found (waiters also look again after a timeout).

use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// Wakes the threads that wait for queue work (sync workers, the lifecycle) as soon as some may
/// be due: an instance committed, a study queued or completed. In-process only: waiters also
/// wake after a timeout, for changes made by another process and for backoffs running out.
#[derive(Debug, Default)]
pub struct Doorbell {
    rings: Mutex<u64>,
    rung: Condvar,
}

impl Doorbell {
    /// Wakes every waiter now; call it after committing the change that may have made work due.
    pub fn ring(&self) {
        let mut rings = self.rings.lock().unwrap_or_else(|p| p.into_inner());
        *rings = rings.wrapping_add(1);
        self.rung.notify_all();
    }

    /// The count to pass to [`Doorbell::wait`]: read it before looking for work.
    pub fn rings(&self) -> u64 {
        *self.rings.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Returns once rung since `seen` was read, or after `timeout`.
    pub fn wait(&self, seen: u64, timeout: Duration) {
        let rings = self.rings.lock().unwrap_or_else(|p| p.into_inner());
        let _ = self
            .rung
            .wait_timeout_while(rings, timeout, |n| *n == seen)
            .map_err(|p| p.into_inner());
    }
}
