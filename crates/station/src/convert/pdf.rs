//! PDF exports (ECG reports) → Encapsulated PDF (PS3.3 A.45.1, module C.24.2), with the PDF's
//! bytes unchanged inside.
//!
//! Must never: wrap a file that is not a whole PDF (a truncated copy from a USB stick would
//! reach the hub as a report nobody can open): those go to quarantine with the reason.

use chrono::NaiveDateTime;
use dicom_core::VR;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use super::modules::{self, Context};

/// Largest PDF we wrap (an Encapsulated Document is one value, held in memory).
const MAX_PDF_BYTES: usize = 256 * 1024 * 1024;

/// Checks that `bytes` is a complete PDF; `Err` is the reason for quarantine.
pub fn check(bytes: &[u8]) -> Result<(), String> {
    if !bytes.starts_with(b"%PDF-") {
        return Err("not a PDF document: it does not start with %PDF-".into());
    }
    if bytes.len() > MAX_PDF_BYTES {
        return Err(format!(
            "the PDF is {} MB, larger than the {} MB that can be wrapped",
            bytes.len() / (1024 * 1024),
            MAX_PDF_BYTES / (1024 * 1024)
        ));
    }
    let tail = &bytes[bytes.len().saturating_sub(2048)..];
    if find(tail, b"%%EOF").is_none() {
        return Err(
            "the PDF is incomplete or corrupt: no %%EOF end marker (truncated copy?)".into(),
        );
    }
    if find(tail, b"startxref").is_none() {
        return Err(
            "the PDF is corrupt: no startxref (cross-reference) before its end marker".into(),
        );
    }
    if find(bytes, b" obj").is_none() {
        return Err("the PDF is corrupt: it holds no objects".into());
    }
    // startxref gives the byte offset of the last cross-reference section (PDF 1.7 §7.5.5):
    // a table ("xref") or a stream object ("n g obj"). Bytes lost or added in the middle of
    // the file move it.
    let tail_at = bytes.len() - tail.len();
    let at = rfind(tail, b"startxref").map_or(0, |i| tail_at + i + b"startxref".len());
    let offset: Option<usize> = std::str::from_utf8(&bytes[at..bytes.len().min(at + 32)])
        .ok()
        .and_then(|t| t.split_ascii_whitespace().next())
        .and_then(|n| n.parse().ok());
    let target = offset.and_then(|o| bytes.get(o..bytes.len().min(o + 32)));
    let points_at_xref = target.is_some_and(|t| {
        let t = String::from_utf8_lossy(t);
        let mut words = t.split_ascii_whitespace();
        match (words.next(), words.next(), words.next()) {
            (Some("xref"), _, _) => true,
            (Some(n), Some(g), Some(o)) => {
                n.bytes().all(|b| b.is_ascii_digit())
                    && g.bytes().all(|b| b.is_ascii_digit())
                    && o.starts_with("obj")
            }
            _ => false,
        }
    });
    if !points_at_xref {
        return Err("the PDF is corrupt: its cross-reference table is not where the file says (damaged or altered copy)".into());
    }
    Ok(())
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

/// The document's /CreationDate (PDF 1.7 §7.9.4 "D:YYYYMMDDHHmmSS"), when it has one.
pub fn creation_date(bytes: &[u8]) -> Option<NaiveDateTime> {
    let at = find(bytes, b"/CreationDate")?;
    let rest = &bytes[at..bytes.len().min(at + 64)];
    let start = find(rest, b"D:")? + 2;
    let digits: String = rest[start..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .map(|&b| b as char)
        .collect();
    // Only the year is required; missing parts default as the PDF specification says.
    let year = digits.get(..4)?;
    let part = |from: usize, default: &'static str| digits.get(from..from + 2).unwrap_or(default);
    let full = format!(
        "{year}{}{}{}{}{}",
        part(4, "01"),
        part(6, "01"),
        part(8, "00"),
        part(10, "00"),
        part(12, "00")
    );
    NaiveDateTime::parse_from_str(&full, "%Y%m%d%H%M%S").ok()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The Encapsulated PDF object.
pub fn build(ctx: &Context, title: &str, pdf: Vec<u8>) -> InMemDicomObject {
    let mut o = modules::base(ctx, Some("WSD"));
    // Encapsulated Document (C.24.2).
    modules::put(&mut o, tags::BURNED_IN_ANNOTATION, VR::CS, "YES");
    modules::put(&mut o, tags::DOCUMENT_TITLE, VR::ST, title);
    modules::put_empty_sequence(&mut o, tags::CONCEPT_NAME_CODE_SEQUENCE);
    modules::put(
        &mut o,
        tags::MIME_TYPE_OF_ENCAPSULATED_DOCUMENT,
        VR::LO,
        "application/pdf",
    );
    o.put(dicom_core::DataElement::new(
        tags::ENCAPSULATED_DOCUMENT_LENGTH,
        VR::UL,
        dicom_core::PrimitiveValue::from(pdf.len() as u32),
    ));
    let mut value = pdf;
    if value.len() % 2 == 1 {
        value.push(0); // even length (PS3.5 §7.1.1); the length above is the PDF's own
    }
    modules::put_bytes(&mut o, tags::ENCAPSULATED_DOCUMENT, VR::OB, value);
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &[u8] = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /CreationDate (D:20261129143005+08'00') >>\nendobj\nxref\ntrailer\n<< /Root 1 0 R >>\nstartxref\n85\n%%EOF\n";

    #[test]
    fn whole_pdfs_pass_and_truncated_ones_say_why() {
        assert!(check(GOOD).is_ok());
        let cut = &GOOD[..GOOD.len() - 20];
        assert!(check(cut).unwrap_err().contains("%%EOF"));
        assert!(check(b"PK\x03\x04").unwrap_err().contains("%PDF-"));
        // A byte lost in the middle moves the cross-reference table.
        let mut shifted = GOOD.to_vec();
        shifted.remove(20);
        assert!(check(&shifted).unwrap_err().contains("cross-reference"));
    }

    #[test]
    fn creation_date_is_read() {
        let t = creation_date(GOOD).expect("date");
        assert_eq!(t.format("%Y%m%d%H%M%S").to_string(), "20261129143005");
        let short = b"/CreationDate (D:2025)";
        assert_eq!(
            creation_date(short).map(|t| t.format("%Y%m%d").to_string()),
            Some("20250101".into())
        );
        assert_eq!(creation_date(b"no date"), None);
    }
}
