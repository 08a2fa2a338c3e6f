//! Changes a person makes reach the other open windows: registering and correcting a patient,
//! ordering and cancelling an exam, creating and changing a user each send their event on the
//! live stream (after the change is committed with its audit entry), so a second technician's
//! Today screen and another admin's user list update without a reload.

use std::time::Duration;

use serde_json::json;

use crate::harness::api::audit;
use crate::harness::*;

const EVENT_TIMEOUT: Duration = Duration::from_secs(30);

#[test]
fn registry_and_user_changes_are_announced_to_other_windows() {
    let scratch = Scratch::new();
    let station = Station::start(scratch.path(), &Options::default());
    let client = Client::new(&station);
    let admin = client.admin();
    let tech = client.user(&admin, "li.tech", "technician");
    // The other technician's window, and the other admin's.
    let colleague = client.user(&admin, "wang.tech", "technician");
    let mut desk = client.events(&colleague);
    let mut office = client.events(&admin);
    // The center's maintenance staff: their window hears of users, never of a patient or order.
    let upkeep = client.user(&admin, "center.ops", "maintenance");
    let mut remote = client.events(&upkeep);

    let patient = client.ok(
        &tech,
        "patient_add",
        json!({ "name": "王^小明", "sex": "M", "birth_date": "19800101" }),
    );
    let clinic_id = patient["clinic_id"].as_str().expect("clinic id").to_owned();
    client.next_event(&mut desk, EVENT_TIMEOUT, |e| {
        e["type"] == "patient_changed" && e["clinic_id"] == clinic_id.as_str()
    });

    let order = client.ok(
        &tech,
        "order_add",
        json!({ "patient": clinic_id, "modality": "DX", "procedure": "胸部正位" }),
    );
    let accession = order["accession"].as_str().expect("accession").to_owned();
    let added = client.next_event(&mut desk, EVENT_TIMEOUT, |e| {
        e["type"] == "order_changed" && e["accession"] == accession.as_str()
    });
    assert_eq!(added["state"], "scheduled");

    client.ok(
        &tech,
        "patient_update",
        json!({ "clinic_id": clinic_id, "patient": { "name": "王^晓明", "sex": "M", "birth_date": "19800101" } }),
    );
    client.next_event(&mut desk, EVENT_TIMEOUT, |e| {
        e["type"] == "patient_changed" && e["clinic_id"] == clinic_id.as_str()
    });

    client.ok(&tech, "order_cancel", json!({ "accession": accession }));
    let cancelled = client.next_event(&mut desk, EVENT_TIMEOUT, |e| {
        e["type"] == "order_changed" && e["state"] == "cancelled"
    });
    assert_eq!(cancelled["accession"], accession.as_str());

    client.ok(
        &admin,
        "user_update",
        json!({ "username": "li.tech", "display_name": "李技师" }),
    );
    client.next_event(&mut office, EVENT_TIMEOUT, |e| {
        e["type"] == "user_changed" && e["username"] == "li.tech"
    });
    // Every patient and order event went out before this one, on the same bus.
    client.next_event(&mut remote, EVENT_TIMEOUT, |e| {
        assert!(
            e["type"] != "patient_changed" && e["type"] != "order_changed",
            "the maintenance role hears no registry event: {e}"
        );
        e["type"] == "user_changed" && e["username"] == "li.tech"
    });

    // Each announced change is in the audit trail.
    let actions: Vec<String> = audit(&client, &admin, json!({}))
        .iter()
        .filter_map(|e| e["action"].as_str().map(str::to_owned))
        .collect();
    for a in [
        "patient.add",
        "patient.update",
        "order.add",
        "order.cancel",
        "user.update",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} audited: {actions:?}");
    }
}
