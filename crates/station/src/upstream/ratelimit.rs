//! Upload bandwidth limits per hub, with optional time-of-day windows (e.g. 1 Mbit/s from 08:00
//! to 18:00 while the clinic also needs the link, unlimited at night), shared by every parallel
//! request to that hub.
//!
//! A token bucket that may go into debt: a chunk of any size is let through at once and the
//! next one waits until the debt is paid, so the average rate holds whatever the chunk size.
//!
//! Which rate applies when is the configuration's [`Schedule`]; this is the limiter.
//!
//! Must never: sleep while holding anything but its own bucket, or limit when no rate applies.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
// Tokio's clock, so tests can run the limiter in paused (virtual) time.
use tokio::time::Instant;

/// A burst after an idle spell is capped at this much time's worth of bytes.
const MAX_BURST: Duration = Duration::from_millis(500);

pub use crate::config::{kbit_to_bytes, parse_clock, Schedule, Window};

struct Bucket {
    /// Bytes that may go now; negative is debt.
    balance: f64,
    refilled: Instant,
}

/// Cheap to clone; clones share one bucket.
#[derive(Clone)]
pub struct RateLimit {
    schedule: Arc<Schedule>,
    bucket: Arc<Mutex<Bucket>>,
    /// Minute of the day now, in the clinic's local time (a parameter so tests need no clock).
    clock: fn() -> u16,
}

impl std::fmt::Debug for RateLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("RateLimit").field(&self.schedule).finish()
    }
}

fn local_minute_of_day() -> u16 {
    use chrono::Timelike;
    let now = chrono::Local::now();
    (now.hour() * 60 + now.minute()) as u16
}

impl RateLimit {
    /// A limiter following `schedule` by the clinic's local time of day.
    pub fn new(schedule: Schedule) -> RateLimit {
        RateLimit::with_clock(schedule, local_minute_of_day)
    }

    /// As [`RateLimit::new`] with `clock` giving the local minute of the day (for tests).
    pub(crate) fn with_clock(schedule: Schedule, clock: fn() -> u16) -> RateLimit {
        RateLimit {
            schedule: Arc::new(schedule),
            bucket: Arc::new(Mutex::new(Bucket {
                balance: 0.0,
                refilled: Instant::now(),
            })),
            clock,
        }
    }

    /// Waits until `bytes` more may go out at the rate that applies now.
    pub async fn take(&self, bytes: usize) {
        let Some(rate) = self.schedule.rate_at((self.clock)()) else {
            return;
        };
        let rate = rate as f64;
        let mut bucket = self.bucket.lock().await;
        let now = Instant::now();
        let earned = now.duration_since(bucket.refilled).as_secs_f64() * rate;
        bucket.balance = (bucket.balance + earned).min(rate * MAX_BURST.as_secs_f64());
        bucket.refilled = now;
        bucket.balance -= bytes as f64;
        if bucket.balance < 0.0 {
            // Held while sleeping: the other requests to this hub queue behind this chunk.
            tokio::time::sleep(Duration::from_secs_f64(-bucket.balance / rate)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule() -> Schedule {
        Schedule {
            default_bytes_per_sec: None,
            windows: vec![
                Window {
                    from_minute: parse_clock("08:00").expect("clock"),
                    to_minute: parse_clock("18:00").expect("clock"),
                    bytes_per_sec: Some(kbit_to_bytes(1000)),
                },
                Window {
                    from_minute: parse_clock("22:00").expect("clock"),
                    to_minute: parse_clock("02:00").expect("clock"),
                    bytes_per_sec: Some(kbit_to_bytes(8000)),
                },
            ],
        }
    }

    #[test]
    fn windows_pick_the_rate_by_time_of_day() {
        let s = schedule();
        assert_eq!(s.rate_at(7 * 60 + 59), None, "unlimited before 08:00");
        assert_eq!(s.rate_at(8 * 60), Some(125_000), "1 Mbit/s from 08:00");
        assert_eq!(s.rate_at(18 * 60), None, "unlimited from 18:00");
        assert_eq!(
            s.rate_at(23 * 60),
            Some(1_000_000),
            "a window past midnight"
        );
        assert_eq!(s.rate_at(60), Some(1_000_000));
        assert!(s.limits_anything());
        assert!(!Schedule::default().limits_anything());
    }

    #[test]
    fn clock_times_are_checked() {
        assert_eq!(parse_clock("00:00"), Ok(0));
        assert_eq!(parse_clock("24:00"), Ok(1440));
        for bad in ["8", "25:00", "08:60", "ab:cd", ""] {
            assert!(parse_clock(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_average_rate_holds() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .expect("runtime");
        // 100 kB/s all day; 10 chunks of 50 kB need 5 s of (virtual) time, less the burst.
        let limit = RateLimit::with_clock(
            Schedule {
                default_bytes_per_sec: Some(100_000),
                windows: vec![],
            },
            || 0,
        );
        let took = rt.block_on(async {
            let start = tokio::time::Instant::now();
            for _ in 0..10 {
                limit.take(50_000).await;
            }
            start.elapsed()
        });
        assert!(
            took >= Duration::from_millis(4_400) && took <= Duration::from_millis(5_100),
            "{took:?}"
        );
    }
}
