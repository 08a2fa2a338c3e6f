//! Comparing what was sent with what was stored: PS3.10 files split into meta group and
//! dataset, and datasets compared byte for byte or element by element.

use std::path::Path;

use dicom_core::header::Header as _;
use sha2::{Digest, Sha256};

pub fn sha256_file(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    hex::encode(Sha256::digest(&bytes))
}

/// A PS3.10 file split into its transfer syntax UID and the dataset bytes after the meta group.
pub struct Part10 {
    pub transfer_syntax: String,
    pub sop_instance_uid: String,
    pub dataset: Vec<u8>,
}

pub fn read_part10(path: &Path) -> Part10 {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    split_part10(&bytes).unwrap_or_else(|e| panic!("{} is not a PS3.10 file: {e}", path.display()))
}

pub fn split_part10(bytes: &[u8]) -> Result<Part10, String> {
    if bytes.len() < 132 || &bytes[128..132] != b"DICM" {
        return Err("no DICM prefix".into());
    }
    let mut pos = 132;
    let mut ts = None;
    let mut sop = None;
    let u16_at = |p: usize| u16::from_le_bytes([bytes[p], bytes[p + 1]]);
    while pos + 8 <= bytes.len() && u16_at(pos) == 0x0002 {
        let element = u16_at(pos + 2);
        let vr = &bytes[pos + 4..pos + 6];
        let (header, len) = if matches!(
            vr,
            b"OB"
                | b"OW"
                | b"OF"
                | b"SQ"
                | b"UT"
                | b"UN"
                | b"UC"
                | b"UR"
                | b"OD"
                | b"OL"
                | b"OV"
                | b"SV"
                | b"UV"
        ) {
            if pos + 12 > bytes.len() {
                return Err("truncated meta element".into());
            }
            let len = u32::from_le_bytes([
                bytes[pos + 8],
                bytes[pos + 9],
                bytes[pos + 10],
                bytes[pos + 11],
            ]) as usize;
            (12, len)
        } else {
            (8, u16_at(pos + 6) as usize)
        };
        let start = pos + header;
        let end = start + len;
        if end > bytes.len() {
            return Err("meta element runs past the end".into());
        }
        let text = || {
            String::from_utf8_lossy(&bytes[start..end])
                .trim_end_matches(['\0', ' '])
                .to_string()
        };
        match element {
            0x0010 => ts = Some(text()),
            0x0003 => sop = Some(text()),
            _ => {}
        }
        pos = end;
    }
    Ok(Part10 {
        transfer_syntax: ts.ok_or("no transfer syntax in the meta group")?,
        sop_instance_uid: sop.ok_or("no media storage SOP instance UID")?,
        dataset: bytes[pos..].to_vec(),
    })
}

/// Asserts that the stored file holds the dataset that was sent, in the same transfer syntax,
/// and is a well-formed PS3.10 file dicom-object can open. Byte-identical datasets pass at once;
/// otherwise every element is compared (DCMTK's storescu re-encodes what it sends, e.g. writes
/// sequences with explicit lengths, so the bytes on the wire need not be the file's).
pub fn assert_same_dataset(sent: &Path, stored: &Path) {
    let a = read_part10(sent);
    let b = read_part10(stored);
    assert_eq!(
        a.transfer_syntax,
        b.transfer_syntax,
        "{} was stored in another transfer syntax",
        sent.display()
    );
    assert_eq!(a.sop_instance_uid, b.sop_instance_uid);
    let stored_obj = dicom_object::open_file(stored)
        .unwrap_or_else(|e| panic!("dicom-object cannot open {}: {e}", stored.display()));
    assert_eq!(
        stored_obj.meta().media_storage_sop_instance_uid(),
        a.sop_instance_uid,
        "meta group of {}",
        stored.display()
    );
    if a.dataset == b.dataset {
        return;
    }
    let sent_obj = dicom_object::open_file(sent)
        .unwrap_or_else(|e| panic!("dicom-object cannot open {}: {e}", sent.display()));
    let mut diffs = Vec::new();
    diff_objects(&sent_obj, &stored_obj, "", &mut diffs);
    assert!(
        diffs.is_empty(),
        "dataset of {} differs from the stored {}:\n{}",
        sent.display(),
        stored.display(),
        diffs.join("\n")
    );
}

/// Element-by-element differences (tags, VRs, values, nested items, pixel fragments), ignoring
/// only how lengths were encoded.
pub fn diff_objects(
    a: &dicom_object::InMemDicomObject,
    b: &dicom_object::InMemDicomObject,
    at: &str,
    out: &mut Vec<String>,
) {
    let tags_a: Vec<_> = a.iter().map(|e| e.tag()).collect();
    let tags_b: Vec<_> = b.iter().map(|e| e.tag()).collect();
    if tags_a != tags_b {
        let only_a: Vec<_> = tags_a.iter().filter(|t| !tags_b.contains(t)).collect();
        let only_b: Vec<_> = tags_b.iter().filter(|t| !tags_a.contains(t)).collect();
        out.push(format!(
            "{at}: elements only sent {only_a:?}, only stored {only_b:?}"
        ));
    }
    for ea in a.iter() {
        let Ok(eb) = b.element(ea.tag()) else {
            continue;
        };
        let here = format!("{at}{}", ea.tag());
        if ea.vr() != eb.vr() {
            out.push(format!(
                "{here}: VR {:?} sent, {:?} stored",
                ea.vr(),
                eb.vr()
            ));
        }
        let (va, vb) = (ea.value(), eb.value());
        match (va.items(), vb.items()) {
            (Some(ia), Some(ib)) => {
                if ia.len() != ib.len() {
                    out.push(format!(
                        "{here}: {} items sent, {} stored",
                        ia.len(),
                        ib.len()
                    ));
                }
                for (i, (x, y)) in ia.iter().zip(ib).enumerate() {
                    diff_objects(x, y, &format!("{here}[{i}]."), out);
                }
                continue;
            }
            (None, None) => {}
            _ => {
                out.push(format!("{here}: a sequence on one side only"));
                continue;
            }
        }
        if va.fragments().is_some() || vb.fragments().is_some() {
            if va.fragments() != vb.fragments() || va.offset_table() != vb.offset_table() {
                out.push(format!("{here}: encapsulated pixel data differs"));
            }
            continue;
        }
        if va.primitive() != vb.primitive() {
            out.push(format!("{here}: value differs"));
        }
    }
}
