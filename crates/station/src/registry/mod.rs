//! Registration: the clinic's patients and their orders (one Scheduled Procedure Step each),
//! served to devices as a Modality Worklist (`scp::worklist`), and matching each completed
//! study to its order (`matching`), with the order's patient data applied to what is sent
//! (`correction`).
//!
//! These are plain functions over a SQLite connection with typed errors; the API layer and the
//! CLI wrap them. Every change is written to the audit trail in the same transaction.
//!
//! Must never: change a received file, or change anything without its audit entry.

pub mod correction;
pub mod idcard;
pub mod identity;
pub mod matching;
pub mod orders;
pub mod patients;

use crate::store::StoreError;

/// Why a registration, order or matching operation was refused; nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The index could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The ID card number is not a valid one.
    #[error(transparent)]
    IdCard(#[from] idcard::IdCardError),
    /// What was typed disagrees with what the ID card number says.
    #[error("{field} {typed} does not match the ID card number, which says {from_card}")]
    Mismatch {
        /// The field that disagrees (sex or birth date).
        field: Field,
        /// What was typed.
        typed: String,
        /// What the card number says.
        from_card: String,
    },
    /// A field's value is not acceptable.
    #[error("{field}: {reason}")]
    Invalid {
        /// The field.
        field: Field,
        /// Why, in English.
        reason: String,
    },
    /// A value that must be unique (clinic ID, ID card number, accession) is taken.
    #[error("{what} {value} is already registered")]
    Duplicate {
        /// What kind of value.
        what: Field,
        /// The value.
        value: String,
    },
    /// The record the operation names does not exist.
    #[error("no {what} {key}")]
    NotFound {
        /// What kind of record.
        what: Field,
        /// The key it was looked up by.
        key: String,
    },
    /// The record is not in a state that allows this (e.g. a study not waiting for its patient
    /// check); the message says which.
    #[error("{0}")]
    State(String),
    /// The patient a study is assigned to differs from the one the device sent, and the caller
    /// did not confirm it.
    #[error("the device sent another patient: {}; confirm to assign it anyway", identity::describe(.0))]
    PatientMismatch(Vec<identity::Difference>),
    /// The corrected copy of a study's files could not be written.
    #[error("cannot write the corrected copy")]
    Correction(#[from] correction::CorrectionError),
}

/// What a registry error is about. Messages name it in English (`Display`); the API names it in
/// the caller's language from this, not from the English text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The patient's name.
    Name,
    /// The patient's sex.
    Sex,
    /// The patient's birth date.
    BirthDate,
    /// The patient's phone number.
    Phone,
    /// The clinic's own patient ID.
    ClinicId,
    /// The national ID card number.
    IdCard,
    /// An order's modality.
    Modality,
    /// An order's priority.
    Priority,
    /// An order's scheduled date.
    ScheduledDate,
    /// An order's scheduled time.
    ScheduledTime,
    /// The AE title of the device an order is scheduled on.
    StationAe,
    /// An order's accession number.
    Accession,
    /// The patient an order is for, by clinic ID (must be registered first).
    RegisteredPatient,
    /// A patient, by clinic ID.
    Patient,
    /// A study, by Study Instance UID.
    Study,
    /// An order, by accession number.
    Order,
    /// An order that is not cancelled, by accession number.
    OpenOrder,
}

impl Field {
    /// The English words messages use.
    pub fn name(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Sex => "sex",
            Field::BirthDate => "birth date",
            Field::Phone => "phone",
            Field::ClinicId => "clinic patient ID",
            Field::IdCard => "ID card number",
            Field::Modality => "modality",
            Field::Priority => "priority",
            Field::ScheduledDate => "scheduled date",
            Field::ScheduledTime => "scheduled time",
            Field::StationAe => "station AE title",
            Field::Accession => "accession number",
            Field::RegisteredPatient => "registered patient",
            Field::Patient => "patient",
            Field::Study => "study",
            Field::Order => "order with accession number",
            Field::OpenOrder => "open order with accession number",
        }
    }
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
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
pub(in crate::registry) fn write_transaction(
    conn: &mut rusqlite::Connection,
) -> rusqlite::Result<rusqlite::Transaction<'_>> {
    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
}

fn invalid(field: Field, reason: impl Into<String>) -> RegistryError {
    RegistryError::Invalid {
        field,
        reason: reason.into(),
    }
}
