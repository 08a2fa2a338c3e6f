//! The files a destination is sent: the stored file (or its corrected copy) as it is, or, for a
//! destination whose `transfer_syntax` is a lossless codec, a compressed copy made from it
//! (`dicom::compress`) just before its request, on tokio's blocking pool and at most one per
//! CPU core across all destinations, so encoding never stalls the requests already in flight.
//! A copy lives under `derived/wire/` only while its request is out: it is deleted when the
//! answer is in (whatever it says), and everything there is thrown away at start, so a crash
//! leaves nothing behind. Retention and the integrity check never look there.
//!
//! A hub that refuses a compressed instance (HTTP 415 or 406, or a Failure Reason saying it
//! cannot take it) is remembered for the destination (`store::wire`): the instance is sent
//! again as received, and so is everything after it.
//!
//! Must never: send a copy that is not complete (it is renamed into place only once written),
//! send anything but the original when the copy cannot be made (the reason is logged), or
//! delete anything outside `derived/wire/`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use station_codec::Codec;
use tokio::sync::Semaphore;

use rusqlite::Connection;

use crate::config::Destination;
use crate::dicom::compress::{self, Outcome};
use crate::store::queue::{PendingInstance, SentBytes};
use crate::store::{self, StoreError};

/// Where compressed copies live while their request is out, under the data directory.
const WIRE_DIR: &str = "derived/wire";

/// One instance ready to go: the file to send. A compressed copy is deleted when this is dropped.
pub(super) struct Ready {
    pub path: PathBuf,
    /// The compressed copy's size as written; `None`: the original goes as it is.
    copy_bytes: Option<u64>,
}

impl Ready {
    /// Whether what is sent is a compressed copy.
    pub fn is_copy(&self) -> bool {
        self.copy_bytes.is_some()
    }

    /// The sizes of what `p` would have gone as (the stored file or its corrected copy, as
    /// the index has it) and of what is sent for it, recorded once the hub stores it.
    pub fn bytes(&self, p: &PendingInstance) -> SentBytes {
        let sent = self.copy_bytes.map_or(p.size, |b| b as i64);
        SentBytes {
            original: p.size,
            sent,
        }
    }
}

/// The codec `dest`'s instances are compressed with now: none for `as-received`, nor once its
/// hub refused that codec (`store::wire`).
pub(super) fn codec_for(
    conn: &Connection,
    dest: &Destination,
) -> Result<Option<Codec>, StoreError> {
    let Some(codec) = dest.transfer_syntax.codec() else {
        return Ok(None);
    };
    let refused = store::wire::refusal(conn, &dest.name, codec.setting_name())?;
    Ok(refused.is_none().then_some(codec))
}

/// Failure Reasons (PS3.4 B.2.3, PS3.18 Table 10.5.3-1) a hub gives a compressed instance it
/// cannot take in that form: SOP class or transfer syntax not supported (0xC122, 0x0122), data
/// set does not match the SOP class (0xA9xx).
pub(super) fn refuses_compression(code: u16) -> bool {
    matches!(code, 0xC122 | 0x0122 | 0xA900..=0xA9FF)
}

/// Remembers that `dest`'s hub refused its codec: what it is sent from now on is as received.
pub(super) fn remember_refusal(
    conn: &Connection,
    dest: &Destination,
    reason: &str,
) -> Result<(), StoreError> {
    let Some(codec) = dest.transfer_syntax.codec() else {
        return Ok(());
    };
    if store::wire::refusal(conn, &dest.name, codec.setting_name())?.is_none() {
        tracing::warn!(destination = %dest.name, %codec, reason, "the hub refuses compressed instances; they go as received from now on");
        store::wire::record_refusal(conn, &dest.name, codec.setting_name(), reason)?;
    }
    Ok(())
}

impl Drop for Ready {
    fn drop(&mut self) {
        if self.is_copy() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A destination's way of making what it sends.
pub(super) struct WireCopies {
    dir: PathBuf,
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
    pub fn new(data_dir: &Path, cpu: Arc<Semaphore>) -> WireCopies {
        WireCopies {
            dir: data_dir.join(WIRE_DIR),
            cpu,
        }
    }

    /// The file to send for `original` (instance `instance_id` of queue row `queue_id`),
    /// compressed with `codec` if there is one and the image allows it.
    pub async fn file_for(
        &self,
        original: PathBuf,
        codec: Option<Codec>,
        queue_id: i64,
        instance_id: i64,
    ) -> Ready {
        let as_received = |path| Ready {
            path,
            copy_bytes: None,
        };
        let Some(codec) = codec else {
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
                    copy_bytes: Some(c.size),
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
