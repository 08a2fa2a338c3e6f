//! Report pollers: one thread per destination looks, with QIDO-RS, for report instances (SR,
//! Key Object Selection, Encapsulated PDF) the hub holds in delivered studies, a batch of
//! studies per request; fetches new ones with WADO-RS; stores them through the one ingest path
//! (source `report`, never sent back); parses and records them; and tells the event bus.
//! Every second it also flags studies past their turnaround target.
//!
//! Must never: attach an object to a study other than the one the hub filed it under, lose a
//! report because the hub was down (a failed look is simply repeated after the backoff), or
//! ask faster than the backoff while the hub is failing.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::sr::{self, Kind, REPORT_CLASSES};
use super::store as reports;
use crate::config::{Config, Destination, ReportsConfig};
use crate::events::{Event, Events};
use crate::ingest::{Ingest, IngestError, Outcome};
use crate::store::{queue, Source, StoreError};
use crate::upstream::qido::FoundInstance;
use crate::upstream::retry::retry_delay;
use crate::upstream::{Hub, UpstreamError};

/// How often the poller wakes to see what is due.
const TICK: Duration = Duration::from_secs(1);

/// Starts one poller per configured destination that reports (`poll_reports`).
pub fn spawn_pollers(
    config: &Config,
    ingest: Arc<Ingest>,
    events: Events,
    shutdown: Arc<AtomicBool>,
) -> Result<Vec<JoinHandle<()>>, UpstreamError> {
    crate::upstream::threads::spawn_per_destination(
        config,
        "reports",
        |dest| usize::from(dest.poll_reports),
        |dest, hub| Poller {
            hub,
            dest: dest.clone(),
            policy: config.reports.clone(),
            ingest: ingest.clone(),
            events: events.clone(),
            shutdown: shutdown.clone(),
        },
        Poller::run,
    )
}

struct Poller {
    dest: Destination,
    hub: Hub,
    policy: ReportsConfig,
    ingest: Arc<Ingest>,
    events: Events,
    shutdown: Arc<AtomicBool>,
}

/// Why a look did not finish.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Ingest(#[from] IngestError),
}

impl Poller {
    fn run(self, rt: &tokio::runtime::Runtime) {
        let mut failures = 0i64;
        let mut resume_at = Instant::now();
        while !self.shutdown.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(250));
            if Instant::now() < resume_at {
                continue;
            }
            resume_at = Instant::now() + TICK;
            self.housekeeping();
            let due = {
                let conn = self.ingest.store().lock();
                reports::due_studies(
                    &conn,
                    &self.dest.name,
                    &self.policy,
                    self.policy.batch_studies,
                )
            };
            let due = match due {
                Ok(due) if due.is_empty() => continue,
                Ok(due) => due,
                Err(e) => {
                    tracing::error!(destination = %self.dest.name, error = %e, "cannot read studies waiting for reports");
                    continue;
                }
            };
            match self.look(rt, &due) {
                Ok(()) => {
                    if failures > 0 {
                        tracing::info!(destination = %self.dest.name, "hub reachable again; reports resume");
                    }
                    failures = 0;
                    let _ = queue::set_link(&self.ingest.store().lock(), &self.dest.name, Ok(()));
                }
                Err(Failure::Upstream(e)) if e.is_transient() => {
                    failures += 1;
                    let wait = retry_delay(&e, failures, self.dest.retry_max_secs);
                    tracing::warn!(destination = %self.dest.name, attempt = failures, retry_in_s = wait.as_secs_f32(), error = %e, "cannot look for reports; will retry");
                    resume_at = Instant::now() + wait;
                    let text = e.to_string();
                    let _ =
                        queue::set_link(&self.ingest.store().lock(), &self.dest.name, Err(&text));
                }
                Err(e) => {
                    // Refused, or a local failure: asking again at once would not help; the
                    // studies are looked at again at their next scheduled time.
                    tracing::error!(destination = %self.dest.name, error = %e, "looking for reports failed");
                    let ids: Vec<i64> = due.iter().map(|w| w.queue_id).collect();
                    let conn = self.ingest.store().lock();
                    if let Err(e) = reports::mark_polled(&conn, &ids, &self.policy) {
                        tracing::error!(error = %e, "cannot schedule the next look for reports");
                    }
                }
            }
        }
    }

    /// Overdue flags and `reported` states, with their events.
    fn housekeeping(&self) {
        let (overdue, restored) = {
            let conn = self.ingest.store().lock();
            (
                reports::flag_overdue(&conn),
                reports::restore_reported(&conn),
            )
        };
        for study_uid in overdue.unwrap_or_else(|e| {
            tracing::error!(error = %e, "cannot flag overdue studies");
            Vec::new()
        }) {
            tracing::warn!(study = %study_uid, "study is past its report turnaround target");
            self.events.send(Event::StudyOverdue { study_uid });
        }
        for study_uid in restored.unwrap_or_default() {
            self.events.send(Event::StudyChanged {
                study_uid,
                state: crate::store::StudyState::Reported,
            });
        }
    }

    /// One look at the hub for a batch of studies; fetches and records what is new.
    fn look(&self, rt: &tokio::runtime::Runtime, due: &[reports::Waiting]) -> Result<(), Failure> {
        let uids: Vec<String> = due.iter().map(|w| w.study_uid.clone()).collect();
        let found = rt.block_on(self.hub.find_in_studies(&uids, &REPORT_CLASSES))?;
        let sops: Vec<String> = found.iter().map(|f| f.sop_instance_uid.clone()).collect();
        let known = reports::known_sops(&self.ingest.store().lock(), &sops)?;
        for hit in found
            .iter()
            .filter(|f| !known.contains(&f.sop_instance_uid))
        {
            match self.fetch(rt, hit) {
                Ok(()) => {}
                // The link failed: the whole look is repeated after the backoff.
                Err(Failure::Upstream(e)) if e.is_transient() => return Err(e.into()),
                // This one document cannot be taken (refused, malformed, not what was listed):
                // the others still are; it is tried again at the study's next look.
                Err(e) => {
                    tracing::error!(destination = %self.dest.name, study = %hit.study_uid, sop = %hit.sop_instance_uid, error = %e, "report not taken")
                }
            }
        }
        let ids: Vec<i64> = due.iter().map(|w| w.queue_id).collect();
        reports::mark_polled(&self.ingest.store().lock(), &ids, &self.policy)?;
        Ok(())
    }

    /// Retrieves one report instance, stores it, parses and records it.
    fn fetch(&self, rt: &tokio::runtime::Runtime, hit: &FoundInstance) -> Result<(), Failure> {
        let Some(kind) = Kind::of_sop_class(&hit.sop_class_uid) else {
            return Ok(());
        };
        let mut staging = self.ingest.stage()?;
        rt.block_on(self.hub.retrieve_instance(
            &hit.study_uid,
            &hit.series_uid,
            &hit.sop_instance_uid,
            crate::upstream::wado::AS_STORED,
            &mut staging,
        ))?;
        let staged = staging.finish().map_err(IngestError::from)?;
        // The object must be what the hub listed: another study's object is never attached.
        let header = crate::dicom::header::read_part10(&staged.path).map_err(IngestError::from)?;
        if header.study_uid != hit.study_uid || header.sop_instance_uid != hit.sop_instance_uid {
            return Err(UpstreamError::Permanent {
                status: 200,
                message: format!(
                    "WADO-RS sent {} of study {} for {} of study {}",
                    header.sop_instance_uid, header.study_uid, hit.sop_instance_uid, hit.study_uid
                ),
            }
            .into());
        }
        let source = Source::Report {
            destination: self.dest.name.clone(),
        };
        let instance_id = match self.ingest.commit(staged, &source)? {
            Outcome::Stored { instance_id, .. } | Outcome::StoredForReview { instance_id, .. } => {
                instance_id
            }
            // Stored before a crash that came before the report was recorded.
            Outcome::Duplicate { existing_id } => existing_id,
        };
        let row_path = crate::store::path_of(&self.ingest.store().lock(), instance_id)?;
        let path = self.ingest.data_dir().join(row_path);
        let parsed = sr::parse(&path, kind).unwrap_or_else(|e| {
            tracing::error!(sop = %hit.sop_instance_uid, error = %e, "report stored but not readable");
            sr::Parsed {
                title: "无法解析的报告 / unreadable report".into(),
                text: e.to_string(),
                ..sr::Parsed::default()
            }
        });
        let recorded = reports::record(
            &mut self.ingest.store().lock(),
            &hit.study_uid,
            instance_id,
            &self.dest.name,
            kind,
            &parsed,
        )?;
        tracing::info!(destination = %self.dest.name, study = %hit.study_uid, report = recorded.report_id, kind = kind.as_str(), is_final = parsed.is_final, current = recorded.is_current, "report received");
        if kind != Kind::KeyObjects {
            self.events.send(Event::ReportArrived {
                study_uid: hit.study_uid.clone(),
                report_id: recorded.report_id,
                is_final: parsed.is_final,
            });
        }
        if recorded.study_reported {
            self.events.send(Event::StudyChanged {
                study_uid: hit.study_uid.clone(),
                state: crate::store::StudyState::Reported,
            });
        }
        Ok(())
    }
}
