//! The engine running inside the desktop app: the same `Station` as `station serve`, started
//! with the same configuration, and the API dispatcher the window's `api_call` goes through.
//!
//! Must never: keep receiving after `shutdown` returns, or answer an operation without the
//! engine's dispatcher.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use station::api::{Api, ApiError};
use station::config::Config;
use station::events::Events;
use station::serve::{ServeError, Station};

/// The running engine and what the shell's parts (window bridge, tray, notifications) need of it.
pub struct Engine {
    /// The engine's event bus: the window's live updates and the tray's counts follow it.
    pub events: Events,
    /// The database, for the tray's and notifications' read-only queries.
    pub db: PathBuf,
    /// Where the window reaches the engine's HTTP server (previews, print views): the LAN
    /// server, or with `[http] tls` on a plain-HTTP listener of its own on loopback.
    pub http_addr: SocketAddr,
    api: Arc<Api>,
    station: Mutex<Option<Station>>,
}

impl Engine {
    /// Starts the station as `station serve` would (listener, sync, reports, HTTP), but with a
    /// loopback HTTP listener of its own for the window when the LAN server is TLS.
    pub fn start(config: &Config) -> Result<Engine, ServeError> {
        let station = Station::start_for_window(config)?;
        Ok(Engine {
            events: station.events.clone(),
            db: config.db_path(),
            http_addr: station.window_http_addr,
            api: station.api.clone(),
            station: Mutex::new(Some(station)),
        })
    }

    /// One API operation for the window, through the same dispatcher (and role check) as HTTP.
    pub fn call(&self, token: Option<&str>, op: &str, body: Value) -> Result<Value, ApiError> {
        self.api.call(token, op, body)
    }

    /// Stops receiving and waits for the engine's threads. Later calls do nothing.
    pub fn shutdown(&self) {
        let station = match self.station.lock() {
            Ok(mut guard) => guard.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(station) = station {
            tracing::info!("stopping the engine");
            station.shutdown();
        }
    }
}
