//! A study's patient as the device sent it beside the patient registered for its order, and a
//! technician's confirmation that a study held for the difference ("check patient") is that
//! patient after all.
//!
//! Must never: release a study that is not waiting for its patient to be checked.

use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use super::{order_patient, study_facts, StudyFacts};
use crate::registry::identity::{self, Difference, Identity};
use crate::registry::orders;
use crate::registry::patients::Patient;
use crate::registry::{Field, RegistryError};
use crate::store::{self, audit, Route, StudyState};

/// The patient as the device sent it (the index keeps what was received).
pub(super) fn device_identity(study: &StudyFacts) -> Identity {
    Identity {
        name: study.patient_name.clone(),
        sex: study.sex.clone(),
        birth_date: study.birth_date.clone(),
    }
}

pub(super) fn registered_identity(patient: &Patient) -> Identity {
    Identity {
        name: patient.name.clone(),
        sex: patient.sex.clone(),
        birth_date: patient.birth_date.clone(),
    }
}

/// The device's patient beside the order's, for a study linked to an order.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PatientCheck {
    /// As the device sent it.
    pub device: Identity,
    /// As registered for the study's order.
    pub registered: Identity,
    /// Where they disagree; empty when they may be the same patient.
    pub differences: Vec<Difference>,
    /// Held, not sent, until a technician confirms it or assigns it elsewhere.
    pub waiting: bool,
}

/// Both identities of a study linked to an order (None when it is linked to none).
pub fn patient_check(
    conn: &Connection,
    study_id: i64,
) -> Result<Option<PatientCheck>, RegistryError> {
    let study = study_facts(conn, study_id)?;
    let Some(order) = study
        .order_ref
        .map(|id| orders::by_id(conn, id))
        .transpose()?
    else {
        return Ok(None);
    };
    let Some(order) = order else {
        return Ok(None);
    };
    let device = device_identity(&study);
    let registered = registered_identity(&order_patient(conn, &order)?);
    Ok(Some(PatientCheck {
        differences: identity::differences(&device, &registered),
        device,
        registered,
        waiting: study.state == StudyState::Unassigned,
    }))
}

/// A technician says a study held for its patient ("check patient") is the order's patient
/// after all: audited as `study.confirm_patient` with the differences, and queued to `routes`.
/// Returns the differences confirmed.
pub fn confirm_patient(
    conn: &mut Connection,
    actor: &str,
    study_uid: &str,
    routes: &[Route],
) -> Result<Vec<Difference>, RegistryError> {
    let study_id =
        store::studies::id_of(conn, study_uid)?.ok_or_else(|| RegistryError::NotFound {
            what: Field::Study,
            key: study_uid.to_string(),
        })?;
    let tx = crate::registry::write_transaction(conn)?;
    let check = match patient_check(&tx, study_id)? {
        Some(check) if check.waiting => check,
        _ => {
            return Err(RegistryError::State(format!(
                "study {study_uid} is not waiting for its patient to be checked"
            )))
        }
    };
    audit::record(
        &tx,
        actor,
        "study.confirm_patient",
        study_uid,
        &serde_json::json!({ "differences": check.differences }).to_string(),
    )?;
    store::studies::release_assigned(&tx, study_id)?;
    store::queue_study(&tx, study_id, routes)?;
    tx.commit()?;
    Ok(check.differences)
}
