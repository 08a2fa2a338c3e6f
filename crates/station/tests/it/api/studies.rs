//! Studies through the API on a real clinic day received from DCMTK: search, detail with send
//! history, hold/release/urgent with live events, and an audit entry for every read.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::json;
use station::demo::{DemoFile, Scale, STUDY_DATE};

use crate::harness::api::audit;
use crate::harness::*;

/// A station that received a small clinic day from DR1 by DCMTK, every study queued for a hub
/// that never answers (nothing listens on its port: studies wait, the link shows offline).
fn a_received_day(scratch: &Scratch) -> (Station, Vec<DemoFile>) {
    let station = Station::start(
        scratch.path(),
        &Options::sending_to(format!("http://127.0.0.1:{}/dicom-web", free_port())),
    );
    let day = demo_day(&scratch.join("day"), Scale::Small, 7);
    let paths: Vec<&std::path::Path> = day.iter().map(|f| f.path.as_path()).collect();
    station.storescu("DR1", &paths).assert_success("storescu");
    let studies: BTreeSet<&str> = day.iter().map(|f| f.study_uid.as_str()).collect();
    wait_for("every study queued for the hub", WAIT_TIMEOUT, || {
        let queued: i64 = station.status_counts().send_queue_by_state.values().sum();
        (queued == studies.len() as i64).then_some(())
    });
    (station, day)
}

#[test]
fn a_clinic_day_is_searchable_readable_and_held_with_every_read_audited() {
    let scratch = Scratch::new();
    let (station, day) = a_received_day(&scratch);
    let studies: BTreeSet<&str> = day.iter().map(|f| f.study_uid.as_str()).collect();

    let client = Client::new(&station);
    let admin = client.admin();
    let tech = client.user(&admin, "li.tech", "technician");
    let doctor = client.user(&admin, "dr.wang", "doctor");

    // Search by a patient's name as people type it (no DICOM '^').
    let patient = day
        .iter()
        .find(|f| !f.patient_name.contains('='))
        .expect("a patient with a plain Chinese name");
    let typed = patient.patient_name.replace('^', "");
    let expected: BTreeSet<&str> = day
        .iter()
        .filter(|f| f.patient_name == patient.patient_name)
        .map(|f| f.study_uid.as_str())
        .collect();
    let page = client.ok(&tech, "studies_list", json!({ "text": typed }));
    let found: BTreeSet<&str> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|s| s["study_uid"].as_str().expect("uid"))
        .collect();
    assert_eq!(found, expected, "studies of {typed}");
    assert_eq!(page["total"], expected.len());
    assert_eq!(
        page["items"][0]["patient_name"],
        patient.patient_name.as_str()
    );

    // By modality, date and paging.
    let ecg: BTreeSet<&str> = day
        .iter()
        .filter(|f| f.modality == "ECG")
        .map(|f| f.study_uid.as_str())
        .collect();
    let page = client.ok(&tech, "studies_list", json!({ "modality": "ECG" }));
    assert_eq!(page["total"], ecg.len());
    let page = client.ok(
        &tech,
        "studies_list",
        json!({ "date_from": STUDY_DATE, "limit": 2 }),
    );
    assert_eq!(page["total"], studies.len());
    assert_eq!(page["items"].as_array().map(Vec::len), Some(2));
    let page = client.ok(&tech, "studies_list", json!({ "date_from": "2099-01-01" }));
    assert_eq!(page["total"], 0);
    let r = client.call(
        Some(&tech),
        "studies_list",
        json!({ "date_from": "yesterday" }),
    );
    assert_eq!((r.status, r.code()), (422, "invalid"));

    // One study in detail: its series and instances, and its sending to the hub.
    let uid = *expected.iter().next().expect("a study");
    let per_study: BTreeMap<&str, usize> = day.iter().fold(BTreeMap::new(), |mut m, f| {
        *m.entry(f.study_uid.as_str()).or_default() += 1;
        m
    });
    let detail = client.ok(&doctor, "study_get", json!({ "study_uid": uid }));
    let instances: usize = detail["series"]
        .as_array()
        .expect("series")
        .iter()
        .map(|s| s["instances"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(instances, per_study[uid]);
    assert_eq!(detail["sends"][0]["destination"], "hub");
    let r = client.call(
        Some(&doctor),
        "study_get",
        json!({ "study_uid": "1.2.3.404" }),
    );
    assert_eq!((r.status, r.code()), (404, "not_found"));

    // Every read of patient data is in the audit trail, with who read what.
    let reads = audit(
        &client,
        &admin,
        json!({ "actor": "dr.wang", "action_prefix": "study.read" }),
    );
    assert_eq!(
        reads.len(),
        1,
        "a study that does not exist is no read: {reads:?}"
    );
    assert!(reads.iter().any(|e| e["subject"] == uid));
    let lists = audit(
        &client,
        &admin,
        json!({ "actor": "li.tech", "action_prefix": "studies.list" }),
    );
    assert_eq!(
        lists.len(),
        4,
        "each successful search is recorded: {lists:?}"
    );
    assert!(lists
        .iter()
        .any(|e| e["detail"].as_str().unwrap_or("").contains(&typed)));

    // Hold: the change lands, is audited, and live views hear of it.
    let mut events = client.events(&doctor);
    let held = client.ok(&tech, "study_hold", json!({ "study_uid": uid }));
    assert_eq!(held["state"], "held");
    let event = client.next_event(&mut events, Duration::from_secs(30), |e| {
        e["type"] == "study_changed" && e["study_uid"] == uid
    });
    assert_eq!(event["state"], "held");
    let r = client.call(Some(&tech), "study_hold", json!({ "study_uid": uid }));
    assert_eq!(
        (r.status, r.code()),
        (409, "conflict"),
        "already held: {r:?}"
    );
    let sends = client.ok(&tech, "study_get", json!({ "study_uid": uid }))["sends"].clone();
    assert_eq!(sends[0]["state"], "held");
    let released = client.ok(&tech, "study_release", json!({ "study_uid": uid }));
    // Back in the queue: waiting, or already taken by a sync worker the release woke.
    assert!(
        matches!(released["state"].as_str(), Some("ready" | "sending")),
        "{released}"
    );

    // Urgent: the queue's priority changes, so the workers send it first.
    client.ok(
        &doctor,
        "study_mark_urgent",
        json!({ "study_uid": uid, "urgent": true }),
    );
    let conn = station.reader();
    let priority: i64 = conn
        .query_row(
            "SELECT q.priority FROM send_queue q JOIN studies s ON s.id = q.study_ref WHERE s.study_uid = ?1",
            [uid],
            |r| r.get(0),
        )
        .expect("queue row");
    assert_eq!(priority, 1);
    let urgent = client.ok(&tech, "studies_list", json!({ "urgent_only": true }));
    assert_eq!(urgent["total"], 1);
    assert_eq!(urgent["items"][0]["urgent"], true);
    let changes = audit(
        &client,
        &admin,
        json!({ "subject": uid, "action_prefix": "study." }),
    );
    let actions: Vec<&str> = changes
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for a in ["study.hold", "study.release", "study.urgent"] {
        assert!(actions.contains(&a), "{a} audited: {actions:?}");
    }

    // The dashboard: the device that sent, and the hub that cannot be reached.
    let dash = wait_for("the hub's link to show offline", WAIT_TIMEOUT, || {
        let d = client.ok(&tech, "dashboard", json!({}));
        (d["destinations"][0]["online"] == false).then_some(d)
    });
    assert_eq!(dash["devices"][0]["calling_ae"], "DR1");
    assert_eq!(dash["devices"][0]["instances"], day.len());
    assert!(dash["destinations"][0]["last_error"].is_string(), "{dash}");
    assert!(dash["free_disk_bytes"].as_u64().unwrap_or(0) > 0);
}

#[test]
fn a_list_refetched_by_a_live_screen_is_one_audit_entry_and_the_admin_finds_who_saw_a_patient() {
    let scratch = Scratch::new();
    let (station, _day) = a_received_day(&scratch);
    let client = Client::new(&station);
    let admin = client.admin();
    let tech = client.user(&admin, "li.tech", "technician");
    let doctor = client.user(&admin, "dr.wang", "doctor");

    // The Studies tab, open all morning, refetching on every live event.
    let today = json!({ "date_from": STUDY_DATE });
    let page = client.ok(&tech, "studies_list", today.clone());
    for _ in 1..12 {
        // States move on meanwhile (the worker keeps trying the hub): the studies stay.
        let again = client.ok(&tech, "studies_list", today.clone());
        assert_eq!(again["total"], page["total"]);
    }
    // Another search is another entry; so are opening a study (twice: one entry) and another
    // person opening it.
    client.ok(&tech, "studies_list", json!({ "modality": "ECG" }));
    // A radiograph, so its thumbnail renders.
    let study = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|s| s["modalities"] == json!(["DX"]))
        .expect("a DX study");
    let uid = study["study_uid"].as_str().expect("uid");
    let patient = study["patient_id"].as_str().expect("patient id");
    let detail = client.ok(&tech, "study_get", json!({ "study_uid": uid }));
    client.ok(&tech, "study_get", json!({ "study_uid": uid }));
    client.ok(&doctor, "study_get", json!({ "study_uid": uid }));
    // The study page refetched shows its thumbnails again (never cached): one read too.
    let sop = detail["series"][0]["instances"][0]["sop_instance_uid"]
        .as_str()
        .expect("an instance");
    for _ in 0..3 {
        let (status, _, _) = client.get_bytes_as(&tech, &format!("/api/preview/{sop}.png"));
        assert_eq!(status, 200);
    }

    let lists = audit(
        &client,
        &admin,
        json!({ "actor": "li.tech", "action_prefix": "studies.list" }),
    );
    assert_eq!(
        lists.len(),
        2,
        "12 refetches and one other search: {lists:?}"
    );
    let refetched = lists
        .iter()
        .find(|e| e["detail"].as_str().unwrap_or("").contains(STUDY_DATE))
        .expect("the Studies tab's entry");
    assert_eq!(refetched["repeats"], 12, "{refetched}");
    assert!(refetched["last_at"].as_i64() >= refetched["at"].as_i64());
    let reads = audit(&client, &admin, json!({ "action_prefix": "study.read" }));
    let by = |actor: &str| {
        reads
            .iter()
            .filter(|e| e["actor"] == actor)
            .collect::<Vec<_>>()
    };
    assert_eq!(by("li.tech").len(), 1, "{reads:?}");
    assert_eq!(by("li.tech")[0]["repeats"], 2);
    assert_eq!(by("dr.wang").len(), 1, "{reads:?}");
    let previews = audit(&client, &admin, json!({ "action_prefix": "preview.read" }));
    assert_eq!(previews.len(), 1, "{previews:?}");
    assert_eq!(
        (&previews[0]["subject"], &previews[0]["repeats"]),
        (&json!(sop), &json!(3))
    );

    // Who saw this patient's data, and when: the list that showed them and both opens.
    let seen = audit(&client, &admin, json!({ "patient_id": patient }));
    let who: BTreeSet<(&str, &str)> = seen
        .iter()
        .filter_map(|e| Some((e["actor"].as_str()?, e["action"].as_str()?)))
        .collect();
    for expected in [
        ("li.tech", "studies.list"),
        ("li.tech", "study.read"),
        ("dr.wang", "study.read"),
    ] {
        assert!(who.contains(&expected), "{expected:?} in {seen:?}");
    }
    assert!(
        !who.contains(&("dr.wang", "studies.list")),
        "the doctor never listed: {seen:?}"
    );
}
