//! The LAN HTTP server: the engine API as JSON over HTTP for browsers on the clinic network and
//! a clinic's HIS, live updates as server-sent events, the OpenAPI document, and the built UI.
//!
//! It runs on its own thread with its own tokio runtime; every API call goes to a blocking
//! thread (SQLite, argon2), so the async workers only move bytes.
//!
//! With `[http] tls` it speaks HTTPS (`tls`): the LAN, the monitoring paths and all. The desktop
//! window of the same process then reaches it on a plain-HTTP listener of its own on loopback
//! (its web view would refuse the station's self-signed certificate; loopback never leaves the
//! PC).
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
pub mod tls;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::watch;

use crate::api::Api;
use crate::config::HttpConfig;
use crate::metrics::Activity;

pub use openapi::document;

/// Why the HTTP server could not start.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The address is taken or not allowed.
    #[error("cannot listen for HTTP on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: String,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The server's tokio runtime could not be made.
    #[error("cannot start the HTTP server's runtime: {0}")]
    Runtime(std::io::Error),
    /// The HTTPS certificate could not be read or made.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
}

/// The HTTP server, listening.
pub struct Bound {
    /// The LAN address (HTTPS when `[http] tls` is on).
    pub addr: SocketAddr,
    /// Where this process's own desktop window reaches the server: `addr`, or with TLS on the
    /// window's plain-HTTP listener on loopback (see the module's comment).
    pub window_addr: SocketAddr,
    /// The server's thread; it ends when the station shuts down.
    pub thread: JoinHandle<()>,
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

/// Binds `[http]` now (so a taken port, or a certificate file that cannot be used, is an error
/// at start) and serves on a thread until `shutdown` is set. `for_window`: also the desktop
/// window's plain loopback listener when TLS is on.
pub fn spawn(
    config: &HttpConfig,
    data_dir: &Path,
    for_window: bool,
    api: Arc<Api>,
    activity: Arc<Activity>,
    shutdown: Arc<AtomicBool>,
) -> Result<Bound, HttpError> {
    let tls = tls::prepare(config, data_dir)?;
    let addr = format!("{}:{}", config.bind, config.port);
    let listener = bind(&addr)?;
    let local = listener.local_addr().map_err(|source| HttpError::Bind {
        addr: addr.clone(),
        source,
    })?;
    let window = match (&tls, for_window) {
        (Some(_), true) => Some(bind(
            &SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).to_string(),
        )?),
        _ => None,
    };
    let window_addr = match &window {
        Some(w) => w.local_addr().map_err(|source| HttpError::Bind {
            addr: "127.0.0.1:0".into(),
            source,
        })?,
        None => local,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("http")
        .enable_all()
        .build()
        .map_err(HttpError::Runtime)?;
    let limits = listen::Limits::from_config(config);
    let allowed_hosts = Arc::new(security::AllowedHosts::new(&config.allowed_hosts));
    let acceptor = tls.as_ref().map(|t| t.acceptor.clone());
    if let Some(t) = &tls {
        api.set_https_certificate(t.certificate.clone());
    }
    let thread = std::thread::spawn(move || {
        runtime.block_on(async move {
            let (stop_tx, stopping) = watch::channel(false);
            let (listener, window) = match (
                tokio::net::TcpListener::from_std(listener),
                window.map(tokio::net::TcpListener::from_std).transpose(),
            ) {
                (Ok(l), Ok(w)) => (l, w),
                (Err(e), _) | (_, Err(e)) => {
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
            let lan = listen::serve(listener, app.clone(), limits, acceptor, stopping.clone());
            match window {
                Some(w) => {
                    tokio::join!(lan, listen::serve(w, app, limits, None, stopping));
                }
                None => lan.await,
            }
            watcher.abort();
        });
    });
    match &tls {
        Some(t) => tracing::info!(
            addr = %local,
            certificate = %t.certificate.file,
            sha256 = %t.certificate.sha256,
            "HTTPS API and UI ready"
        ),
        None => tracing::info!(addr = %local, "HTTP API and UI ready"),
    }
    if window_addr != local {
        tracing::info!(addr = %window_addr, "plain HTTP on loopback for the desktop window");
    }
    Ok(Bound {
        addr: local,
        window_addr,
        thread,
    })
}

/// A listening socket the tokio runtime can take over.
fn bind(addr: &str) -> Result<std::net::TcpListener, HttpError> {
    let bind_err = |source| HttpError::Bind {
        addr: addr.to_owned(),
        source,
    };
    let listener = std::net::TcpListener::bind(addr).map_err(bind_err)?;
    listener.set_nonblocking(true).map_err(bind_err)?;
    Ok(listener)
}
