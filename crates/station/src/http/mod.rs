//! The LAN HTTP server: the engine API as JSON over HTTP for browsers on the clinic network and
//! a clinic's HIS, live updates as server-sent events, the OpenAPI document, and the built UI.
//!
//! It runs on its own thread with its own tokio runtime; every API call goes to a blocking
//! thread (SQLite, argon2), so the async workers only move bytes.
//!
//! The center's monitoring reads `/metrics` (with its scrape token), `/healthz` and `/readyz`
//! (no login) beside the API: they are not operations a person does, and carry no patient data.
//!
//! Must never: answer an API request without going through `Api::call`, or keep the station
//! from shutting down (open event streams end when the station stops).

mod dicomweb;
mod downloads;
mod listen;
mod monitor;
mod openapi;
mod routes;
mod security;
mod sse;
mod static_ui;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::watch;

use crate::api::Api;
use crate::config::HttpConfig;
use crate::metrics::Activity;

pub use openapi::document;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("cannot listen for HTTP on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("cannot start the HTTP server's runtime: {0}")]
    Runtime(std::io::Error),
}

/// What the routes share.
#[derive(Clone)]
pub(crate) struct AppState {
    pub api: Arc<Api>,
    /// The running station's counters and readiness (`/metrics`, `/readyz`).
    pub activity: Arc<Activity>,
    /// Turns `true` when the station stops; event streams end on it.
    pub stopping: watch::Receiver<bool>,
}

/// Binds `[http]` now (so a taken port is an error at start) and serves on a thread until
/// `shutdown` is set.
pub fn spawn(
    config: &HttpConfig,
    api: Arc<Api>,
    activity: Arc<Activity>,
    shutdown: Arc<AtomicBool>,
) -> Result<(SocketAddr, JoinHandle<()>), HttpError> {
    let addr = format!("{}:{}", config.bind, config.port);
    let bind_err = |source| HttpError::Bind {
        addr: addr.clone(),
        source,
    };
    let listener = std::net::TcpListener::bind(&addr).map_err(bind_err)?;
    listener.set_nonblocking(true).map_err(bind_err)?;
    let local = listener.local_addr().map_err(bind_err)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("http")
        .enable_all()
        .build()
        .map_err(HttpError::Runtime)?;
    let limits = listen::Limits::from_config(config);
    let allowed_hosts = Arc::new(security::AllowedHosts::new(&config.allowed_hosts));
    let thread = std::thread::spawn(move || {
        runtime.block_on(async move {
            let (stop_tx, stopping) = watch::channel(false);
            let listener = match tokio::net::TcpListener::from_std(listener) {
                Ok(l) => l,
                Err(e) => {
                    tracing::error!(error = %e, "HTTP listener unusable");
                    return;
                }
            };
            let app = routes::router(AppState {
                api,
                activity,
                stopping: stopping.clone(),
            })
            .layer(axum::middleware::from_fn(security::no_token_in_url))
            .layer(axum::middleware::from_fn_with_state(
                allowed_hosts,
                security::host,
            ))
            // Outermost, so a refusal carries the headers too.
            .layer(axum::middleware::from_fn(security::headers));
            let watcher = tokio::spawn(async move {
                while !shutdown.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                let _ = stop_tx.send(true);
            });
            listen::serve(listener, app, limits, stopping).await;
            watcher.abort();
        });
    });
    tracing::info!(addr = %local, "HTTP API and UI ready");
    Ok((local, thread))
}
