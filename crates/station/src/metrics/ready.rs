//! Readiness for `GET /readyz`: the store answers, the DICOM listener holds its port, and the
//! data disk is above the floor (below it every image is refused). The reason given when not
//! ready is short and names no patient.
//!
//! Must never: write anything, or wait on anything but the store's lock.

use super::Activity;
use crate::config::Config;
use crate::store::{status, Store};

/// How long the check waits for the database's write lock: a load check gives up after a few
/// seconds, so a lock held elsewhere must show as "not ready", not as a check that hangs.
const STORE_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

/// Why the station cannot take images now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotReady {
    /// The index cannot be written within the wait (locked or failing).
    #[error("store unavailable: {0}")]
    Store(String),
    /// The DICOM listener does not hold its port: devices cannot connect.
    #[error("DICOM listener not bound")]
    Listener,
    /// Free space is below `[storage]`'s floor: new images are refused.
    #[error("disk below the floor: {free_mb} MB free, floor {floor_mb} MB")]
    DiskFull {
        /// Free space on the data directory's disk, MB.
        free_mb: u64,
        /// The configured floor, MB.
        floor_mb: u64,
    },
    /// Free space could not be read.
    #[error("disk space unreadable: {0}")]
    Disk(String),
}

/// Whether the station can take images now (`/readyz`): the index writable, the listener
/// bound, the disk above its floor.
pub fn readiness(config: &Config, store: &Store, activity: &Activity) -> Result<(), NotReady> {
    status::ping_writable(&store.lock(), STORE_WAIT).map_err(|e| NotReady::Store(e.to_string()))?;
    if !activity.listener_bound() {
        return Err(NotReady::Listener);
    }
    let free = fs4::available_space(&config.data_dir).map_err(|e| NotReady::Disk(e.to_string()))?;
    let floor = config.storage.min_free_bytes();
    if free < floor {
        return Err(NotReady::DiskFull {
            free_mb: free / (1024 * 1024),
            floor_mb: config.storage.min_free_mb,
        });
    }
    Ok(())
}
