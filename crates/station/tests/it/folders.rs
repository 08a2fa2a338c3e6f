//! Watched folders, for devices that can only export files.

use station::demo::Scale;

use crate::harness::*;

#[test]
fn malformed_file_in_a_watched_folder_is_quarantined_with_a_reason_and_later_files_still_come_in() {
    let scratch = Scratch::new();
    let drop = scratch.join("ecg-export");
    let mut station = Station::start(
        scratch.path(),
        &Options {
            watch: vec![watch_folder(&drop, None)],
            ..Options::default()
        },
    );
    let files = demo_day(&scratch.join("day"), Scale::Small, 6);

    // A device writes something that is not DICOM (a truncated export, a stray report).
    let bad = drop.join("broken.dcm");
    let mut junk = b"this is not a DICOM object, just text an export tool left behind\n".repeat(20);
    junk.extend_from_slice(&[0u8; 64]);
    std::fs::write(&bad, &junk).unwrap();
    let quarantined = drop.join("quarantine").join("broken.dcm");
    let reason_file = drop.join("quarantine").join("broken.dcm.reason.txt");
    // The index records a quarantine last, after the file and its reason are in place.
    wait_for("the malformed file to be quarantined", WAIT_TIMEOUT, || {
        (station.db_path().exists() && station.status_counts().quarantined >= 1).then_some(())
    });
    assert!(quarantined.is_file(), "moved to quarantine/");
    assert!(reason_file.is_file(), "with a reason file beside it");
    assert!(
        !bad.exists(),
        "the malformed file is moved out of the export folder"
    );
    assert_eq!(
        std::fs::read(&quarantined).unwrap(),
        junk,
        "quarantined bytes are kept as they were"
    );
    let reason = std::fs::read(&reason_file).unwrap();
    let reason = String::from_utf8(reason).expect("the reason file is readable text");
    assert!(
        reason.trim().len() >= 10 && reason.chars().any(|c| c.is_alphabetic()),
        "the reason says why: {reason:?}"
    );
    assert_eq!(station.instance_count(), 0);
    assert_eq!(
        station.status_counts().quarantined,
        1,
        "the quarantine is recorded for a person"
    );
    let listed = station.quarantined();
    assert_eq!(
        listed[0].reason_code,
        Some(station::store::QuarantineReason::NotDicom),
        "recorded as not DICOM: {listed:?}"
    );

    // The next export is a good one: it still comes in.
    let good = files
        .iter()
        .find(|f| f.modality == "ECG")
        .unwrap_or(&files[0]);
    let name = good.path.file_name().unwrap();
    std::fs::copy(&good.path, drop.join(name)).unwrap();
    let row = wait_for("the valid file to be indexed", WAIT_TIMEOUT, || {
        station
            .instances()
            .into_iter()
            .find(|r| r.sop_instance_uid == good.sop_instance_uid)
    });
    assert_eq!(row.source_kind, "folder");
    assert_eq!(row.patient_name, good.patient_name);
    assert_same_dataset(&good.path, &station.data_dir.join(&row.path));
    let done = drop.join("done").join(name);
    wait_for("the valid file to move to done/", WAIT_TIMEOUT, || {
        (done.is_file() && !drop.join(name).exists()).then_some(())
    });
    assert_eq!(
        sha256_file(&done),
        sha256_file(&good.path),
        "done/ keeps the file as exported"
    );
    assert_eq!(station.instance_count(), 1);
    station.assert_running();
}
