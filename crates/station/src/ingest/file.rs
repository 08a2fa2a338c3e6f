//! Files handed to us by a watched folder, `station import` or crash recovery, staged for the
//! ingest path: PS3.10 files byte for byte, bare datasets behind a meta group we add.
//!
//! Must never: modify or delete the caller's file (moving it is the watcher's decision).

use std::fs::File;
use std::io::{self, BufReader};
use std::path::Path;

use super::{Ingest, IngestError, Outcome, StagedFile, Staging};
use crate::dicom::header::{self, FileKind};
use crate::store::{QuarantineReason, Source};

impl Ingest {
    /// Stages a copy of `path` and commits it. Unreadable files come back as
    /// [`IngestError::Unreadable`] with the reason, for quarantine.
    pub fn ingest_file(&self, path: &Path, source: &Source) -> Result<Outcome, IngestError> {
        let kind = header::sniff(path)?;
        let mut staging = match &kind {
            FileKind::Part10 => self.stage()?,
            FileKind::RawDataset { transfer_syntax } => {
                let h = header::read_raw_dataset(path, transfer_syntax)?;
                self.stage_part10(&h.sop_class_uid, &h.sop_instance_uid, transfer_syntax)?
            }
            FileKind::NotDicom { reason } => {
                return Err(IngestError::refused(
                    QuarantineReason::NotDicom,
                    reason.clone(),
                ))
            }
        };
        let mut input = BufReader::with_capacity(256 * 1024, File::open(path)?);
        io::copy(&mut input, &mut staging)?;
        let staged = staging.finish()?;
        self.commit(staged, source)
    }
}

/// Moves a file found under `instances/` back into staging (same filesystem: a rename) and
/// hashes it, so recovery can commit it through the one ingest path.
pub(crate) fn restage(tmp_dir: &Path, path: &Path) -> Result<StagedFile, IngestError> {
    let mut staging = Staging::create(tmp_dir)?;
    let mut input = BufReader::new(File::open(path)?);
    io::copy(&mut input, &mut staging)?;
    let staged = staging.finish()?;
    std::fs::remove_file(path)?;
    Ok(staged)
}
