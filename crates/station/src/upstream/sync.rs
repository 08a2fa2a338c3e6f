//! Sync workers: one thread per destination takes due studies from the SQLite queue (urgent
//! first, then oldest), sends their instances with STOW-RS in batches, records each instance's
//! outcome, then verifies with QIDO-RS that the hub holds them before marking the study
//! delivered. Each thread drives its own single-threaded tokio runtime, so database work never
//! runs on an async executor.
//!
//! Must never: mark a study delivered before the hub confirmed every instance, give up on a
//! transient failure, or retry faster than the backoff (the hub may be struggling).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::stow::{InstanceOutcome, StowInstance};
use super::{Auth, Hub, UpstreamError};
use crate::config::{Config, Destination};
use crate::registry::correction::{self, CorrectionError};
use crate::store::queue::{self, Claim};
use crate::store::{now_ms, Store, StoreError};

/// How often an offline destination is probed, so work restarts within seconds of the link
/// coming back instead of waiting out a long backoff.
const PROBE_EVERY: Duration = Duration::from_secs(3);
/// Verification rounds per claim before the study goes back to the queue with backoff.
const VERIFY_ROUNDS: usize = 3;

/// Starts one worker thread per configured destination.
pub fn spawn_workers(
    config: &Config,
    store: Arc<Store>,
    shutdown: Arc<AtomicBool>,
) -> Result<Vec<JoinHandle<()>>, UpstreamError> {
    let mut threads = Vec::new();
    for dest in &config.destinations {
        let auth = match (&dest.username, &dest.password, &dest.bearer_token) {
            (_, _, Some(token)) => Auth::Bearer(token.clone()),
            (Some(user), password, None) => Auth::Basic {
                user: user.clone(),
                password: password.clone().unwrap_or_default(),
            },
            _ => Auth::None,
        };
        let hub = Hub::new(&dest.url, auth, Duration::from_secs(dest.timeout_secs))?;
        let worker = Worker {
            dest: dest.clone(),
            hub,
            store: store.clone(),
            data_dir: config.data_dir.clone(),
            shutdown: shutdown.clone(),
        };
        let thread = std::thread::Builder::new()
            .name(format!("sync-{}", dest.name))
            .spawn(move || worker.run())
            .map_err(|e| UpstreamError::Config(format!("cannot start sync worker: {e}")))?;
        threads.push(thread);
    }
    Ok(threads)
}

struct Worker {
    dest: Destination,
    hub: Hub,
    store: Arc<Store>,
    data_dir: PathBuf,
    shutdown: Arc<AtomicBool>,
}

/// Why a claim did not end delivered.
enum Failure {
    Upstream(UpstreamError),
    Store(StoreError),
    /// A corrected copy could not be written: a person must look.
    Correction(CorrectionError),
}

impl From<CorrectionError> for Failure {
    fn from(e: CorrectionError) -> Self {
        Failure::Correction(e)
    }
}

impl From<UpstreamError> for Failure {
    fn from(e: UpstreamError) -> Self {
        Failure::Upstream(e)
    }
}
impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Store(e)
    }
}

impl Worker {
    fn run(self) {
        let rt = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                tracing::error!(destination = %self.dest.name, error = %e, "cannot start sync worker");
                return;
            }
        };
        let mut online = true;
        let mut last_probe = Instant::now();
        while !self.shutdown.load(Ordering::Relaxed) {
            let claim = queue::claim_next(&self.store.lock(), &self.dest.name);
            match claim {
                Ok(Some(claim)) => online = self.send(&rt, &claim),
                Ok(None) => {
                    if !online && last_probe.elapsed() >= PROBE_EVERY {
                        last_probe = Instant::now();
                        online = self.probe(&rt);
                    }
                    std::thread::sleep(Duration::from_millis(250));
                }
                Err(e) => {
                    tracing::error!(destination = %self.dest.name, error = %e, "cannot read the send queue");
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        }
    }

    /// While offline, one small QIDO request; when it answers, waiting studies are due now.
    fn probe(&self, rt: &tokio::runtime::Runtime) -> bool {
        match rt.block_on(self.hub.study_instances("1.2.826.0.1.3680043.2.1125.0")) {
            Ok(_) => {
                tracing::info!(destination = %self.dest.name, "hub reachable again; resuming");
                let conn = self.store.lock();
                let _ = queue::set_link(&conn, &self.dest.name, Ok(()));
                let _ = conn.execute(
                    "UPDATE send_queue SET next_attempt_at = NULL WHERE destination = ?1 AND state = 'queued'",
                    [&self.dest.name],
                );
                true
            }
            Err(_) => false,
        }
    }

    /// Sends one claimed study; returns whether the link worked.
    fn send(&self, rt: &tokio::runtime::Runtime, claim: &Claim) -> bool {
        let outcome = self.deliver(rt, claim);
        let conn = self.store.lock();
        let recorded = match &outcome {
            Ok(()) => {
                tracing::info!(destination = %self.dest.name, study = %claim.study_uid, "study delivered and verified");
                queue::mark_delivered(&conn, claim.queue_id)
                    .and_then(|()| queue::set_link(&conn, &self.dest.name, Ok(())))
            }
            Err(Failure::Upstream(e)) if e.is_transient() => {
                let attempt = claim.attempts + 1;
                let wait = match e {
                    UpstreamError::Transient {
                        retry_after: Some(w),
                        ..
                    } => *w,
                    _ => backoff(attempt, self.dest.retry_max_secs),
                };
                tracing::warn!(destination = %self.dest.name, study = %claim.study_uid, attempt, retry_in_s = wait.as_secs_f32(), error = %e, "send failed; will retry");
                queue::mark_retry(
                    &conn,
                    claim.queue_id,
                    &e.to_string(),
                    now_ms() + wait.as_millis() as i64,
                )
                .and_then(|()| queue::set_link(&conn, &self.dest.name, Err(&e.to_string())))
            }
            Err(Failure::Upstream(e)) => {
                tracing::error!(destination = %self.dest.name, study = %claim.study_uid, error = %e, "hub refused the study; a person must look");
                queue::mark_failed(&conn, claim.queue_id, &e.to_string())
            }
            Err(Failure::Correction(e)) => {
                tracing::error!(destination = %self.dest.name, study = %claim.study_uid, error = %e, "cannot write the corrected copy; a person must look");
                queue::mark_failed(&conn, claim.queue_id, &e.to_string())
            }
            Err(Failure::Store(e)) => {
                tracing::error!(destination = %self.dest.name, study = %claim.study_uid, error = %e, "database error while sending");
                queue::mark_retry(&conn, claim.queue_id, &e.to_string(), now_ms() + 5_000)
            }
        };
        if let Err(e) = recorded {
            tracing::error!(destination = %self.dest.name, error = %e, "cannot record the send outcome");
        }
        !matches!(&outcome, Err(Failure::Upstream(e)) if e.is_transient())
    }

    fn deliver(&self, rt: &tokio::runtime::Runtime, claim: &Claim) -> Result<(), Failure> {
        for _ in 0..VERIFY_ROUNDS {
            correction::prepare(&self.store, &self.data_dir, claim.queue_id)?;
            let pending = queue::pending_instances(&self.store.lock(), claim.queue_id)?;
            let mut unconfirmed = 0;
            for batch in batches(
                &pending,
                self.dest.batch_instances,
                self.dest.batch_mb * 1024 * 1024,
            ) {
                let instances: Vec<StowInstance> = batch
                    .iter()
                    .map(|p| StowInstance {
                        path: self.data_dir.join(&p.path),
                        sop_instance_uid: p.sop_instance_uid.clone(),
                    })
                    .collect();
                let result = rt.block_on(self.hub.stow(&instances))?;
                let conn = self.store.lock();
                for p in batch {
                    match result.outcomes.get(&p.sop_instance_uid) {
                        Some(InstanceOutcome::Stored | InstanceOutcome::StoredWithWarning(_)) => {
                            queue::record_instance(&conn, claim.queue_id, p.instance_id, Ok(()))?
                        }
                        Some(InstanceOutcome::Failed(code)) => queue::record_instance(
                            &conn,
                            claim.queue_id,
                            p.instance_id,
                            Err(&format!(
                                "hub refused the instance: failure reason {code:#06x}"
                            )),
                        )?,
                        Some(InstanceOutcome::NotMentioned) | None => unconfirmed += 1,
                    }
                }
            }
            if unconfirmed > 0 {
                return Err(UpstreamError::Transient {
                    message: format!("hub answered without confirming {unconfirmed} instance(s)"),
                    retry_after: None,
                }
                .into());
            }
            let failed = queue::failed_count(&self.store.lock(), claim.queue_id)?;
            if failed > 0 {
                return Err(UpstreamError::Permanent {
                    status: 0,
                    message: format!(
                        "{failed} instance(s) refused by the hub; see each instance's reason"
                    ),
                }
                .into());
            }
            // PS3.18: a stored response is not the end; the hub must list what we sent.
            let expected = queue::stored_sops(&self.store.lock(), claim.queue_id)?;
            let held = rt.block_on(self.hub.study_instances(&claim.study_uid))?;
            let missing: BTreeSet<String> = expected.difference(&held).cloned().collect();
            if missing.is_empty() {
                return Ok(());
            }
            tracing::warn!(destination = %self.dest.name, study = %claim.study_uid, missing = missing.len(), "hub does not list every instance; sending them again");
            queue::mark_missing(&self.store.lock(), claim.queue_id, &missing)?;
        }
        Err(UpstreamError::Transient {
            message: "the hub still does not list every instance after sending them again".into(),
            retry_after: None,
        }
        .into())
    }
}

/// Splits pending instances into STOW-RS requests of at most `max_count` instances and
/// `max_bytes` bytes; an instance larger than `max_bytes` goes alone.
fn batches(
    pending: &[queue::PendingInstance],
    max_count: usize,
    max_bytes: u64,
) -> Vec<&[queue::PendingInstance]> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0u64);
    for (i, p) in pending.iter().enumerate() {
        let size = p.size.max(0) as u64;
        if i > start && (i - start >= max_count || bytes + size > max_bytes) {
            out.push(&pending[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    if start < pending.len() {
        out.push(&pending[start..]);
    }
    out
}

/// Exponential backoff with jitter: about 1, 2, 4… seconds, capped, never all at once.
fn backoff(attempt: i64, max_secs: u64) -> Duration {
    let base = 2f64
        .powi(attempt.clamp(0, 20) as i32 - 1)
        .min(max_secs as f64);
    let jitter = 0.5 + rand::random::<f64>() * 0.5;
    Duration::from_secs_f64((base * jitter).max(0.5))
}

#[cfg(test)]
mod tests {
    use crate::store::queue::PendingInstance;

    #[test]
    fn batches_respect_count_and_bytes() {
        let p = |size| PendingInstance {
            instance_id: 0,
            sop_instance_uid: String::new(),
            path: String::new(),
            size,
        };
        let pending = [p(10), p(10), p(10), p(100), p(5), p(5), p(5)];
        let sizes: Vec<usize> = super::batches(&pending, 2, 30)
            .iter()
            .map(|b| b.len())
            .collect();
        // 10+10 | 10 (100 would pass 30) | 100 alone | 5+5 (count) | 5
        assert_eq!(sizes, vec![2, 1, 1, 2, 1]);
        assert!(super::batches(&[], 10, 10).is_empty());
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let first = super::backoff(1, 300);
        let tenth = super::backoff(10, 300);
        let far = super::backoff(40, 300);
        assert!(first.as_secs_f64() <= 1.0, "{first:?}");
        assert!(
            tenth.as_secs_f64() >= 128.0 && tenth.as_secs_f64() <= 300.0,
            "{tenth:?}"
        );
        assert!(far.as_secs_f64() <= 300.0, "{far:?}");
    }
}
