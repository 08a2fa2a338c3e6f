//! Sync workers: one thread per destination takes due studies from the SQLite queue (urgent
//! first, then oldest), sends their instances with STOW-RS in batches, records each instance's
//! outcome, then verifies with QIDO-RS that the hub holds them before marking the study
//! delivered. Each thread drives its own single-threaded tokio runtime, so database work never
//! runs on an async executor.
//!
//! Each instance goes as received or, for a destination with a lossless `transfer_syntax`, as
//! a compressed copy made just before its request (`wire`), while the encoders outrun the link
//! (`pace`, the fast-link rule).
//!
//! A study still arriving (sent while receiving) gets one round of what has arrived, after a
//! short bounded wait for a batch to fill, and goes back to the queue: it is due again when
//! more instances come, and is verified only once complete.
//!
//! A claim ends only once every request of it that was started is answered: when one fails, or
//! a correction supersedes the claim (`store::queue`), nothing new starts and the rest are
//! awaited, so no uncorrected copy can reach the hub after the corrected one is sent.
//!
//! Must never: mark a study delivered before it is complete and the hub confirmed every
//! instance, hold a claim on a study waiting for instances, give up on a transient failure,
//! retry faster than the backoff (the hub may be struggling), or end a claim with a request of
//! it still in flight.

use std::cell::Cell;
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use futures_util::future;
use futures_util::stream::{self, StreamExt};
use tokio::sync::Semaphore;

use super::retry::retry_delay;
use super::stow::StowInstance;
use super::{Hub, UpstreamError};
use crate::config::{Config, Destination, WireCompression};
use crate::registry::correction::{self, CorrectionError};
use crate::store::queue::{self, Claim};
use crate::store::{now_ms, Store, StoreError};

mod answers;
mod hubpatient;
mod pace;
mod requests;
mod wire;
use pace::Pace;
use requests::{batches, refuses_content, smallest_first};
use wire::WireCopies;

/// How often an offline destination is probed, so work restarts within seconds of the link
/// coming back instead of waiting out a long backoff.
const PROBE_EVERY: Duration = Duration::from_secs(3);
/// Verification rounds per claim before the study goes back to the queue with backoff.
const VERIFY_ROUNDS: usize = 3;
/// How long a worker waits at most for a study still arriving to fill a batch, and how long
/// without a new instance of it ends the wait early.
const FILL_WAIT: Duration = Duration::from_millis(200);
const FILL_SETTLE: Duration = Duration::from_millis(50);
/// How often an idle worker looks for due work when the doorbell does not ring (backoffs
/// running out, changes made by another process such as `station sync release`).
const IDLE_POLL: Duration = Duration::from_millis(250);

/// Starts `parallel_requests` worker threads per configured destination. Each claims its own
/// study, so the link stays busy while one worker waits on verification; a semaphore shared by
/// a destination's workers keeps its STOW-RS requests in flight at `parallel_requests`.
pub fn spawn_workers(
    config: &Config,
    store: Arc<Store>,
    shutdown: Arc<AtomicBool>,
) -> Result<Vec<JoinHandle<()>>, UpstreamError> {
    let requeued = queue::requeue_interrupted(&store.lock())
        .map_err(|e| UpstreamError::Config(format!("cannot read the send queue: {e}")))?;
    if requeued > 0 {
        tracing::info!(
            requeued,
            "sends interrupted by the last shutdown are due again"
        );
    }
    wire::clear_stray(&config.data_dir);
    let cpu = wire::cpu_permits();
    let mut in_flight: HashMap<String, Arc<Semaphore>> = HashMap::new();
    let mut paces: HashMap<String, Arc<Pace>> = HashMap::new();
    super::threads::spawn_per_destination(
        config,
        "sync",
        |dest| dest.parallel_requests,
        |dest, hub| Worker {
            dest: dest.clone(),
            hub,
            in_flight: in_flight
                .entry(dest.name.clone())
                .or_insert_with(|| Arc::new(Semaphore::new(dest.parallel_requests)))
                .clone(),
            pace: paces
                .entry(dest.name.clone())
                .or_insert_with(|| {
                    let always = dest.compression == WireCompression::Always;
                    Arc::new(Pace::new(&dest.name, always, wire::encoders()))
                })
                .clone(),
            store: store.clone(),
            data_dir: config.data_dir.clone(),
            wire: WireCopies::new(&config.data_dir, cpu.clone()),
            shutdown: shutdown.clone(),
        },
        Worker::run,
    )
}

struct Worker {
    dest: Destination,
    hub: Hub,
    /// Permits for STOW-RS requests to this destination, shared by its workers.
    in_flight: Arc<Semaphore>,
    /// Whether to compress now (the fast-link rule), shared by its workers.
    pace: Arc<Pace>,
    store: Arc<Store>,
    data_dir: PathBuf,
    /// What each instance is sent as (as received, or a compressed copy).
    wire: WireCopies,
    shutdown: Arc<AtomicBool>,
}

/// Why a claim did not end delivered.
enum Failure {
    Upstream(UpstreamError),
    Store(StoreError),
    /// A corrected copy could not be written: a person must look.
    Correction(CorrectionError),
    /// A correction requeued the study during the send: the claim records nothing more.
    Superseded,
    /// The hub lists every instance but not with the corrected patient: a person must look.
    HubKept(String),
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
    fn run(self, rt: &tokio::runtime::Runtime) {
        let mut online = true;
        let mut last_probe = Instant::now();
        while !self.shutdown.load(Ordering::Relaxed) {
            let rings = self.store.doorbell.rings();
            let claim = queue::claim_next(&self.store.lock(), &self.dest.name);
            match claim {
                Ok(Some(claim)) => online = self.send(rt, &claim),
                Ok(None) => {
                    if !online && last_probe.elapsed() >= PROBE_EVERY {
                        last_probe = Instant::now();
                        online = self.probe(rt);
                    }
                    self.store.doorbell.wait(rings, IDLE_POLL);
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
                let _ = queue::due_now(&conn, &self.dest.name);
                true
            }
            Err(_) => false,
        }
    }

    /// Sends one claimed study; returns whether the link worked.
    fn send(&self, rt: &tokio::runtime::Runtime, claim: &Claim) -> bool {
        let receiving = queue::study_receiving(&self.store.lock(), claim.queue_id);
        let outcome = match receiving {
            Ok(true) => self.send_arrived(rt, claim).map(|()| false),
            Ok(false) => self.deliver(rt, claim).map(|()| true),
            Err(e) => Err(e.into()),
        };
        let conn = self.store.lock();
        let recorded = match &outcome {
            Ok(true) => {
                tracing::info!(destination = %self.dest.name, study = %claim.study_uid, "study verified");
                queue::mark_delivered(&conn, claim)
                    .and_then(|()| queue::set_link(&conn, &self.dest.name, Ok(())))
            }
            Ok(false) => {
                tracing::debug!(destination = %self.dest.name, study = %claim.study_uid, "sent what has arrived");
                queue::release(&conn, claim)
                    .and_then(|()| queue::set_link(&conn, &self.dest.name, Ok(())))
            }
            Err(Failure::Superseded) => {
                tracing::info!(destination = %self.dest.name, study = %claim.study_uid, "corrected during the send; the corrected copies go next");
                queue::release(&conn, claim)
            }
            Err(Failure::Upstream(e)) if e.is_transient() => {
                let attempt = claim.attempts + 1;
                let wait = retry_delay(e, attempt, self.dest.retry_max_secs);
                tracing::warn!(destination = %self.dest.name, study = %claim.study_uid, attempt, retry_in_s = wait.as_secs_f32(), error = %e, "send failed; will retry");
                queue::mark_retry(
                    &conn,
                    claim,
                    &e.to_string(),
                    now_ms() + wait.as_millis() as i64,
                )
                .and_then(|()| queue::set_link(&conn, &self.dest.name, Err(&e.to_string())))
            }
            Err(Failure::Upstream(e)) => {
                tracing::error!(destination = %self.dest.name, study = %claim.study_uid, error = %e, "hub refused the study; a person must look");
                queue::mark_failed(&conn, claim, &e.to_string())
            }
            Err(Failure::HubKept(reason)) => {
                tracing::error!(destination = %self.dest.name, study = %claim.study_uid, reason, "hub does not show the corrected patient; a person must look");
                queue::mark_unconfirmed(&conn, claim, reason)
                    .and_then(|()| queue::mark_failed(&conn, claim, reason))
            }
            Err(Failure::Correction(e)) => {
                tracing::error!(destination = %self.dest.name, study = %claim.study_uid, error = %e, "cannot write the corrected copy; a person must look");
                queue::mark_failed(&conn, claim, &e.to_string())
            }
            Err(Failure::Store(e)) => {
                tracing::error!(destination = %self.dest.name, study = %claim.study_uid, error = %e, "database error while sending");
                queue::mark_retry(&conn, claim, &e.to_string(), now_ms() + 5_000)
            }
        };
        if let Err(e) = recorded {
            tracing::error!(destination = %self.dest.name, error = %e, "cannot record the send outcome");
        }
        !matches!(&outcome, Err(Failure::Upstream(e)) if e.is_transient())
    }

    /// A study still arriving: one round of what has arrived (refusals are recorded and shown
    /// once the study is complete). No verification: more may come.
    fn send_arrived(&self, rt: &tokio::runtime::Runtime, claim: &Claim) -> Result<(), Failure> {
        self.fill_batch(claim.queue_id)?;
        self.still_owned(claim)?;
        correction::prepare(&self.store, &self.data_dir, claim.queue_id)?;
        let pending = queue::pending_instances(&self.store.lock(), claim.queue_id)?;
        self.send_pending(rt, claim, &pending)
    }

    /// Waits for the pending instances of a study still arriving to fill a batch while its
    /// instances keep coming (at most [`FILL_WAIT`], and [`FILL_SETTLE`] after the last new one).
    fn fill_batch(&self, queue_id: i64) -> Result<(), StoreError> {
        let started = Instant::now();
        let (mut seen, mut grew_at) = (0, started);
        loop {
            let rings = self.store.doorbell.rings();
            let (pending, receiving) = {
                let conn = self.store.lock();
                (
                    queue::pending_instances(&conn, queue_id)?,
                    queue::study_receiving(&conn, queue_id)?,
                )
            };
            if pending.len() > seen {
                (seen, grew_at) = (pending.len(), Instant::now());
            }
            let bytes: u64 = pending.iter().map(|p| p.size.max(0) as u64).sum();
            let full = pending.len() >= self.dest.batch_instances
                || bytes >= self.dest.batch_mb * 1024 * 1024;
            let wait = FILL_WAIT
                .saturating_sub(started.elapsed())
                .min(FILL_SETTLE.saturating_sub(grew_at.elapsed()));
            if full || !receiving || wait.is_zero() || self.shutdown.load(Ordering::Relaxed) {
                return Ok(());
            }
            self.store.doorbell.wait(rings, wait);
        }
    }

    /// Sends `pending` in batches. Instances a many-instance request left unexplained (not
    /// named in the answer, or refused as a whole) go again one by one, so one bad file cannot
    /// hold back the rest and its own refusal is shown against it.
    fn send_pending(
        &self,
        rt: &tokio::runtime::Runtime,
        claim: &Claim,
        pending: &[queue::PendingInstance],
    ) -> Result<(), Failure> {
        // Until the link is measured the first request is the probe the others wait for
        // (`pace`): the smallest instance alone keeps that wait short on any link.
        let probing = self.dest.transfer_syntax.codec().is_some() && self.pace.probes();
        let reordered: Vec<queue::PendingInstance>;
        let pending = match probing {
            true => {
                reordered = smallest_first(pending);
                &reordered[..]
            }
            false => pending,
        };
        let max_bytes = self.dest.batch_mb * 1024 * 1024;
        let groups = match pending.split_first() {
            Some(_) if probing => std::iter::once(&pending[..1])
                .chain(batches(&pending[1..], self.dest.batch_instances, max_bytes))
                .collect(),
            _ => batches(pending, self.dest.batch_instances, max_bytes),
        };
        let alone = self.send_batches(rt, claim, groups)?;
        let singles = alone.into_iter().map(std::slice::from_ref).collect();
        let unconfirmed = self.send_batches(rt, claim, singles)?.len();
        if unconfirmed > 0 {
            return Err(UpstreamError::Transient {
                message: format!("hub answered without confirming {unconfirmed} instance(s)"),
                retry_after: None,
            }
            .into());
        }
        Ok(())
    }

    fn deliver(&self, rt: &tokio::runtime::Runtime, claim: &Claim) -> Result<(), Failure> {
        for _ in 0..VERIFY_ROUNDS {
            self.still_owned(claim)?;
            correction::prepare(&self.store, &self.data_dir, claim.queue_id)?;
            let pending = queue::pending_instances(&self.store.lock(), claim.queue_id)?;
            self.send_pending(rt, claim, &pending)?;
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
            // Per series: an instance the hub files under another series is not delivered.
            let expected = queue::stored_by_series(&self.store.lock(), claim.queue_id)?;
            let holdings = rt.block_on(self.hub.study_holdings(&claim.study_uid))?;
            let mut held: HashMap<&str, BTreeSet<&str>> = HashMap::new();
            for h in &holdings {
                let series = held.entry(h.series_uid.as_str()).or_default();
                series.insert(h.sop_instance_uid.as_str());
            }
            let missing: BTreeSet<String> = expected
                .iter()
                .flat_map(|(series, sops)| {
                    let there = held.get(series.as_str());
                    sops.iter()
                        .filter(move |sop| !there.is_some_and(|h| h.contains(sop.as_str())))
                })
                .cloned()
                .collect();
            if missing.is_empty() {
                let corrected = correction::corrected_patient(&self.store.lock(), claim.queue_id)?;
                let kept =
                    corrected.and_then(|c| hubpatient::kept_earlier_copy(&c, &expected, &holdings));
                return kept.map_or(Ok(()), |reason| Err(Failure::HubKept(reason)));
            }
            tracing::warn!(destination = %self.dest.name, study = %claim.study_uid, missing = missing.len(), "hub does not list every instance; sending them again");
            queue::mark_missing(&self.store.lock(), claim, &missing)?;
        }
        Err(UpstreamError::Transient {
            message: "the hub still does not list every instance after sending them again".into(),
            retry_after: None,
        }
        .into())
    }

    /// Err(Superseded) once a correction requeued the study: nothing more of this claim counts.
    fn still_owned(&self, claim: &Claim) -> Result<(), Failure> {
        match queue::claim_current(&self.store.lock(), claim)? {
            true => Ok(()),
            false => Err(Failure::Superseded),
        }
    }

    /// Sends `groups` (each one STOW-RS request), up to `parallel_requests` at a time, and
    /// records each instance's outcome as its answer comes. Returns the instances the hub did
    /// not account for: unnamed in the answer, or in a many-instance request the hub refused as
    /// a whole. A single instance the hub refuses is recorded failed with the hub's reason.
    /// After a failed request or a superseded claim no new request starts, and those in flight
    /// are awaited before the failure is returned.
    fn send_batches<'a>(
        &self,
        rt: &tokio::runtime::Runtime,
        claim: &Claim,
        groups: Vec<&'a [queue::PendingInstance]>,
    ) -> Result<Vec<&'a queue::PendingInstance>, Failure> {
        let stop = &Cell::new(false);
        let codec = wire::codec_for(&self.store.lock(), &self.dest)?;
        let requests = groups.into_iter().map(|group| async move {
            if stop.get() {
                return (group, false, Vec::new(), None);
            }
            // Compressed copies are made before the request waits for its turn, so they are
            // ready while the requests ahead of it upload; they are deleted with `ready`.
            // Held until the answer: a probe (see `pace`) ends when it is dropped. Only a
            // destination with a codec asks (nothing to measure otherwise).
            let choice = match codec {
                Some(_) => Some(self.pace.choose().await),
                None => None,
            };
            let codec = codec.filter(|_| choice.as_ref().is_some_and(|c| c.compress));
            let ready = future::join_all(group.iter().map(|p| {
                let original = self.data_dir.join(&p.path);
                let ids = (claim.queue_id, p.instance_id);
                self.wire.file_for(original, codec, ids, &self.pace)
            }))
            .await;
            let compressed = ready.iter().any(wire::Ready::is_copy);
            let sizes: Vec<_> = group.iter().zip(&ready).map(|(p, r)| r.bytes(p)).collect();
            let bytes = sizes.iter().map(|s| s.sent.max(0) as u64).sum();
            let instances: Vec<StowInstance> = group
                .iter()
                .zip(&ready)
                .map(|(p, r)| StowInstance {
                    path: r.path.clone(),
                    sop_instance_uid: p.sop_instance_uid.clone(),
                })
                .collect();
            // Closed only if dropped, which never happens while a worker runs.
            let _permit = self.in_flight.acquire().await.ok();
            if stop.get() {
                return (group, compressed, sizes, None);
            }
            let request = self.pace.request();
            let answer = self.hub.stow(&instances).await;
            if answer.is_ok() {
                request.answered(bytes);
            }
            (group, compressed, sizes, Some(answer))
        });
        let mut answers = stream::iter(requests).buffer_unordered(self.dest.parallel_requests);
        let mut unexplained = Vec::new();
        let mut failure = None;
        // Each answer is recorded before the next is awaited; requests still in flight only
        // pause for that short database write.
        while let Some((group, compressed, sizes, answer)) = rt.block_on(answers.next()) {
            let Some(answer) = answer else { continue };
            let recorded = match answer {
                Ok(result) => {
                    self.record_answer(claim, group, &result, compressed, &sizes, &mut unexplained)
                }
                // The hub does not take this compressed form: the group goes again, as received.
                Err(UpstreamError::Permanent { status, message })
                    if compressed && matches!(status, 406 | 415) =>
                {
                    let reason = format!("HTTP {status}: {message}");
                    wire::remember_refusal(&self.store.lock(), &self.dest, &reason)
                        .map(|()| unexplained.extend(group))
                        .map(|()| true)
                        .map_err(Failure::from)
                }
                Err(UpstreamError::Permanent { status, message }) if refuses_content(status) => {
                    self.record_refusal(claim, group, status, &message, &mut unexplained)
                }
                Err(e) => Err(e.into()),
            };
            let stopped = match recorded {
                Ok(true) => continue,
                Ok(false) => Failure::Superseded,
                Err(e) => e,
            };
            stop.set(true);
            failure.get_or_insert(stopped);
        }
        match failure {
            Some(failure) => Err(failure),
            None => Ok(unexplained),
        }
    }
}
