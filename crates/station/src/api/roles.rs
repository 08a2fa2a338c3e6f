//! Which roles may call which operation: the one place the API checks permissions.
//!
//! The match is exhaustive, so a new operation does not compile until it has an entry here.
//!
//! Must never: grant an operation to "everyone logged in" by leaving a role list empty; list
//! the roles.

use super::Op;
use crate::auth::Role::{self, Admin, Doctor, Manager, Technician};

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No session needed (logging in).
    Public,
    /// A logged-in user with one of these roles.
    Roles(&'static [Role]),
}

const EVERYONE: &[Role] = &[Technician, Doctor, Manager, Admin];
/// Those who work the sending: technicians, their manager, and the admin fixing a station.
const SENDING: &[Role] = &[Technician, Manager, Admin];
const ADMIN: &[Role] = &[Admin];

pub fn access(op: Op) -> Access {
    use Access::{Public, Roles};
    match op {
        Op::Login => Public,
        Op::Logout | Op::Me => Roles(EVERYONE),
        Op::Status | Op::Dashboard | Op::LinksList => Roles(EVERYONE),
        Op::StudiesList | Op::StudyGet => Roles(EVERYONE),
        Op::StudyHold | Op::StudyRelease | Op::StudyRetry => Roles(SENDING),
        // A doctor who sees an urgent case may push it up the queue too.
        Op::StudyMarkUrgent => Roles(EVERYONE),
        Op::QuarantineList => Roles(SENDING),
        Op::UsersList | Op::UserCreate | Op::UserUpdate | Op::AuditList => Roles(ADMIN),
        Op::SettingsGet => Roles(&[Manager, Admin]),
    }
}
