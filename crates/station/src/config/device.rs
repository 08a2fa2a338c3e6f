//! Watched folders (`[[watch]]`) and the profiles of the devices that write into them: which
//! kinds of export file a device writes (`writes`), and checking a profile from the configuration.
//!
//! Must never: accept a kind the converter does not know.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// One watched folder (`[[watch]]`); see `watch` for how files are taken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WatchFolder {
    /// The folder (a local path or a mounted share); its `done/` and `quarantine/` are made
    /// inside it.
    #[schema(value_type = String)]
    pub path: PathBuf,
    /// A file is taken once its size and mtime have not changed for this long.
    #[serde(default = "default_settle_ms")]
    pub settle_ms: u64,
    /// Full rescan period, for network shares and missed events.
    #[serde(default = "default_rescan_secs")]
    pub rescan_secs: u64,
    /// The exporting device, when the folder receives PDF, image or XML exports to be converted
    /// into DICOM (see `convert`). Absent: only DICOM files are taken.
    #[serde(default)]
    pub device: Option<DeviceProfile>,
}

/// What a device that only exports files is, and what it writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceProfile {
    /// DICOM modality of the device: "ECG", "US", "DX"…
    pub modality: String,
    /// What it writes: any of "pdf", "jpeg", "png", "bmp", "aecg" (HL7 aECG XML).
    pub writes: Vec<String>,
    /// Shown in the objects as Manufacturer's Model Name, e.g. "ECG-1250".
    #[serde(default)]
    pub name: String,
    /// Image files written less than this far apart (in the same subfolder, for the same
    /// patient) belong to one exam: one series.
    #[serde(default = "default_exam_gap_secs")]
    pub exam_gap_secs: u64,
}

fn default_exam_gap_secs() -> u64 {
    300
}

fn default_settle_ms() -> u64 {
    1500
}
fn default_rescan_secs() -> u64 {
    30
}

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
