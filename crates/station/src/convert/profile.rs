//! Telling an export file's kind from its first bytes (never from its name: devices name files
//! badly). Which kinds a device writes is its profile's (`config::device`).
//!
//! Must never: accept a file whose kind the folder's profile does not list.

use std::io::Read;
use std::path::Path;

pub use crate::config::device::{writes, ExportKind as Kind};

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
    use crate::config::device::validate;
    use crate::config::DeviceProfile;

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
