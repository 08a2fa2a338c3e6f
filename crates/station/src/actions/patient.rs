//! Registering and correcting patients. The checks, and the audit entry in the change's
//! transaction, are `registry`'s; a correction reaches the studies already sent for the patient
//! (`registry::matching::update_patient`), which the change feed then announces.
//!
//! Must never: change a patient by another way than `registry`.

use super::{ActionError, Actor};
use crate::events::Event;
use crate::registry::matching;
use crate::registry::patients::{self, NewPatient, Patient};

/// Registers a patient (audited `patient.add`).
pub fn add(by: &Actor<'_>, new: &NewPatient) -> Result<Patient, ActionError> {
    let patient = patients::add(&mut by.store.lock(), by.name, new)?;
    announce(by, &patient);
    Ok(patient)
}

/// Replaces a registered patient's data (audited `patient.update`); studies already matched to
/// them are corrected and sent again. Returns the patient and how many studies changed.
pub fn update(
    by: &Actor<'_>,
    clinic_id: &str,
    new: &NewPatient,
) -> Result<(Patient, usize), ActionError> {
    let (patient, corrected) =
        matching::update_patient(&mut by.store.lock(), by.name, clinic_id, new)?;
    announce(by, &patient);
    Ok((patient, corrected))
}

fn announce(by: &Actor<'_>, patient: &Patient) {
    by.announce(Event::PatientChanged {
        clinic_id: patient.clinic_id.clone(),
    });
}
