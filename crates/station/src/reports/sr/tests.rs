use super::*;

#[test]
fn names_read_as_people_write_them() {
    assert_eq!(person_name("王^建国"), "王建国");
    assert_eq!(person_name("Wang^JianGuo=王^建国="), "王建国");
    assert_eq!(person_name("Li^Ming^^Dr"), "Li Ming Dr");
    assert_eq!(person_name(""), "");
}

#[test]
fn report_kinds_come_from_the_sop_class() {
    assert_eq!(Kind::of_sop_class(ENHANCED_SR), Some(Kind::Sr));
    assert_eq!(Kind::of_sop_class(ENCAPSULATED_PDF), Some(Kind::Pdf));
    assert_eq!(
        Kind::of_sop_class(KEY_OBJECT_SELECTION),
        Some(Kind::KeyObjects)
    );
    assert_eq!(Kind::of_sop_class("1.2.840.10008.5.1.4.1.1.1.1"), None);
    assert_eq!(REPORT_CLASSES.len(), 5);
}

/// What dicom-rs hands over for a byte-for-byte charset: one char per byte.
fn as_latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

#[test]
fn text_dicom_rs_read_byte_for_byte_is_decoded_by_the_declared_or_detected_charset() {
    let mislabelled = Doc {
        declared: vec!["ISO_IR 100".into()],
    };
    assert_eq!(
        mislabelled.redecode(&as_latin1("影像诊断报告".as_bytes())),
        "影像诊断报告"
    );
    let iso2022 = Doc {
        declared: vec!["".into(), "ISO 2022 IR 58".into()],
    };
    let bytes = b"Wang^XiaoDong=\x1b$)A\xcd\xf5^\x1b$)A\xd0\xa1\xb6\xab=";
    assert_eq!(
        iso2022.redecode(&as_latin1(bytes)),
        "Wang^XiaoDong=王^小东="
    );
    // Text dicom-rs decoded by a multi-byte charset is left alone, and so is plain Latin-1.
    let utf8 = Doc {
        declared: vec!["ISO_IR 192".into()],
    };
    assert_eq!(utf8.redecode("王小东"), "王小东");
    assert_eq!(mislabelled.redecode("Müller"), "Müller");
}
