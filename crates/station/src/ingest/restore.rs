//! Putting back the file of an instance that retention deleted after delivery (issue 13):
//! fetched back from a hub, or sent again by a device. The order is commit's: the bytes are
//! staged and fsynced, checked, renamed to the row's own path, the directory fsynced, then the
//! row says the file is on disk again.
//!
//! Must never: put back bytes other than those deleted (the row kept their SHA-256), or write
//! over an existing file.

use std::io;

use super::{Ingest, IngestError, StagedFile};
use crate::store::retention;

impl Ingest {
    /// Puts `staged` back as the file of purged instance `instance_id`. Refused (and the staged
    /// file deleted) when its SHA-256 is not the one the row kept; nothing to do when the
    /// instance is not purged (its file is there).
    pub fn restore(&self, mut staged: StagedFile, instance_id: i64) -> Result<(), IngestError> {
        let conn = self.store.lock();
        let Some((sha256, rel_path)) = retention::purged_file(&conn, instance_id)? else {
            return Ok(());
        };
        if staged.sha256 != sha256 {
            return Err(IngestError::NotTheSame {
                expected: sha256,
                found: staged.sha256.clone(),
            });
        }
        let final_path = self.data_dir.join(&rel_path);
        let dir = final_path
            .parent()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, rel_path.clone()))?;
        std::fs::create_dir_all(dir)?;
        if final_path.exists() {
            // Left by a purge a crash interrupted: the start deletes it; never written over.
            return Err(IngestError::Io(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{rel_path} exists while its instance is purged"),
            )));
        }
        std::fs::rename(&staged.path, &final_path)?;
        staged.mark_consumed();
        let restored = crate::disk::sync_dir(dir)
            .map_err(IngestError::from)
            .and_then(|()| Ok(retention::mark_restored(&conn, instance_id)?));
        if let Err(e) = restored {
            let _ = std::fs::remove_file(&final_path);
            return Err(e);
        }
        tracing::info!(id = instance_id, path = %rel_path, "file of a purged instance is back");
        Ok(())
    }
}
