//! Matching studies to orders. A completed study is matched by accession number, else by the
//! Study Instance UID the worklist offered, else by patient ID + modality + date; a matched
//! study takes its order's patient data (recorded as a correction, applied to what is sent).
//! A study that matches nothing is listed as unassigned; with `hold_unmatched` it waits
//! (state `unassigned`) until a technician assigns it ([`assign`]).
//!
//! The same matching runs once while a study is still arriving ([`on_arrival`]), to decide
//! whether its instances may be sent as they come: only when nothing about them would change.
//! If the order it was linked to then is cancelled before the study completes, completion
//! unlinks it (audited as `study.unlink`) and matches it as if it had never been linked.
//!
//! A study matched by accession or by the worklist's Study UID whose device-sent name, sex or
//! birth date disagrees with the order's patient (`registry::identity`) is linked but held as
//! `unassigned` ("check patient") with `hold_on_mismatch`, until a technician confirms it
//! ([`confirm_patient`]) or assigns it elsewhere; assigning by hand to a patient who differs
//! needs the caller to confirm the differences.
//!
//! Must never: match a study to a cancelled order, or guess between several candidate orders.

use rusqlite::{Connection, Transaction};
use serde::{Deserialize, Serialize};

use super::correction::{self, Values};
use super::identity::{self, Difference};
use super::orders::{self, NewOrder, Order};
use super::patients::{self, NewPatient, Patient};
use super::{Field, RegistryError};
pub use crate::store::studies::StudyFacts;
use crate::store::{self, audit, OrderState, Route, StoreError, StudyState};
pub use check::{confirm_patient, patient_check, PatientCheck};
use check::{device_identity, registered_identity};

/// What matching looks at of study `study_id` (its header values, state and order).
pub fn study_facts(conn: &Connection, study_id: i64) -> Result<StudyFacts, StoreError> {
    store::studies::facts(conn, study_id)
}

/// DX and CR are one kind of order for a clinic (a DR may call itself either).
fn same_modality(order: &str, study: &str) -> bool {
    let norm = |m: &str| match m.trim().to_ascii_uppercase().as_str() {
        "CR" | "DX" => "DX".to_string(),
        other => other.to_string(),
    };
    norm(order) == norm(study)
}

/// What a study was matched to its order by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchedBy {
    /// The accession number the device sent.
    Accession,
    /// The Study Instance UID the worklist offered.
    StudyUid,
    /// The patient ID, modality and date: the patient is the order's by its ID.
    PatientId,
}

impl MatchedBy {
    /// Whether the device's patient may be someone else than the order's: the accession or
    /// the worklist entry can be picked for the wrong patient; a match by patient ID cannot.
    fn checks_patient(self) -> bool {
        matches!(self, MatchedBy::Accession | MatchedBy::StudyUid)
    }
}

/// What matching does with studies that need a person: those matching no order
/// (`hold_unmatched`) and those whose device-sent patient differs from their order's
/// (`hold_on_mismatch`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Holds {
    /// Hold a study that matches no order until a person assigns it.
    pub unmatched: bool,
    /// Hold a study whose device-sent patient differs from its order's until a person checks.
    pub mismatch: bool,
}

/// The order this study belongs to, if exactly one fits, and what it was found by.
pub fn find_order(
    conn: &Connection,
    s: &StudyFacts,
) -> Result<Option<(Order, MatchedBy)>, RegistryError> {
    let open = |o: &Order| o.state != OrderState::Cancelled;
    if !s.accession.trim().is_empty() {
        if let Some(o) = orders::by_accession(conn, &s.accession)?.filter(open) {
            return Ok(Some((o, MatchedBy::Accession)));
        }
    }
    if let Some(id) = store::orders::open_by_study_uid(conn, &s.study_uid)? {
        return Ok(orders::by_id(conn, id)?.map(|o| (o, MatchedBy::StudyUid)));
    }
    let candidates: Vec<i64> =
        store::orders::unlinked_for(conn, s.patient_id.trim(), &s.study_date)?
            .into_iter()
            .filter(|(_, m)| s.modalities.iter().any(|sm| same_modality(m, sm)))
            .map(|(id, _)| id)
            .collect();
    match candidates.as_slice() {
        [one] => Ok(orders::by_id(conn, *one)?.map(|o| (o, MatchedBy::PatientId))),
        _ => Ok(None),
    }
}

/// The values a study takes from its order and the order's patient. A birth date or sex the
/// registration does not know leaves the device's value alone.
fn order_values(order: &Order, patient: &Patient) -> Values {
    [
        ("AccessionNumber", order.accession.clone()),
        ("PatientName", patient.name.clone()),
        ("PatientID", patient.clinic_id.clone()),
        ("PatientBirthDate", patient.birth_date.clone()),
        ("PatientSex", patient.sex.clone()),
    ]
    .into_iter()
    .filter(|(k, v)| !v.is_empty() || !matches!(*k, "PatientBirthDate" | "PatientSex"))
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn order_patient(conn: &Connection, order: &Order) -> Result<Patient, RegistryError> {
    patients::by_id(conn, order.patient_ref)?
        .ok_or_else(|| RegistryError::State(format!("order {} has no patient", order.accession)))
}

/// Links the study to the order, takes its patient data and priority; the order moves to
/// `order_state` (completed, or in progress while the study still arrives). Returns the
/// correction recorded, if the order changed anything.
fn link(
    tx: &Connection,
    actor: &str,
    reason: &str,
    study: &StudyFacts,
    order: &Order,
    order_state: OrderState,
) -> Result<Option<i64>, RegistryError> {
    let patient = order_patient(tx, order)?;
    store::studies::link_order(tx, study.id, order.id, order.priority == "urgent")?;
    orders::set_state(tx, order.id, order_state)?;
    Ok(correction::record(
        tx,
        study.id,
        actor,
        reason,
        &order_values(order, &patient),
    )?)
}

/// Matching found the study's order: linked, audited as `study.match`.
fn matched(
    tx: &Connection,
    study: &StudyFacts,
    order: &Order,
    order_state: OrderState,
) -> Result<Option<i64>, RegistryError> {
    let correction = link(tx, "system", "COERCE", study, order, order_state)?;
    audit::record(
        tx,
        "system",
        "study.match",
        &study.study_uid,
        &serde_json::json!({ "accession": order.accession }).to_string(),
    )?;
    Ok(correction)
}

/// Called once while a study is still arriving (`[studies] send_while_receiving`): whether its
/// instances may be sent as they come. Yes when it matches an order that changes nothing of
/// what the device sent (it is linked now, the order in progress until the study completes),
/// or when it matches nothing and `hold_unmatched` is off. No when its order needs a
/// correction or it would be held: it then waits for completion ([`on_complete`]).
pub fn on_arrival(
    tx: &Transaction<'_>,
    study_id: i64,
    holds: Holds,
) -> Result<bool, RegistryError> {
    let study = study_facts(tx, study_id)?;
    if study.order_ref.is_some() {
        return Ok(correction::list(tx, study_id)?.is_empty());
    }
    match find_order(tx, &study)? {
        // A patient who differs always needs a correction, so it waits for completion too.
        Some((order, _)) => {
            let wanted = order_values(&order, &order_patient(tx, &order)?);
            let current = correction::current_values(tx, study_id)?;
            if !correction::changes(&current, &wanted).is_empty() {
                return Ok(false);
            }
            matched(tx, &study, &order, OrderState::InProgress)?;
            Ok(true)
        }
        None => Ok(!holds.unmatched),
    }
}

/// Called as a study completes, in the lifecycle's transaction: matches it if it can. Returns
/// whether to queue it now (false: held as `unassigned` for a person, unmatched or matched to
/// an order whose patient differs). A study sent while it arrived and matched only now with a
/// correction is sent again, corrected.
///
/// A study linked while arriving to an order cancelled since is unlinked first and matched as
/// if it had never been linked: another order, or unassigned, what is sent back to what the
/// device sent; its rows (it was sent early) are held with it when `hold_unmatched` holds it.
pub fn on_complete(
    tx: &Transaction<'_>,
    study_id: i64,
    holds: Holds,
) -> Result<bool, RegistryError> {
    let mut study = study_facts(tx, study_id)?;
    let mut unlinked = false;
    if let Some(order_id) = study.order_ref {
        match orders::by_id(tx, order_id)? {
            Some(order) if order.state == OrderState::Cancelled => {
                unlink(tx, &study, &order)?;
                (study.order_ref, unlinked) = (None, true);
            }
            // Linked while arriving: the order is done now.
            Some(order) => {
                if order.state == OrderState::InProgress {
                    orders::set_state(tx, order.id, OrderState::Completed)?;
                }
                return Ok(true);
            }
            None => return Ok(true),
        }
    }
    let found = find_order(tx, &study)?;
    let corrected = match &found {
        Some((order, _)) => matched(tx, &study, order, OrderState::Completed)?,
        // What is sent goes back to what the device sent (a patient edit may have corrected it
        // through the cancelled order).
        None if unlinked => {
            let received = correction::received_values(tx, study_id)?;
            correction::record(tx, study_id, "system", "CORRECT", &received)?
        }
        None => None,
    };
    if corrected.is_some() {
        correction::requeue(tx, study_id)?;
    }
    if let Some((order, by)) = &found {
        let differences = match by.checks_patient() && holds.mismatch {
            true => identity::differences(
                &device_identity(&study),
                &registered_identity(&order_patient(tx, order)?),
            ),
            false => Vec::new(),
        };
        if differences.is_empty() {
            return Ok(true);
        }
        // Linked (what is sent is already corrected) but not sent until a person confirms.
        audit::record(
            tx,
            "system",
            "study.check_patient",
            &study.study_uid,
            &serde_json::json!({ "accession": order.accession, "differences": differences })
                .to_string(),
        )?;
        store::studies::hold_unassigned(tx, study_id)?;
        return Ok(false);
    }
    if !holds.unmatched {
        return Ok(true);
    }
    // Sent while arriving: nothing more goes until a person assigns it ([`assign`]).
    store::studies::hold_unassigned(tx, study_id)?;
    Ok(false)
}

/// The order a study was linked to while it arrived was cancelled: the study is no longer its
/// (audited as `study.unlink`), and is matched again as it completes.
fn unlink(tx: &Connection, study: &StudyFacts, order: &Order) -> Result<(), RegistryError> {
    store::studies::unlink_order(tx, study.id)?;
    audit::record(
        tx,
        "system",
        "study.unlink",
        &study.study_uid,
        &serde_json::json!({
            "accession": order.accession,
            "reason": "order cancelled before the study completed",
        })
        .to_string(),
    )?;
    Ok(())
}

/// Complete studies not matched to any order (held or sent as received), and those held for
/// "check patient" (linked to an order: `order_ref` set), newest first.
pub fn unassigned(conn: &Connection) -> Result<Vec<StudyFacts>, RegistryError> {
    let ids = store::studies::unassigned_ids(conn)?;
    ids.into_iter()
        .map(|id| study_facts(conn, id).map_err(Into::into))
        .collect()
}

/// Where a technician puts a study.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(
    tag = "kind",
    content = "value",
    rename_all = "snake_case",
    deny_unknown_fields
)]
pub enum Target {
    /// An existing order, by accession number.
    Order(String),
    /// A new order for an existing registered patient (clinic patient ID).
    NewOrderFor(String),
    /// A new patient and order made from the study's own data.
    FromStudy,
}

/// Assigns a study to an order (or to one made now), applies the order's patient data to what
/// is sent, and queues it (again, if it was already sent); audited as `study.assign`, with the
/// differences between the device's patient and the order's when the caller confirmed them
/// (`confirm_mismatch`; without it a patient who differs is refused, nothing changed).
pub fn assign(
    conn: &mut Connection,
    actor: &str,
    study_uid: &str,
    target: &Target,
    routes: &[Route],
    confirm_mismatch: bool,
) -> Result<(Order, Vec<Difference>), RegistryError> {
    let study_id =
        store::studies::id_of(conn, study_uid)?.ok_or_else(|| RegistryError::NotFound {
            what: Field::Study,
            key: study_uid.to_string(),
        })?;
    let study = study_facts(conn, study_id)?;
    if study.state == StudyState::Receiving {
        return Err(RegistryError::State(format!(
            "study {study_uid} is still receiving; assign it once it is complete"
        )));
    }
    // Checked before anything is made: a refusal leaves no new order behind.
    let registered = match target {
        Target::Order(accession) => match orders::by_accession(conn, accession)? {
            Some(order) => Some(order_patient(conn, &order)?),
            None => None,
        },
        Target::NewOrderFor(clinic_id) => patients::by_clinic_id(conn, clinic_id)?,
        Target::FromStudy => None,
    };
    let differences = match &registered {
        Some(p) => identity::differences(&device_identity(&study), &registered_identity(p)),
        None => Vec::new(),
    };
    if !differences.is_empty() && !confirm_mismatch {
        return Err(RegistryError::PatientMismatch(differences));
    }
    // The study's own accession, when no order has it yet.
    let free_accession = match study.accession.trim() {
        "" => None,
        a if orders::by_accession(conn, a)?.is_some() => None,
        a => Some(a.to_string()),
    };
    let new_order = |patient: String| NewOrder {
        patient,
        modality: study
            .modalities
            .first()
            .cloned()
            .unwrap_or_else(|| "DX".into()),
        scheduled_date: Some(study.study_date.clone()).filter(|d| !d.is_empty()),
        accession: free_accession.clone(),
        ..Default::default()
    };
    let order = match target {
        Target::Order(accession) => orders::by_accession(conn, accession)?
            .filter(|o| o.state != OrderState::Cancelled)
            .ok_or_else(|| RegistryError::NotFound {
                what: Field::OpenOrder,
                key: accession.clone(),
            })?,
        Target::NewOrderFor(clinic_id) => {
            let new = new_order(clinic_id.clone());
            orders::add(conn, actor, &new)?
        }
        Target::FromStudy => {
            let clinic_id = match study.patient_id.trim() {
                "" => None,
                id if patients::by_clinic_id(conn, id)?.is_some() => None,
                id => Some(id.to_string()),
            };
            let patient = patients::add(
                conn,
                actor,
                &NewPatient {
                    name: study.patient_name.clone(),
                    sex: Some(study.sex.clone()),
                    birth_date: Some(study.birth_date.clone()),
                    clinic_id,
                    ..Default::default()
                },
            )?;
            let new = new_order(patient.clinic_id);
            orders::add(conn, actor, &new)?
        }
    };
    let tx = super::write_transaction(conn)?;
    let was_queued = store::queue::is_queued(&tx, study_id)?;
    link(&tx, actor, "COERCE", &study, &order, OrderState::Completed)?;
    audit::record(
        &tx,
        actor,
        "study.assign",
        &study.study_uid,
        &serde_json::json!({
            "accession": order.accession,
            "previous_order": study.order_ref,
            "differences": differences,
        })
        .to_string(),
    )?;
    if study.state == StudyState::Unassigned {
        // Rows of a study sent while it arrived were held when it became unassigned
        // (on_complete): due again with it.
        store::studies::release_assigned(&tx, study_id)?;
        store::queue_study(&tx, study_id, routes)?;
    }
    if was_queued {
        correction::requeue(&tx, study_id)?;
    }
    tx.commit()?;
    Ok((order, differences))
}

/// After a registered patient's data changed: every study matched to one of their orders gets
/// a correction (reason CORRECT) and is sent again if it was queued or sent. Returns how many
/// studies changed. Runs in the caller's transaction, next to the patient's update.
pub fn correct_patient_studies(
    tx: &Transaction<'_>,
    actor: &str,
    patient: &Patient,
) -> Result<usize, RegistryError> {
    let studies = store::studies::of_patient(tx, patient.id)?;
    let mut changed = 0;
    for (study_id, order_id) in studies {
        let order = orders::by_id(tx, order_id)?
            .ok_or_else(|| RegistryError::State(format!("order #{order_id} vanished")))?;
        if correction::record(
            tx,
            study_id,
            actor,
            "CORRECT",
            &order_values(&order, patient),
        )?
        .is_some()
        {
            correction::requeue(tx, study_id)?;
            changed += 1;
        }
    }
    Ok(changed)
}

/// Edits a registered patient and corrects what was sent for their studies.
pub fn update_patient(
    conn: &mut Connection,
    actor: &str,
    clinic_id: &str,
    new: &NewPatient,
) -> Result<(Patient, usize), RegistryError> {
    let tx = super::write_transaction(conn)?;
    let (_, patient) = patients::update(&tx, actor, clinic_id, new)?;
    let studies = correct_patient_studies(&tx, actor, &patient)?;
    tx.commit()?;
    Ok((patient, studies))
}

/// Orders whose study has started arriving (by accession) are in progress.
pub fn mark_started(conn: &Connection) -> Result<usize, RegistryError> {
    Ok(store::orders::mark_started(conn)?)
}

mod check;
#[cfg(test)]
mod tests;
