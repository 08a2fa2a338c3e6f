//! Which roles may call which operation: the one place the API checks permissions.
//!
//! The match is exhaustive, so a new operation does not compile until it has an entry here.
//!
//! Must never: grant an operation to "everyone logged in" by leaving a role list empty; list
//! the roles.

use super::downloads::Download;
use super::Op;
use crate::auth::Role::{self, Admin, Doctor, Maintenance, Manager, Technician};
use crate::events::Event;

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No session needed (logging in).
    Public,
    /// A logged-in user with one of these roles.
    Roles(&'static [Role]),
}

/// Everyone who works at the clinic: the roles that see patients.
const CLINIC: &[Role] = &[Technician, Doctor, Manager, Admin];
/// Everyone, the center's maintenance staff included: what shows no patient data.
const EVERYONE: &[Role] = &[Technician, Doctor, Manager, Admin, Maintenance];
/// Those who work the sending: technicians, their manager, the admin fixing a station, and the
/// center's maintenance staff (a send's queue row names a study, not its patient).
const SENDING: &[Role] = &[Technician, Manager, Admin, Maintenance];
/// Those who look after the station itself: its settings (no secrets), links, log and system
/// events.
const UPKEEP: &[Role] = &[Manager, Admin, Maintenance];
const ADMIN: &[Role] = &[Admin];
/// Those who act on a report: the local doctor first, the manager and the admin covering.
/// Technicians see reports (to tell the patient one is back) but acknowledging means a
/// doctor has read it, so they may not.
const ACKNOWLEDGING: &[Role] = &[Doctor, Manager, Admin];
/// Those who register patients and order exams at the front desk: the same people who work the
/// sending. Doctors read reports; they do not register.
const REGISTRATION: &[Role] = &[Technician, Manager, Admin];

/// Who may call `op`; the dispatcher asks before any handler runs, the OpenAPI document
/// lists it (`x-roles`).
pub fn access(op: Op) -> Access {
    use Access::{Public, Roles};
    match op {
        Op::Login => Public,
        Op::Logout | Op::Me | Op::FileKey | Op::PasswordChange => Roles(EVERYONE),
        Op::Status | Op::LinksList | Op::QueueList => Roles(EVERYONE),
        // The dashboard lists overdue studies by patient.
        Op::Dashboard => Roles(CLINIC),
        Op::StudiesList | Op::StudyGet => Roles(CLINIC),
        Op::StudyHold | Op::StudyRelease | Op::StudyRetry => Roles(SENDING),
        // A doctor who sees an urgent case may push it up the queue too.
        Op::StudyMarkUrgent => Roles(CLINIC),
        // Whoever sees a study may ask for its images back, or keep them here.
        Op::StudyKeep | Op::StudyFetch => Roles(CLINIC),
        // The list names patients; routing them is working the sending.
        Op::StudiesUnrouted => Roles(CLINIC),
        Op::StudiesRoute => Roles(SENDING),
        // Study UIDs, dates and modalities: no patient.
        Op::StoragePlan => Roles(UPKEEP),
        // Refused files carry the patient's name as the device sent it.
        Op::QuarantineList => Roles(&[Technician, Manager, Admin]),
        Op::UsersList | Op::UserCreate | Op::UserUpdate | Op::AuditList => Roles(ADMIN),
        Op::TokensList | Op::TokenCreate | Op::TokenRevoke => Roles(ADMIN),
        // Logins, settings, tokens, sends held or retried: no patient in them.
        Op::SystemEvents => Roles(&[Admin, Maintenance]),
        // Those who see the settings may test a link (the test changes nothing).
        Op::SettingsGet | Op::HubTest => Roles(UPKEEP),
        Op::SettingsUpdate => Roles(ADMIN),
        // A retry of the codec, not a change of settings: the admin on the destination's
        // dialog, or the center's staff who made the hub take it (no patient in it).
        Op::WireRefusalForget => Roles(&[Admin, Maintenance]),
        Op::PatientSearch | Op::PatientAdd | Op::PatientUpdate => Roles(REGISTRATION),
        Op::OrderAdd | Op::OrdersList | Op::OrderCancel | Op::Procedures => Roles(REGISTRATION),
        // Whoever may assign a study may say it is the patient it was matched to.
        Op::StudiesUnassigned | Op::StudyAssign | Op::StudyConfirmPatient => Roles(REGISTRATION),
        Op::ReportsList | Op::ReportGet => Roles(CLINIC),
        Op::ReportAck => Roles(ACKNOWLEDGING),
        Op::WaveformGet => Roles(CLINIC),
    }
}

/// Whether a caller with `role` is told of `event` on the live stream: the registry's events
/// name a patient (clinic ID) or an order, so only those who see patients hear them.
pub fn hears(role: Role, event: &Event) -> bool {
    match event {
        Event::PatientChanged { .. } | Event::OrderChanged { .. } => CLINIC.contains(&role),
        Event::InstanceReceived { .. }
        | Event::StudyChanged { .. }
        | Event::LinkChanged { .. }
        | Event::ReportArrived { .. }
        | Event::StudyOverdue { .. }
        | Event::ReportAcknowledged { .. }
        | Event::UserChanged { .. } => EVERYONE.contains(&role),
    }
}

/// Who may read the station's DICOMweb: the images are patient data, as the previews are.
pub fn dicomweb_access() -> Access {
    Access::Roles(CLINIC)
}

/// Who may fetch the files the API serves: previews, report PDFs and print views as for
/// reading the study or report they belong to; the diagnostics bundle as for the settings.
pub fn download_access(what: Download) -> Access {
    match what {
        Download::Preview | Download::ReportPdf | Download::ReportPrint => Access::Roles(CLINIC),
        // Settings without secrets, the log and the queue, no patient data: for the admin who
        // sends it to the center, and the center's staff who fetch it themselves.
        Download::Diagnostics | Download::Log => Access::Roles(&[Admin, Maintenance]),
    }
}
