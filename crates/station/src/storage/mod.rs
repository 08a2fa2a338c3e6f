//! Storage that lasts for years (issue 13): retention after verified delivery (`retention`:
//! the policy; `purge`: deleting, crash-safe; `schedule`: when it runs), and fetching purged
//! files back from a hub (`fetchback`).
//!
//! Must never: delete a file some destination has not verified, or lose an index row, a
//! report or a preview to a purge.

pub mod fetchback;
pub mod purge;
pub mod retention;
pub mod schedule;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("cannot delete {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
}

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        StorageError::Store(e.into())
    }
}
