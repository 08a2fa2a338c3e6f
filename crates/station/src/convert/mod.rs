//! Devices that only export files (ECG carts, older ultrasound units, DR consoles): their PDF,
//! JPEG/PNG/BMP and HL7 aECG XML exports become proper DICOM objects — Encapsulated PDF,
//! Secondary Capture, 12-lead ECG Waveform — that enter the store through the one ingest path
//! and go to the hub like any other study. The watched folder's device profile
//! (`[[watch]] device = {...}`) says the modality and what the device writes; the patient comes
//! from the file (aECG), else from the order the device is working on, else the study waits
//! unassigned.
//!
//! An export file whose bytes were converted before is acknowledged as a duplicate, not
//! converted again.
//!
//! Must never: change or delete the export file (the watcher moves it to done/ or quarantine/),
//! store an object by any way but `Ingest::commit`, or convert a file its profile does not list.

// Only the thumbnails are used outside the crate (the preview path and the tests find them).
pub(crate) mod aecg;
pub(crate) mod exam;
pub(crate) mod exif;
pub(crate) mod image;
pub(crate) mod modules;
pub(crate) mod patient;
pub(crate) mod pdf;
pub(crate) mod profile;
pub mod thumbnail;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ::image::DynamicImage;
use chrono::NaiveDateTime;

use crate::config::{DeviceProfile, WatchFolder};
use crate::dicom::header::{self, FileKind};
pub use crate::dicom::uid::Uids;
use crate::ingest::{Ingest, IngestError, Outcome};
use crate::store::{conversions, QuarantineReason, Source, StoreError};
use modules::Context;
use patient::Assignment;
use profile::Kind;

/// How the thumbnail of a converted object is made, once it is stored.
enum Preview {
    Ready(Option<DynamicImage>),
    /// The first page of the export file, rendered.
    PdfPage,
}

/// A converted object before it is stored.
struct Converted {
    object: dicom_object::InMemDicomObject,
    transfer_syntax: &'static str,
    sop_instance_uid: String,
    preview: Preview,
}

/// Largest export file we read (whole files are held in memory while converting).
const MAX_EXPORT_BYTES: u64 = 256 * 1024 * 1024;

/// Turns export files into DICOM objects; one per station, shared by the folder watchers.
pub(crate) struct Converter {
    ingest: Arc<Ingest>,
    uids: Uids,
    exams: exam::Exams,
}

impl Converter {
    pub fn new(ingest: Arc<Ingest>, uid_root: Option<&str>) -> Converter {
        Converter {
            exams: exam::Exams::new(Arc::clone(ingest.store())),
            ingest,
            uids: Uids::new(uid_root),
        }
    }

    pub fn ingest(&self) -> &Arc<Ingest> {
        &self.ingest
    }

    /// The watched folders' way in: DICOM files go to `Ingest::ingest_file` as they are;
    /// exports are converted when the folder has a device profile. `Unreadable` carries the
    /// reason for quarantine.
    pub fn ingest_file(
        &self,
        folder: &WatchFolder,
        path: &Path,
        source: &Source,
    ) -> Result<Outcome, IngestError> {
        let device = match (header::sniff(path)?, &folder.device) {
            (FileKind::NotDicom { .. }, Some(device)) => device,
            (FileKind::NotDicom { reason }, None) => {
                return Err(IngestError::refused(
                    QuarantineReason::NotDicom,
                    format!(
                    "{reason}; this folder has no device profile, so only DICOM files are taken"
                ),
                ))
            }
            _ => return self.ingest.ingest_file(path, source),
        };
        let kind = profile::detect(path)
            .map_err(|e| IngestError::refused(QuarantineReason::UnknownExport, e))?;
        if !profile::writes(device, kind) {
            return Err(IngestError::refused(
                QuarantineReason::NotForDevice,
                format!(
                    "the file is {kind}, but this folder's device ({} {}) is set to write only: {}",
                    device.modality,
                    device.name,
                    device.writes.join(", ")
                ),
            ));
        }
        let meta = std::fs::metadata(path)?;
        if meta.len() > MAX_EXPORT_BYTES {
            return Err(IngestError::refused(
                QuarantineReason::TooLarge,
                format!(
                    "the file is {} MB, larger than the {} MB an export may be",
                    meta.len() / (1024 * 1024),
                    MAX_EXPORT_BYTES / (1024 * 1024)
                ),
            ));
        }
        let bytes = std::fs::read(path)?;
        let sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
        if let Some(existing_id) = conversions::find(&self.ingest.store().lock(), &sha256)? {
            tracing::info!(file = %path.display(), instance = existing_id, "export already converted; not converted again");
            return Ok(Outcome::Duplicate { existing_id });
        }
        let modified = meta
            .modified()
            .ok()
            .map(|t| chrono::DateTime::<chrono::Local>::from(t).naive_local())
            .unwrap_or_else(|| chrono::Local::now().naive_local());
        let made = self.convert(folder, device, path, kind, bytes, modified)?;
        let outcome = modules::commit(&self.ingest, made.object, made.transfer_syntax, source)?;
        tracing::info!(file = %path.display(), %kind, modality = %device.modality, "converted export into DICOM");
        if let Outcome::Stored { instance_id, .. } | Outcome::StoredForReview { instance_id, .. } =
            &outcome
        {
            let conn = self.ingest.store().lock();
            if let Err(e) =
                conversions::record(&conn, &sha256, *instance_id, source.detail(), kind.name())
            {
                // Stored all the same; only a second copy of this file would be converted again.
                tracing::error!(file = %path.display(), error = %e, "cannot record the conversion");
            }
        }
        self.save_thumbnail(path, &made.sop_instance_uid, made.preview);
        Ok(outcome)
    }

    /// Builds the DICOM object for an export file of `kind`.
    fn convert(
        &self,
        folder: &WatchFolder,
        device: &DeviceProfile,
        path: &Path,
        kind: Kind,
        bytes: Vec<u8>,
        modified: NaiveDateTime,
    ) -> Result<Converted, IngestError> {
        let title = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let order = || -> Result<Option<Assignment>, IngestError> {
            let conn = self.ingest.store().lock();
            Ok(patient::for_modality(&conn, &device.modality)?)
        };
        let order_or_none =
            || Ok::<_, IngestError>(order()?.unwrap_or_else(Assignment::unassigned));
        Ok(match kind {
            Kind::Pdf => {
                pdf::check(&bytes)
                    .map_err(|e| IngestError::refused(QuarantineReason::UnreadablePdf, e))?;
                let acquired = pdf::creation_date(&bytes).unwrap_or(modified);
                let class = modules::ENCAPSULATED_PDF;
                let ctx = self.single(device, class, order_or_none()?, acquired, "PDF report");
                Converted {
                    object: pdf::build(&ctx, &title, bytes),
                    transfer_syntax: modules::EXPLICIT_VR_LE,
                    sop_instance_uid: ctx.sop_instance_uid,
                    preview: Preview::PdfPage,
                }
            }
            Kind::Jpeg | Kind::Png | Kind::Bmp => {
                let acquired = match kind {
                    Kind::Jpeg => exif::taken_at(&bytes).unwrap_or(modified),
                    _ => modified,
                };
                let mut px = image::prepare(kind, bytes).map_err(|e| match e {
                    image::Refused::TooLarge(why) => {
                        IngestError::refused(QuarantineReason::TooLarge, why)
                    }
                    image::Refused::Unreadable(why) => {
                        IngestError::refused(QuarantineReason::UnreadableImage, why)
                    }
                })?;
                let ctx = self.in_exam(folder, device, path, order_or_none()?, acquired)?;
                Converted {
                    object: image::build(&ctx, &mut px),
                    transfer_syntax: px.transfer_syntax(),
                    sop_instance_uid: ctx.sop_instance_uid,
                    preview: Preview::Ready(px.thumbnail.take()),
                }
            }
            Kind::Aecg => {
                let ecg = aecg::parse(&bytes)
                    .map_err(|e| IngestError::refused(QuarantineReason::UnreadableEcg, e))?;
                // The file names the patient; the order for that same patient adds its
                // accession and study.
                let assignment = match (&ecg.patient, order()?) {
                    (Some(p), Some(o)) if !p.id.is_empty() && o.patient.id == p.id => o,
                    (Some(p), _) => Assignment {
                        patient: p.clone(),
                        ..Assignment::unassigned()
                    },
                    (None, o) => o.unwrap_or_else(Assignment::unassigned),
                };
                let acquired = ecg.acquired.unwrap_or(modified);
                let class = aecg::sop_class(&ecg);
                let ctx = self.single(device, class, assignment, acquired, "ECG");
                Converted {
                    object: aecg::build(&ctx, &ecg),
                    transfer_syntax: modules::EXPLICIT_VR_LE,
                    sop_instance_uid: ctx.sop_instance_uid,
                    preview: Preview::Ready(Some(thumbnail::draw_ecg(&ecg))),
                }
            }
        })
    }

    /// Writes the thumbnail of a stored conversion; a failure is only logged.
    fn save_thumbnail(&self, export: &Path, sop_instance_uid: &str, preview: Preview) {
        let data_dir = self.ingest.data_dir();
        let made = match preview {
            Preview::Ready(None) => return,
            Preview::Ready(Some(img)) => Ok(img),
            Preview::PdfPage => thumbnail::render_pdf(export, data_dir, sop_instance_uid),
        };
        if let Err(e) = made.and_then(|img| thumbnail::save(data_dir, sop_instance_uid, &img)) {
            tracing::warn!(file = %export.display(), error = %e, "no thumbnail for the converted export");
        }
    }

    /// The order's study, else a new one.
    fn study_uid_for(&self, assignment: &Assignment) -> String {
        assignment
            .study_uid
            .clone()
            .unwrap_or_else(|| self.uids.generate())
    }

    /// A document or waveform: a study of its own (or the order's study) with one object.
    fn single(
        &self,
        device: &DeviceProfile,
        sop_class_uid: &'static str,
        assignment: Assignment,
        acquired: NaiveDateTime,
        series_description: &str,
    ) -> Context {
        Context {
            sop_class_uid,
            sop_instance_uid: self.uids.generate(),
            study_uid: self.study_uid_for(&assignment),
            series_uid: self.uids.generate(),
            series_number: 1,
            instance_number: 1,
            modality: device.modality.clone(),
            assignment,
            acquired,
            study_started: acquired,
            device_name: device.name.clone(),
            series_description: series_description.into(),
        }
    }

    /// An image: joins the open exam of its subfolder if it is recent and for the same patient,
    /// else starts one.
    fn in_exam(
        &self,
        folder: &WatchFolder,
        device: &DeviceProfile,
        path: &Path,
        assignment: Assignment,
        acquired: NaiveDateTime,
    ) -> Result<Context, StoreError> {
        let dir = path.parent().unwrap_or(&folder.path);
        let gap = Duration::from_secs(device.exam_gap_secs);
        let slot = self.exams.join(dir, &assignment, acquired, gap, || {
            (self.study_uid_for(&assignment), self.uids.generate())
        })?;
        Ok(Context {
            sop_class_uid: modules::SECONDARY_CAPTURE,
            sop_instance_uid: self.uids.generate(),
            study_uid: slot.study_uid,
            series_uid: slot.series_uid,
            series_number: 1,
            instance_number: slot.instance_number,
            modality: device.modality.clone(),
            assignment,
            acquired,
            study_started: slot.study_started,
            device_name: device.name.clone(),
            series_description: "Exported images".into(),
        })
    }
}
