//! The IOD modules every converted object shares (PS3.3): SOP Common, Patient, General Study,
//! General Series, General Equipment and SC Equipment, and writing the finished object into
//! the one ingest path.
//!
//! Must never: write an object anywhere but through `Ingest::commit`, or leave a type 1
//! attribute empty.

use std::io::Write;

use chrono::NaiveDateTime;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::{TransferSyntaxIndex, TransferSyntaxRegistry};

use super::patient::Assignment;
use crate::dicom::part10::{self, FileMeta, IMPLEMENTATION_VERSION_NAME};
use crate::ingest::{Ingest, IngestError, Outcome};
use crate::store::{QuarantineReason, Source};

pub use crate::dicom::header::EXPLICIT_VR_LE;
pub const JPEG_BASELINE: &str = "1.2.840.10008.1.2.4.50";
pub const ENCAPSULATED_PDF: &str = "1.2.840.10008.5.1.4.1.1.104.1";
pub const SECONDARY_CAPTURE: &str = "1.2.840.10008.5.1.4.1.1.7";
pub const TWELVE_LEAD_ECG: &str = "1.2.840.10008.5.1.4.1.1.9.1.1";

/// Where one converted object belongs and what it says about itself.
#[derive(Debug, Clone)]
pub struct Context {
    pub sop_class_uid: &'static str,
    pub sop_instance_uid: String,
    pub study_uid: String,
    pub series_uid: String,
    pub series_number: i32,
    pub instance_number: i32,
    pub modality: String,
    /// Who it is (and which order), or an unknown patient waiting for assignment.
    pub assignment: Assignment,
    /// When the device acquired what the file shows (from the file, else its modification time).
    pub acquired: NaiveDateTime,
    /// The study's date and time: that of its first object.
    pub study_started: NaiveDateTime,
    /// Manufacturer's Model Name of the exporting device.
    pub device_name: String,
    pub series_description: String,
}

fn da(t: &NaiveDateTime) -> String {
    t.format("%Y%m%d").to_string()
}
fn tm(t: &NaiveDateTime) -> String {
    t.format("%H%M%S").to_string()
}
fn dt(t: &NaiveDateTime) -> String {
    t.format("%Y%m%d%H%M%S").to_string()
}

/// Puts a string-valued attribute.
pub fn put(obj: &mut InMemDicomObject, tag: dicom_core::Tag, vr: VR, value: impl Into<String>) {
    obj.put_str(tag, vr, value);
}

/// An empty type 2 sequence.
pub fn put_empty_sequence(obj: &mut InMemDicomObject, tag: dicom_core::Tag) {
    obj.put(DataElement::new(
        tag,
        VR::SQ,
        dicom_core::value::DataSetSequence::<InMemDicomObject>::empty(),
    ));
}

/// A coded entry (PS3.3 §8.8) for a code sequence item.
pub fn code_item(
    value: &str,
    scheme: &str,
    version: Option<&str>,
    meaning: &str,
) -> InMemDicomObject {
    let mut item = InMemDicomObject::new_empty();
    put(&mut item, tags::CODE_VALUE, VR::SH, value);
    put(&mut item, tags::CODING_SCHEME_DESIGNATOR, VR::SH, scheme);
    if let Some(v) = version {
        put(&mut item, tags::CODING_SCHEME_VERSION, VR::SH, v);
    }
    put(&mut item, tags::CODE_MEANING, VR::LO, meaning);
    item
}

pub fn put_sequence(
    obj: &mut InMemDicomObject,
    tag: dicom_core::Tag,
    items: Vec<InMemDicomObject>,
) {
    obj.put(DataElement::new(
        tag,
        VR::SQ,
        dicom_core::value::DataSetSequence::from(items),
    ));
}

/// The shared modules. `conversion_type` adds the SC Equipment module (C.8.6.1).
pub fn base(ctx: &Context, conversion_type: Option<&str>) -> InMemDicomObject {
    let mut o = InMemDicomObject::new_empty();
    let a = &ctx.assignment;
    // SOP Common (C.12.1): names are stored as UTF-8.
    put(&mut o, tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192");
    put(&mut o, tags::SOP_CLASS_UID, VR::UI, ctx.sop_class_uid);
    put(
        &mut o,
        tags::SOP_INSTANCE_UID,
        VR::UI,
        ctx.sop_instance_uid.clone(),
    );
    let now = chrono::Local::now().naive_local();
    put(&mut o, tags::INSTANCE_CREATION_DATE, VR::DA, da(&now));
    put(&mut o, tags::INSTANCE_CREATION_TIME, VR::TM, tm(&now));
    // Patient (C.7.1.1).
    put(&mut o, tags::PATIENT_NAME, VR::PN, a.patient.name.clone());
    put(&mut o, tags::PATIENT_ID, VR::LO, a.patient.id.clone());
    put(
        &mut o,
        tags::PATIENT_BIRTH_DATE,
        VR::DA,
        a.patient.birth_date.clone(),
    );
    put(&mut o, tags::PATIENT_SEX, VR::CS, a.patient.sex.clone());
    // General Study (C.7.2.1).
    put(
        &mut o,
        tags::STUDY_INSTANCE_UID,
        VR::UI,
        ctx.study_uid.clone(),
    );
    put(&mut o, tags::STUDY_DATE, VR::DA, da(&ctx.study_started));
    put(&mut o, tags::STUDY_TIME, VR::TM, tm(&ctx.study_started));
    put(
        &mut o,
        tags::REFERRING_PHYSICIAN_NAME,
        VR::PN,
        a.referring_physician.clone(),
    );
    put(&mut o, tags::STUDY_ID, VR::SH, "");
    put(&mut o, tags::ACCESSION_NUMBER, VR::SH, a.accession.clone());
    if !a.procedure.is_empty() {
        put(&mut o, tags::STUDY_DESCRIPTION, VR::LO, a.procedure.clone());
    }
    // General Series (C.7.3.1) / Encapsulated Document Series (C.24.1).
    put(&mut o, tags::MODALITY, VR::CS, ctx.modality.clone());
    put(
        &mut o,
        tags::SERIES_INSTANCE_UID,
        VR::UI,
        ctx.series_uid.clone(),
    );
    put(
        &mut o,
        tags::SERIES_NUMBER,
        VR::IS,
        ctx.series_number.to_string(),
    );
    put(&mut o, tags::SERIES_DATE, VR::DA, da(&ctx.study_started));
    put(&mut o, tags::SERIES_TIME, VR::TM, tm(&ctx.study_started));
    if !ctx.series_description.is_empty() {
        put(
            &mut o,
            tags::SERIES_DESCRIPTION,
            VR::LO,
            ctx.series_description.clone(),
        );
    }
    // General Equipment (C.7.5.1).
    put(&mut o, tags::MANUFACTURER, VR::LO, "");
    if !ctx.device_name.is_empty() {
        put(
            &mut o,
            tags::MANUFACTURER_MODEL_NAME,
            VR::LO,
            ctx.device_name.clone(),
        );
    }
    put(
        &mut o,
        tags::SOFTWARE_VERSIONS,
        VR::LO,
        IMPLEMENTATION_VERSION_NAME,
    );
    // SC Equipment (C.8.6.1): made on a workstation from the device's export.
    if let Some(conversion) = conversion_type {
        put(&mut o, tags::CONVERSION_TYPE, VR::CS, conversion);
    }
    // Acquisition and content date/time as in General Image (C.7.6.1) / Waveform Identification.
    put(
        &mut o,
        tags::INSTANCE_NUMBER,
        VR::IS,
        ctx.instance_number.to_string(),
    );
    put(&mut o, tags::CONTENT_DATE, VR::DA, da(&ctx.acquired));
    put(&mut o, tags::CONTENT_TIME, VR::TM, tm(&ctx.acquired));
    put(
        &mut o,
        tags::ACQUISITION_DATE_TIME,
        VR::DT,
        dt(&ctx.acquired),
    );
    o
}

/// Writes the object as a PS3.10 file into staging and commits it through the one ingest path.
pub fn commit(
    ingest: &Ingest,
    obj: InMemDicomObject,
    transfer_syntax: &str,
    source: &Source,
) -> Result<Outcome, IngestError> {
    let uid = |tag| {
        obj.element(tag)
            .ok()
            .and_then(|e| e.to_str().ok())
            .map(|s| s.trim_end_matches(['\0', ' ']).to_string())
            .ok_or_else(|| {
                IngestError::refused(
                    QuarantineReason::ConversionFailed,
                    format!("the converted object has no {tag}"),
                )
            })
    };
    let (class, instance) = (uid(tags::SOP_CLASS_UID)?, uid(tags::SOP_INSTANCE_UID)?);
    let ts = TransferSyntaxRegistry.get(transfer_syntax).ok_or_else(|| {
        IngestError::refused(
            QuarantineReason::ConversionFailed,
            format!("unknown transfer syntax {transfer_syntax}"),
        )
    })?;
    let mut staging = ingest.stage()?;
    staging.write_all(
        &part10::prefix(&FileMeta::station(&class, &instance, transfer_syntax)).map_err(|e| {
            IngestError::refused(
                QuarantineReason::ConversionFailed,
                format!("cannot write file meta group: {e}"),
            )
        })?,
    )?;
    obj.write_dataset_with_ts(&mut staging, ts).map_err(|e| {
        IngestError::refused(
            QuarantineReason::ConversionFailed,
            format!("cannot encode the converted object: {e}"),
        )
    })?;
    staging.flush()?;
    let staged = staging.finish()?;
    ingest.commit(staged, source)
}

/// A binary value (OB/OW) for pixel data, documents and waveforms.
pub fn put_bytes(obj: &mut InMemDicomObject, tag: dicom_core::Tag, vr: VR, bytes: Vec<u8>) {
    obj.put(DataElement::new(tag, vr, PrimitiveValue::from(bytes)));
}
