//! Reads what the index needs from a stored object: the file meta group and the top-level
//! elements of groups 0008–0020, as raw bytes, decoded by `charset`. Stops before anything large
//! (pixel data is never read).
//!
//! Must never: load a whole object into memory, or decode text other than through `charset`.

use std::fs::File;
use std::io::{BufReader, Cursor, Read};
use std::path::Path;

use super::{charset, element};

mod walker;
use walker::{read_full, Syntax, Walker, MAX_VALUE, UNDEFINED};

/// What the index keeps of one object. Text is decoded to Unicode; UIDs are trimmed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Header {
    /// Transfer Syntax UID (0002,0010) of the file (or the one detected for a bare dataset).
    pub transfer_syntax: String,
    /// SOP Class UID (0008,0016).
    pub sop_class_uid: String,
    /// SOP Instance UID (0008,0018).
    pub sop_instance_uid: String,
    /// Study Instance UID (0020,000D).
    pub study_uid: String,
    /// Series Instance UID (0020,000E).
    pub series_uid: String,
    /// Modality (0008,0060).
    pub modality: String,
    /// Study Date (0008,0020), `YYYYMMDD` as sent; may be empty.
    pub study_date: String,
    /// Study Time (0008,0030), `HHMMSS.frac` as sent; may be empty.
    pub study_time: String,
    /// Accession Number (0008,0050).
    pub accession: String,
    /// Study Description (0008,1030).
    pub study_description: String,
    /// Series Description (0008,103E).
    pub series_description: String,
    /// Series Number (0020,0011), when present and a number.
    pub series_number: Option<i64>,
    /// Instance Number (0020,0013), when present and a number.
    pub instance_number: Option<i64>,
    /// Patient ID (0010,0020).
    pub patient_id: String,
    /// Patient's Name (0010,0010), PN groups joined by `=` as in the file.
    pub patient_name: String,
    /// Patient's Birth Date (0010,0030).
    pub patient_birth_date: String,
    /// Patient's Sex (0010,0040).
    pub patient_sex: String,
    /// (0008,0005) as declared, values joined by `\`; empty when absent.
    pub charset: String,
    /// Set when the declared charset did not fit the bytes and text was decoded with this one.
    pub charset_repaired: Option<String>,
}

/// Why a header could not be read; ingest turns all but `Io` into a quarantine reason.
#[derive(Debug, thiserror::Error)]
pub enum HeaderError {
    /// The file could not be read.
    #[error("cannot read file: {0}")]
    Io(#[from] std::io::Error),
    /// Not a PS3.10 file nor a dataset we recognise.
    #[error("not a DICOM file: {0}")]
    NotDicom(String),
    /// The bytes break the encoding rules (lengths, VRs, meta group).
    #[error("malformed DICOM: {0}")]
    Malformed(String),
    /// A required attribute (its name) is absent or empty.
    #[error("required attribute {0} is missing or empty")]
    Missing(&'static str),
}

/// What kind of file a watched folder or `station import` handed us.
#[derive(Debug, Clone, PartialEq)]
pub enum FileKind {
    /// PS3.10 file: preamble, "DICM", meta group.
    Part10,
    /// A bare dataset without preamble or meta group, in the transfer syntax we detected.
    RawDataset {
        /// Implicit or Explicit VR Little Endian, as detected from its first elements.
        transfer_syntax: &'static str,
    },
    /// Neither: it goes to quarantine.
    NotDicom {
        /// What it looks like instead, for the reason file.
        reason: String,
    },
}

/// Implicit VR Little Endian (PS3.5 §A.1).
pub const IMPLICIT_VR_LE: &str = "1.2.840.10008.1.2";
/// Explicit VR Little Endian (PS3.5 §A.2).
pub const EXPLICIT_VR_LE: &str = "1.2.840.10008.1.2.1";
const EXPLICIT_VR_BE: &str = "1.2.840.10008.1.2.2";
const DEFLATED_LE: &str = "1.2.840.10008.1.2.1.99";
/// JPIP Referenced Deflate: its dataset is deflated like 1.2.840.10008.1.2.1.99 (PS3.5 A.5).
const JPIP_DEFLATE: &str = "1.2.840.10008.1.2.4.95";

/// The top-level attributes we keep; `Values[i]` holds the raw value of `WANTED[i]`.
const WANTED: [u32; 17] = [
    0x00080005, 0x00080016, 0x00080018, 0x00080020, 0x00080030, 0x00080050, 0x00080060, 0x00081030,
    0x0008103E, 0x00100010, 0x00100020, 0x00100030, 0x00100040, 0x0020000D, 0x0020000E, 0x00200011,
    0x00200013,
];
type Values = [Option<Vec<u8>>; WANTED.len()];

/// Looks at the first bytes of a file to tell a Part 10 file, a bare dataset, or neither.
pub fn sniff(path: &Path) -> Result<FileKind, HeaderError> {
    let mut head = Vec::with_capacity(512);
    File::open(path)?.take(512).read_to_end(&mut head)?;
    let not = |reason: &str| {
        Ok(FileKind::NotDicom {
            reason: reason.to_string(),
        })
    };
    if head.is_empty() {
        return not("the file is empty");
    }
    if head.get(128..132) == Some(b"DICM") {
        return Ok(FileKind::Part10);
    }
    let magic: [(&[u8], &str); 9] = [
        (b"%PDF", "the file is a PDF document"),
        (b"\xFF\xD8\xFF", "the file is a JPEG image"),
        (b"\x89PNG", "the file is a PNG image"),
        (b"GIF8", "the file is a GIF image"),
        (b"II*\0", "the file is a TIFF image"),
        (b"MM\0*", "the file is a TIFF image"),
        (b"PK\x03\x04", "the file is a ZIP archive"),
        (b"\x1F\x8B", "the file is a gzip archive"),
        (b"<?xml", "the file is an XML document"),
    ];
    if let Some((_, reason)) = magic.iter().find(|(m, _)| head.starts_with(m)) {
        return not(reason);
    }
    match detect_raw(&head) {
        Some(transfer_syntax) => Ok(FileKind::RawDataset { transfer_syntax }),
        None if head.starts_with(b"BM") => not("the file is a BMP image"),
        None => not("no DICOM preamble or recognizable dataset"),
    }
}

/// Whether `head` starts like a bare dataset: a small even group (0002–0028, where every
/// object starts) followed by a known VR (explicit VR LE) or a small length (implicit VR LE).
fn detect_raw(h: &[u8]) -> Option<&'static str> {
    let le16 = |at: usize| h.get(at..at + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let le32 = |at: usize| {
        h.get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let plausible_group = |g: u16| g & 1 == 0 && (0x0002..=0x0028).contains(&g);
    let group = le16(0)?;
    if !plausible_group(group) {
        return None;
    }
    let vr = h.get(4..6)?;
    if element::is_known_vr(vr) {
        return Some(EXPLICIT_VR_LE);
    }
    // Implicit VR has little to check, so the first element must be short (group length,
    // charset, image type, SOP class…) and the next one, when read, must follow it.
    let len = le32(4)?;
    if len > 1024 {
        return None;
    }
    let next = 8 + len as usize;
    if let (Some(g2), Some(l2)) = (le16(next), le32(next + 4)) {
        let group_ok = g2 >= group && (plausible_group(g2) || g2 == 0x7FE0);
        if !group_ok || (l2 > MAX_VALUE && l2 != UNDEFINED) {
            return None;
        }
    }
    Some(IMPLICIT_VR_LE)
}

/// Reads the header of a PS3.10 file.
pub fn read_part10(path: &Path) -> Result<Header, HeaderError> {
    let mut r = BufReader::new(File::open(path)?);
    let mut preamble = [0u8; 132];
    if read_full(&mut r, &mut preamble)? < preamble.len() || &preamble[128..] != b"DICM" {
        return Err(HeaderError::NotDicom(
            "there is no \"DICM\" marker after the 128-byte preamble, so this is not a \
             DICOM Part 10 file"
                .into(),
        ));
    }
    let mut w = Walker::new(r, Syntax::ExplicitLe, false);
    let (ts, pending) = w.read_meta()?;
    let ts = ts.ok_or_else(|| {
        HeaderError::Malformed(
            "the file meta information has no Transfer Syntax UID (0002,0010)".into(),
        )
    })?;
    read_dataset(Cursor::new(pending).chain(w.r), &ts)
}

/// Reads the header of a bare dataset encoded in `transfer_syntax`.
pub fn read_raw_dataset(path: &Path, transfer_syntax: &str) -> Result<Header, HeaderError> {
    let mut r = BufReader::new(File::open(path)?);
    let mut tag = [0u8; 4];
    let n = read_full(&mut r, &mut tag)?;
    let src = Cursor::new(tag[..n].to_vec()).chain(r);
    // A Part 10 file that lost its preamble still starts with the meta group, which then
    // names the real transfer syntax.
    if n == 4 && tag[..2] == [0x02, 0x00] {
        let mut w = Walker::new(src, Syntax::ExplicitLe, false);
        let (ts, pending) = w.read_meta()?;
        let ts = ts.unwrap_or_else(|| transfer_syntax.to_string());
        return read_dataset(Cursor::new(pending).chain(w.r), &ts);
    }
    read_dataset(src, transfer_syntax)
}

fn read_dataset<R: Read>(src: R, ts: &str) -> Result<Header, HeaderError> {
    build_header(ts, walk_dataset(src, ts)?)
}

/// The text keys of a C-FIND identifier that worklist matching compares, decoded as stored
/// objects are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryText {
    /// (0008,0005) as declared, values joined by `\`.
    pub charset: String,
    /// Patient's Name (0010,0010), decoded.
    pub patient_name: String,
    /// Patient ID (0010,0020).
    pub patient_id: String,
    /// Accession Number (0008,0050).
    pub accession: String,
}

/// Reads a query identifier's text keys from its bytes in `ts`. dicom-rs honours only the
/// first value of (0008,0005), so a `\ISO 2022 IR 58` query (PS3.5 Annex J) would lose its
/// Chinese there; here the station's own charset code decodes it.
pub fn read_query_text(identifier: &[u8], ts: &str) -> Result<QueryText, HeaderError> {
    let values = walk_dataset(Cursor::new(identifier), ts)?;
    let raw = |tag: u32| {
        WANTED
            .iter()
            .position(|&t| t == tag)
            .and_then(|i| values[i].as_deref())
    };
    let declared = raw(0x00080005)
        .map(charset::split_declared)
        .unwrap_or_default();
    let text = |tag: u32| decoded(&declared, raw(tag)).text;
    Ok(QueryText {
        charset: declared.join("\\"),
        patient_name: text(0x00100010).trim().to_string(),
        patient_id: text(0x00100020).trim().to_string(),
        accession: text(0x00080050).trim().to_string(),
    })
}

/// One text value decoded under `declared`, its padding dropped.
fn decoded(declared: &[String], raw: Option<&[u8]>) -> charset::Decoded {
    let Some(bytes) = raw else {
        return charset::Decoded {
            text: String::new(),
            repaired_as: None,
        };
    };
    let mut d = charset::decode(declared, trim_end(bytes));
    d.text = d.text.trim_end_matches([' ', '\0']).to_string();
    d
}

/// The wanted top-level values of a dataset in `ts`.
fn walk_dataset<R: Read>(src: R, ts: &str) -> Result<Values, HeaderError> {
    Ok(match ts {
        IMPLICIT_VR_LE => Walker::new(src, Syntax::ImplicitLe, false).walk()?,
        EXPLICIT_VR_BE => Walker::new(src, Syntax::ExplicitBe, false).walk()?,
        // Raw deflate (RFC 1951, no zlib header), read as a stream: never all in memory.
        DEFLATED_LE | JPIP_DEFLATE => {
            let inflated = BufReader::new(flate2::read::DeflateDecoder::new(src));
            Walker::new(inflated, Syntax::ExplicitLe, true).walk()?
        }
        // Explicit VR LE and every encapsulated (compressed pixel data) syntax.
        _ => Walker::new(src, Syntax::ExplicitLe, false).walk()?,
    })
}

fn build_header(ts: &str, values: Values) -> Result<Header, HeaderError> {
    let raw = |tag: u32| {
        WANTED
            .iter()
            .position(|&t| t == tag)
            .and_then(|i| values[i].as_deref())
    };
    let declared = raw(0x00080005)
        .map(charset::split_declared)
        .unwrap_or_default();
    let mut repaired: Option<&'static str> = None;
    let mut text = |tag: u32| -> String {
        let d = decoded(&declared, raw(tag));
        repaired = repaired.or(d.repaired_as);
        d.text
    };
    // Code strings, dates, times and numbers have insignificant leading spaces too.
    let mut code = |tag: u32| text(tag).trim_start().to_string();
    let (modality, study_date, study_time) = (code(0x00080060), code(0x00080020), code(0x00080030));
    let (birth_date, sex) = (code(0x00100030), code(0x00100040));
    let (series_number, instance_number) = (code(0x00200011), code(0x00200013));
    // A UI value is ASCII digits and dots padded with NUL (PS3.5 §6.2): no charset applies.
    let uid = |tag: u32, name: &'static str| {
        let text = charset::decode(&[], raw(tag).unwrap_or_default()).text;
        let text = text.trim_matches(['\0', ' ']);
        match text.is_empty() {
            true => Err(HeaderError::Missing(name)),
            false => Ok(text.to_string()),
        }
    };
    let mut header = Header {
        transfer_syntax: ts.trim_end_matches(['\0', ' ']).to_string(),
        sop_class_uid: uid(0x00080016, "SOP Class UID (0008,0016)")?,
        sop_instance_uid: uid(0x00080018, "SOP Instance UID (0008,0018)")?,
        study_uid: uid(0x0020000D, "Study Instance UID (0020,000D)")?,
        series_uid: uid(0x0020000E, "Series Instance UID (0020,000E)")?,
        modality,
        study_date,
        study_time,
        accession: text(0x00080050),
        study_description: text(0x00081030),
        series_description: text(0x0008103E),
        series_number: integer(&series_number),
        instance_number: integer(&instance_number),
        patient_id: text(0x00100020),
        patient_name: text(0x00100010),
        patient_birth_date: birth_date,
        patient_sex: sex,
        charset: declared.join("\\"),
        charset_repaired: None,
    };
    header.charset_repaired = repaired.map(str::to_string);
    Ok(header)
}

/// An IS value; only the first of several values.
fn integer(s: &str) -> Option<i64> {
    s.split('\\').next()?.trim().parse().ok()
}

fn trim_end(raw: &[u8]) -> &[u8] {
    let end = raw
        .iter()
        .rposition(|&b| b != b' ' && b != 0)
        .map_or(0, |p| p + 1);
    &raw[..end]
}

#[cfg(test)]
mod tests;
