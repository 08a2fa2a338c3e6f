//! Checks of the harness itself, so a passing suite means the checks can fail.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use dicom_core::VR;
use dicom_dictionary_std::tags;
use station::demo::Scale;

use crate::harness::fixtures::{self, documents};
use crate::harness::*;
use crate::harness::{self, dcmtk};

#[test]
fn dataset_comparison_catches_a_changed_element_and_ignores_length_encoding() {
    let scratch = Scratch::new();
    let files = demo_day(&scratch.join("day"), Scale::Small, 21);
    let original = &files
        .iter()
        .find(|f| f.charset.contains("ISO_IR 192"))
        .expect("a UTF-8 patient")
        .path;

    // Same elements, written again by another library: equal.
    let obj = dicom_object::open_file(original).unwrap();
    let rewritten = scratch.join("rewritten.dcm");
    obj.write_to_file(&rewritten).unwrap();
    assert_same_dataset(original, &rewritten);

    // One element changed: caught, with the element named.
    let mut obj = dicom_object::open_file(original).unwrap();
    obj.put_str(tags::PATIENT_ID, VR::LO, "SOMEONE-ELSE");
    let changed = scratch.join("changed.dcm");
    obj.write_to_file(&changed).unwrap();
    let caught = std::panic::catch_unwind(|| assert_same_dataset(original, &changed));
    let message = caught.expect_err("a changed Patient ID must be reported");
    let message = message
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(
        message.contains("(0010,0020)"),
        "names the element: {message}"
    );
}

#[test]
fn storescu_log_parsing_pairs_files_with_their_responses() {
    let log = "I: Sending file: /a/one.dcm\n\
               I: Converting transfer syntax: Little Endian Explicit -> Little Endian Explicit\n\
               I: Sending Store Request (MsgID 1, DX)\n\
               XMIT: .\n\
               I: Received Store Response (Success)\n\
               I: Sending file: /a/two.dcm\n\
               I: Sending Store Request (MsgID 2, US)\n\
               I: Received Store Response (Refused: OutOfResources)\n\
               I: Sending file: /a/three.dcm\n\
               E: Store Failed, file: /a/three.dcm:\n";
    let parsed = store_responses(log);
    let simple: Vec<(&str, Option<&str>)> = parsed
        .iter()
        .map(|(p, s)| (p.to_str().unwrap(), s.as_deref()))
        .collect();
    assert_eq!(
        simple,
        vec![
            ("/a/one.dcm", Some("Success")),
            ("/a/two.dcm", Some("Refused: OutOfResources")),
            ("/a/three.dcm", None),
        ]
    );
}

/// The demo day holds a Chinese name in every character set clinic devices use, and DCMTK reads
/// each declared one as the name the fixture claims; the undeclared GB18030 bytes are not
/// readable as what they declare (nothing), which is what the station has to repair.
#[test]
fn every_device_charset_has_a_chinese_name_that_dcmtk_reads_as_claimed() {
    let scratch = Scratch::new();
    let day = demo_day(&scratch.join("day"), Scale::Small, 31);
    for (charset, file) in fixtures::one_per_charset(&day) {
        assert!(
            file.patient_name
                .chars()
                .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "a Chinese name for {charset:?}: {}",
            file.patient_name
        );
        if charset.is_empty() {
            let run = dcmtk::dcmdump(&file.path, "PatientName");
            assert!(
                !run.status.success() && run.log.contains("Cannot convert"),
                "GB18030 bytes under no declaration are not plain ASCII:\n{}",
                run.log
            );
        } else {
            assert_eq!(
                dcmtk::dcmdump_value(&file.path, "PatientName"),
                file.patient_name,
                "{charset} as DCMTK reads it"
            );
        }
    }
}

/// The end-of-test check of a station handle fails the test on a staging leftover and on a file
/// under `instances/` that the index does not know, and names both.
#[test]
fn the_end_of_test_check_catches_staging_leftovers_and_unindexed_files() {
    let scratch = Scratch::new();
    let mut station = Station::start(scratch.path(), &Options::default());
    station.settle_timeout = Duration::from_millis(200);
    let data = station.data_dir.clone();
    let stray = data.join("tmp").join("stray.part");
    std::fs::write(&stray, b"half an image").expect("a staging leftover");
    let orphan_dir = data.join("instances").join("1.2.3").join("1.2.3.4");
    std::fs::create_dir_all(&orphan_dir).expect("a study folder");
    let orphan = orphan_dir.join("1.2.3.4.5.dcm");
    std::fs::write(&orphan, b"a file nobody indexed").expect("an unindexed file");

    let caught = std::panic::catch_unwind(AssertUnwindSafe(|| drop(station)));
    let message = panic_text(caught.expect_err("the check must fail the test"));
    assert!(
        message.contains("stray.part") && message.contains("1.2.3.4.5.dcm"),
        "names both: {message}"
    );
}

/// A data directory no station handle owns (here one `station import` wrote) is checked when
/// the scratch directory is dropped.
#[test]
fn the_scratch_directory_checks_data_directories_the_cli_wrote() {
    let scratch = Scratch::new();
    let data = scratch.join("data");
    let config = scratch.join("station.toml");
    harness::config::write(&Options::default().config(&data, 0, 0), &config);
    let day = demo_day(&scratch.join("day"), Scale::Small, 32);
    let run = run_tool(
        std::process::Command::new(STATION_BIN)
            .args(["import", "--config"])
            .arg(&config)
            .arg(&day[0].path),
    );
    run.assert_success("station import");
    assert_eq!(read_instances(&data).len(), 1);
    std::fs::write(data.join("tmp").join("left.part"), b"debris").expect("a leftover");

    let caught = std::panic::catch_unwind(AssertUnwindSafe(|| drop(scratch)));
    let message = panic_text(caught.expect_err("the check must fail the test"));
    assert!(message.contains("left.part"), "names it: {message}");
}

fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// What the Orthanc builder sets reaches the hub: no DICOMweb without its plugin, answers in
/// UTF-8, and an instance sent again replaces the first copy.
#[test]
fn orthanc_builder_settings_reach_the_hub() {
    let scratch = Scratch::new();
    let hub = Orthanc::builder()
        .dicomweb(false)
        .utf8(true)
        .overwrite(true)
        .start(&scratch.join("hub"));
    let plugins = hub.get("/plugins").expect("GET /plugins");
    assert!(!plugins.to_string().contains("dicom-web"), "{plugins}");
    assert!(
        hub.get_bytes("/dicom-web/studies").is_none(),
        "no DICOMweb without its plugin"
    );
    let (_, encoding) = hub
        .get_bytes("/tools/default-encoding")
        .expect("GET /tools/default-encoding");
    assert_eq!(String::from_utf8_lossy(&encoding).trim(), "Utf8");

    let file = scratch.join("image.dcm");
    let sop = documents::image(&file, &fixtures::uid());
    hub.upload(&file);
    let mut obj = dicom_object::open_file(&file).expect("the image");
    obj.put_str(tags::PATIENT_NAME, VR::PN, "李^四");
    obj.write_to_file(&file).expect("the image, renamed");
    hub.upload(&file);
    assert_eq!(
        hub.instances(),
        BTreeMap::from([(sop, "李^四".to_string())]),
        "the second copy replaced the first"
    );
}
