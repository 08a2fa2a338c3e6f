//! When to try a hub again after a transient failure: the hub's Retry-After when it gave one,
//! else exponential backoff with jitter. Shared by the sync workers and the report poller so a
//! struggling hub sees one policy.
//!
//! Must never: retry immediately in a loop, or wait longer than the configured cap unless the
//! hub itself asked for it.

use std::time::Duration;

use super::UpstreamError;

/// How long to wait before attempt `attempt + 1` after `error` (attempts count from 1).
pub fn retry_delay(error: &UpstreamError, attempt: i64, max_secs: u64) -> Duration {
    match error.retry_after() {
        Some(wait) => wait,
        None => backoff(attempt, max_secs),
    }
}

/// Exponential backoff with jitter: about 1, 2, 4… seconds, capped, never all at once.
pub fn backoff(attempt: i64, max_secs: u64) -> Duration {
    let base = 2f64
        .powi(attempt.clamp(0, 20) as i32 - 1)
        .min(max_secs as f64);
    let jitter = 0.5 + rand::random::<f64>() * 0.5;
    Duration::from_secs_f64((base * jitter).max(0.5))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let first = backoff(1, 300);
        let tenth = backoff(10, 300);
        let far = backoff(40, 300);
        assert!(first.as_secs_f64() <= 1.0, "{first:?}");
        assert!(
            tenth.as_secs_f64() >= 128.0 && tenth.as_secs_f64() <= 300.0,
            "{tenth:?}"
        );
        assert!(far.as_secs_f64() <= 300.0, "{far:?}");
    }

    #[test]
    fn the_hubs_retry_after_wins() {
        let asked = UpstreamError::Transient {
            message: "busy".into(),
            retry_after: Some(Duration::from_secs(7)),
        };
        assert_eq!(retry_delay(&asked, 9, 2), Duration::from_secs(7));
    }
}
