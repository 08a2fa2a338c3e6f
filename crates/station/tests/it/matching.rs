//! Matching studies to orders end to end: DCMTK `storescu` → station → a real Orthanc. A study
//! carrying an order's accession reaches the hub with the registered patient's data; with
//! `hold_unmatched` an unmatched study waits, and assigning it sends the corrected tags with
//! the received values in Original Attributes Sequence. The received files stay as received.

use std::time::Duration;

use serde_json::Value;
use station::demo::{DemoFile, Scale};

use crate::harness::dcmtk;
use crate::harness::*;

/// A station completing studies after 1 s quiet and sending them to `hub`.
fn station_for(scratch: &Scratch, hub: &Orthanc, hold_unmatched: bool) -> Station {
    Station::start(
        scratch.path(),
        &Options {
            hold_unmatched,
            ..Options::sending_to(hub.dicomweb_url())
        },
    )
}

/// The original values recorded in the first Original Attributes Sequence item.
fn first_original(tags: &Value) -> (&Value, &Value) {
    let item = &tags["OriginalAttributesSequence"][0];
    (&item["ModifiedAttributesSequence"][0], item)
}

#[test]
fn a_study_with_an_order_accession_reaches_orthanc_with_the_registered_patient() {
    let scratch = Scratch::new();
    let hub = Orthanc::start(&scratch.join("hub"));
    let station = station_for(&scratch, &hub, false);
    station.cli(&[
        "patient",
        "add",
        "--name",
        "赵^建国",
        "--clinic-id",
        "P500",
        "--id-card",
        "11010519491231002X",
    ]);
    station.cli(&[
        "order",
        "add",
        "--patient",
        "P500",
        "--modality",
        "DX",
        "--date",
        station::demo::STUDY_DATE,
        "--accession",
        "ACC500",
    ]);
    // The GB18030 device's study, carrying the order's accession as a worklist-fed DR would.
    let day = demo_day(&scratch.join("day"), Scale::Small, 41);
    let (paths, demo) = dx_study(&day, "GB18030", &scratch.join("send"));
    for p in &paths {
        dcmtk::dcmodify(p, "(0008,0050)=ACC500");
    }
    station.send(&paths);
    station.wait_delivered(1);

    let at_hub = hub.tags();
    assert_eq!(at_hub.len(), 2, "both views at the hub");
    for tags in &at_hub {
        assert_eq!(tags["PatientName"], "赵^建国", "{tags}");
        assert_eq!(tags["PatientID"], "P500");
        assert_eq!(tags["PatientBirthDate"], "19491231");
        assert_eq!(tags["PatientSex"], "F");
        assert_eq!(tags["AccessionNumber"], "ACC500");
        assert_eq!(tags["StudyInstanceUID"], demo.study_uid.as_str());
        let (original, item) = first_original(tags);
        assert_eq!(original["PatientName"], demo.patient_name.as_str());
        assert_eq!(item["ReasonForTheAttributeModification"], "COERCE");
    }
    // What the device sent is kept as it was sent.
    let rows = assert_index_matches_files(&station.data_dir);
    assert_eq!(rows.len(), 2);
    for row in &rows {
        let sent = paths
            .iter()
            .find(|p| {
                station::dicom::header::read_part10(p)
                    .expect("sent header")
                    .sop_instance_uid
                    == row.sop_instance_uid
            })
            .expect("the sent file of a stored instance");
        assert_same_dataset(sent, &station.data_dir.join(&row.path));
        assert_eq!(
            row.patient_name, demo.patient_name,
            "index keeps the received name"
        );
    }
    station.assert_an_order_completed();
}

#[test]
fn an_unmatched_study_waits_until_assigned_then_goes_with_corrected_tags() {
    let scratch = Scratch::new();
    let hub = Orthanc::builder()
        .overwrite(true)
        .start(&scratch.join("hub"));
    let station = station_for(&scratch, &hub, true);
    // The device that forgets to declare its GB18030 charset, with no order for it.
    let day = demo_day(&scratch.join("day"), Scale::Small, 42);
    let (paths, demo) = dx_study(&day, "", &scratch.join("send"));
    station.send(&paths);
    wait_for("the study held as unassigned", WAIT_TIMEOUT, || {
        let counts = station.status_counts();
        (counts.studies_by_state.get("unassigned") == Some(&1)).then_some(())
    });
    // Held in the same transaction that completed it: nothing queued, nothing at the hub.
    assert!(station.queue().is_empty(), "{:?}", station.queue());
    assert_eq!(hub.tags().len(), 0);
    let listed = station.cli(&["study", "unassigned", "--json"]);
    assert!(listed.log.contains(&demo.study_uid), "{}", listed.log);

    station.cli(&[
        "patient",
        "add",
        "--name",
        "钱^多多",
        "--clinic-id",
        "P600",
        "--sex",
        "M",
        "--birth-date",
        "19800101",
    ]);
    station.cli(&[
        "order",
        "add",
        "--patient",
        "P600",
        "--modality",
        "DX",
        "--accession",
        "ACC600",
    ]);
    station.cli(&[
        "study",
        "assign",
        &demo.study_uid,
        "--order",
        "ACC600",
        // The device sent another name: the technician confirms it is this patient.
        "--confirm-mismatch",
        "--actor",
        "li",
    ]);
    station.wait_delivered(1);
    let at_hub = hub.tags();
    assert_eq!(at_hub.len(), 2);
    for tags in &at_hub {
        assert_eq!(tags["PatientName"], "钱^多多", "{tags}");
        assert_eq!(tags["PatientID"], "P600");
        assert_eq!(tags["PatientSex"], "M");
        assert_eq!(tags["AccessionNumber"], "ACC600");
        let (original, item) = first_original(tags);
        assert_eq!(original["PatientID"], tags_of_demo_id(&demo));
        assert_eq!(item["ReasonForTheAttributeModification"], "COERCE");
        assert_eq!(item["ModifyingSystem"], "CLINIC IMAGING STATION");
    }
    assert_index_matches_files(&station.data_dir);
    let conn = station.reader();
    let audit = station::store::audit::list(
        &conn,
        &station::store::audit::AuditFilter {
            actor: Some("li".into()),
            ..Default::default()
        },
    )
    .expect("audit");
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert!(
        actions.contains(&"study.assign") && actions.contains(&"study.correct"),
        "{actions:?}"
    );

    // A typo found after delivery: correcting the name (the rest stays as registered) sends
    // the same instances again.
    station.cli(&["patient", "edit", "P600", "--name", "钱^朵朵"]);
    wait_for(
        "the corrected study at the hub",
        Duration::from_secs(90),
        || {
            let rows = station.queue();
            let delivered = rows.len() == 1 && rows[0].state == "delivered";
            let at_hub = hub.tags();
            (delivered && at_hub.iter().all(|t| t["PatientName"] == "钱^朵朵")).then_some(at_hub)
        },
    );
    let at_hub = hub.tags();
    let mut sops: Vec<&str> = at_hub
        .iter()
        .map(|t| t["SOPInstanceUID"].as_str().expect("SOP Instance UID"))
        .collect();
    sops.sort();
    let mut sent: Vec<String> = paths
        .iter()
        .map(|p| {
            station::dicom::header::read_part10(p)
                .expect("sent header")
                .sop_instance_uid
        })
        .collect();
    sent.sort();
    assert_eq!(
        sops, sent,
        "the same SOP Instance UIDs, replaced at the hub"
    );
    for tags in &at_hub {
        let items = tags["OriginalAttributesSequence"]
            .as_array()
            .expect("Original Attributes Sequence");
        assert_eq!(items.len(), 2, "assignment, then correction: {tags}");
        assert_eq!(items[1]["ReasonForTheAttributeModification"], "CORRECT");
        assert_eq!(tags["PatientSex"], "M", "kept as registered");
        assert_eq!(
            items[1]["ModifiedAttributesSequence"][0]["PatientName"],
            "钱^多多"
        );
    }
    assert_index_matches_files(&station.data_dir);
}

/// The Patient ID the demo device wrote for this study (read back from the demo file).
fn tags_of_demo_id(demo: &DemoFile) -> String {
    station::dicom::header::read_part10(&demo.path)
        .expect("demo header")
        .patient_id
}
