//! Device profiles of watched folders: which kinds of export file a device writes (`writes`),
//! and checking a profile from the configuration.
//!
//! Must never: accept a kind the converter does not know.

use std::fmt;

use super::DeviceProfile;

/// Export file kinds the station converts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    /// A PDF document (ECG reports) → Encapsulated PDF.
    Pdf,
    /// JPEG/PNG/BMP images (ultrasound, DR exports) → Secondary Capture.
    Jpeg,
    /// PNG images → Secondary Capture.
    Png,
    /// BMP images → Secondary Capture.
    Bmp,
    /// HL7 v3 annotated ECG (FDA XML) → 12-lead ECG Waveform.
    Aecg,
}

impl ExportKind {
    /// Every kind, in the order the settings list them.
    pub const ALL: [ExportKind; 5] = [
        ExportKind::Pdf,
        ExportKind::Jpeg,
        ExportKind::Png,
        ExportKind::Bmp,
        ExportKind::Aecg,
    ];

    /// The name used in `writes = [...]`.
    pub fn name(self) -> &'static str {
        match self {
            ExportKind::Pdf => "pdf",
            ExportKind::Jpeg => "jpeg",
            ExportKind::Png => "png",
            ExportKind::Bmp => "bmp",
            ExportKind::Aecg => "aecg",
        }
    }
}

impl fmt::Display for ExportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ExportKind::Pdf => "a PDF document",
            ExportKind::Jpeg => "a JPEG image",
            ExportKind::Png => "a PNG image",
            ExportKind::Bmp => "a BMP image",
            ExportKind::Aecg => "an HL7 aECG XML file",
        })
    }
}

/// Checks a profile from the configuration.
pub fn validate(p: &DeviceProfile) -> Result<(), String> {
    let m = &p.modality;
    if m.is_empty()
        || m.len() > 16
        || !m
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(format!(
            "modality {m:?}: a DICOM modality code such as \"ECG\", \"US\", \"DX\""
        ));
    }
    if p.writes.is_empty() {
        return Err("writes: list what the device exports (pdf, jpeg, png, bmp, aecg)".into());
    }
    for w in &p.writes {
        if !ExportKind::ALL.iter().any(|k| k.name() == w) {
            return Err(format!(
                "writes: {w:?} is not one of pdf, jpeg, png, bmp, aecg"
            ));
        }
    }
    if p.exam_gap_secs == 0 {
        return Err("exam_gap_secs must be at least 1".into());
    }
    Ok(())
}

/// Whether the profile lists `kind`.
pub fn writes(p: &DeviceProfile, kind: ExportKind) -> bool {
    p.writes.iter().any(|w| w == kind.name())
}
