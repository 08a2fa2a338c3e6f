//! Reading ECG waveforms (PS3.3 C.10.9 Waveform module) for the ECG view: each lead's samples in
//! microvolts with the sampling rate, from any 12-lead (or general) ECG Waveform object — a
//! device's own DICOM or one converted from aECG XML. The UI plots them on the standard grid
//! (25 mm/s, 10 mm/mV); the engine API serves this as `waveform_get`.
//!
//! Also the lead vocabulary (PS3.16 CID 3001, SCPECG codes) shared by everything that writes
//! ECG waveforms.
//!
//! Must never: guess a scale (a channel without a usable sensitivity is an error, not "1 µV"),
//! or read anything but the Waveform Sequence's first ECG multiplex group.

use std::path::Path;

use dicom_core::value::PrimitiveValue;
use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use serde::Serialize;

/// The twelve standard leads in storage order: (label, SCPECG code, code meaning).
pub const LEADS: [(&str, &str, &str); 12] = [
    ("I", "5.6.3-9-1", "Lead I (Einthoven)"),
    ("II", "5.6.3-9-2", "Lead II"),
    ("III", "5.6.3-9-61", "Lead III"),
    ("aVR", "5.6.3-9-62", "Lead aVR"),
    ("aVL", "5.6.3-9-63", "Lead aVL"),
    ("aVF", "5.6.3-9-64", "Lead aVF"),
    ("V1", "5.6.3-9-3", "Lead V1"),
    ("V2", "5.6.3-9-4", "Lead V2"),
    ("V3", "5.6.3-9-5", "Lead V3"),
    ("V4", "5.6.3-9-6", "Lead V4"),
    ("V5", "5.6.3-9-7", "Lead V5"),
    ("V6", "5.6.3-9-8", "Lead V6"),
];

/// Why an object's waveform cannot be shown.
#[derive(Debug, thiserror::Error)]
pub enum WaveformError {
    /// No stored instance has this SOP Instance UID.
    #[error("no instance {0}")]
    NotFound(String),
    /// The file could not be opened or parsed.
    #[error("cannot read the object: {0}")]
    Read(String),
    /// The object has no Waveform Sequence (5400,0100) we can read.
    #[error("not a waveform: {0}")]
    NotWaveform(String),
    /// The waveform's attributes contradict each other or its data.
    #[error("malformed waveform: {0}")]
    Malformed(String),
}

/// One multiplex group, ready to plot.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct EcgWaveform {
    /// The object's SOP Class UID (12-lead, general ECG ...).
    pub sop_class_uid: String,
    /// Sampling Frequency (003A,001A), in Hz.
    pub sampling_hz: f64,
    /// Multiplex Group Label, e.g. "RHYTHM".
    pub label: String,
    /// The channels, in the object's order.
    pub leads: Vec<Lead>,
}

/// One channel of a multiplex group.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Lead {
    /// "I", "II", "aVR", "V1"… (Channel Label, else the source code's meaning).
    pub label: String,
    /// The Channel Source code value (SCPECG or MDC), empty when absent.
    pub code: String,
    /// Samples in microvolts.
    pub microvolts: Vec<f32>,
}

impl EcgWaveform {
    /// The recording's length in seconds (samples of the first lead over the sampling rate).
    pub fn duration_secs(&self) -> f64 {
        let n = self.leads.first().map_or(0, |l| l.microvolts.len());
        n as f64 / self.sampling_hz
    }
}

/// Reads the waveform of a stored object.
pub fn read(path: &Path) -> Result<EcgWaveform, WaveformError> {
    let obj = super::bounds::open_file(path).map_err(|e| WaveformError::Read(e.to_string()))?;
    let sop_class_uid = text(&obj, tags::SOP_CLASS_UID);
    from_object(&obj, sop_class_uid)
}

fn text(obj: &InMemDicomObject, tag: Tag) -> String {
    obj.element(tag)
        .ok()
        .and_then(|e| e.to_str().ok())
        .map(|s| s.trim_matches(['\0', ' ']).to_string())
        .unwrap_or_default()
}

fn number(obj: &InMemDicomObject, tag: Tag) -> Option<f64> {
    obj.element(tag).ok()?.to_float64().ok()
}

fn items(obj: &InMemDicomObject, tag: Tag) -> &[InMemDicomObject] {
    obj.element(tag).ok().and_then(|e| e.items()).unwrap_or(&[])
}

/// µV per unit of a UCUM voltage code.
fn microvolts_per(unit: &str) -> Option<f64> {
    match unit {
        "uV" | "µV" => Some(1.0),
        "mV" => Some(1000.0),
        "V" => Some(1_000_000.0),
        _ => None,
    }
}

/// The first multiplex group of the object's Waveform Sequence.
pub fn from_object(
    obj: &InMemDicomObject,
    sop_class_uid: String,
) -> Result<EcgWaveform, WaveformError> {
    let malformed = |m: String| WaveformError::Malformed(m);
    let group = items(obj, tags::WAVEFORM_SEQUENCE)
        .first()
        .ok_or_else(|| WaveformError::NotWaveform("no Waveform Sequence (5400,0100)".into()))?;
    let channels = number(group, tags::NUMBER_OF_WAVEFORM_CHANNELS).unwrap_or(0.0) as usize;
    let samples = number(group, tags::NUMBER_OF_WAVEFORM_SAMPLES).unwrap_or(0.0) as usize;
    let sampling_hz = number(group, tags::SAMPLING_FREQUENCY)
        .filter(|f| *f > 0.0)
        .ok_or_else(|| malformed("no Sampling Frequency".into()))?;
    let bits = number(group, tags::WAVEFORM_BITS_ALLOCATED).unwrap_or(0.0) as usize;
    let interpretation = text(group, tags::WAVEFORM_SAMPLE_INTERPRETATION);
    let definitions = items(group, tags::CHANNEL_DEFINITION_SEQUENCE);
    if channels == 0 || definitions.len() != channels {
        return Err(malformed(format!(
            "{channels} channels declared, {} defined",
            definitions.len()
        )));
    }
    let raw: Vec<u8> = match group
        .element(tags::WAVEFORM_DATA)
        .map(|e| e.value().primitive())
    {
        Ok(Some(PrimitiveValue::U16(v))) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Ok(Some(PrimitiveValue::U8(v))) => v.to_vec(),
        Ok(Some(other)) => other.to_bytes().to_vec(),
        _ => return Err(malformed("no Waveform Data".into())),
    };
    let width = bits / 8;
    let decode: fn(&[u8]) -> f64 = match (bits, interpretation.as_str()) {
        (16, "SS") => |b| i16::from_le_bytes([b[0], b[1]]) as f64,
        (16, "US") => |b| u16::from_le_bytes([b[0], b[1]]) as f64,
        (8, "SB") => |b| b[0] as i8 as f64,
        (8, "UB") => |b| b[0] as f64,
        _ => {
            return Err(malformed(format!(
                "{bits}-bit {interpretation:?} samples are not supported"
            )))
        }
    };
    if raw.len() < samples * channels * width {
        return Err(malformed(format!(
            "Waveform Data holds {} bytes, {} expected",
            raw.len(),
            samples * channels * width
        )));
    }
    let mut leads = Vec::with_capacity(channels);
    for (c, def) in definitions.iter().enumerate() {
        let source = items(def, tags::CHANNEL_SOURCE_SEQUENCE).first();
        let code = source
            .map(|s| text(s, tags::CODE_VALUE))
            .unwrap_or_default();
        let label = Some(text(def, tags::CHANNEL_LABEL))
            .filter(|l| !l.is_empty())
            .or_else(|| LEADS.iter().find(|l| l.1 == code).map(|l| l.0.to_string()))
            .or_else(|| source.map(|s| text(s, tags::CODE_MEANING)))
            .unwrap_or_else(|| format!("channel {}", c + 1));
        let sensitivity = number(def, tags::CHANNEL_SENSITIVITY)
            .ok_or_else(|| malformed(format!("lead {label}: no Channel Sensitivity")))?;
        let unit = items(def, tags::CHANNEL_SENSITIVITY_UNITS_SEQUENCE)
            .first()
            .map(|u| text(u, tags::CODE_VALUE))
            .unwrap_or_default();
        let per = microvolts_per(&unit).ok_or_else(|| {
            malformed(format!(
                "lead {label}: sensitivity unit {unit:?} is not a voltage"
            ))
        })?;
        let correction = number(def, tags::CHANNEL_SENSITIVITY_CORRECTION_FACTOR).unwrap_or(1.0);
        let baseline = number(def, tags::CHANNEL_BASELINE).unwrap_or(0.0);
        let microvolts = (0..samples)
            .map(|s| {
                let at = (s * channels + c) * width;
                let v = decode(&raw[at..at + width]);
                ((v * sensitivity * correction + baseline) * per) as f32
            })
            .collect();
        leads.push(Lead {
            label,
            code,
            microvolts,
        });
    }
    Ok(EcgWaveform {
        sop_class_uid,
        sampling_hz,
        label: text(group, tags::MULTIPLEX_GROUP_LABEL),
        leads,
    })
}
