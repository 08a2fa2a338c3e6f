//! The patient mix-up guards end to end, over the API as the UI drives them, with DCMTK
//! `storescu` and a real Orthanc: a study that carries an order's accession but another
//! patient's name and sex is held ("check patient") with both identities on its page, and
//! reaches the hub only once a technician confirms it; a study whose device wrote the same
//! patient in letters and GB18030 characters (`Wang^Xiaoming=王^小明`) goes at once; assigning a
//! study by hand to a patient who differs is refused by the API and the CLI until confirmed,
//! and each confirmation is audited with the differences.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Command;

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use serde_json::{json, Value};

use crate::harness::api::audit;
use crate::harness::dcmtk::DCMODIFY;
use crate::harness::fixtures::documents;
use crate::harness::*;

/// A DX image of `study_uid` as the device wrote it: `name` (UTF-8), sex, birth date, accession.
fn image(dir: &Path, study_uid: &str, name: &str, sex: &str, birth: &str, accession: &str) {
    std::fs::create_dir_all(dir).expect("device dir");
    let path = dir.join(format!("{study_uid}.dcm"));
    documents::image(&path, study_uid);
    let mut obj = dicom_object::open_file(&path).expect("reopen image");
    for (tag, vr, value) in [
        (tags::PATIENT_NAME, VR::PN, name),
        (tags::PATIENT_SEX, VR::CS, sex),
        (tags::PATIENT_BIRTH_DATE, VR::DA, birth),
        (tags::ACCESSION_NUMBER, VR::SH, accession),
    ] {
        obj.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
    }
    obj.write_to_file(&path).expect("write image");
}

/// The same image's name rewritten as a GB18030 device writes it: the bytes `name` encodes to,
/// under Specific Character Set GB18030.
fn gb18030_name(dir: &Path, study_uid: &str, name: &str) {
    let (bytes, _, unmappable) = encoding_rs::GB18030.encode(name);
    assert!(!unmappable, "{name} in GB18030");
    let mut assignment = b"(0010,0010)=".to_vec();
    assignment.extend_from_slice(&bytes);
    let status = Command::new(DCMODIFY)
        .args(["-nb", "-m", "(0008,0005)=GB18030", "-m"])
        .arg(OsStr::from_bytes(&assignment))
        .arg(dir.join(format!("{study_uid}.dcm")))
        .status()
        .expect("dcmodify");
    assert!(status.success(), "dcmodify: {status}");
}

/// Study Instance UIDs of what the hub holds.
fn at_hub(hub: &Orthanc) -> Vec<String> {
    hub.tags()
        .iter()
        .map(|t| {
            t["StudyInstanceUID"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

fn study(client: &Client, token: &str, study_uid: &str) -> Value {
    client.ok(token, "study_get", json!({ "study_uid": study_uid }))
}

/// The API client, the admin's and a technician's tokens, and the clinic ID of 王^小明 (M, born
/// 1980-01-01), registered by the technician.
fn front_desk(station: &Station) -> (Client, String, String, String) {
    let client = Client::new(station);
    let admin = client.admin();
    let tech = client.user(&admin, "li.tech", "technician");
    let patient = client.ok(
        &tech,
        "patient_add",
        json!({ "name": "王^小明", "sex": "M", "birth_date": "19800101" }),
    );
    let clinic_id = patient["clinic_id"].as_str().expect("clinic id").to_owned();
    (client, admin, tech, clinic_id)
}

/// The studies a technician must place (`studies_unassigned`).
fn placeable(client: &Client, token: &str) -> Vec<Value> {
    let listed = client.ok(token, "studies_unassigned", json!({}));
    listed["items"].as_array().cloned().unwrap_or_default()
}

fn actions_of(client: &Client, admin: &str, action: &str) -> Vec<Value> {
    audit(client, admin, json!({ "action_prefix": action }))
}

#[test]
fn a_study_of_another_patient_under_an_order_waits_for_a_technician_to_confirm_it() {
    let scratch = Scratch::new();
    let hub = Orthanc::start(&scratch.join("hub"));
    let station = Station::start(
        scratch.path(),
        &Options {
            hold_on_mismatch: true,
            ..Options::sending_to(hub.dicomweb_url())
        },
    );
    let (client, admin, tech, clinic_id) = front_desk(&station);
    let clinic_id = clinic_id.as_str();
    let accession = |procedure: &str| {
        let order = client.ok(
            &tech,
            "order_add",
            json!({ "patient": clinic_id, "modality": "DX", "procedure": procedure }),
        );
        order["accession"].as_str().expect("accession").to_owned()
    };
    let (wrong_acc, same_acc) = (accession("胸部正位"), accession("胸部侧位"));

    // The DR sends one study under the first order's accession but for 李^四, a woman; and one
    // under the second order for 王^小明 written in letters and GB18030 characters.
    let device = scratch.join("device");
    let (wrong, same) = (documents::uid(), documents::uid());
    image(&device, &wrong, "LI^SI", "F", "19800101", &wrong_acc);
    image(&device, &same, "Wang^Xiaoming", "M", "", &same_acc);
    gb18030_name(&device, &same, "Wang^Xiaoming=王^小明");
    station
        .storescu("DR1", &[&device])
        .assert_success("storescu");

    // The same patient goes; the other one waits, its page showing both identities.
    wait_for("王^小明's study at the hub", WAIT_TIMEOUT, || {
        at_hub(&hub).contains(&same).then_some(())
    });
    let check = wait_for("the other patient's study held", WAIT_TIMEOUT, || {
        let detail = study(&client, &tech, &wrong);
        (detail["study"]["state"] == "unassigned").then(|| detail["patient_check"].clone())
    });
    assert_eq!(check["waiting"], true, "{check}");
    assert_eq!(check["device"]["name"], "LI^SI", "{check}");
    assert_eq!(check["registered"]["name"], "王^小明", "{check}");
    let fields: Vec<&str> = check["differences"]
        .as_array()
        .expect("differences")
        .iter()
        .map(|d| d["field"].as_str().expect("field"))
        .collect();
    assert_eq!(fields, ["name", "sex"], "the birth dates agree: {check}");
    let same_check = &study(&client, &tech, &same)["patient_check"];
    assert_eq!(same_check["differences"], json!([]), "{same_check}");
    assert_eq!(same_check["waiting"], false);
    assert!(!at_hub(&hub).contains(&wrong), "held, not sent");
    let flagged = actions_of(&client, &admin, "study.check_patient");
    assert_eq!(flagged.len(), 1, "{flagged:?}");
    // The technician's list of studies to place has it, linked to its order (so the screen can
    // say "check patient" rather than "no order"); the study that went is not there.
    let listed = placeable(&client, &tech);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["study_uid"], wrong.as_str(), "{listed:?}");
    assert!(listed[0]["order_ref"].is_i64(), "{listed:?}");
    // Nothing to pause or resume while it waits: releasing would send it unchecked.
    for op in ["study_hold", "study_release", "study_retry"] {
        let r = client.call(Some(&tech), op, json!({ "study_uid": wrong }));
        assert_eq!((r.status, r.code()), (409, "conflict"), "{op}: {r:?}");
        assert!(r.message().contains("核对患者"), "{op} says why: {r:?}");
    }
    assert_eq!(
        study(&client, &tech, &wrong)["study"]["state"],
        "unassigned"
    );

    // A doctor may not confirm; the technician does, and the study goes as the registered
    // patient.
    let doctor = client.user(&admin, "dr.zhao", "doctor");
    let r = client.call(
        Some(&doctor),
        "study_confirm_patient",
        json!({ "study_uid": wrong }),
    );
    assert_eq!(r.status, 403, "{r:?}");
    let confirmed = client.ok(
        &tech,
        "study_confirm_patient",
        json!({ "study_uid": wrong }),
    );
    assert_ne!(confirmed["state"], "unassigned", "{confirmed}");
    assert_eq!(
        placeable(&client, &tech),
        Vec::<Value>::new(),
        "confirmed: nothing to place"
    );
    wait_for("the confirmed study at the hub", WAIT_TIMEOUT, || {
        at_hub(&hub).contains(&wrong).then_some(())
    });
    let names: Vec<String> = hub
        .tags()
        .iter()
        .map(|t| t["PatientName"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(names, ["王^小明", "王^小明"], "both studies as registered");
    let entries = actions_of(&client, &admin, "study.confirm_patient");
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["actor"], "li.tech");
    let detail = entries[0]["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("LI^SI") && detail.contains("sex"),
        "{detail}"
    );
    // Confirmed once: nothing more to confirm.
    let again = client.call(
        Some(&tech),
        "study_confirm_patient",
        json!({ "study_uid": wrong }),
    );
    assert_eq!((again.status, again.code()), (409, "conflict"), "{again:?}");
}

#[test]
fn assigning_a_study_to_a_patient_who_differs_needs_an_explicit_confirmation() {
    let scratch = Scratch::new();
    let station = Station::start(
        scratch.path(),
        &Options {
            quiet_period_secs: Some(1),
            hold_unmatched: true,
            hold_on_mismatch: true,
            ..Options::default()
        },
    );
    let (client, admin, tech, clinic_id) = front_desk(&station);
    let clinic_id = clinic_id.as_str();
    let order = client.ok(
        &tech,
        "order_add",
        json!({ "patient": clinic_id, "modality": "DX" }),
    );
    let accession = order["accession"].as_str().expect("accession");

    let device = scratch.join("device");
    let stray = documents::uid();
    image(&device, &stray, "ZHANG^SAN", "M", "19900101", "");
    station
        .storescu("DR1", &[&device])
        .assert_success("storescu");
    wait_for("the stray study waiting", WAIT_TIMEOUT, || {
        (study(&client, &tech, &stray)["study"]["state"] == "unassigned").then_some(())
    });

    // Refused by the API and by the command line, naming the differences; nothing changed.
    let target = json!({ "kind": "order", "value": accession });
    let r = client.call(
        Some(&tech),
        "study_assign",
        json!({ "study_uid": stray, "target": target }),
    );
    assert_eq!((r.status, r.code()), (409, "patient_mismatch"), "{r:?}");
    assert!(
        r.message().contains("姓名") && r.message().contains("ZHANG^SAN"),
        "{r:?}"
    );
    assert!(r.message().contains("出生日期"), "{r:?}");
    let cli = station.run_cli(&["study", "assign", &stray, "--order", accession]);
    assert!(!cli.status.success(), "{}", cli.log);
    assert!(cli.log.contains("--confirm-mismatch"), "{}", cli.log);
    assert!(cli.log.contains("birth date: 19900101"), "{}", cli.log);
    assert_eq!(
        study(&client, &tech, &stray)["study"]["state"],
        "unassigned"
    );
    assert!(actions_of(&client, &admin, "study.assign").is_empty());

    // Confirmed: assigned, audited with what differed.
    let assigned = client.ok(
        &tech,
        "study_assign",
        json!({ "study_uid": stray, "target": target, "confirm_mismatch": true }),
    );
    assert_eq!(assigned["order"]["accession"], accession, "{assigned}");
    assert_eq!(assigned["differences"][0]["field"], "name", "{assigned}");
    let entries = actions_of(&client, &admin, "study.assign");
    assert_eq!(entries.len(), 1, "{entries:?}");
    let detail = entries[0]["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("ZHANG^SAN") && detail.contains("birth_date"),
        "{detail}"
    );
    // Assigned, it no longer waits for its patient to be checked: nothing to confirm.
    let cli = station.run_cli(&["study", "confirm-patient", &stray]);
    assert!(!cli.status.success(), "{}", cli.log);
    assert!(
        cli.log
            .contains("not waiting for its patient to be checked"),
        "{}",
        cli.log
    );
}
