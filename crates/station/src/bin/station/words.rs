//! How the `station` command says values to a person: durations in hours and minutes, and
//! values that may be absent as a word, never Rust's debug text (`Some(1404)`).
//!
//! Must never: print a value a person cannot read at a glance; `--json` is for machines.

use std::fmt::Display;

/// A duration in milliseconds as a person reads it: `850 ms`, `42 s`, `3 min 05 s`,
/// `2 h 05 min`, `3 d 4 h`.
pub fn duration_ms(ms: i64) -> String {
    if ms < 0 {
        return format!("-{}", duration_ms(ms.saturating_neg()));
    }
    let secs = ms / 1000;
    let (mins, hours, days) = (secs / 60, secs / 3600, secs / 86_400);
    if secs == 0 {
        format!("{ms} ms")
    } else if mins == 0 {
        format!("{secs} s")
    } else if hours == 0 {
        format!("{mins} min {:02} s", secs % 60)
    } else if days == 0 {
        format!("{hours} h {:02} min", mins % 60)
    } else {
        format!("{days} d {} h", hours % 24)
    }
}

/// `value`, or `absent` (e.g. "none", "not yet") when there is none.
pub fn or<T: Display>(value: Option<T>, absent: &str) -> String {
    value.map_or_else(|| absent.to_owned(), |v| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_a_person_says_them() {
        assert_eq!(duration_ms(850), "850 ms");
        assert_eq!(duration_ms(42_000), "42 s");
        assert_eq!(duration_ms(185_000), "3 min 05 s");
        assert_eq!(duration_ms(7_500_000), "2 h 05 min");
        assert_eq!(duration_ms(273_600_000), "3 d 4 h");
        assert_eq!(duration_ms(-42_000), "-42 s");
        assert_eq!(or(Some(1404), "none"), "1404");
        assert_eq!(or(None::<i64>, "not yet"), "not yet");
    }
}
