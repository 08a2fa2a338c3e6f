//! Upload rates by time of day, as a destination's settings describe them (`rate_limit_kbit`,
//! `rate_windows`): plain values the configuration checks and the hub client's limiter
//! (`upstream::ratelimit`) follows.
//!
//! Must never: read a clock (the caller says which minute of the day it is).

/// A time-of-day window with its own rate. `from` > `to` wraps past midnight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Start, in minutes after local midnight (inclusive).
    pub from_minute: u16,
    /// End, in minutes after local midnight (exclusive).
    pub to_minute: u16,
    /// Bytes per second inside the window; `None`: unlimited.
    pub bytes_per_sec: Option<u64>,
}

impl Window {
    fn contains(&self, minute: u16) -> bool {
        if self.from_minute <= self.to_minute {
            (self.from_minute..self.to_minute).contains(&minute)
        } else {
            minute >= self.from_minute || minute < self.to_minute
        }
    }
}

/// Which rate applies when: the first window containing the time, else the default.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Schedule {
    /// Bytes per second outside every window; `None`: unlimited.
    pub default_bytes_per_sec: Option<u64>,
    /// The windows, looked at in order.
    pub windows: Vec<Window>,
}

impl Schedule {
    /// The rate (bytes per second, `None`: unlimited) at `minute_of_day` (0 to 1439, local).
    pub fn rate_at(&self, minute_of_day: u16) -> Option<u64> {
        self.windows
            .iter()
            .find(|w| w.contains(minute_of_day))
            .map_or(self.default_bytes_per_sec, |w| w.bytes_per_sec)
            .filter(|r| *r > 0)
    }

    /// Whether any time of day is limited at all (else no limiter is needed).
    pub fn limits_anything(&self) -> bool {
        self.default_bytes_per_sec.is_some()
            || self.windows.iter().any(|w| w.bytes_per_sec.is_some())
    }
}

/// "HH:MM" as minutes since midnight.
pub fn parse_clock(text: &str) -> Result<u16, String> {
    let bad = || format!("{text:?} is not a time of day like \"08:00\"");
    let (h, m) = text.trim().split_once(':').ok_or_else(bad)?;
    let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 24 || m > 59 || (h == 24 && m > 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

/// Kilobits per second (as links are sold) to bytes per second.
pub fn kbit_to_bytes(kbit: u64) -> u64 {
    kbit * 1000 / 8
}
