//! Writing one corrected copy: the received file's bytes with the corrected attributes
//! swapped in and one Original Attributes Sequence item per correction (PS3.3 C.12.1.1.9).
//! Top-level elements before (0400,0562) are read (they are small); everything after, pixel
//! data included, is streamed unchanged.
//!
//! Must never: write to the received file, decode pixel data, or change the character set a
//! file's other text is in (new text is encoded in it, or in the one it was detected to use).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;

use super::{Correction, CorrectionError, Values, ATTRIBUTES};
use crate::dicom::element::{self, item, read_rest, read_u32, tag_le as tag_of, SEQUENCE_END};

const SPECIFIC_CHARACTER_SET: u32 = 0x0008_0005;
const ORIGINAL_ATTRIBUTES_SEQUENCE: u32 = 0x0400_0561;
const MODIFYING_SYSTEM: &str = "CLINIC IMAGING STATION";

/// How the copy's new text is encoded, and the Specific Character Set it then declares.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Target {
    Utf8,
    Gb18030,
    Gbk,
    Iso2022Ir58,
    Ascii,
}

/// The target for a file declaring `declared` (values joined by `\`) whose text was detected
/// as `repaired` when the declaration was wrong; `Some(scs)` when (0008,0005) must change.
fn target(declared: &str, repaired: Option<&str>, values: &Values) -> (Target, Option<String>) {
    let by_name = |name: &str| match name.trim() {
        "ISO_IR 192" => Some(Target::Utf8),
        "GB18030" => Some(Target::Gb18030),
        "GBK" | "GB2312" => Some(Target::Gbk),
        _ => None,
    };
    if let Some(t) = repaired.and_then(by_name) {
        return (t, repaired.map(str::to_string));
    }
    if let Some(t) = by_name(declared) {
        return (t, None);
    }
    if declared.contains("ISO 2022 IR 58") {
        return (Target::Iso2022Ir58, None);
    }
    if values.values().all(|v| v.is_ascii()) {
        return (Target::Ascii, None);
    }
    // ASCII or a single-byte set that cannot hold Chinese: declare UTF-8 from now on.
    (Target::Utf8, Some("ISO_IR 192".into()))
}

fn encode(t: Target, s: &str) -> Result<Vec<u8>, CorrectionError> {
    let strict = |enc: &'static encoding_rs::Encoding| {
        let (bytes, _, errors) = enc.encode(s);
        if errors {
            Err(CorrectionError::Encoding(s.to_string()))
        } else {
            Ok(bytes.into_owned())
        }
    };
    match t {
        Target::Utf8 => Ok(s.as_bytes().to_vec()),
        Target::Ascii if s.is_ascii() => Ok(s.as_bytes().to_vec()),
        Target::Ascii => Err(CorrectionError::Encoding(s.to_string())),
        Target::Gb18030 => strict(encoding_rs::GB18030),
        Target::Gbk => strict(encoding_rs::GBK),
        Target::Iso2022Ir58 => {
            // GB2312 in G1, designated by ESC $ ) A at the first Chinese character after each
            // delimiter (PS3.5 §6.1.2.5.3, Annex K).
            let mut out = Vec::new();
            let mut designated = false;
            for c in s.chars() {
                if c.is_ascii() {
                    if matches!(c, '^' | '=' | '\\') {
                        designated = false;
                    }
                    out.push(c as u8);
                    continue;
                }
                let mut buf = [0; 4];
                let (bytes, _, errors) = encoding_rs::GBK.encode(c.encode_utf8(&mut buf));
                if errors || bytes.len() != 2 || bytes[0] < 0xA1 || bytes[1] < 0xA1 {
                    return Err(CorrectionError::Encoding(s.to_string()));
                }
                if !designated {
                    out.extend_from_slice(b"\x1b$)A");
                    designated = true;
                }
                out.extend_from_slice(&bytes);
            }
            Ok(out)
        }
    }
}

/// An element as read from the file: its tag and its complete bytes (header and value).
struct RawElement {
    tag: u32,
    bytes: Vec<u8>,
}

/// Element header + value in the copy's transfer syntax (values here are short text).
fn element(
    tag: u32,
    vr: [u8; 2],
    value: &[u8],
    explicit: bool,
) -> Result<Vec<u8>, CorrectionError> {
    Ok(element::element(tag, vr, value, explicit)?)
}

/// Text padded to even length with a space (the copy's values are never UIDs).
fn padded(v: Vec<u8>) -> Vec<u8> {
    element::padded(*b"LO", v)
}

/// Writes the corrected copy of `original` to `dest`; returns its size.
pub(super) fn write_copy(
    original: &Path,
    dest: &Path,
    transfer_syntax: &str,
    declared: &str,
    repaired: Option<&str>,
    corrections: &[Correction],
    received: &Values,
) -> Result<u64, CorrectionError> {
    let unsupported = |reason: &str| CorrectionError::Unsupported {
        path: original.display().to_string(),
        reason: reason.to_string(),
    };
    let mut r = BufReader::with_capacity(1 << 16, File::open(original)?);
    // Preamble, "DICM", then the meta group, whose group length says where it ends.
    let mut head = vec![0u8; 132];
    r.read_exact(&mut head)?;
    if &head[128..132] != b"DICM" {
        return Err(unsupported("not a PS3.10 file"));
    }
    let mut gl = Vec::new();
    let t = read_u32(&mut r, &mut gl)?;
    if tag_of(t.to_le_bytes()) != 0x0002_0000 {
        return Err(unsupported("file meta group without group length"));
    }
    read_rest(&mut r, 0x0002_0000, true, &mut gl)?;
    let meta_len = u32::from_le_bytes([gl[8], gl[9], gl[10], gl[11]]) as usize;
    let mut meta = vec![0u8; meta_len];
    r.read_exact(&mut meta)?;
    let explicit = match transfer_syntax.trim_end_matches(['\0', ' ']) {
        "1.2.840.10008.1.2" => false,
        "1.2.840.10008.1.2.2" | "1.2.840.10008.1.2.1.99" | "1.2.840.10008.1.2.4.95" => {
            return Err(unsupported(
                "big endian or deflated datasets cannot be corrected",
            ))
        }
        _ => true,
    };
    // Top-level elements before (0400,0562): the ones we may replace are among them.
    let mut kept: BTreeMap<u32, Vec<u8>> = BTreeMap::new();
    let mut rest_tag: Option<[u8; 4]> = None;
    for _ in 0..100_000 {
        let mut t = [0u8; 4];
        match r.read_exact(&mut t) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(e.into()),
        }
        let tag = tag_of(t);
        if tag > ORIGINAL_ATTRIBUTES_SEQUENCE {
            rest_tag = Some(t);
            break;
        }
        let mut e = RawElement {
            tag,
            bytes: t.to_vec(),
        };
        read_rest(&mut r, tag, explicit, &mut e.bytes)?;
        kept.insert(e.tag, e.bytes);
    }
    let header_len = |bytes: &[u8]| element::header_len(bytes, explicit);
    // The values sent now, and their encoding.
    let mut current = received.clone();
    for c in corrections {
        current.extend(c.attributes.clone());
    }
    let (target, new_scs) = target(declared, repaired, &current);
    let mut items = Vec::new();
    if let Some(existing) = kept.get(&ORIGINAL_ATTRIBUTES_SEQUENCE) {
        // Keep earlier modifiers' items: the value, without a sequence delimiter.
        let mut v = existing[header_len(existing)..].to_vec();
        if v.len() >= 8
            && tag_of([
                v[v.len() - 8],
                v[v.len() - 7],
                v[v.len() - 6],
                v[v.len() - 5],
            ]) == SEQUENCE_END
        {
            v.truncate(v.len() - 8);
        }
        items.extend(v);
    }
    let mut before = received.clone();
    for (n, c) in corrections.iter().enumerate() {
        let mut modified = Vec::new();
        // The declared charset is replaced once, with the first correction.
        if n == 0 && new_scs.is_some() {
            let original = kept
                .get(&SPECIFIC_CHARACTER_SET)
                .map(|b| b[header_len(b)..].to_vec());
            modified.extend(element(
                SPECIFIC_CHARACTER_SET,
                *b"CS",
                &original.unwrap_or_default(),
                explicit,
            )?);
        }
        for (kw, tag, vr) in ATTRIBUTES {
            if !c.attributes.contains_key(kw) {
                continue;
            }
            // The first correction replaces the bytes as received; later ones our own values.
            let value = match kept.get(&tag) {
                Some(b) if n == 0 => b[header_len(b)..].to_vec(),
                _ if n == 0 => Vec::new(),
                _ => padded(encode(
                    target,
                    before.get(kw).map(String::as_str).unwrap_or(""),
                )?),
            };
            modified.extend(element(tag, vr, &value, explicit)?);
        }
        before.extend(c.attributes.clone());
        let at = chrono::DateTime::from_timestamp_millis(c.at)
            .map(|t| {
                t.with_timezone(&chrono::Local)
                    .format("%Y%m%d%H%M%S%z")
                    .to_string()
            })
            .unwrap_or_default();
        let mut content = element(0x0400_0550, *b"SQ", &item(&modified), explicit)?;
        content.extend(element(
            0x0400_0562,
            *b"DT",
            &padded(at.into_bytes()),
            explicit,
        )?);
        content.extend(element(
            0x0400_0563,
            *b"LO",
            &padded(MODIFYING_SYSTEM.as_bytes().to_vec()),
            explicit,
        )?);
        content.extend(element(0x0400_0564, *b"LO", &[], explicit)?);
        content.extend(element(
            0x0400_0565,
            *b"CS",
            &padded(c.reason.as_bytes().to_vec()),
            explicit,
        )?);
        items.extend(item(&content));
    }
    kept.insert(
        ORIGINAL_ATTRIBUTES_SEQUENCE,
        element(ORIGINAL_ATTRIBUTES_SEQUENCE, *b"SQ", &items, explicit)?,
    );
    if let Some(scs) = &new_scs {
        kept.insert(
            SPECIFIC_CHARACTER_SET,
            element(
                SPECIFIC_CHARACTER_SET,
                *b"CS",
                &padded(scs.as_bytes().to_vec()),
                explicit,
            )?,
        );
    }
    for (kw, tag, vr) in ATTRIBUTES {
        let touched = corrections.iter().any(|c| c.attributes.contains_key(kw));
        if touched {
            let value = padded(encode(
                target,
                current.get(kw).map(String::as_str).unwrap_or(""),
            )?);
            kept.insert(tag, element(tag, vr, &value, explicit)?);
        }
    }
    let mut w = BufWriter::with_capacity(1 << 16, File::create(dest)?);
    w.write_all(&head)?;
    w.write_all(&gl)?;
    w.write_all(&meta)?;
    for bytes in kept.values() {
        w.write_all(bytes)?;
    }
    if let Some(t) = rest_tag {
        w.write_all(&t)?;
        io::copy(&mut r, &mut w)?;
    }
    let file = w.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok(file.metadata()?.len())
}
