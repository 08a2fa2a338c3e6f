//! A device that sends the same instance again, and one that re-sends a changed instance under
//! the same SOP Instance UID.

use dicom_core::VR;
use dicom_dictionary_std::tags;
use station::demo::Scale;

use crate::harness::*;

#[test]
fn same_file_twice_is_one_row_and_changed_bytes_under_the_same_uid_are_kept_and_flagged() {
    let scratch = Scratch::new();
    let station = Station::start(scratch.path(), &Options::default());
    let files = demo_day(&scratch.join("day"), Scale::Small, 7);
    // A UTF-8 patient, so rewriting the file with dicom-object keeps every name byte-exact.
    let original = files
        .iter()
        .find(|f| f.charset.contains("ISO_IR 192"))
        .expect("a UTF-8 patient in the demo day");
    let sop = original.sop_instance_uid.as_str();
    let rows_for = |station: &Station| {
        station
            .instances()
            .into_iter()
            .filter(|r| r.sop_instance_uid == sop)
            .collect::<Vec<_>>()
    };

    for attempt in ["first", "second"] {
        let run = station.storescu("DR1", &[&original.path]);
        run.assert_success(&format!("{attempt} send"));
        let responses = run.store_responses();
        assert_eq!(
            responses.first().and_then(|r| r.1.as_deref()),
            Some("Success"),
            "{attempt} send is acknowledged:\n{}",
            run.log
        );
    }
    let rows = rows_for(&station);
    assert_eq!(rows.len(), 1, "the same bytes twice are stored once");
    assert_eq!(rows[0].review_reason, None);
    assert_eq!(files_under(&station.data_dir.join("instances")).len(), 1);

    // The device corrects something and sends the instance again under the same UID.
    let mut obj = dicom_object::open_file(&original.path).expect("opening the demo file");
    obj.put_str(
        tags::IMAGE_COMMENTS,
        VR::LT,
        "corrected and re-sent by the device",
    );
    let changed = scratch.join("changed.dcm");
    obj.write_to_file(&changed)
        .expect("writing the changed file");
    assert_eq!(read_part10(&changed).sop_instance_uid, sop);
    assert_ne!(sha256_file(&changed), sha256_file(&original.path));

    let run = station.storescu("DR1", &[&changed]);
    run.assert_success("send of the changed instance");
    assert_eq!(
        run.store_responses().first().and_then(|r| r.1.as_deref()),
        Some("Success"),
        "the changed instance is acknowledged (both are kept):\n{}",
        run.log
    );
    let rows = rows_for(&station);
    assert_eq!(rows.len(), 2, "different bytes under one UID: both kept");
    let (older, newer) = (&rows[0], &rows[1]);
    assert!(older.id < newer.id);
    assert_eq!(older.review_reason, None, "the first one stays as it was");
    let reason = newer
        .review_reason
        .as_deref()
        .expect("the newer one is flagged for review");
    assert!(!reason.trim().is_empty());
    assert_ne!(older.path, newer.path, "the first file is not overwritten");
    assert_same_dataset(&original.path, &station.data_dir.join(&older.path));
    assert_same_dataset(&changed, &station.data_dir.join(&newer.path));
    assert_index_matches_files(&station.data_dir);
    assert_eq!(station.status_counts().instances_for_review, 1);
}
