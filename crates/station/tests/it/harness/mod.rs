//! The harness: everything the end-to-end tests share, one part per file.
//!
//! - [`station`]: a real `station serve` process on loopback ports with its own data directory;
//!   [`in_process`]: the same engine started inside the test, for its event bus.
//! - [`config`]: the station's configuration built from the engine's typed
//!   `station::config::Config` and written as TOML.
//! - [`data_dir`]: read-only looks at what a station wrote, and the end-of-test check that no
//!   staging leftovers or unindexed files remain.
//! - [`dcmtk`]: DCMTK's clients and tools, called by full path.
//! - [`orthanc`]: a real Orthanc as the regional hub, set up with a builder.
//! - [`chaos`]: a fault-injecting TCP proxy for bad links; [`fake_hub`]: a scripted HTTP server
//!   for what a real Orthanc will not do on demand (409, 429, stalls).
//! - [`api`]: a blocking client of the station's HTTP API (login, operations, event stream);
//!   [`metrics`]: `GET /metrics` with the center's scrape token.
//! - [`pki`]: certificates made with `openssl` for TLS tests.
//! - [`raw`]: a raw DICOM client (hand-made command sets and PDUs, any loopback address) for
//!   the tests of hostile peers.
//! - [`dataset`]: comparing what was sent with what was stored.
//! - [`fixtures`]: the demo clinic day, Chinese names in every character set devices use, and
//!   the documents a hub's doctors write.
//!
//! Every wait is a poll with a bound in time and count. Every process the harness starts is
//! killed when its handle is dropped. At the end of every test each data directory in its
//! [`Scratch`] is checked for staging leftovers (`tmp/`) and files under `instances/` without an
//! index row; finding any fails the test.

pub mod api;
pub mod chaos;
pub mod config;
pub mod data_dir;
pub mod dataset;
pub mod dcmtk;
pub mod fake_hub;
pub mod fixtures;
mod in_process;
pub mod metrics;
pub mod orthanc;
pub mod pki;
pub mod raw;
// Private: a public `station` module would shadow the `station` crate in every test that
// imports the harness with a glob. Its items are re-exported below.
mod station;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

pub use api::{settings_as_shown, Client};
pub use chaos::{ChaosProxy, Fault};
pub use config::{destination, device, watch_folder, Options};
pub use data_dir::{assert_index_matches_files, files_under, read_instances};
pub use dataset::{assert_same_dataset, read_part10, sha256_file};
pub use dcmtk::{run_tool, store_responses, ToolRun};
pub use fixtures::{by_sop, demo_day, dx_study};
pub use in_process::InProcess;
pub use metrics::{sample, scrape, with_scrape_token};
pub use orthanc::Orthanc;
pub use station::{configure, Station, ADMIN_PASSWORD, STATION_BIN};

/// Generous bounds: a debug build on a busy 2-core CI machine.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);
pub const WAIT_TIMEOUT: Duration = Duration::from_secs(60);
const POLL_STEP: Duration = Duration::from_millis(25);

/// A port nobody listens on right now (bound to 127.0.0.1:0 and released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("binding 127.0.0.1:0")
        .port()
}

/// Polls `check` until it returns `Some`, at most `timeout` and at most a bounded number of
/// times; panics naming `what` otherwise.
pub fn wait_for<T>(what: &str, timeout: Duration, check: impl FnMut() -> Option<T>) -> T {
    poll(what, timeout, POLL_STEP, check)
}

/// As [`wait_for`], polling every `step` (for catching short-lived states).
pub fn poll<T>(
    what: &str,
    timeout: Duration,
    step: Duration,
    check: impl FnMut() -> Option<T>,
) -> T {
    try_poll(timeout, step, check)
        .unwrap_or_else(|| panic!("timed out after {timeout:?} waiting for {what}"))
}

/// As [`poll`], but `None` at the end of the wait instead of a panic.
pub fn try_poll<T>(
    timeout: Duration,
    step: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> Option<T> {
    let start = Instant::now();
    let max_polls = (timeout.as_micros() / step.as_micros().max(1)) as usize + 1;
    for _ in 0..max_polls {
        if let Some(v) = check() {
            return Some(v);
        }
        if start.elapsed() >= timeout {
            break;
        }
        std::thread::sleep(step);
    }
    None
}

/// Waits for a child process to exit, killing it (and failing) if it does not within `timeout`.
pub fn wait_child(child: &mut Child, what: &str, timeout: Duration) -> ExitStatus {
    let status = try_poll(timeout, POLL_STEP, || {
        child.try_wait().expect("polling a child process")
    });
    status.unwrap_or_else(|| {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{what} did not exit within {timeout:?}");
    })
}

/// A scratch directory for a test: the station's data dir, config, logs and test inputs live in
/// it, and it is removed when the test ends (kept, and its path printed, when the environment
/// variable `STATION_IT_KEEP` is set).
///
/// When it is dropped at the end of a passing test, every data directory under it that no
/// station handle checked already (e.g. one `station import` wrote) gets the end-of-test check
/// of [`data_dir::check_clean`].
pub struct Scratch {
    dir: Option<tempfile::TempDir>,
}

impl Scratch {
    pub fn new() -> Scratch {
        Scratch {
            dir: Some(
                tempfile::Builder::new()
                    .prefix("station-it-")
                    .tempdir()
                    .expect("creating a temp dir"),
            ),
        }
    }
    pub fn path(&self) -> &Path {
        self.dir.as_ref().expect("scratch dir").path()
    }
    pub fn join(&self, p: impl AsRef<Path>) -> PathBuf {
        self.path().join(p)
    }
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch::new()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let unclean = if std::thread::panicking() {
            Vec::new()
        } else {
            data_dir::unchecked_data_dirs(self.path())
                .into_iter()
                .filter_map(|dir| data_dir::check_clean(&dir).err())
                .collect()
        };
        if std::env::var_os("STATION_IT_KEEP").is_some() {
            if let Some(dir) = self.dir.take() {
                eprintln!("kept scratch directory {}", dir.keep().display());
            }
        }
        // After the directory is kept (if asked): the evidence survives the failure.
        assert!(unclean.is_empty(), "{}", unclean.join("\n"));
    }
}
