//! One thread per destination, each driving its own single-threaded tokio runtime: the shape
//! shared by the sync workers and the report pollers, so database work never runs on an async
//! executor and one slow hub never holds up another.
//!
//! Must never: start a thread for a destination whose hub settings are invalid (the whole
//! start fails instead, naming the problem).

use std::thread::JoinHandle;

use super::{Hub, UpstreamError};
use crate::config::{Config, Destination};

/// For each configured destination `wanted` accepts, `make` builds a worker from it and its
/// hub, and a thread named `{role}-{destination}` runs `run(worker, runtime)`.
pub fn spawn_per_destination<W: Send + 'static>(
    config: &Config,
    role: &'static str,
    wanted: impl Fn(&Destination) -> bool,
    mut make: impl FnMut(&Destination, Hub) -> W,
    run: fn(W, &tokio::runtime::Runtime),
) -> Result<Vec<JoinHandle<()>>, UpstreamError> {
    let mut threads = Vec::new();
    for dest in config.destinations.iter().filter(|d| wanted(d)) {
        let worker = make(dest, Hub::for_destination(dest)?);
        let name = dest.name.clone();
        let thread = std::thread::Builder::new()
            .name(format!("{role}-{name}"))
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
            .map_err(|e| UpstreamError::Config(format!("cannot start {role} thread: {e}")))?;
        threads.push(thread);
    }
    Ok(threads)
}
