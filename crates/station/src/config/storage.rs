//! `[storage]`: the data disk's floor, retention after verified delivery (issue 13: days, the
//! high- and low-water marks) and the nightly backup with its integrity check.
//!
//! Must never: read the disk or the clock (the parts that act on these settings do).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Disk floor, retention, backups and integrity checks (`[storage]`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// Days after every destination verified a study before its image files are deleted (its
    /// index rows, previews, reports and hashes stay; the files come back from the hub on
    /// demand). 0 deletes them at the next purge after delivery.
    #[serde(default = "default_keep_days_after_delivery")]
    pub keep_days_after_delivery: u64,
    /// When the data disk is fuller than this (percent), delivered studies go before their
    /// days are up, oldest delivery first, until it is below `low_water_percent`; 100 turns
    /// early deletion off.
    #[serde(default = "default_high_water_percent")]
    pub high_water_percent: u8,
    /// Early deletion stops once the disk is at or below this use (percent).
    #[serde(default = "default_low_water_percent")]
    pub low_water_percent: u8,
    /// Below this much free space on the data disk new images are refused (status A700).
    pub min_free_mb: u64,
    /// Where the nightly backups of the index go; absent: `backups` in the data directory.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub backup_dir: Option<PathBuf>,
    /// Local time of day ("HH:MM") of the nightly backup, and of the weekly integrity check
    /// after it; empty: no scheduled backup or check.
    #[serde(default = "default_backup_time")]
    pub backup_time: String,
    /// The newest this many nightly backups are kept; older ones are deleted.
    #[serde(default = "default_backup_keep")]
    pub backup_keep: u32,
    /// Days between the integrity checks `station serve` runs (0: none).
    #[serde(default = "default_verify_every_days")]
    pub verify_every_days: u32,
}

fn default_backup_time() -> String {
    "02:30".into()
}

fn default_backup_keep() -> u32 {
    7
}

fn default_verify_every_days() -> u32 {
    7
}

fn default_keep_days_after_delivery() -> u64 {
    30
}

fn default_high_water_percent() -> u8 {
    90
}

fn default_low_water_percent() -> u8 {
    80
}

impl StorageConfig {
    /// The floor in bytes.
    pub fn min_free_bytes(&self) -> u64 {
        self.min_free_mb.saturating_mul(1024 * 1024)
    }

    /// The local time of the nightly backup; None when none is scheduled (or the value is not
    /// a time, which validation refuses).
    pub fn backup_at(&self) -> Option<chrono::NaiveTime> {
        let text = self.backup_time.trim();
        if text.is_empty() {
            return None;
        }
        chrono::NaiveTime::parse_from_str(text, "%H:%M").ok()
    }
}
