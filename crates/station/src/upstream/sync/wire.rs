//! The files a destination is sent: the stored file (or its corrected copy) as it is, or, for a
//! destination whose `transfer_syntax` is a lossless codec, a compressed copy made from it
//! (`dicom::compress`) just before its request, on tokio's blocking pool and at most one per
//! CPU core across all destinations, so encoding never stalls the requests already in flight.
//! A copy lives under `derived/wire/` only while its request is out: it is deleted when the
//! answer is in (whatever it says), and everything there is thrown away at start, so a crash
//! leaves nothing behind. Retention and the integrity check never look there.
//!
//! Whether a request's images are compressed at all is `pace`'s choice (the fast-link rule);
//! each encode's speed is measured here for it.
//!
//! A hub that refuses a compressed instance (HTTP 415 or 406, or a Failure Reason saying it
//! cannot take it) is remembered for the destination (`store::wire`): the instance is sent
//! again as received, and so is everything after it.
//!
//! A copy no smaller than its original (noise compresses badly) is deleted and the original
//! sent, the reason logged like any other.
//!
//! Must never: send a copy that is not complete (it is renamed into place only once written),
//! send anything but the original when the copy cannot be made (the reason is logged), or
//! delete anything outside `derived/wire/`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use station_codec::Codec;
use tokio::sync::Semaphore;

use rusqlite::Connection;

use crate::config::Destination;
use crate::dicom::compress::{self, Declined, Outcome};
use crate::store::queue::{PendingInstance, SentBytes};
use crate::store::{self, StoreError};

use super::pace::Pace;

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

/// Encoders that may run at once: one per CPU core.
pub(super) fn encoders() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Permits for encoders, shared by every destination.
pub(super) fn cpu_permits() -> Arc<Semaphore> {
    Arc::new(Semaphore::new(encoders()))
}

impl WireCopies {
    pub fn new(data_dir: &Path, cpu: Arc<Semaphore>) -> WireCopies {
        WireCopies {
            dir: data_dir.join(WIRE_DIR),
            cpu,
        }
    }

    /// The file to send for `original` (instance `instance_id` of queue row `queue_id`),
    /// compressed with `codec` if there is one and the image allows it; the encode's speed goes
    /// to `pace`.
    pub async fn file_for(
        &self,
        original: PathBuf,
        codec: Option<Codec>,
        (queue_id, instance_id): (i64, i64),
        pace: &Pace,
    ) -> Ready {
        let as_received = |path: PathBuf| Ready {
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
        let made = tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let made = compress::write_compressed(&from, &to, codec);
            (made, started.elapsed())
        })
        .await;
        match made {
            Ok((Ok(Outcome::Compressed(c)), took)) => {
                pace.encoded(c.native_bytes, took);
                let original_size = std::fs::metadata(&original).map_or(0, |m| m.len());
                if c.size >= original_size {
                    let _ = std::fs::remove_file(&dest);
                    let why = Declined::NotSmaller {
                        copy: c.size,
                        original: original_size,
                    };
                    tracing::info!(file = %original.display(), %codec, reason = why.code(), detail = %why, "sent as received");
                    return as_received(original);
                }
                tracing::debug!(file = %original.display(), %codec, frames = c.frames, native = c.native_bytes, compressed = c.encapsulated_bytes, ms = took.as_millis() as u64, "compressed copy ready");
                Ready {
                    path: dest,
                    copy_bytes: Some(c.size),
                }
            }
            Ok((Ok(Outcome::AsReceived(why)), _)) => {
                tracing::info!(file = %original.display(), %codec, reason = why.code(), detail = %why, "sent as received");
                as_received(original)
            }
            Ok((Err(e), _)) => {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dicom::element::{element, padded};
    use crate::dicom::part10::{prefix, FileMeta};

    /// An Explicit VR Little Endian 64×64 8-bit image of `pixels`.
    fn image(pixels: &[u8]) -> Vec<u8> {
        const SC: &str = "1.2.840.10008.5.1.4.1.1.7";
        let mut out = prefix(&FileMeta::station(SC, "1.2.3.4", "1.2.840.10008.1.2.1")).unwrap();
        let mut put = |tag: u32, vr: [u8; 2], v: &[u8]| {
            out.extend(element(tag, vr, &padded(vr, v.to_vec()), true).unwrap());
        };
        let us = |v: u16| v.to_le_bytes();
        put(0x0008_0016, *b"UI", SC.as_bytes());
        put(0x0028_0002, *b"US", &us(1));
        put(0x0028_0004, *b"CS", b"MONOCHROME2");
        put(0x0028_0010, *b"US", &us(64));
        put(0x0028_0011, *b"US", &us(64));
        put(0x0028_0100, *b"US", &us(8));
        put(0x0028_0101, *b"US", &us(8));
        put(0x0028_0102, *b"US", &us(7));
        put(0x0028_0103, *b"US", &us(0));
        put(0x7FE0_0010, *b"OB", pixels);
        out
    }

    fn send(pixels: &[u8]) -> (bool, u64, u64, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let original = dir.path().join("in.dcm");
        std::fs::write(&original, image(pixels)).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let copies = WireCopies::new(dir.path(), cpu_permits());
        let pace = Pace::new("hub", true, 1);
        let ready = rt.block_on(copies.file_for(
            original.clone(),
            Some(Codec::JpegLsLossless),
            (1, 1),
            &pace,
        ));
        let size = std::fs::metadata(&original).unwrap().len();
        let sent = (ready.is_copy(), ready.copy_bytes.unwrap_or(size), size);
        drop(ready);
        (sent.0, sent.1, sent.2, dir)
    }

    fn left(dir: &Path) -> usize {
        std::fs::read_dir(dir.join(WIRE_DIR)).map_or(0, |d| d.count())
    }

    /// White noise over all 256 grey levels cannot be made smaller: the original goes, and the
    /// copy is gone. A smooth image of the same size goes compressed.
    #[test]
    fn a_copy_no_smaller_than_the_original_is_not_sent() {
        let mut noise = 0x2545_F491_u32;
        let pixels: Vec<u8> = (0..64 * 64)
            .map(|_| {
                noise ^= noise << 13;
                noise ^= noise >> 17;
                noise ^= noise << 5;
                (noise >> 24) as u8
            })
            .collect();
        let (copy, sent, original, dir) = send(&pixels);
        assert!(!copy, "noise goes as received");
        assert_eq!(sent, original);
        assert_eq!(left(dir.path()), 0, "the copy is deleted");

        let smooth: Vec<u8> = (0..64 * 64).map(|i| (i / 64 + i % 64) as u8).collect();
        let (copy, sent, original, dir) = send(&smooth);
        assert!(copy, "a smooth image goes compressed");
        assert!(sent < original, "{sent} < {original}");
        assert_eq!(left(dir.path()), 0, "the copy is deleted once sent");
    }
}
