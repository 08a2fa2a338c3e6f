//! Putting back the file of an instance that retention deleted after delivery (issue 13):
//! fetched back from a hub, or sent again by a device. The order is commit's: the bytes are
//! staged and fsynced, checked, renamed to the row's own path, the directory fsynced, then the
//! row says the file is on disk again.
//!
//! The check: the SHA-256 the row kept, when the hub returns the file as it was sent; else (a
//! hub that stored it in another native transfer syntax) the same SOP Instance UID and the same
//! native pixel data (`dicom::pixels`), and the row then describes the new file.
//!
//! Must never: put back bytes that are not the image deleted, write over an existing file, or
//! read a file's pixels while holding the store's lock.

use std::io;

use super::{Ingest, IngestError, StagedFile};
use crate::dicom::{header, pixels};
use crate::store::retention::{self, PurgedFile};

/// How the staged bytes were found to be the image deleted.
enum Same {
    /// Byte for byte.
    Bytes,
    /// Same instance and pixels in another native syntax: the row takes the new file's facts.
    Pixels { transfer_syntax: String },
}

impl Ingest {
    /// Puts `staged` back as the file of purged instance `instance_id`. Refused (and the staged
    /// file deleted) when it is not the image deleted; nothing to do when the instance is not
    /// purged (its file is there).
    pub(crate) fn restore(
        &self,
        mut staged: StagedFile,
        instance_id: i64,
    ) -> Result<(), IngestError> {
        let Some(kept) = retention::purged_file(&self.store.lock(), instance_id)? else {
            return Ok(());
        };
        let same = same_image(&staged, &kept)?;
        let conn = self.store.lock();
        // Put back meanwhile (a device sending it again): nothing left to do.
        if retention::purged_file(&conn, instance_id)?.as_ref() != Some(&kept) {
            return Ok(());
        }
        let final_path = self.data_dir.join(&kept.path);
        let dir = final_path
            .parent()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, kept.path.clone()))?;
        std::fs::create_dir_all(dir)?;
        if final_path.exists() {
            // Left by a purge a crash interrupted: the start deletes it; never written over.
            return Err(IngestError::Io(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists while its instance is purged", kept.path),
            )));
        }
        std::fs::rename(&staged.path, &final_path)?;
        staged.mark_consumed();
        let restored = crate::disk::sync_dir(dir)
            .map_err(IngestError::from)
            .and_then(|()| {
                let marked = match &same {
                    Same::Bytes => retention::mark_restored(&conn, instance_id),
                    Same::Pixels { transfer_syntax } => retention::mark_restored_as(
                        &conn,
                        instance_id,
                        staged.size,
                        &staged.sha256,
                        transfer_syntax,
                    ),
                };
                Ok(marked?)
            });
        if let Err(e) = restored {
            let _ = std::fs::remove_file(&final_path);
            return Err(e);
        }
        match same {
            Same::Bytes => {
                tracing::info!(id = instance_id, path = %kept.path, "file of a purged instance is back")
            }
            Same::Pixels { transfer_syntax } => {
                tracing::info!(id = instance_id, path = %kept.path, ts = %transfer_syntax, "file of a purged instance is back in another transfer syntax, same pixels")
            }
        }
        Ok(())
    }
}

/// Whether the staged file is the image that was deleted, and how that was shown.
fn same_image(staged: &StagedFile, kept: &PurgedFile) -> Result<Same, IngestError> {
    if staged.sha256 == kept.sha256 {
        return Ok(Same::Bytes);
    }
    let differs = || IngestError::NotTheSame {
        expected: kept.sha256.clone(),
        found: staged.sha256.clone(),
    };
    let Some(expected_pixels) = &kept.pixel_sha256 else {
        return Err(differs());
    };
    let found = header::read_part10(&staged.path)?;
    if found.sop_instance_uid != kept.sop_instance_uid {
        return Err(differs());
    }
    match pixels::native_sha256(&staged.path) {
        Ok(Some(p)) if &p == expected_pixels => Ok(Same::Pixels {
            transfer_syntax: found.transfer_syntax,
        }),
        _ => Err(differs()),
    }
}
