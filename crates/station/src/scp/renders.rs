//! How many stored objects are decoded at once for previews and ECG plots: a few, whatever
//! the number of screens asking. A decode holds a whole object in memory (a cine: hundreds of
//! megabytes), so a burst of requests must queue, not multiply that.
//!
//! Must never: let a request wait without bound (it is told the station is busy), or keep a
//! slot when the decode ends in an error or a panic (the permit frees it when dropped).

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// Decodes at once.
pub const AT_ONCE: usize = 2;
/// How long a request waits for a slot before it is told to try again.
pub const WAIT: Duration = Duration::from_secs(30);

/// A counting gate: at most `limit` holders.
pub struct Gate {
    limit: usize,
    inside: Mutex<usize>,
    freed: Condvar,
}

/// A place inside the gate, given back when dropped.
pub struct Permit<'a> {
    gate: &'a Gate,
}

impl Gate {
    /// A gate letting `limit` decodes run at once.
    pub const fn new(limit: usize) -> Gate {
        Gate {
            limit,
            inside: Mutex::new(0),
            freed: Condvar::new(),
        }
    }

    /// A place, waiting at most `wait`; `None` when none came free in time.
    pub fn enter(&self, wait: Duration) -> Option<Permit<'_>> {
        let deadline = Instant::now() + wait;
        // A holder that panicked left a plain count behind: still right to read.
        let mut inside = self.inside.lock().unwrap_or_else(|e| e.into_inner());
        while *inside >= self.limit {
            let left = deadline.checked_duration_since(Instant::now())?;
            inside = self
                .freed
                .wait_timeout(inside, left)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        *inside += 1;
        Some(Permit { gate: self })
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut inside = self.gate.inside.lock().unwrap_or_else(|e| e.into_inner());
        *inside = inside.saturating_sub(1);
        self.gate.freed.notify_one();
    }
}

/// The station's gate for preview and waveform decodes.
pub static DECODES: Gate = Gate::new(AT_ONCE);

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_third_decode_waits_for_a_place_and_a_busy_gate_says_so_in_time() {
        let gate = Arc::new(Gate::new(2));
        let a = gate.enter(WAIT).expect("first");
        let _b = gate.enter(WAIT).expect("second");
        assert!(
            gate.enter(Duration::from_millis(50)).is_none(),
            "full: told in time"
        );
        let waiting = {
            let gate = gate.clone();
            std::thread::spawn(move || gate.enter(Duration::from_secs(10)).is_some())
        };
        drop(a);
        assert!(
            waiting.join().expect("the waiter"),
            "a freed place is taken"
        );
    }

    #[test]
    fn a_decode_that_panics_gives_its_place_back() {
        let gate = Arc::new(Gate::new(1));
        let g = gate.clone();
        let crashed = std::thread::spawn(move || {
            let _p = g.enter(WAIT).expect("place");
            panic!("a decoder bug");
        })
        .join();
        assert!(crashed.is_err());
        assert!(gate.enter(Duration::from_millis(100)).is_some());
    }
}
