//! Fetch-back (issue 13): the files of a purged study fetched again from a hub that verified
//! it (WADO-RS, PS3.18 §10.4.1), checked against the SHA-256 kept when they were deleted (or,
//! when the hub holds another encoding, e.g. the JPEG-LS copy the station sent, against the
//! native pixels' SHA-256 kept too), and put back through ingest (`Ingest::restore`), where the
//! retention clock starts again. A
//! person starts it from the study page and sees its progress; the DICOMweb server and the
//! preview fetch what they must show at once.
//!
//! Must never: put back a file whose pixels are not byte for byte the ones deleted, ask a hub that never
//! verified the study, or hold the store's lock while a hub answers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::events::{Event, Events};
use crate::ingest::{Ingest, IngestError};
use crate::store::retention::{self as index, PurgedInstance};
use crate::store::{HubProblem, Store, StoreError};
use crate::upstream::{wado, Hub, UpstreamError};

/// Why a fetch-back stopped.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// No destination that verified the study is configured any more.
    #[error("no hub that holds study {0} is configured")]
    NoHub(String),
    /// The hub did not answer, refused, or sent something that is not the file.
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    /// The fetched bytes could not be put back (not the file deleted, disk full, I/O).
    #[error(transparent)]
    Ingest(#[from] IngestError),
    /// The index could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The async runtime the HTTP client needs could not be started.
    #[error("cannot start the HTTP client: {0}")]
    Runtime(std::io::Error),
}

impl FetchError {
    /// What the failure means for a person (the hub's problem words), when it is the hub's.
    pub fn problem(&self) -> Option<HubProblem> {
        match self {
            FetchError::Upstream(e) => Some(HubProblem::of(&e.to_string())),
            _ => None,
        }
    }
}

/// How a study's fetch-back is going.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FetchProgress {
    /// Files to fetch when it started.
    pub total: usize,
    /// Files fetched and put back so far.
    pub done: usize,
    /// Still going (false once it finished or failed).
    pub running: bool,
    /// Why it stopped, when it failed (raw).
    pub error: Option<String>,
    /// The error as a word the screens say in a sentence (no hub reachable, refused ...).
    pub problem: Option<HubProblem>,
    /// No destination that holds the study is configured.
    pub no_hub: bool,
}

/// The fetch-backs of a running station.
pub struct FetchBack {
    store: Arc<Store>,
    events: Events,
    studies: Mutex<HashMap<String, FetchProgress>>,
}

impl FetchBack {
    /// No fetch-back yet; the end of each is announced on `events` (`StudyChanged`).
    pub fn new(store: Arc<Store>, events: Events) -> FetchBack {
        FetchBack {
            store,
            events,
            studies: Mutex::new(HashMap::new()),
        }
    }

    /// The progress of the study's last fetch-back started here, if any.
    pub fn progress(&self, study_uid: &str) -> Option<FetchProgress> {
        self.lock().get(study_uid).cloned()
    }

    /// Starts fetching the study's purged files in the background (unless it already is) and
    /// returns its progress.
    pub fn start(self: &Arc<Self>, config: &Config, study_uid: &str) -> FetchProgress {
        let mut studies = self.lock();
        if let Some(p) = studies.get(study_uid).filter(|p| p.running) {
            return p.clone();
        }
        let started = FetchProgress {
            running: true,
            ..FetchProgress::default()
        };
        studies.insert(study_uid.to_owned(), started.clone());
        drop(studies);
        let (me, config, uid) = (self.clone(), config.clone(), study_uid.to_owned());
        std::thread::spawn(move || {
            let result = me.fetch(&config, &uid, None);
            let mut studies = me.lock();
            let p = studies.entry(uid.clone()).or_default();
            p.running = false;
            if let Err(e) = result {
                tracing::warn!(study = %uid, error = %e, "fetch-back failed");
                p.problem = e.problem();
                p.no_hub = matches!(e, FetchError::NoHub(_));
                p.error = Some(e.to_string());
            }
            drop(studies);
            if let Ok(Some(state)) = crate::store::studies::state_of(&me.store.lock(), &uid) {
                me.events.send(Event::StudyChanged {
                    study_uid: uid,
                    state,
                });
            }
        });
        started
    }

    /// Fetches the study's purged files (or only `sop_instance_uid`'s) on this thread, for a
    /// reader that must show them now; how many came back. Call it off the async executor.
    pub fn fetch(
        &self,
        config: &Config,
        study_uid: &str,
        sop_instance_uid: Option<&str>,
    ) -> Result<usize, FetchError> {
        let wanted = index::purged_instances(&self.store.lock(), study_uid, sop_instance_uid)?;
        if wanted.is_empty() {
            return Ok(0);
        }
        self.update(study_uid, |p| p.total = p.total.max(wanted.len()));
        let holders = index::holders(&self.store.lock(), study_uid)?;
        let hubs: Vec<Hub> = config
            .destinations
            .iter()
            .filter(|d| holders.contains(&d.name))
            .filter_map(|d| Hub::for_destination(d).ok())
            .collect();
        if hubs.is_empty() {
            return Err(FetchError::NoHub(study_uid.to_owned()));
        }
        let ingest = Ingest::new(config, self.store.clone()).map_err(IngestError::from)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(FetchError::Runtime)?;
        let mut fetched = 0;
        for instance in &wanted {
            fetch_one(&runtime, &hubs, &ingest, instance)?;
            fetched += 1;
            if sop_instance_uid.is_none() {
                self.update(study_uid, |p| p.done = fetched);
            }
        }
        Ok(fetched)
    }

    fn update(&self, study_uid: &str, change: impl FnOnce(&mut FetchProgress)) {
        if let Some(p) = self.lock().get_mut(study_uid) {
            change(p);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, FetchProgress>> {
        // A panic elsewhere while holding it leaves plain counts: still good to read.
        self.studies.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One instance from the first hub that gives it; the last hub's error otherwise. Each hub is
/// asked for the file as it stored it, then, when that is not the file deleted (a destination
/// with a lossless `transfer_syntax` holds a compressed copy), in Explicit VR Little Endian:
/// the hub decodes it, and restore checks the pixels against the fingerprint kept.
fn fetch_one(
    runtime: &tokio::runtime::Runtime,
    hubs: &[Hub],
    ingest: &Ingest,
    instance: &PurgedInstance,
) -> Result<(), FetchError> {
    let mut last = None;
    let asks = hubs.iter().flat_map(|hub| {
        [
            (hub, wado::AS_STORED),
            (hub, wado::EXPLICIT_VR_LITTLE_ENDIAN),
        ]
    });
    for (hub, transfer_syntax) in asks {
        let mut staging = ingest.stage()?;
        let got = runtime.block_on(hub.retrieve_instance(
            &instance.study_uid,
            &instance.series_uid,
            &instance.sop_instance_uid,
            transfer_syntax,
            &mut staging,
        ));
        match got {
            Ok(_) => {
                let staged = staging.finish().map_err(IngestError::from)?;
                match ingest.restore(staged, instance.instance_id) {
                    Ok(()) => return Ok(()),
                    Err(e @ IngestError::NotTheSame { .. }) => {
                        tracing::warn!(hub = %hub.base_url(), sop = %instance.sop_instance_uid, error = %e, "hub sent other bytes than were deleted");
                        last = Some(FetchError::Ingest(e));
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            Err(e) => last = Some(e.into()),
        }
    }
    Err(last.unwrap_or_else(|| FetchError::NoHub(instance.study_uid.clone())))
}
