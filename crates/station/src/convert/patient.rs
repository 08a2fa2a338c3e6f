//! Who a converted export belongs to, when the file itself does not say: the order in progress
//! for the device's modality, else the only order scheduled today for it, else nobody (the study
//! waits unassigned for a technician).
//!
//! Must never: guess between two candidate orders; an ambiguous case is left unassigned.

use rusqlite::Connection;

use crate::store::StoreError;

/// Patient demographics as written into the object (text in Unicode; dates as DICOM DA).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Patient {
    pub id: String,
    pub name: String,
    pub birth_date: String,
    /// "M", "F", "O" or empty.
    pub sex: String,
}

/// A patient and, when known, the order the object fulfils.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Assignment {
    pub patient: Patient,
    pub accession: String,
    /// The order's Study Instance UID, when it has one: objects join that study.
    pub study_uid: Option<String>,
    pub procedure: String,
    pub referring_physician: String,
}

impl Assignment {
    /// Nobody known yet.
    pub fn unassigned() -> Assignment {
        Assignment::default()
    }

    pub fn is_assigned(&self) -> bool {
        !self.patient.id.is_empty() || !self.patient.name.is_empty()
    }

    /// What tells two exams apart: different keys never share a study or series.
    pub fn key(&self) -> String {
        format!(
            "{}\u{1}{}\u{1}{}",
            self.accession, self.patient.id, self.patient.name
        )
    }
}

/// The order a device of `modality` is working on now, if exactly one fits.
pub fn for_modality(_conn: &Connection, _modality: &str) -> Result<Option<Assignment>, StoreError> {
    // Registration (orders) is not part of this build yet: every export without its own
    // patient waits for assignment.
    Ok(None)
}
