//! What the center's monitoring reads of a running station: the Prometheus text of
//! `GET /metrics` (`scrape`), whether the station is ready to take images (`ready`), and the
//! little only the running process knows (`Activity`: associations open now, worklist queries).
//! Everything else is computed from the store at scrape time: the database tells the truth.
//!
//! Must never: put a patient's name or ID, a study UID or an accession number in a metric or a
//! label (labels are destination names, states, source kinds and modalities), or write to the
//! store.

mod ready;
mod scrape;

use std::sync::atomic::{AtomicBool, Ordering};

use prometheus::{IntCounter, IntGauge};
use sha2::{Digest, Sha256};

use crate::config::Config;

pub use ready::{readiness, NotReady};
pub use scrape::render;

/// Why the metrics could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// The index could not be read for a gauge.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The Prometheus registry refused a metric (a name or label clash: a bug).
    #[error("metrics: {0}")]
    Prometheus(#[from] prometheus::Error),
}

/// What the running station counts as it happens, shared by the listener and the HTTP server.
/// A restart starts the counters at zero again, as Prometheus expects of a counter.
pub struct Activity {
    associations: IntGauge,
    worklist_queries: IntCounter,
    listener_bound: AtomicBool,
}

impl Activity {
    /// Counters at zero, the listener not yet bound.
    pub fn new() -> Result<Activity, MetricsError> {
        Ok(Activity {
            associations: IntGauge::new(
                "station_associations_active",
                "DICOM associations open now.",
            )?,
            worklist_queries: IntCounter::new(
                "station_worklist_queries_total",
                "Modality Worklist queries (C-FIND) answered since the station started.",
            )?,
            listener_bound: AtomicBool::new(false),
        })
    }

    /// Counts an association as open until the guard is dropped.
    pub fn association(&self) -> AssociationGuard {
        self.associations.inc();
        AssociationGuard(self.associations.clone())
    }

    /// Counts one Modality Worklist query answered.
    pub fn worklist_query(&self) {
        self.worklist_queries.inc();
    }

    /// The DICOM listener holds its port: devices can connect.
    pub fn set_listener_bound(&self) {
        self.listener_bound.store(true, Ordering::SeqCst);
    }

    /// Whether the DICOM listener holds its port (readiness needs it).
    pub fn listener_bound(&self) -> bool {
        self.listener_bound.load(Ordering::SeqCst)
    }
}

/// An open association; dropping it (however the association ends) counts it closed.
pub struct AssociationGuard(IntGauge);

impl Drop for AssociationGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Whether a scrape may read the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The request carried the configured token.
    Allowed,
    /// No `[metrics] token` is configured: the endpoint is off.
    Off,
    /// The request carried no token or the wrong one.
    Refused,
}

/// Checks the bearer token a scrape presented against `[metrics] token`. The digests are
/// compared, not the tokens, so the time taken tells nothing about the token's characters.
pub fn access(config: &Config, presented: Option<&str>) -> Access {
    let Some(token) = &config.metrics.token else {
        return Access::Off;
    };
    match presented {
        Some(p) if Sha256::digest(p.as_bytes()) == Sha256::digest(token.0.as_bytes()) => {
            Access::Allowed
        }
        _ => Access::Refused,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    #[test]
    fn only_the_configured_token_reads_the_metrics() {
        let mut config = Config::defaults();
        assert_eq!(access(&config, Some("anything")), Access::Off);
        config.metrics.token = Some(Secret("scrape-token-of-the-center".into()));
        assert_eq!(access(&config, None), Access::Refused);
        assert_eq!(access(&config, Some("scrape-token")), Access::Refused);
        assert_eq!(
            access(&config, Some("scrape-token-of-the-center")),
            Access::Allowed
        );
    }

    #[test]
    fn an_association_is_counted_until_it_ends() {
        let activity = Activity::new().expect("metrics");
        let a = activity.association();
        let b = activity.association();
        assert_eq!(activity.associations.get(), 2);
        drop(a);
        drop(b);
        assert_eq!(activity.associations.get(), 0);
    }
}
