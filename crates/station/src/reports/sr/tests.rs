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

/// A content item: a concept name coded (value, scheme, meaning), with a text value or children.
pub(super) fn item(
    value_type: &str,
    name: (&str, &str, &str),
    text: Option<&str>,
    children: Vec<InMemDicomObject>,
) -> InMemDicomObject {
    use dicom_core::value::DataSetSequence;
    use dicom_core::{DataElement, VR};
    let code = InMemDicomObject::from_element_iter([
        DataElement::new(tags::CODE_VALUE, VR::SH, name.0),
        DataElement::new(tags::CODING_SCHEME_DESIGNATOR, VR::SH, name.1),
        DataElement::new(tags::CODE_MEANING, VR::LO, name.2),
    ]);
    let mut obj = InMemDicomObject::from_element_iter([
        DataElement::new(tags::RELATIONSHIP_TYPE, VR::CS, "CONTAINS"),
        DataElement::new(tags::VALUE_TYPE, VR::CS, value_type),
        DataElement::new(
            tags::CONCEPT_NAME_CODE_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(vec![code]),
        ),
    ]);
    if let Some(text) = text {
        obj.put(DataElement::new(tags::TEXT_VALUE, VR::UT, text));
    }
    if !children.is_empty() {
        obj.put(DataElement::new(
            tags::CONTENT_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(children),
        ));
    }
    obj
}

#[test]
fn standard_headings_read_in_chinese_and_the_hubs_own_words_pass_through() {
    let doc = Doc {
        declared: vec!["ISO_IR 192".into()],
    };
    let tree = item(
        "CONTAINER",
        ("11528-7", "LN", "Radiology Report"),
        None,
        vec![
            item(
                "CONTAINER",
                ("121070", "DCM", "Findings"),
                None,
                vec![item(
                    "TEXT",
                    ("121071", "DCM", "Finding"),
                    Some("双肺纹理清晰"),
                    vec![],
                )],
            ),
            item(
                "CONTAINER",
                (
                    "19005-8",
                    "LN",
                    "Radiology Imaging study [Impression] (narrative)",
                ),
                None,
                vec![item(
                    "TEXT",
                    ("121073", "DCM", "Impression"),
                    Some("心肺未见异常"),
                    vec![],
                )],
            ),
            item(
                "CONTAINER",
                ("121074", "DCM", "Recommendations"),
                None,
                vec![item(
                    "TEXT",
                    ("99LOCAL", "99HUB", "Advice"),
                    Some("定期复查"),
                    vec![],
                )],
            ),
            // The hub named a standard heading in Chinese itself: its words stay.
            item("CONTAINER", ("121076", "DCM", "影像诊断"), None, vec![]),
        ],
    );
    let mut out = Rendered::default();
    doc.render(&tree, 0, &mut out);
    let text = out.lines.join("\n");
    for line in [
        "【影像所见】",
        "所见：双肺纹理清晰",
        "【诊断意见】",
        "诊断意见：心肺未见异常",
        "【建议】",
        "Advice：定期复查",
        "【影像诊断】",
    ] {
        assert!(text.contains(line), "{line} in:\n{text}");
    }
    assert!(
        !text.contains("Findings") && !text.contains("Impression"),
        "{text}"
    );
    // A private or unknown heading stays as the hub named it.
    assert_eq!(chinese_heading("99HUB", "121070"), None);
}
