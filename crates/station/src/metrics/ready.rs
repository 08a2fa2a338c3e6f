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
    #[error("store unavailable: {0}")]
    Store(String),
    #[error("DICOM listener not bound")]
    Listener,
    #[error("disk below the floor: {free_mb} MB free, floor {floor_mb} MB")]
    DiskFull { free_mb: u64, floor_mb: u64 },
    #[error("disk space unreadable: {0}")]
    Disk(String),
}

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
