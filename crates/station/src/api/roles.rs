//! Which roles may call which operation: the one place the API checks permissions.
//!
//! The match is exhaustive, so a new operation does not compile until it has an entry here.
//!
//! Must never: grant an operation to "everyone logged in" by leaving a role list empty; list
//! the roles.

use super::downloads::Download;
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
/// Those who register patients and order exams at the front desk: the same people who work the
/// sending. Doctors read reports; they do not register.
/// Those who act on a report: the local doctor first, the manager and the admin covering.
/// Technicians see reports (to tell the patient one is back) but acknowledging means a
/// doctor has read it, so they may not.
const ACKNOWLEDGING: &[Role] = &[Doctor, Manager, Admin];
const REGISTRATION: &[Role] = &[Technician, Manager, Admin];

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
        // Those who see the settings may test a link (the test changes nothing).
        Op::SettingsGet | Op::HubTest => Roles(&[Manager, Admin]),
        Op::SettingsUpdate => Roles(ADMIN),
        Op::PatientSearch | Op::PatientAdd | Op::PatientUpdate => Roles(REGISTRATION),
        Op::OrderAdd | Op::OrdersList | Op::OrderCancel => Roles(REGISTRATION),
        // Whoever may assign a study may say it is the patient it was matched to.
        Op::StudiesUnassigned | Op::StudyAssign | Op::StudyConfirmPatient => Roles(REGISTRATION),
        Op::ReportsList | Op::ReportGet => Roles(EVERYONE),
        Op::ReportAck => Roles(ACKNOWLEDGING),
        Op::WaveformGet => Roles(EVERYONE),
    }
}

/// Who may fetch the files the API serves: previews, report PDFs and print views as for
/// reading the study or report they belong to; the diagnostics bundle as for the settings.
pub fn download_access(what: Download) -> Access {
    match what {
        Download::Preview | Download::ReportPdf | Download::ReportPrint => Access::Roles(EVERYONE),
        // Settings without secrets, the log and the queue, no patient data: for the admin who
        // sends it to the center.
        Download::Diagnostics => Access::Roles(ADMIN),
    }
}
