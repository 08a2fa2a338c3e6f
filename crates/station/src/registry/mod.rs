//! Registration: the clinic's patients and their orders (one Scheduled Procedure Step each),
//! served to devices as a Modality Worklist (`dicom::worklist`), and matching each completed
//! study to its order (`matching`), with the order's patient data applied to what is sent
//! (`correction`).
//!
//! These are plain functions over a SQLite connection with typed errors; the API layer and the
//! CLI wrap them. Every change is written to the audit trail in the same transaction.
//!
//! Must never: change a received file, or change anything without its audit entry.

pub mod correction;
pub mod idcard;
pub mod matching;
pub mod orders;
pub mod patients;

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    IdCard(#[from] idcard::IdCardError),
    /// What was typed disagrees with what the ID card number says.
    #[error("{field} {typed} does not match the ID card number, which says {from_card}")]
    Mismatch {
        field: &'static str,
        typed: String,
        from_card: String,
    },
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("{what} {value} is already registered")]
    Duplicate { what: &'static str, value: String },
    #[error("no {what} {key}")]
    NotFound { what: &'static str, key: String },
    #[error("{0}")]
    State(String),
    #[error("cannot write the corrected copy")]
    Correction(#[from] correction::CorrectionError),
}

impl From<rusqlite::Error> for RegistryError {
    fn from(e: rusqlite::Error) -> Self {
        RegistryError::Store(StoreError::Sqlite(e))
    }
}

/// Today's date in the station's local time zone, YYYYMMDD (the clinic's working day).
pub fn today() -> String {
    chrono::Local::now().format("%Y%m%d").to_string()
}

/// A transaction that takes the write lock at once (BEGIN IMMEDIATE). A deferred one that reads
/// first gets SQLITE_BUSY, without waiting, when the running station writes in between.
fn write_transaction(
    conn: &mut rusqlite::Connection,
) -> rusqlite::Result<rusqlite::Transaction<'_>> {
    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
}

/// Whether `e` is a UNIQUE constraint failure (a duplicate the caller names).
fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

fn invalid(field: &'static str, reason: impl Into<String>) -> RegistryError {
    RegistryError::Invalid {
        field,
        reason: reason.into(),
    }
}
