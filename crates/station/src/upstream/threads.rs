//! Threads per destination, each driving its own single-threaded tokio runtime: the shape
//! shared by the sync workers and the report pollers, so database work never runs on an async
//! executor and one slow hub never holds up another.
//!
//! Must never: start a thread for a destination whose hub settings are invalid (the whole
//! start fails instead, naming the problem).

use std::thread::JoinHandle;

use super::{Hub, UpstreamError};
use crate::config::{Config, Destination};

/// For each configured destination, `count` threads (none when it says 0): `make` builds each
/// one's worker from the destination and a hub with a connection pool of its own (a pooled
/// connection is driven by the runtime that opened it), and a thread named
/// `{role}-{destination}-{n}` runs `run(worker, runtime)`.
pub fn spawn_per_destination<W: Send + 'static>(
    config: &Config,
    role: &'static str,
    count: impl Fn(&Destination) -> usize,
    mut make: impl FnMut(&Destination, Hub) -> W,
    run: fn(W, &tokio::runtime::Runtime),
) -> Result<Vec<JoinHandle<()>>, UpstreamError> {
    let mut threads = Vec::new();
    for dest in &config.destinations {
        let n = count(dest);
        if n == 0 {
            continue;
        }
        let hub = Hub::for_destination(dest)?;
        for i in 0..n {
            threads.push(spawn_one(
                role,
                dest,
                i,
                make(dest, hub.with_own_connections()?),
                run,
            )?);
        }
    }
    Ok(threads)
}

fn spawn_one<W: Send + 'static>(
    role: &'static str,
    dest: &Destination,
    index: usize,
    worker: W,
    run: fn(W, &tokio::runtime::Runtime),
) -> Result<JoinHandle<()>, UpstreamError> {
    let name = dest.name.clone();
    std::thread::Builder::new()
        .name(format!("{role}-{name}-{index}"))
        .spawn(move || {
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => run(worker, &rt),
                Err(e) => {
                    tracing::error!(destination = %name, role, error = %e, "cannot start a runtime")
                }
            }
        })
        .map_err(|e| UpstreamError::Config(format!("cannot start {role} thread: {e}")))
}
