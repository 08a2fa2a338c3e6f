//! Checks of the harness itself, so a passing suite means the checks can fail.

use dicom_core::VR;
use dicom_dictionary_std::tags;
use station::demo::Scale;

use crate::harness::*;

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
