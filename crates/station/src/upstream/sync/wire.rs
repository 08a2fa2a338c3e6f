//! The files a destination is sent: the stored file (or its corrected copy) as it is, or, for a
//! destination whose `transfer_syntax` is a lossless codec, a compressed copy made from it
//! (`dicom::compress`) just before its request, on tokio's blocking pool and at most one per
//! CPU core across all destinations, so encoding never stalls the requests already in flight.
//! A copy lives under `derived/wire/` only while its request is out: it is deleted when the
//! answer is in (whatever it says), and everything there is thrown away at start, so a crash
//! leaves nothing behind. Retention and the integrity check never look there.
//!
//! Must never: send a copy that is not complete (it is renamed into place only once written),
//! send anything but the original when the copy cannot be made (the reason is logged), or
//! delete anything outside `derived/wire/`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use station_codec::Codec;
use tokio::sync::Semaphore;

use crate::dicom::compress::{self, Outcome};

/// Where compressed copies live while their request is out, under the data directory.
const WIRE_DIR: &str = "derived/wire";

/// One instance ready to go: the file to send. A compressed copy is deleted when this is dropped.
pub(super) struct Ready {
    pub path: PathBuf,
    copy: bool,
}

impl Drop for Ready {
    fn drop(&mut self) {
        if self.copy {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A destination's way of making what it sends.
pub(super) struct WireCopies {
    dir: PathBuf,
    codec: Option<Codec>,
    /// Encoders running at once, shared by every destination's workers.
    cpu: Arc<Semaphore>,
}

/// Deletes what a previous run left in `derived/wire/` (copies of requests cut short).
pub(super) fn clear_stray(data_dir: &Path) {
    let dir = data_dir.join(WIRE_DIR);
    if dir.exists() {
        if let Err(e) = std::fs::remove_dir_all(&dir) {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot clear old compressed copies");
        }
    }
}

/// Permits for encoders: one per CPU core.
pub(super) fn cpu_permits() -> Arc<Semaphore> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    Arc::new(Semaphore::new(cores))
}

impl WireCopies {
    pub fn new(data_dir: &Path, codec: Option<Codec>, cpu: Arc<Semaphore>) -> WireCopies {
        WireCopies {
            dir: data_dir.join(WIRE_DIR),
            codec,
            cpu,
        }
    }

    /// The file to send for `original` (instance `instance_id` of queue row `queue_id`).
    pub async fn file_for(&self, original: PathBuf, queue_id: i64, instance_id: i64) -> Ready {
        let as_received = |path| Ready { path, copy: false };
        let Some(codec) = self.codec else {
            return as_received(original);
        };
        if let Err(e) = std::fs::create_dir_all(&self.dir) {
            tracing::warn!(error = %e, "cannot make the directory of compressed copies; sending as received");
            return as_received(original);
        }
        // One name per queue row (study and destination) and instance: no two workers share it.
        let dest = self.dir.join(format!("q{queue_id}-i{instance_id}.dcm"));
        let _permit = self.cpu.acquire().await.ok();
        let (from, to) = (original.clone(), dest.clone());
        let made =
            tokio::task::spawn_blocking(move || compress::write_compressed(&from, &to, codec))
                .await;
        match made {
            Ok(Ok(Outcome::Compressed(c))) => {
                tracing::debug!(file = %original.display(), %codec, frames = c.frames, native = c.native_bytes, compressed = c.encapsulated_bytes, "compressed copy ready");
                Ready {
                    path: dest,
                    copy: true,
                }
            }
            Ok(Ok(Outcome::AsReceived(why))) => {
                tracing::info!(file = %original.display(), %codec, reason = why.code(), detail = %why, "sent as received");
                as_received(original)
            }
            Ok(Err(e)) => {
                tracing::warn!(file = %original.display(), %codec, error = %e, "cannot make the compressed copy; sent as received");
                as_received(original)
            }
            Err(e) => {
                tracing::warn!(file = %original.display(), %codec, error = %e, "the encoder stopped; sent as received");
                as_received(original)
            }
        }
    }
}
