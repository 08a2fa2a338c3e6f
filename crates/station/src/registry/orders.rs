//! Orders: one requested procedure for a registered patient, with its accession number, its
//! Study Instance UID and one Scheduled Procedure Step (PS3.4 Annex K), in one of the states
//! scheduled → in progress → completed, or cancelled.
//!
//! Must never: reuse an accession number, or move an order out of `cancelled` or `completed`.

use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use super::{invalid, patients, today, Field, RegistryError};
pub use crate::store::orders::{Order, OrderWithPatient};
use crate::store::{self, audit, OrderState};

/// The modalities clinic devices are ordered for.
pub const MODALITIES: [&str; 4] = ["DX", "CR", "US", "ECG"];

/// What a technician types to order a procedure (the worklist serves it to the devices).
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct NewOrder {
    /// The registered patient's clinic patient ID.
    pub patient: String,
    /// One of [`MODALITIES`] (case does not matter).
    pub modality: String,
    /// What to do, e.g. "胸部正侧位" (the worklist's procedure and step descriptions).
    pub procedure: String,
    /// Body Part Examined (sent upper case).
    pub body_part: String,
    /// "routine" (default) or "urgent".
    pub priority: Option<String>,
    /// The referring physician's name.
    pub referring: String,
    /// Free text for the technician (Requested Procedure Comments).
    pub note: String,
    /// The device's AE title that should perform it; empty: any device of the modality.
    pub station_ae: String,
    /// YYYYMMDD; today when not given.
    pub scheduled_date: Option<String>,
    /// HHMMSS; may be empty.
    pub scheduled_time: Option<String>,
    /// Generated when not given.
    pub accession: Option<String>,
}

/// A fresh UID under the UUID-derived root (PS3.5 §B.2).
pub fn new_uid() -> String {
    format!("2.25.{}", rand::random::<u128>())
}

/// "A" + YYYYMMDD + a 4-digit number of the day (13 characters: fits SH).
fn next_accession(conn: &Connection, date: &str) -> Result<String, RegistryError> {
    let prefix = format!("A{date}");
    let count = store::orders::count_accessions(conn, &prefix)?;
    for n in (count + 1)..(count + 10_000) {
        let candidate = format!("{prefix}{n:04}");
        if by_accession(conn, &candidate)?.is_none() {
            return Ok(candidate);
        }
    }
    Err(RegistryError::State(
        "no free accession number today".into(),
    ))
}

/// Places an order for a registered patient; audited as `order.add`.
pub fn add(conn: &mut Connection, actor: &str, new: &NewOrder) -> Result<Order, RegistryError> {
    let modality = new.modality.trim().to_ascii_uppercase();
    if !MODALITIES.contains(&modality.as_str()) {
        return Err(invalid(
            Field::Modality,
            format!("{modality:?} is not one of {}", MODALITIES.join(", ")),
        ));
    }
    let priority = new
        .priority
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .unwrap_or("routine")
        .to_ascii_lowercase();
    if priority != "routine" && priority != "urgent" {
        return Err(invalid(
            Field::Priority,
            format!("{priority:?} is not routine or urgent"),
        ));
    }
    let date = match new.scheduled_date.as_deref().map(str::trim) {
        Some(d) if !d.is_empty() => d.replace('-', ""),
        _ => today(),
    };
    if !super::idcard::valid_date(&date) {
        return Err(invalid(
            Field::ScheduledDate,
            format!("{date} is not YYYYMMDD"),
        ));
    }
    let time = new.scheduled_time.as_deref().unwrap_or("").replace(':', "");
    if !time.is_empty() && (time.len() > 6 || !time.bytes().all(|b| b.is_ascii_digit())) {
        return Err(invalid(
            Field::ScheduledTime,
            format!("{time} is not HHMMSS"),
        ));
    }
    let station_ae = new.station_ae.trim().to_string();
    if station_ae.len() > 16 || station_ae.contains('\\') {
        return Err(invalid(Field::StationAe, "at most 16 characters"));
    }
    let tx = super::write_transaction(conn)?;
    let patient =
        patients::by_clinic_id(&tx, &new.patient)?.ok_or_else(|| RegistryError::NotFound {
            what: Field::RegisteredPatient,
            key: new.patient.clone(),
        })?;
    let accession = match new.accession.as_deref().map(str::trim) {
        Some(a) if !a.is_empty() => {
            if a.len() > 16 || a.contains('\\') {
                return Err(invalid(Field::Accession, "at most 16 characters (SH)"));
            }
            a.to_string()
        }
        _ => next_accession(&tx, &date)?,
    };
    let sps_id = format!("S{}", accession.trim_start_matches('A'));
    let new_order = Order {
        id: 0,
        patient_ref: patient.id,
        accession,
        study_uid: new_uid(),
        sps_id,
        modality,
        procedure: new.procedure.trim().to_string(),
        body_part: new.body_part.trim().to_string(),
        priority,
        referring: new.referring.trim().to_string(),
        note: new.note.trim().to_string(),
        station_ae,
        scheduled_date: date,
        scheduled_time: time,
        state: OrderState::Scheduled,
    };
    let Some(id) = store::orders::insert(&tx, &new_order)? else {
        return Err(RegistryError::Duplicate {
            what: Field::Accession,
            value: new_order.accession,
        });
    };
    let order = by_id(&tx, id)?
        .ok_or_else(|| RegistryError::State("the order vanished while being placed".into()))?;
    audit::record(
        &tx,
        actor,
        "order.add",
        &order.accession,
        &serde_json::json!({ "patient": patient.clinic_id, "order": order }).to_string(),
    )?;
    tx.commit()?;
    Ok(order)
}

/// Cancels a scheduled or in-progress order; audited as `order.cancel`.
pub fn cancel(conn: &Connection, actor: &str, accession: &str) -> Result<Order, RegistryError> {
    let order = by_accession(conn, accession)?.ok_or_else(|| RegistryError::NotFound {
        what: Field::Order,
        key: accession.to_string(),
    })?;
    if !order.state.is_open() {
        return Err(RegistryError::State(format!(
            "order {accession} is already {}",
            order.state
        )));
    }
    set_state(conn, order.id, OrderState::Cancelled)?;
    audit::record(conn, actor, "order.cancel", &order.accession, "")?;
    Ok(Order {
        state: OrderState::Cancelled,
        ..order
    })
}

/// Moves an order forward (matching a study makes it in progress, then completed).
pub fn set_state(conn: &Connection, order_id: i64, state: OrderState) -> Result<(), RegistryError> {
    Ok(store::orders::set_state(conn, order_id, state)?)
}

/// The order with this accession number, if any.
pub fn by_accession(conn: &Connection, accession: &str) -> Result<Option<Order>, RegistryError> {
    Ok(store::orders::by_accession(conn, accession)?)
}

/// The order with this row id, if any.
pub fn by_id(conn: &Connection, id: i64) -> Result<Option<Order>, RegistryError> {
    Ok(store::orders::by_id(conn, id)?)
}

/// Orders scheduled from `from` to `to` (YYYYMMDD, inclusive), in the given states (empty: all),
/// by date and time.
pub fn list(
    conn: &Connection,
    from: &str,
    to: &str,
    states: &[OrderState],
) -> Result<Vec<OrderWithPatient>, RegistryError> {
    Ok(store::orders::list(conn, from, to, states)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::patients::NewPatient;
    use crate::store::Store;

    #[test]
    fn orders_get_accessions_and_cancel_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("s.db")).expect("open");
        let mut conn = store.lock();
        let p = patients::add(
            &mut conn,
            "li",
            &NewPatient {
                name: "王^小明".into(),
                ..Default::default()
            },
        )
        .expect("patient");
        let new = NewOrder {
            patient: p.clinic_id.clone(),
            modality: "dx".into(),
            procedure: "胸部正侧位".into(),
            scheduled_date: Some("20261130".into()),
            ..Default::default()
        };
        let a = add(&mut conn, "li", &new).expect("order");
        let b = add(&mut conn, "li", &new).expect("order");
        assert_eq!(a.accession, "A202611300001");
        assert_eq!(b.accession, "A202611300002");
        assert_eq!(a.modality, "DX");
        assert_eq!(a.state, "scheduled");
        assert_ne!(a.study_uid, b.study_uid);
        let err = add(
            &mut conn,
            "li",
            &NewOrder {
                modality: "MR".into(),
                ..new.clone()
            },
        )
        .expect_err("MR is not a clinic modality");
        assert!(matches!(err, RegistryError::Invalid { .. }), "{err}");
        assert_eq!(
            cancel(&conn, "li", &a.accession).expect("cancel").state,
            "cancelled"
        );
        assert!(cancel(&conn, "li", &a.accession).is_err());
        let listed = list(&conn, "20261130", "20261130", &[OrderState::Scheduled]).expect("list");
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].patient.name, "王^小明");
    }
}
