//! Matching studies to orders end to end: DCMTK `storescu` → station → a real Orthanc. A study
//! carrying an order's accession reaches the hub with the registered patient's data; with
//! `hold_unmatched` an unmatched study waits, and assigning it sends the corrected tags with
//! the received values in Original Attributes Sequence. The received files stay as received.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use station::demo::{DemoFile, Scale};

use crate::harness::*;
use crate::orthanc::Orthanc;
use crate::sync::{queue, wait_delivered};
use crate::worklist::station_cli;

/// Simplified tags of every instance at the hub.
pub fn hub_tags(hub: &Orthanc) -> Vec<Value> {
    let ids = hub.get("/instances").expect("GET /instances");
    ids.as_array()
        .expect("instance list")
        .iter()
        .map(|id| {
            hub.get(&format!(
                "/instances/{}/simplified-tags",
                id.as_str().expect("id")
            ))
            .expect("simplified-tags")
        })
        .collect()
}

/// The DX study (two views) of the demo patient whose device writes `charset`, copied to `dir`.
pub fn dx_study(day: &[DemoFile], charset: &str, dir: &Path) -> (Vec<PathBuf>, DemoFile) {
    std::fs::create_dir_all(dir).expect("dir");
    let files: Vec<&DemoFile> = day
        .iter()
        .filter(|f| f.modality == "DX" && f.charset == charset)
        .collect();
    assert_eq!(files.len(), 2, "two DX views for the {charset:?} patient");
    let paths = files
        .iter()
        .map(|f| {
            let to = dir.join(f.path.file_name().expect("name"));
            std::fs::copy(&f.path, &to).expect("copy");
            to
        })
        .collect();
    (paths, files[0].clone())
}

/// A station completing studies after 1 s quiet and sending them to `hub`.
pub fn station_for(scratch: &Scratch, hub: &Orthanc, hold_unmatched: bool) -> Station {
    Station::start(
        scratch.path(),
        &Options {
            quiet_period_secs: Some(1),
            hold_unmatched,
            destinations: vec![Dest {
                name: "hub".into(),
                url: hub.dicomweb_url(),
                modalities: vec![],
            }],
            ..Options::default()
        },
    )
}

pub fn send(station: &Station, paths: &[PathBuf]) {
    let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    station.storescu("DR1", &refs).assert_success("storescu");
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
    station_cli(
        &station,
        &[
            "patient",
            "add",
            "--name",
            "赵^建国",
            "--clinic-id",
            "P500",
            "--id-card",
            "11010519491231002X",
        ],
    );
    station_cli(
        &station,
        &[
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
        ],
    );
    // The GB18030 device's study, carrying the order's accession as a worklist-fed DR would.
    let day = demo_day(&scratch.join("day"), Scale::Small, 41);
    let (paths, demo) = dx_study(&day, "GB18030", &scratch.join("send"));
    for p in &paths {
        let run = run_tool(
            Command::new("/usr/bin/dcmodify")
                .args(["-nb", "-m", "(0008,0050)=ACC500"])
                .arg(p),
        );
        run.assert_success("dcmodify");
    }
    send(&station, &paths);
    wait_delivered(&station, 1);

    let at_hub = hub_tags(&hub);
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
    assert_an_order_completed(&station);
}

/// `station order list` shows an order of the demo day completed.
pub fn assert_an_order_completed(station: &Station) {
    let orders = station_cli(
        station,
        &[
            "order",
            "list",
            "--from",
            station::demo::STUDY_DATE,
            "--json",
        ],
    );
    assert!(
        orders.log.contains("\"state\": \"completed\""),
        "{}",
        orders.log
    );
}

#[test]
fn an_unmatched_study_waits_until_assigned_then_goes_with_corrected_tags() {
    let scratch = Scratch::new();
    let hub = Orthanc::start_overwriting(&scratch.join("hub"));
    let station = station_for(&scratch, &hub, true);
    // The device that forgets to declare its GB18030 charset, with no order for it.
    let day = demo_day(&scratch.join("day"), Scale::Small, 42);
    let (paths, demo) = dx_study(&day, "", &scratch.join("send"));
    send(&station, &paths);
    wait_for("the study held as unassigned", WAIT_TIMEOUT, || {
        let counts = station.status_counts();
        (counts.studies_by_state.get("unassigned") == Some(&1)).then_some(())
    });
    // Held in the same transaction that completed it: nothing queued, nothing at the hub.
    assert!(queue(&station).is_empty(), "{:?}", queue(&station));
    assert_eq!(hub_tags(&hub).len(), 0);
    let listed = station_cli(&station, &["study", "unassigned", "--json"]);
    assert!(listed.log.contains(&demo.study_uid), "{}", listed.log);

    station_cli(
        &station,
        &[
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
        ],
    );
    station_cli(
        &station,
        &[
            "order",
            "add",
            "--patient",
            "P600",
            "--modality",
            "DX",
            "--accession",
            "ACC600",
        ],
    );
    station_cli(
        &station,
        &[
            "study",
            "assign",
            &demo.study_uid,
            "--order",
            "ACC600",
            "--actor",
            "li",
        ],
    );
    wait_delivered(&station, 1);
    let at_hub = hub_tags(&hub);
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
    let conn = station::store::open_reader(&station.db_path()).expect("open db");
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
    station_cli(&station, &["patient", "edit", "P600", "--name", "钱^朵朵"]);
    wait_for(
        "the corrected study at the hub",
        Duration::from_secs(90),
        || {
            let rows = queue(&station);
            let delivered = rows.len() == 1 && rows[0].state == "delivered";
            let at_hub = hub_tags(&hub);
            (delivered && at_hub.iter().all(|t| t["PatientName"] == "钱^朵朵")).then_some(at_hub)
        },
    );
    let at_hub = hub_tags(&hub);
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
