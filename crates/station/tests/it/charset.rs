//! Chinese names in the character sets clinic devices really use, and the device that declares
//! none.

use std::collections::BTreeMap;

use station::demo::Scale;

use crate::harness::*;

#[test]
fn names_read_back_in_every_charset_and_undeclared_gb18030_is_repaired_and_flagged() {
    let scratch = Scratch::new();
    let station = Station::start(scratch.path(), &Options::default());
    let day = scratch.join("day");
    let files = demo_day(&day, Scale::Small, 3);

    // The fixture covers what the issue asks for.
    let declared: BTreeMap<&str, &str> = files
        .iter()
        .map(|f| (f.charset, f.patient_name.as_str()))
        .collect();
    let has = |pred: &dyn Fn(&str) -> bool| declared.keys().any(|c| pred(c));
    assert!(
        has(&|c| c.contains("ISO_IR 192")),
        "UTF-8 patient in the demo: {declared:?}"
    );
    assert!(
        has(&|c| c == "GB18030"),
        "GB18030 patient in the demo: {declared:?}"
    );
    assert!(
        has(&|c| c == "GBK"),
        "GBK patient in the demo: {declared:?}"
    );
    assert!(
        has(&|c| c.contains("ISO 2022 IR 58")),
        "ISO 2022 IR 58 patient: {declared:?}"
    );
    assert!(
        has(&|c| c.is_empty()),
        "patient with no charset declared: {declared:?}"
    );
    for name in declared.values() {
        assert!(
            name.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "demo names are Chinese: {name}"
        );
    }

    station
        .storescu("US1", &[&day])
        .assert_success("storescu of the demo day");

    let rows = station.instances();
    assert_eq!(rows.len(), 40);
    let demo = by_sop(&files);
    let mut repaired = 0;
    for row in &rows {
        let sent = demo[&row.sop_instance_uid];
        let label = if sent.charset.is_empty() {
            "(none declared)"
        } else {
            sent.charset
        };
        assert_eq!(
            row.patient_name, sent.patient_name,
            "patient name of a {} instance ({label})",
            sent.modality
        );
        assert!(
            !row.patient_name.contains('\u{fffd}'),
            "no replacement characters: {}",
            row.patient_name
        );
        if sent.charset.is_empty() {
            repaired += 1;
            assert!(
                row.charset_repaired.is_some(),
                "undeclared GB18030 instance {} is flagged as repaired",
                row.sop_instance_uid
            );
        } else {
            assert_eq!(
                row.charset_repaired, None,
                "instance declaring {label} needs no repair"
            );
        }
        // The repair is in the index only: the stored bytes are what the device sent.
        assert_same_dataset(&sent.path, &station.data_dir.join(&row.path));
    }
    assert!(repaired > 0);
    assert_eq!(station.status_counts().instances_charset_repaired, repaired);
}
