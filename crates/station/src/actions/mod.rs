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
    pub store: &'a Store,
    pub events: &'a Events,
    /// The name the audit trail records: a username, or `cli` for the command line.
    pub name: &'a str,
}

impl<'a> Actor<'a> {
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
    #[error("no study {0}")]
    StudyNotFound(String),
    /// Hold, release or retry found no send of the study in a state it applies to.
    #[error("study {study_uid}: nothing to {action}")]
    NothingTo {
        action: study::Action,
        study_uid: String,
    },
    /// Hold, release or retry asked of a study that waits for a technician (no order, or its
    /// patient to be checked): its sends, if any, stay held until it is assigned or confirmed.
    #[error("study {study_uid} waits to be assigned or its patient checked: nothing to {action}")]
    Unplaced {
        action: study::Action,
        study_uid: String,
    },
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error(transparent)]
    User(#[from] UserError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
}

impl From<rusqlite::Error> for ActionError {
    fn from(e: rusqlite::Error) -> Self {
        ActionError::Store(e.into())
    }
}
