//! Storage that lasts for years (issue 13): retention after verified delivery (`retention`:
//! the policy; `purge`: deleting, crash-safe; `schedule`: when it runs), fetching purged files
//! back from a hub (`fetchback`), and upkeep: a consistent backup of the index with the
//! settings (without secrets) and a manifest, and its restore (`backup`); the integrity check
//! of index rows against files, of unknown files and of the database (`verify`); the service's
//! nightly backup and weekly check (`nightly`), each run recorded (`store::runs`) for the
//! dashboard.
//!
//! Must never: delete a file some destination has not verified, or lose an index row, a
//! report or a preview to a purge; delete or overwrite a file the index does not know (it goes
//! to quarantine), or restore over a running station's data.

pub mod backup;
pub mod fetchback;
pub mod nightly;
pub mod purge;
pub mod retention;
pub mod schedule;
pub mod verify;

use std::io::{self, Read};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::store::runs::{self, StorageRun};
use crate::store::{Store, StoreError};

/// Why a purge (or its plan) failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The index could not be read or written.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// A file could not be deleted.
    #[error("cannot delete {path}: {source}")]
    File {
        /// The file, as shown to a person.
        path: String,
        /// The operating system's error.
        source: std::io::Error,
    },
}

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        StorageError::Store(e.into())
    }
}

/// How much of a file is read at once when hashing it.
pub const HASH_BLOCK: usize = 1 << 20;

/// The SHA-256 (lower-case hex) of the file at `path`, and its length, read in large blocks.
pub fn sha256_file(path: &Path) -> io::Result<(String, u64)> {
    sha256_file_with(path, &mut vec![0u8; HASH_BLOCK])
}

/// [`sha256_file`] reading through `buf`: one buffer for many files (the integrity check hashes
/// a hundred thousand small ones; a new block each would cost more than the hashing).
pub fn sha256_file_with(path: &Path, buf: &mut [u8]) -> io::Result<(String, u64)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut len = 0u64;
    loop {
        let n = file.read(buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        len += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), len))
}

/// Records a finished run (what the dashboard shows); a failure to record is logged, never
/// lost silently, and does not undo the run.
pub fn record(store: &Store, run: &StorageRun) {
    let recorded: Result<(), StoreError> = runs::record(&store.lock(), run);
    if let Err(e) = recorded {
        tracing::error!(kind = %run.kind, error = %e, "cannot record the storage run");
    }
}

#[cfg(test)]
mod tests;
