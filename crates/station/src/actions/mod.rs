//! The operation layer: every state change a person makes is one function here, called alike
//! by the API (`api/`, after its role check), the `station` command and the desktop shell
//! (through the API). Each takes the [`Actor`]: who acts, on which station. Its audit entry is
//! written in the same transaction as the change (by the function here, or by the domain
//! function it calls: `registry`, `reports`, `auth::users`), and once that commits its event,
//! if the change has one, goes out on the bus.
//!
//! Adding an operation: a function here taking `&Actor` that changes the store in one
//! transaction with its `store::audit` entry, then sends its `Event`; then the API handler
//! (`api/ops.rs`, `api/roles.rs`) and, if a person needs it from a shell, a `station`
//! subcommand over the same function.
//!
//! Must never: change state without its audit entry, or send an event for a change that did
//! not commit.

pub mod destination;
pub mod order;
pub mod patient;
pub mod report;
pub mod storage;
pub mod study;
pub mod token;
pub mod user;

use crate::auth::users::UserError;
use crate::events::{Event, Events};
use crate::registry::RegistryError;
use crate::reports::ReportError;
use crate::store::{Store, StoreError};

/// Who does something, on which station: what every action takes.
#[derive(Clone, Copy)]
pub struct Actor<'a> {
    /// The station's store the change is written to.
    pub store: &'a Store,
    /// The bus the change's event goes out on once it commits.
    pub events: &'a Events,
    /// The name the audit trail records: a username, or `cli` for the command line.
    pub name: &'a str,
}

impl<'a> Actor<'a> {
    /// `name` acting on this `store`, announcing on `events`.
    pub fn new(store: &'a Store, events: &'a Events, name: &'a str) -> Actor<'a> {
        Actor {
            store,
            events,
            name,
        }
    }

    /// Sends `event` after a committed change (nobody listening is fine).
    fn announce(&self, event: Event) {
        self.events.send(event);
    }
}

/// Why an action changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// No study with this Study Instance UID in the index (HTTP 404).
    #[error("no study {0}")]
    StudyNotFound(String),
    /// Hold, release or retry found no send of the study in a state it applies to.
    #[error("study {study_uid}: nothing to {action}")]
    NothingTo {
        /// What was asked.
        action: study::Action,
        /// The study it was asked of.
        study_uid: String,
    },
    /// Hold, release or retry asked of a study that waits for a technician (no order, or its
    /// patient to be checked): its sends, if any, stay held until it is assigned or confirmed.
    #[error("study {study_uid} waits to be assigned or its patient checked: nothing to {action}")]
    Unplaced {
        /// What was asked.
        action: study::Action,
        /// The study it was asked of.
        study_uid: String,
    },
    /// A patient, order or correction refused by the registry (invalid value, duplicate, not found).
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// A report could not be attached, signed or read.
    #[error(transparent)]
    Report(#[from] ReportError),
    /// An account change refused (unknown or taken username, bad password, last administrator).
    #[error(transparent)]
    User(#[from] UserError),
    /// The index could not be read or written: nothing changed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A purge failed: the index could not be read, or a file could not be deleted.
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
}

impl From<rusqlite::Error> for ActionError {
    fn from(e: rusqlite::Error) -> Self {
        ActionError::Store(e.into())
    }
}
