//! What the hub's doctors write, built here rather than taken from the station: SRs built with
//! dicom-object, a PDF wrapped by DCMTK `pdf2dcm`, a Key Object Selection; and a tiny DX image
//! for the clinic's device to send. Filed at the hub through Orthanc's REST `POST /instances`.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};

use crate::harness::run_tool;

pub const DX: &str = "1.2.840.10008.5.1.4.1.1.1.1";
pub const ENHANCED_SR: &str = "1.2.840.10008.5.1.4.1.1.88.22";
pub const PATIENT: &str = "王^小明";

/// Polls every second at the hub, and retries a failed look within 2 s.
pub const FAST_POLLING: &str =
    "\n[reports]\nurgent_poll_secs = 1\nrecent_poll_secs = 1\nidle_poll_secs = 1\n";

pub fn uid() -> String {
    format!("2.25.{}", rand::random::<u64>())
}

pub fn el(
    tag: dicom_core::Tag,
    vr: VR,
    value: impl Into<PrimitiveValue>,
) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, vr, value.into())
}

pub fn seq(tag: dicom_core::Tag, items: Vec<InMemDicomObject>) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::SQ, DataSetSequence::from(items))
}

pub fn code(value: &str, scheme: &str, meaning: &str) -> InMemDicomObject {
    InMemDicomObject::from_element_iter([
        el(tags::CODE_VALUE, VR::SH, value),
        el(tags::CODING_SCHEME_DESIGNATOR, VR::SH, scheme),
        el(tags::CODE_MEANING, VR::LO, meaning),
    ])
}

pub fn write(obj: InMemDicomObject, path: &Path) {
    obj.with_meta(FileMetaTableBuilder::new().transfer_syntax("1.2.840.10008.1.2.1"))
        .expect("file meta")
        .write_to_file(path)
        .expect("writing a DICOM file");
}

/// A tiny DX image of a new study, for a device to send.
pub fn image(path: &Path, study_uid: &str) -> String {
    let sop = uid();
    let obj = InMemDicomObject::from_element_iter([
        el(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192"),
        el(tags::SOP_CLASS_UID, VR::UI, DX),
        el(tags::SOP_INSTANCE_UID, VR::UI, sop.clone()),
        el(tags::STUDY_DATE, VR::DA, "20261130"),
        el(tags::MODALITY, VR::CS, "DX"),
        el(tags::STUDY_DESCRIPTION, VR::LO, "胸部正位"),
        el(tags::PATIENT_NAME, VR::PN, PATIENT),
        el(tags::PATIENT_ID, VR::LO, "P0001"),
        el(tags::PATIENT_SEX, VR::CS, "M"),
        el(tags::STUDY_INSTANCE_UID, VR::UI, study_uid),
        el(tags::SERIES_INSTANCE_UID, VR::UI, uid()),
        el(tags::SAMPLES_PER_PIXEL, VR::US, 1u16),
        el(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"),
        el(tags::ROWS, VR::US, 4u16),
        el(tags::COLUMNS, VR::US, 4u16),
        el(tags::BITS_ALLOCATED, VR::US, 8u16),
        el(tags::BITS_STORED, VR::US, 8u16),
        el(tags::HIGH_BIT, VR::US, 7u16),
        el(tags::PIXEL_REPRESENTATION, VR::US, 0u16),
        el(tags::PIXEL_DATA, VR::OB, vec![7u8; 16]),
    ]);
    write(obj, path);
    sop
}

/// A Key Object Selection ("For Referring Provider") pointing at `images` of the study.
pub fn key_objects(path: &Path, study_uid: &str, images: &[&str]) {
    let refs = |images: &[&str]| {
        images
            .iter()
            .map(|sop| {
                InMemDicomObject::from_element_iter([
                    el(tags::REFERENCED_SOP_CLASS_UID, VR::UI, DX),
                    el(tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, *sop),
                ])
            })
            .collect::<Vec<_>>()
    };
    let items = images
        .iter()
        .map(|sop| {
            InMemDicomObject::from_element_iter([
                el(tags::RELATIONSHIP_TYPE, VR::CS, "CONTAINS"),
                el(tags::VALUE_TYPE, VR::CS, "IMAGE"),
                seq(tags::REFERENCED_SOP_SEQUENCE, refs(&[sop])),
            ])
        })
        .collect();
    let evidence = InMemDicomObject::from_element_iter([
        el(tags::STUDY_INSTANCE_UID, VR::UI, study_uid),
        seq(
            tags::REFERENCED_SERIES_SEQUENCE,
            vec![InMemDicomObject::from_element_iter([
                el(tags::SERIES_INSTANCE_UID, VR::UI, uid()),
                seq(tags::REFERENCED_SOP_SEQUENCE, refs(images)),
            ])],
        ),
    ]);
    let mut obj = document(
        "ISO_IR 192",
        "1.2.840.10008.5.1.4.1.1.88.59",
        &uid(),
        study_uid,
        "100000",
        code("113004", "DCM", "For Referring Provider"),
    );
    obj.put(seq(
        tags::CURRENT_REQUESTED_PROCEDURE_EVIDENCE_SEQUENCE,
        vec![evidence],
    ));
    obj.put(seq(tags::CONTENT_SEQUENCE, items));
    write(obj, path);
}

/// The patient, study and document header every report document here shares: a root
/// CONTAINER titled `title`, in a series of its own.
fn document(
    charset: &str,
    sop_class: &str,
    sop: &str,
    study_uid: &str,
    content_time: &str,
    title: InMemDicomObject,
) -> InMemDicomObject {
    let modality = if sop_class == ENHANCED_SR { "SR" } else { "KO" };
    InMemDicomObject::from_element_iter([
        el(tags::SPECIFIC_CHARACTER_SET, VR::CS, charset),
        el(tags::SOP_CLASS_UID, VR::UI, sop_class),
        el(tags::SOP_INSTANCE_UID, VR::UI, sop),
        el(tags::STUDY_DATE, VR::DA, "20261130"),
        el(tags::CONTENT_DATE, VR::DA, "20261130"),
        el(tags::CONTENT_TIME, VR::TM, content_time),
        el(tags::MODALITY, VR::CS, modality),
        el(tags::PATIENT_NAME, VR::PN, PATIENT),
        el(tags::PATIENT_ID, VR::LO, "P0001"),
        el(tags::STUDY_INSTANCE_UID, VR::UI, study_uid),
        el(tags::SERIES_INSTANCE_UID, VR::UI, uid()),
        el(tags::VALUE_TYPE, VR::CS, "CONTAINER"),
        el(tags::CONTINUITY_OF_CONTENT, VR::CS, "SEPARATE"),
        seq(tags::CONCEPT_NAME_CODE_SEQUENCE, vec![title]),
    ])
}

/// What the hub's doctor writes.
pub struct Sr<'a> {
    pub charset: &'a str,
    pub findings: &'a str,
    pub conclusion: &'a str,
    pub nodule_mm: &'a str,
    pub doctor: &'a str,
    pub is_final: bool,
    pub content_time: &'a str,
}

/// An Enhanced SR in `study_uid`: findings and impression containers, a measurement, and the
/// doctor: as verifying observer when final, else as the author in the observer context.
pub fn sr(path: &Path, study_uid: &str, r: &Sr) -> String {
    let sop = uid();
    let text = |name: InMemDicomObject, value: &str| {
        InMemDicomObject::from_element_iter([
            el(tags::RELATIONSHIP_TYPE, VR::CS, "CONTAINS"),
            el(tags::VALUE_TYPE, VR::CS, "TEXT"),
            seq(tags::CONCEPT_NAME_CODE_SEQUENCE, vec![name]),
            el(tags::TEXT_VALUE, VR::UT, value),
        ])
    };
    let container = |name: InMemDicomObject, children: Vec<InMemDicomObject>| {
        InMemDicomObject::from_element_iter([
            el(tags::RELATIONSHIP_TYPE, VR::CS, "CONTAINS"),
            el(tags::VALUE_TYPE, VR::CS, "CONTAINER"),
            el(tags::CONTINUITY_OF_CONTENT, VR::CS, "SEPARATE"),
            seq(tags::CONCEPT_NAME_CODE_SEQUENCE, vec![name]),
            seq(tags::CONTENT_SEQUENCE, children),
        ])
    };
    let measured = InMemDicomObject::from_element_iter([
        el(tags::NUMERIC_VALUE, VR::DS, r.nodule_mm),
        seq(
            tags::MEASUREMENT_UNITS_CODE_SEQUENCE,
            vec![code("mm", "UCUM", "millimeter")],
        ),
    ]);
    let num = InMemDicomObject::from_element_iter([
        el(tags::RELATIONSHIP_TYPE, VR::CS, "CONTAINS"),
        el(tags::VALUE_TYPE, VR::CS, "NUM"),
        seq(
            tags::CONCEPT_NAME_CODE_SEQUENCE,
            vec![code("81827009", "SCT", "结节直径")],
        ),
        seq(tags::MEASURED_VALUE_SEQUENCE, vec![measured]),
    ]);
    let mut obj = document(
        r.charset,
        ENHANCED_SR,
        &sop,
        study_uid,
        r.content_time,
        code("18748-4", "LN", "影像诊断报告"),
    );
    for element in [
        el(
            tags::COMPLETION_FLAG,
            VR::CS,
            if r.is_final { "COMPLETE" } else { "PARTIAL" },
        ),
        el(
            tags::VERIFICATION_FLAG,
            VR::CS,
            if r.is_final { "VERIFIED" } else { "UNVERIFIED" },
        ),
        seq(
            tags::CONTENT_SEQUENCE,
            vec![
                container(
                    code("121070", "DCM", "检查所见"),
                    vec![text(code("121071", "DCM", "所见"), r.findings), num],
                ),
                container(
                    code("121072", "DCM", "诊断意见"),
                    vec![text(code("121073", "DCM", "结论"), r.conclusion)],
                ),
            ],
        ),
    ] {
        obj.put(element);
    }
    if !r.is_final && !r.doctor.is_empty() {
        // Not verified yet: the author is named in the observer context (TID 1002).
        let author = InMemDicomObject::from_element_iter([
            el(tags::RELATIONSHIP_TYPE, VR::CS, "HAS OBS CONTEXT"),
            el(tags::VALUE_TYPE, VR::CS, "PNAME"),
            seq(
                tags::CONCEPT_NAME_CODE_SEQUENCE,
                vec![code("121008", "DCM", "Person Observer Name")],
            ),
            el(tags::PERSON_NAME, VR::PN, r.doctor),
        ]);
        let mut content = obj
            .get(tags::CONTENT_SEQUENCE)
            .and_then(|e| e.items())
            .map(|items| items.to_vec())
            .unwrap_or_default();
        content.insert(0, author);
        obj.put(seq(tags::CONTENT_SEQUENCE, content));
    }
    if r.is_final {
        obj.put(seq(
            tags::VERIFYING_OBSERVER_SEQUENCE,
            vec![InMemDicomObject::from_element_iter([
                el(tags::VERIFYING_OBSERVER_NAME, VR::PN, r.doctor),
                el(tags::VERIFYING_ORGANIZATION, VR::LO, "区域影像诊断中心"),
                el(
                    tags::VERIFICATION_DATE_TIME,
                    VR::DT,
                    format!("20261130{}", r.content_time),
                ),
                seq(
                    tags::VERIFYING_OBSERVER_IDENTIFICATION_CODE_SEQUENCE,
                    vec![],
                ),
            ])],
        ));
    }
    write(obj, path);
    sop
}

/// A PDF report wrapped by DCMTK into the study of `study_file`.
pub fn pdf(dir: &Path, study_file: &Path) -> (std::path::PathBuf, Vec<u8>) {
    let doc = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n".to_vec();
    let pdf_path = dir.join("report.pdf");
    let out = dir.join("report-pdf.dcm");
    std::fs::write(&pdf_path, &doc).expect("pdf");
    run_tool(
        Command::new("/usr/bin/pdf2dcm")
            .args(["+t", "影像诊断报告 PDF", "+st"])
            .arg(study_file)
            .arg(&pdf_path)
            .arg(&out),
    )
    .assert_success("pdf2dcm");
    (out, doc)
}

/// The hub's doctors file a document: Orthanc's REST `POST /instances`.
pub fn post(hub_port: u16, file: &Path) {
    let body = std::fs::read(file).expect("reading the report file");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let status = rt.block_on(async {
        reqwest::Client::new()
            .post(format!("http://127.0.0.1:{hub_port}/instances"))
            .timeout(Duration::from_secs(30))
            .body(body)
            .send()
            .await
            .expect("POST /instances")
            .status()
    });
    assert!(
        status.is_success(),
        "Orthanc refused {}: {status}",
        file.display()
    );
}
