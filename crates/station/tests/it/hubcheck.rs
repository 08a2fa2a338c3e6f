//! A correction counts as delivered only when the hub shows the corrected patient. After a
//! patient edit the station sends the same SOP Instance UIDs again; an Orthanc that keeps the
//! first copy of an instance (its default) answers success and still shows the old name, so
//! the study must read failed for that hub with a reason naming both names and the fix, until
//! the hub is set to overwrite and the study retried. The other half (an overwriting Orthanc
//! shows the corrected name and the study is delivered) is also
//! `matching::an_unmatched_study_waits_until_assigned_then_goes_with_corrected_tags`.

use std::time::Duration;

use station::demo::Scale;

use crate::harness::*;

#[test]
fn a_correction_a_hub_ignores_fails_the_study_with_the_reason() {
    let scratch = Scratch::new();
    // Keeps the first copy (Orthanc's default) and answers queries in UTF-8.
    let hub = Orthanc::builder().utf8(true).start(&scratch.join("hub"));
    let station = Station::start(
        scratch.path(),
        &Options {
            hold_unmatched: true,
            ..Options::sending_to(hub.dicomweb_url())
        },
    );
    let day = demo_day(&scratch.join("day"), Scale::Small, 43);
    let (paths, demo) = dx_study(&day, "GB18030", &scratch.join("send"));
    station.send(&paths);
    wait_for("the study held as unassigned", WAIT_TIMEOUT, || {
        let counts = station.status_counts();
        (counts.studies_by_state.get("unassigned") == Some(&1)).then_some(())
    });
    let patient = [
        "patient",
        "add",
        "--name",
        "王^小明",
        "--clinic-id",
        "P700",
        "--sex",
        "M",
    ];
    station.cli(&patient);
    let order = [
        "order",
        "add",
        "--patient",
        "P700",
        "--modality",
        "DX",
        "--accession",
        "ACC700",
    ];
    station.cli(&order);
    // The device sent another name: the technician confirms it is this patient.
    let assign = [
        "study",
        "assign",
        &demo.study_uid,
        "--order",
        "ACC700",
        "--confirm-mismatch",
    ];
    station.cli(&assign);
    // The first copies the hub gets carry the assigned patient: delivered.
    station.wait_delivered(1);
    let names = |tags: Vec<serde_json::Value>| -> Vec<String> {
        tags.iter()
            .map(|t| t["PatientName"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(names(hub.tags()), ["王^小明", "王^小明"]);

    station.cli(&["patient", "edit", "P700", "--name", "李^四"]);
    let row = wait_for(
        "the corrected study failed for the hub",
        Duration::from_secs(90),
        || {
            let rows = station.queue();
            (rows.len() == 1 && rows[0].state == "failed").then(|| rows[0].clone())
        },
    );
    let reason = row.last_error.unwrap_or_default();
    assert!(
        reason.contains("the hub kept its earlier copy (patient name 王^小明, expected 李^四)")
            && reason.contains("OverwriteInstances"),
        "{reason}"
    );
    // The station tells the truth: the hub still shows the first name.
    assert_eq!(names(hub.tags()), ["王^小明", "王^小明"]);
    let counts = station.status_counts();
    assert_eq!(
        counts.studies_by_state.get("failed"),
        Some(&1),
        "{counts:?}"
    );

    // The hub's operator turns on overwriting; a retry sends the corrected copies again and
    // the study is delivered once the hub shows the corrected name.
    let overwriting = hub.settings().overwrite(true);
    let hub = hub.restart(overwriting);
    station.cli(&["sync", "retry", &demo.study_uid]);
    station.wait_delivered(1);
    assert_eq!(names(hub.tags()), ["李^四", "李^四"]);
}
