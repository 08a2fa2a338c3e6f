//! `station serve`: opens the store, recovers from any crash, then runs the DICOM listener, the
//! watched folders, the sync workers, the report pollers, the lifecycle ticker and the storage
//! upkeep schedule (nightly backup, weekly integrity check) until shutdown;
//! the settings an admin changes while it runs are followed without a restart (`groups`).
//!
//! Must never: start receiving before crash recovery has finished, or run twice on one data
//! directory (a lock file guards it; the OS releases it if the process dies).

use std::fs::File;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::config::Config;
use crate::events::Events;
use crate::ingest::{Ingest, IngestError};
use crate::scp::listener::{Listener, ListenerError};

mod groups;
use crate::store::{Store, StoreError};

/// Why a station could not start; nothing was received before it.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The data directory could not be made.
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: String,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// Another process holds the data directory's lock: two stations must never share it.
    #[error("another station is already running on data directory {0}")]
    AlreadyRunning(String),
    /// The index could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Files a crash left half-received could not be put right.
    #[error("crash recovery failed: {0}")]
    Recovery(#[from] IngestError),
    /// The DICOM listener could not bind.
    #[error(transparent)]
    Listener(#[from] ListenerError),
    /// The send workers could not start (a destination's configuration).
    #[error(transparent)]
    Upstream(#[from] crate::upstream::UpstreamError),
    /// The first administrator could not be made.
    #[error("users: {0}")]
    Users(#[from] crate::auth::users::UserError),
    /// The HTTP server could not start.
    #[error(transparent)]
    Http(#[from] crate::http::HttpError),
    /// The metrics could not be registered.
    #[error(transparent)]
    Metrics(#[from] crate::metrics::MetricsError),
    /// A purge a crash interrupted could not be finished.
    #[error("finishing an interrupted purge: {0}")]
    Storage(#[from] crate::storage::StorageError),
}

/// A running station. Dropping it does not stop it; call [`Station::shutdown`].
pub struct Station {
    /// Where devices send images (the DICOM listener).
    pub dicom_addr: SocketAddr,
    /// The LAN HTTP server (HTTPS with `[http] tls`).
    pub http_addr: SocketAddr,
    /// Where the desktop window reaches the HTTP server: `http_addr`, or when started
    /// [`Station::start_for_window`] with TLS on, a plain-HTTP listener on loopback.
    pub window_http_addr: SocketAddr,
    /// The one engine API, for the desktop shell's adapter (the HTTP server uses it too).
    pub api: Arc<crate::api::Api>,
    /// The engine's store and event bus, for the API layers (HTTP, Tauri) built on a station.
    pub store: Arc<Store>,
    /// What changed, for the UI's live updates.
    pub events: Events,
    /// What the metrics and the readiness check read of the running station.
    pub activity: Arc<crate::metrics::Activity>,
    shutdown: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    _lock: File,
}

impl Station {
    /// Starts everything `config` asks for: index, crash recovery, listener, workers, HTTP.
    pub fn start(config: &Config) -> Result<Station, ServeError> {
        Station::start_with(config, false)
    }

    /// As [`Station::start`], for the desktop shell, whose window reaches the HTTP server at
    /// [`Station::window_http_addr`] (plain HTTP on loopback when the LAN gets HTTPS).
    pub fn start_for_window(config: &Config) -> Result<Station, ServeError> {
        Station::start_with(config, true)
    }

    fn start_with(config: &Config, for_window: bool) -> Result<Station, ServeError> {
        let data_dir = &config.data_dir;
        crate::disk::private_files();
        std::fs::create_dir_all(data_dir)
            .and_then(|()| crate::disk::make_private(data_dir))
            .map_err(|source| ServeError::DataDir {
                path: data_dir.display().to_string(),
                source,
            })?;
        let lock = crate::disk::lock_data_dir(data_dir)
            .map_err(|source| ServeError::DataDir {
                path: data_dir.display().to_string(),
                source,
            })?
            .ok_or_else(|| ServeError::AlreadyRunning(data_dir.display().to_string()))?;
        let store = Arc::new(Store::open(&config.db_path())?);
        let ingest =
            Arc::new(
                Ingest::new(config, store.clone()).map_err(|source| ServeError::DataDir {
                    path: data_dir.display().to_string(),
                    source,
                })?,
            );
        ingest.recover()?;
        crate::storage::purge::finish_interrupted(&store, data_dir)?;
        // Created before the components so each can be handed a clone to send on.
        let events = Events::new();

        let shutdown = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        // The API is up before devices can connect, so "listening" means usable in every way.
        let api = Arc::new(crate::api::Api::new(config, store.clone(), events.clone())?);
        let activity = Arc::new(crate::metrics::Activity::new()?);
        let http = crate::http::spawn(
            &config.http,
            data_dir,
            for_window,
            api.clone(),
            activity.clone(),
            shutdown.clone(),
        )?;
        let (http_addr, window_http_addr) = (http.addr, http.window_addr);
        threads.push(http.thread);
        let listener = Listener::bind(&config.dicom, ingest.clone(), activity.clone())?;
        let dicom_addr = listener
            .local_addr()
            .map_err(|source| ListenerError::Bind {
                addr: format!("{}:{}", config.dicom.bind, config.dicom.port),
                source,
            })?;
        tracing::info!(
            ae_title = %config.dicom.ae_title,
            addr = %dicom_addr,
            data_dir = %data_dir.display(),
            "DICOM listener ready"
        );
        // Ready from here on (`/readyz`): the port is held, so a device's association waits
        // in the backlog until the thread below accepts it.
        activity.set_listener_bound();
        let live = api.live_config();
        let listener = listener
            .follow(live.clone())
            .record_refusals(api.refusals());
        let stop = shutdown.clone();
        threads.push(std::thread::spawn(move || listener.run(stop)));
        // Sending and watching restart when an admin changes their settings (see `groups`).
        let parts = groups::Parts {
            store: store.clone(),
            ingest: ingest.clone(),
            events: events.clone(),
        };
        let sending = groups::start_sending(config, &parts)?;
        let watching = groups::start_watching(config, &parts);
        let stop = shutdown.clone();
        let retention = (
            store.clone(),
            data_dir.clone(),
            live.clone(),
            events.clone(),
        );
        threads.push(std::thread::spawn(move || {
            groups::supervise(live, parts, sending, watching, stop)
        }));
        let stop = shutdown.clone();
        threads.push(std::thread::spawn(move || {
            let (store, data_dir, live, events) = retention;
            crate::storage::schedule::run(store, data_dir, live, events, stop)
        }));
        let (feed_store, feed_db, feed_events, stop_feed) = (
            store.clone(),
            config.db_path(),
            events.clone(),
            shutdown.clone(),
        );
        threads.push(std::thread::spawn(move || {
            crate::changes::run(feed_store, feed_db, feed_events, stop_feed)
        }));
        let (upkeep_live, upkeep_store, upkeep_dir, stop_upkeep) = (
            api.live_config(),
            store.clone(),
            data_dir.clone(),
            shutdown.clone(),
        );
        threads.push(std::thread::spawn(move || {
            crate::storage::nightly::run(upkeep_live, upkeep_store, &upkeep_dir, stop_upkeep)
        }));
        Ok(Station {
            dicom_addr,
            http_addr,
            window_http_addr,
            api,
            store,
            events,
            activity,
            shutdown,
            threads,
            _lock: lock,
        })
    }

    /// Stops accepting, lets the threads notice, and waits for them. Associations in progress
    /// end with their connection; anything not committed is discarded at next start.
    pub fn shutdown(self) {
        self.shutdown.store(true, Ordering::Relaxed);
        for t in self.threads {
            let _ = t.join();
        }
    }
}
