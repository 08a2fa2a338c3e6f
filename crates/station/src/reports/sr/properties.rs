//! Property tests of the report reader (issue 18): whatever a hub sends as a report (a sound SR
//! cut short anywhere, bytes changed anywhere, any bytes after a valid file header) is read or
//! refused with an error, never a panic that would stop the report poller. Bounded (64 cases
//! each) so they run with the unit tests.

use std::sync::OnceLock;

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::tags;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use proptest::prelude::*;

use crate::dicom::properties::config;

use super::tests::item;
use super::{parse, Kind, ENHANCED_SR};

/// A final Enhanced SR as a hub writes it: UTF-8, a verifier, findings under a heading.
fn sound_report() -> &'static [u8] {
    static REPORT: OnceLock<Vec<u8>> = OnceLock::new();
    REPORT.get_or_init(|| {
        let finding = item(
            "TEXT",
            ("121071", "DCM", "Finding"),
            Some("双肺纹理清晰"),
            vec![],
        );
        let findings = item(
            "CONTAINER",
            ("121070", "DCM", "Findings"),
            None,
            vec![finding],
        );
        let root = item(
            "CONTAINER",
            ("11528-7", "LN", "Radiology Report"),
            None,
            vec![findings],
        );
        let observer = InMemDicomObject::from_element_iter([
            DataElement::new(tags::VERIFYING_OBSERVER_NAME, VR::PN, "李^医生"),
            DataElement::new(tags::VERIFYING_ORGANIZATION, VR::LO, "区域影像中心"),
            DataElement::new(tags::VERIFICATION_DATE_TIME, VR::DT, "20261204090000"),
        ]);
        let mut obj = InMemDicomObject::from_element_iter([
            DataElement::new(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192"),
            DataElement::new(tags::SOP_CLASS_UID, VR::UI, ENHANCED_SR),
            DataElement::new(tags::SOP_INSTANCE_UID, VR::UI, "1.2.3.4.5"),
            DataElement::new(tags::CONTENT_DATE, VR::DA, "20261204"),
            DataElement::new(tags::CONTENT_TIME, VR::TM, "090000"),
            DataElement::new(tags::COMPLETION_FLAG, VR::CS, "COMPLETE"),
            DataElement::new(tags::VERIFICATION_FLAG, VR::CS, "VERIFIED"),
            DataElement::new(
                tags::VERIFYING_OBSERVER_SEQUENCE,
                VR::SQ,
                DataSetSequence::from(vec![observer]),
            ),
        ]);
        for element in root {
            obj.put(element);
        }
        let meta = FileMetaTableBuilder::new()
            .transfer_syntax(crate::dicom::header::EXPLICIT_VR_LE)
            .media_storage_sop_class_uid(ENHANCED_SR)
            .media_storage_sop_instance_uid("1.2.3.4.5");
        let file = tempfile::NamedTempFile::new().expect("temp file");
        obj.with_meta(meta)
            .expect("meta")
            .write_to_file(file.path())
            .expect("write");
        std::fs::read(file.path()).expect("read back")
    })
}

fn read(bytes: &[u8]) -> Result<super::Parsed, super::ParseError> {
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), bytes).expect("write");
    // Every way the station reads a report document meets the same bytes.
    let _ = parse(file.path(), Kind::KeyObjects);
    let _ = parse(file.path(), Kind::Pdf);
    let _ = super::pdf_bytes(file.path());
    parse(file.path(), Kind::Sr)
}

#[test]
fn the_sound_report_reads_whole() {
    let parsed = read(sound_report()).expect("a sound report reads");
    assert!(parsed.is_final, "COMPLETE and VERIFIED");
    assert!(parsed.text.contains("双肺纹理清晰"), "{}", parsed.text);
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_report_cut_short_anywhere_is_read_or_refused(cut in 0usize..4096) {
        let whole = sound_report();
        let _ = read(&whole[..cut.min(whole.len())]);
    }

    #[test]
    fn a_report_with_bytes_changed_anywhere_is_read_or_refused(
        changes in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..12),
    ) {
        let mut bytes = sound_report().to_vec();
        for (at, value) in changes {
            let at = at.index(bytes.len());
            bytes[at] = value;
        }
        let _ = read(&bytes);
    }

    #[test]
    fn any_dataset_after_a_valid_file_header_is_read_or_refused(
        tail in proptest::collection::vec(any::<u8>(), 0..1024),
    ) {
        // The preamble and file meta group of the sound report, then anything.
        let whole = sound_report();
        let meta_end = 132 + 12 + u32::from_le_bytes([whole[140], whole[141], whole[142], whole[143]]) as usize;
        let _ = read(&[&whole[..meta_end], &tail[..]].concat());
    }
}
