//! The one ingest path. The listener, the folder watcher (`watch`, with the exports `convert`
//! makes into DICOM), `station import`, the report poller and crash recovery
//! all end in [`Ingest::commit`]: bytes staged under a temporary name and fsynced, their header
//! read, renamed into `instances/<study>/<series>/<sop>.dcm`, the directory fsynced, and the
//! index row committed. Only after that does a caller report success to a device.
//!
//! Must never: leave a half-written file under a final name, index a file that is not fully on
//! disk or whose dataset is cut short, overwrite a stored instance, or decode pixel data.

pub mod file;
pub mod quarantine;
mod restore;
pub(crate) mod staging;

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::Config;
use crate::dicom::bounds;
use crate::dicom::header::{self, HeaderError};
use crate::dicom::part10::{self, FileMeta};
use crate::store::{self, NewInstance, QuarantineReason, Source, Store, StoreError};
pub(crate) use staging::{StagedFile, Staging};

/// Why an arriving object was not stored. Only `Unreadable` is about the object itself (it goes
/// to quarantine); the others are the station's trouble, and the sender may try again later.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Free space is under `storage.min_free_mb`: nothing new is accepted (a device sees A700).
    #[error("free disk space {free_mb} MB is below the configured floor of {floor_mb} MB; new images are refused until space is freed")]
    DiskFull {
        /// Free space on the data directory's disk, in MiB.
        free_mb: u64,
        /// The configured floor, in MiB.
        floor_mb: u64,
    },
    /// Reading, writing, fsyncing or renaming a file failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// The bytes are not an object we can store: they go to quarantine with the refusal.
    #[error("{0}")]
    Unreadable(Refusal),
    /// The index could not be read or written; nothing was stored.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Bytes meant to put back a purged file are not the ones deleted.
    #[error("the file is not the one deleted (SHA-256 {found}, expected {expected})")]
    NotTheSame {
        /// The SHA-256 (hex) recorded for the deleted file.
        expected: String,
        /// The SHA-256 (hex) of the bytes offered.
        found: String,
    },
}

/// Why a file cannot be stored: the reason a person is told (in their language, by the
/// screens) and the raw detail, which is what the reason file and the CLI say.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct Refusal {
    /// The kind of problem, which the screens translate.
    pub reason: QuarantineReason,
    /// What exactly is wrong, in English (written to `<file>.reason.txt`).
    pub detail: String,
}

impl Refusal {
    /// A refusal for `reason` with this detail.
    pub fn new(reason: QuarantineReason, detail: impl Into<String>) -> Refusal {
        Refusal {
            reason,
            detail: detail.into(),
        }
    }
}

impl IngestError {
    /// `Unreadable` with this reason and detail.
    pub fn refused(reason: QuarantineReason, detail: impl Into<String>) -> IngestError {
        IngestError::Unreadable(Refusal::new(reason, detail))
    }
}

impl From<HeaderError> for IngestError {
    fn from(e: HeaderError) -> Self {
        let reason = match e {
            HeaderError::Io(io) => return IngestError::Io(io),
            HeaderError::NotDicom(_) => QuarantineReason::NotDicom,
            HeaderError::Malformed(_) => QuarantineReason::Malformed,
            HeaderError::Missing(_) => QuarantineReason::MissingAttribute,
        };
        IngestError::refused(reason, e.to_string())
    }
}

/// What happened to one arriving object.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A new instance, durable and indexed.
    Stored {
        /// The new index row's id.
        instance_id: i64,
        /// The study it belongs to.
        study_uid: String,
    },
    /// Same SOP Instance UID, same bytes: acknowledged, not stored twice.
    Duplicate {
        /// The index row of the copy already stored.
        existing_id: i64,
    },
    /// Same SOP Instance UID, different bytes: both kept, this one flagged for a person.
    StoredForReview {
        /// The new index row's id.
        instance_id: i64,
        /// The study it belongs to.
        study_uid: String,
        /// Why a person must look (which stored instance it collides with).
        reason: String,
    },
}

/// The ingest path over one data directory and its index; shared (`Arc`) by every receiver.
pub struct Ingest {
    data_dir: PathBuf,
    tmp_dir: PathBuf,
    store: Arc<Store>,
    min_free_bytes: u64,
}

impl Ingest {
    /// Creates the data directory layout if needed.
    pub fn new(config: &Config, store: Arc<Store>) -> io::Result<Ingest> {
        let data_dir = config.data_dir.clone();
        let tmp_dir = data_dir.join("tmp");
        for dir in [
            &data_dir,
            &tmp_dir,
            &data_dir.join("instances"),
            &data_dir.join("quarantine"),
        ] {
            std::fs::create_dir_all(dir)?;
        }
        Ok(Ingest {
            data_dir,
            tmp_dir,
            store,
            min_free_bytes: config.storage.min_free_bytes(),
        })
    }

    pub(crate) fn store(&self) -> &Arc<Store> {
        &self.store
    }

    pub(crate) fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Refuses new data when the disk is under the floor (the device sees status A700).
    pub(crate) fn check_space(&self) -> Result<(), IngestError> {
        let free = fs4::available_space(&self.data_dir)?;
        if free < self.min_free_bytes {
            return Err(IngestError::DiskFull {
                free_mb: free / (1024 * 1024),
                floor_mb: self.min_free_bytes / (1024 * 1024),
            });
        }
        Ok(())
    }

    /// Opens a staging file, after checking the disk floor.
    pub(crate) fn stage(&self) -> Result<Staging, IngestError> {
        self.check_space()?;
        Ok(Staging::create(&self.tmp_dir)?)
    }

    /// Stages a PS3.10 object whose dataset arrives in pieces (the listener): writes the
    /// preamble and meta group, then the caller writes the dataset bytes as received.
    pub(crate) fn stage_part10(
        &self,
        sop_class_uid: &str,
        sop_instance_uid: &str,
        transfer_syntax: &str,
    ) -> Result<Staging, IngestError> {
        let mut staging = self.stage()?;
        staging.write_all(&part10_prefix(
            sop_class_uid,
            sop_instance_uid,
            transfer_syntax,
        )?)?;
        Ok(staging)
    }

    /// Reads the staged object's header, places it and indexes it. On error nothing remains:
    /// neither the staged file, nor a file under a final name, nor a row.
    pub(crate) fn commit(
        &self,
        mut staged: StagedFile,
        source: &Source,
    ) -> Result<Outcome, IngestError> {
        let header = header::read_part10(&staged.path)?;
        // The whole structure, not only the header: a dataset cut short (inside Pixel Data
        // too), lying about a length or nested past reason is refused now, not acknowledged
        // and forwarded, nor found later by a preview.
        bounds::check_file(&staged.path, bounds::MAX_STORED_DEPTH).map_err(|e| match e {
            bounds::OpenError::Io(io) => IngestError::Io(io),
            other => IngestError::refused(
                QuarantineReason::Malformed,
                format!("the object's structure is damaged: {other}"),
            ),
        })?;
        let dir_rel = format!(
            "instances/{}/{}",
            path_safe(&header.study_uid),
            path_safe(&header.series_uid)
        );
        let dir = self.data_dir.join(&dir_rel);
        std::fs::create_dir_all(&dir)?;

        // Held from the duplicate check to the commit, so two associations delivering the same
        // SOP Instance UID at once cannot both decide they are first.
        let mut conn = self.store.lock();
        let existing = store::instances_with_sop(&conn, &header.sop_instance_uid)?;
        if let Some(same) = existing.iter().find(|e| e.sha256 == staged.sha256) {
            if same.purged_at.is_some() {
                // Sent again after retention deleted it: the file is back on disk.
                let existing_id = same.id;
                drop(conn);
                self.restore(staged, existing_id)?;
                return Ok(Outcome::Duplicate { existing_id });
            }
            tracing::info!(sop = %header.sop_instance_uid, "duplicate with identical bytes, acknowledged and not stored again");
            return Ok(Outcome::Duplicate {
                existing_id: same.id,
            });
        }
        let (file_name, review_reason) = match existing.first() {
            None => (format!("{}.dcm", path_safe(&header.sop_instance_uid)), None),
            Some(first) => (
                format!(
                    "{}.v{}.dcm",
                    path_safe(&header.sop_instance_uid),
                    existing.len() + 1
                ),
                Some(format!(
                    "same SOP Instance UID as instance #{} ({}) but different content; both kept",
                    first.id, first.path
                )),
            ),
        };
        let rel_path = format!("{dir_rel}/{file_name}");
        let final_path = self.data_dir.join(&rel_path);
        if final_path.exists() {
            // A file without a row: left by a crash between rename and commit, and recovery has
            // not run over it. Never overwrite; recovery will index it.
            return Err(IngestError::Io(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{rel_path} exists but is not indexed; restart the station to recover it"),
            )));
        }
        std::fs::rename(&staged.path, &final_path)?;
        staged.mark_consumed();
        let indexed = crate::disk::sync_dir(&dir)
            .map_err(IngestError::from)
            .and_then(|()| {
                let tx = conn.transaction().map_err(StoreError::from)?;
                let id = store::insert_instance(
                    &tx,
                    &NewInstance {
                        header: &header,
                        size: staged.size,
                        sha256: &staged.sha256,
                        path: &rel_path,
                        source,
                        review_reason: review_reason.clone(),
                    },
                )?;
                tx.commit().map_err(StoreError::from)?;
                Ok(id)
            });
        let instance_id = match indexed {
            Ok(id) => id,
            Err(e) => {
                let _ = std::fs::remove_file(&final_path);
                return Err(e);
            }
        };
        drop(conn);
        // A study sent while it arrives has new work; a new study is looked at.
        self.store.doorbell.ring();
        tracing::info!(
            id = instance_id,
            sop_class = %header.sop_class_uid,
            sop = %header.sop_instance_uid,
            ts = %header.transfer_syntax,
            bytes = staged.size,
            source = %source.kind(),
            "stored instance"
        );
        if let Some(cs) = &header.charset_repaired {
            tracing::warn!(id = instance_id, declared = %header.charset, detected = %cs, "text decoded with a detected character set; instance flagged");
        }
        Ok(match review_reason {
            None => Outcome::Stored {
                instance_id,
                study_uid: header.study_uid,
            },
            Some(reason) => {
                tracing::warn!(id = instance_id, %reason, "instance flagged for review");
                Outcome::StoredForReview {
                    instance_id,
                    study_uid: header.study_uid,
                    reason,
                }
            }
        })
    }

    /// Crash recovery, run at start before anything is received: staging leftovers are deleted
    /// (no device was told "success" for them), and complete files under `instances/` that have
    /// no row (a crash between rename and commit) are indexed; one that cannot be read goes to
    /// quarantine (reason `orphan`). Returns how many were indexed.
    pub(crate) fn recover(&self) -> Result<usize, IngestError> {
        for entry in std::fs::read_dir(&self.tmp_dir)? {
            let path = entry?.path();
            tracing::info!(path = %path.display(), "removing unfinished staging file");
            std::fs::remove_file(&path)?;
        }
        let known = store::all_instance_paths(&self.store.lock())?;
        let mut recovered = 0;
        for entry in walkdir::WalkDir::new(self.data_dir.join("instances")) {
            let entry = entry.map_err(|e| IngestError::Io(e.into()))?;
            if !entry.file_type().is_file() {
                continue;
            }
            let rel = match entry.path().strip_prefix(&self.data_dir) {
                Ok(r) => r.to_string_lossy().replace('\\', "/"),
                Err(_) => continue,
            };
            if known.contains(&rel) {
                continue;
            }
            // One that is not a readable object would be lost in staging: it goes to quarantine
            // as the integrity check puts such files there.
            if let Err(e) = header::read_part10(entry.path()) {
                let IngestError::Unreadable(why) = IngestError::from(e) else {
                    continue;
                };
                let refusal = Refusal::new(
                    QuarantineReason::Orphan,
                    format!("{rel} was under instances/ without an index row and cannot be read ({why}); moved here at start"),
                );
                quarantine::quarantine_file(
                    &self.store,
                    entry.path(),
                    &self.data_dir.join("quarantine"),
                    &refusal,
                    false,
                )?;
                continue;
            }
            // Move it back to staging and commit it like any arrival.
            let staged = file::restage(&self.tmp_dir, entry.path())?;
            match self.commit(staged, &Source::Recovery { path: rel.clone() }) {
                Ok(_) => recovered += 1,
                Err(e) => tracing::error!(path = %rel, error = %e, "could not recover file"),
            }
        }
        if recovered > 0 {
            tracing::warn!(
                recovered,
                "indexed files left without a row by an earlier crash"
            );
        }
        Ok(recovered)
    }
}

/// Preamble, "DICM" and the file meta group (PS3.10 §7.1) for an object received over the
/// network, whose dataset bytes follow unchanged.
pub(crate) fn part10_prefix(
    sop_class_uid: &str,
    sop_instance_uid: &str,
    transfer_syntax: &str,
) -> Result<Vec<u8>, IngestError> {
    let meta = FileMeta::station(sop_class_uid, sop_instance_uid, transfer_syntax);
    part10::prefix(&meta).map_err(|e| {
        IngestError::refused(
            QuarantineReason::Malformed,
            format!("cannot write file meta group: {e}"),
        )
    })
}

/// UIDs are digits and dots; anything else (a broken device) must not escape the directory.
fn path_safe(uid: &str) -> String {
    let s: String = uid
        .chars()
        .map(|c| {
            if c.is_ascii_digit() || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    match s.as_str() {
        "" | "." | ".." => "_".into(),
        _ => s,
    }
}

#[cfg(test)]
mod tests;
