//! Who a converted export belongs to, when the file itself does not say: the order in progress
//! for the device's modality, else the only order scheduled today for it, else nobody (the study
//! waits unassigned for a technician).
//!
//! Must never: guess between two candidate orders; an ambiguous case is left unassigned.

use rusqlite::Connection;

use crate::registry::{self, orders, RegistryError};
use crate::store::{OrderState, StoreError};

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

    /// What tells two exams apart: different keys never share a study or series.
    pub fn key(&self) -> String {
        format!(
            "{}\u{1}{}\u{1}{}",
            self.accession, self.patient.id, self.patient.name
        )
    }
}

/// The order a device of `modality` is working on now, if exactly one fits: the one in
/// progress today, else the only one scheduled today.
pub fn for_modality(conn: &Connection, modality: &str) -> Result<Option<Assignment>, StoreError> {
    let today = registry::today();
    for state in [OrderState::InProgress, OrderState::Scheduled] {
        let listed = match orders::list(conn, &today, &today, &[state]) {
            Ok(list) => list,
            Err(RegistryError::Store(e)) => return Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "cannot list today's orders; the export waits for assignment");
                return Ok(None);
            }
        };
        let mut fitting = listed
            .into_iter()
            .filter(|o| o.order.modality.eq_ignore_ascii_case(modality));
        match (fitting.next(), fitting.next()) {
            (Some(only), None) => return Ok(Some(from_order(only))),
            (Some(_), Some(_)) => {
                tracing::info!(
                    modality,
                    %state,
                    "several orders fit a converted export; it waits for assignment"
                );
                return Ok(None);
            }
            (None, _) => {}
        }
    }
    Ok(None)
}

fn from_order(o: orders::OrderWithPatient) -> Assignment {
    Assignment {
        patient: Patient {
            id: o.patient.clinic_id,
            name: o.patient.name,
            birth_date: o.patient.birth_date,
            sex: o.patient.sex,
        },
        accession: o.order.accession,
        study_uid: Some(o.order.study_uid).filter(|u| !u.is_empty()),
        procedure: o.order.procedure,
        referring_physician: o.order.referring,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::patients::{self, NewPatient};
    use crate::store::Store;

    fn order(conn: &mut Connection, patient: &str, modality: &str) -> orders::Order {
        orders::add(
            conn,
            "test",
            &orders::NewOrder {
                patient: patient.into(),
                modality: modality.into(),
                procedure: "常规心电图".into(),
                ..Default::default()
            },
        )
        .expect("order")
    }

    #[test]
    fn the_one_fitting_order_of_today_is_taken_and_ambiguity_is_left_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("s.db")).expect("open");
        let mut conn = store.lock();
        for (id, name) in [("P1", "王^小明"), ("P2", "李^秀英")] {
            patients::add(
                &mut conn,
                "test",
                &NewPatient {
                    name: name.into(),
                    clinic_id: Some(id.into()),
                    sex: Some("M".into()),
                    ..Default::default()
                },
            )
            .expect("patient");
        }
        assert_eq!(for_modality(&conn, "ECG").unwrap(), None, "no order yet");
        let first = order(&mut conn, "P1", "ECG");
        order(&mut conn, "P2", "US");
        let a = for_modality(&conn, "ecg")
            .unwrap()
            .expect("the only ECG order");
        assert_eq!(
            (a.patient.id.as_str(), a.patient.name.as_str()),
            ("P1", "王^小明")
        );
        assert_eq!(a.accession, first.accession);
        assert_eq!(a.study_uid.as_deref(), Some(first.study_uid.as_str()));
        let second = order(&mut conn, "P2", "ECG");
        assert_eq!(
            for_modality(&conn, "ECG").unwrap(),
            None,
            "two scheduled: nobody guesses"
        );
        orders::set_state(&conn, second.id, crate::store::OrderState::InProgress).unwrap();
        let a = for_modality(&conn, "ECG")
            .unwrap()
            .expect("the one in progress");
        assert_eq!(a.patient.id, "P2");
    }
}
