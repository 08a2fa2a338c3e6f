//! Device profiles of watched folders: which kinds of export file a device writes, and telling
//! a file's kind from its first bytes (never from its name: devices name files badly).
//!
//! Must never: accept a file whose kind the folder's profile does not list.

use std::fmt;
use std::io::Read;
use std::path::Path;

use crate::config::DeviceProfile;

/// Export file kinds we convert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A PDF document (ECG reports) → Encapsulated PDF.
    Pdf,
    /// JPEG/PNG/BMP images (ultrasound, DR exports) → Secondary Capture.
    Jpeg,
    Png,
    Bmp,
    /// HL7 v3 annotated ECG (FDA XML) → 12-lead ECG Waveform.
    Aecg,
}

impl Kind {
    pub const ALL: [Kind; 5] = [Kind::Pdf, Kind::Jpeg, Kind::Png, Kind::Bmp, Kind::Aecg];

    /// The name used in `writes = [...]`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Pdf => "pdf",
            Kind::Jpeg => "jpeg",
            Kind::Png => "png",
            Kind::Bmp => "bmp",
            Kind::Aecg => "aecg",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Pdf => "a PDF document",
            Kind::Jpeg => "a JPEG image",
            Kind::Png => "a PNG image",
            Kind::Bmp => "a BMP image",
            Kind::Aecg => "an HL7 aECG XML file",
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
        if !Kind::ALL.iter().any(|k| k.name() == w) {
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
pub fn writes(p: &DeviceProfile, kind: Kind) -> bool {
    p.writes.iter().any(|w| w == kind.name())
}

/// What the file is, from its first bytes; `Err` says what it is instead, for quarantine.
pub fn detect(path: &Path) -> Result<Kind, String> {
    let mut head = Vec::with_capacity(4096);
    std::fs::File::open(path)
        .and_then(|f| f.take(4096).read_to_end(&mut head))
        .map_err(|e| format!("cannot read the file: {e}"))?;
    detect_bytes(&head)
}

fn detect_bytes(head: &[u8]) -> Result<Kind, String> {
    if head.is_empty() {
        return Err("the file is empty".into());
    }
    if head.starts_with(b"%PDF-") {
        return Ok(Kind::Pdf);
    }
    if head.starts_with(b"\xFF\xD8\xFF") {
        return Ok(Kind::Jpeg);
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(Kind::Png);
    }
    if head.starts_with(b"BM") && head.len() >= 26 {
        return Ok(Kind::Bmp);
    }
    let text = String::from_utf8_lossy(head);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    if text.starts_with('<') {
        return if text.contains("<AnnotatedECG") || text.contains(":AnnotatedECG") {
            Ok(Kind::Aecg)
        } else {
            Err("an XML file, but not an HL7 aECG document (no AnnotatedECG root element); other ECG XML formats are not supported".into())
        };
    }
    if head.starts_with(b"SCPECG") || head.get(16..22) == Some(b"SCPECG") {
        return Err(
            "an SCP-ECG file; SCP-ECG is not supported (export PDF or HL7 aECG XML)".into(),
        );
    }
    let known: [(&[u8], &str); 5] = [
        (b"GIF8", "a GIF image"),
        (b"II*\0", "a TIFF image"),
        (b"MM\0*", "a TIFF image"),
        (b"PK\x03\x04", "a ZIP archive"),
        (b"\x1F\x8B", "a gzip archive"),
    ];
    match known.iter().find(|(m, _)| head.starts_with(m)) {
        Some((_, what)) => Err(format!(
            "{what}, which cannot be converted (supported: PDF, JPEG, PNG, BMP, HL7 aECG XML)"
        )),
        None => Err(
            "not a file kind that can be converted (supported: PDF, JPEG, PNG, BMP, HL7 aECG XML)"
                .into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_come_from_content() {
        assert_eq!(detect_bytes(b"%PDF-1.4\n"), Ok(Kind::Pdf));
        assert_eq!(detect_bytes(b"\xFF\xD8\xFF\xE0"), Ok(Kind::Jpeg));
        assert_eq!(detect_bytes(b"\x89PNG\r\n\x1a\n...."), Ok(Kind::Png));
        assert_eq!(
            detect_bytes(b"<?xml version=\"1.0\"?>\n<AnnotatedECG xmlns=\"urn:hl7-org:v3\">"),
            Ok(Kind::Aecg)
        );
        let err = detect_bytes(b"<?xml version=\"1.0\"?><restingecgdata>").unwrap_err();
        assert!(err.contains("not an HL7 aECG"), "{err}");
        assert!(detect_bytes(b"GIF89a").unwrap_err().contains("GIF"));
        assert!(detect_bytes(b"").is_err());
    }

    #[test]
    fn profiles_are_checked() {
        let mut p = DeviceProfile {
            modality: "ECG".into(),
            writes: vec!["pdf".into(), "aecg".into()],
            name: String::new(),
            exam_gap_secs: 300,
        };
        assert!(validate(&p).is_ok());
        assert!(writes(&p, Kind::Pdf) && !writes(&p, Kind::Jpeg));
        p.writes.push("tiff".into());
        assert!(validate(&p).unwrap_err().contains("tiff"));
        p.writes.pop();
        p.modality = "ecg".into();
        assert!(validate(&p).is_err());
    }
}
