//! Corrected copies: the one way what is sent differs from what was received. A study's
//! corrections (matching it to an order, a technician's assignment, a later edit of the
//! patient) are rows of `study_corrections`; before a study is sent, [`prepare`] writes for each
//! instance a copy under `derived/` with the corrected values and one Original Attributes
//! Sequence (0400,0561) item per correction holding the values it replaced (PS3.3 C.12.1.1.9),
//! and the send queue sends that copy (`instances.send_path`) instead of the received file.
//!
//! The copy is made from the received file's bytes: top-level elements before (0400,0562) are
//! read (they are small), the replaced ones swapped, and everything from there on (pixel data)
//! streamed unchanged. New text is encoded in the file's own character set (or the one it was
//! detected to use, which is then declared), so the other text in the file stays readable.
//!
//! Must never: modify or move a received file, or decode pixel data.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};

use crate::store::{audit, now_ms, Store, StoreError};

/// Attributes a correction may replace: keyword, tag, VR.
pub const ATTRIBUTES: [(&str, u32, [u8; 2]); 5] = [
    ("AccessionNumber", 0x0008_0050, *b"SH"),
    ("PatientName", 0x0010_0010, *b"PN"),
    ("PatientID", 0x0010_0020, *b"LO"),
    ("PatientBirthDate", 0x0010_0030, *b"DA"),
    ("PatientSex", 0x0010_0040, *b"CS"),
];
const SPECIFIC_CHARACTER_SET: u32 = 0x0008_0005;
const ORIGINAL_ATTRIBUTES_SEQUENCE: u32 = 0x0400_0561;
const MODIFYING_SYSTEM: &str = "CLINIC IMAGING STATION";

/// Keyword → value.
pub type Values = BTreeMap<String, String>;

#[derive(Debug, thiserror::Error)]
pub enum CorrectionError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("I/O: {0}")]
    Io(#[from] io::Error),
    #[error("{path}: {reason}")]
    Unsupported { path: String, reason: String },
    #[error("{0:?} cannot be written in the file's character set")]
    Encoding(String),
}

impl From<rusqlite::Error> for CorrectionError {
    fn from(e: rusqlite::Error) -> Self {
        CorrectionError::Store(StoreError::Sqlite(e))
    }
}

/// One row of `study_corrections`.
#[derive(Debug, Clone, PartialEq)]
pub struct Correction {
    pub id: i64,
    pub at: i64,
    /// "COERCE" (matching, assignment) or "CORRECT" (an edit after the fact), PS3.3 C.12.1.1.9.
    pub reason: String,
    pub attributes: Values,
}

/// The values as the devices sent them (from the index).
pub fn received_values(conn: &Connection, study_id: i64) -> Result<Values, StoreError> {
    let (accession, name, id, birth, sex): (String, String, String, String, String) = conn
        .query_row(
            "SELECT s.accession, p.name, p.patient_id, p.birth_date, p.sex
             FROM studies s JOIN patients p ON p.id = s.patient_ref WHERE s.id = ?1",
            [study_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )?;
    Ok([
        ("AccessionNumber", accession),
        ("PatientName", name),
        ("PatientID", id),
        ("PatientBirthDate", birth),
        ("PatientSex", sex),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect())
}

pub fn list(conn: &Connection, study_id: i64) -> Result<Vec<Correction>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT id, at, reason, attributes FROM study_corrections WHERE study_ref = ?1 ORDER BY id",
    )?;
    let rows = stmt
        .query_map([study_id], |r| {
            let json: String = r.get(3)?;
            Ok(Correction {
                id: r.get(0)?,
                at: r.get(1)?,
                reason: r.get(2)?,
                attributes: serde_json::from_str(&json).unwrap_or_default(),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The values that are sent now: received, then each correction in turn.
pub fn current_values(conn: &Connection, study_id: i64) -> Result<Values, StoreError> {
    let mut values = received_values(conn, study_id)?;
    for c in list(conn, study_id)? {
        values.extend(c.attributes);
    }
    Ok(values)
}

/// Records the attributes of `wanted` that differ from what is sent now, audited as
/// `study.correct` with old and new values; returns the new correction's id (None: nothing
/// changes). The caller re-queues the study if it was already queued or sent.
pub fn record(
    conn: &Connection,
    study_id: i64,
    actor: &str,
    reason: &str,
    wanted: &Values,
) -> Result<Option<i64>, StoreError> {
    let current = current_values(conn, study_id)?;
    let changed: Values = wanted
        .iter()
        .filter(|(k, v)| ATTRIBUTES.iter().any(|(kw, _, _)| kw == k) && current.get(*k) != Some(v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if changed.is_empty() {
        return Ok(None);
    }
    let json = serde_json::to_string(&changed).unwrap_or_default();
    conn.execute(
        "INSERT INTO study_corrections (study_ref, at, actor, reason, attributes) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![study_id, now_ms(), actor, reason, json],
    )?;
    let id = conn.last_insert_rowid();
    let old: Values = changed
        .keys()
        .map(|k| (k.clone(), current.get(k).cloned().unwrap_or_default()))
        .collect();
    let study_uid: String = conn.query_row(
        "SELECT study_uid FROM studies WHERE id = ?1",
        [study_id],
        |r| r.get(0),
    )?;
    audit::record(
        conn,
        actor,
        "study.correct",
        &study_uid,
        &serde_json::json!({ "reason": reason, "old": old, "new": changed }).to_string(),
    )?;
    Ok(Some(id))
}

/// After a correction of a study already queued or sent: every destination sends every
/// instance again (same SOP Instance UIDs, corrected copies).
pub fn requeue(conn: &Connection, study_id: i64) -> Result<usize, StoreError> {
    let now = now_ms();
    conn.execute(
        "UPDATE send_instances SET state = 'pending', last_error = NULL, updated_at = ?2
         WHERE queue_ref IN (SELECT id FROM send_queue WHERE study_ref = ?1)",
        params![study_id, now],
    )?;
    let n = conn.execute(
        "UPDATE send_queue SET state = 'queued', next_attempt_at = NULL, updated_at = ?2
         WHERE study_ref = ?1 AND state IN ('delivered', 'failed', 'sending', 'queued')",
        params![study_id, now],
    )?;
    conn.execute(
        "UPDATE studies SET state = 'ready', state_changed_at = ?2
         WHERE id = ?1 AND state IN ('delivered', 'failed', 'sending', 'reported')",
        params![study_id, now],
    )?;
    Ok(n)
}

/// One instance whose corrected copy is missing or stale.
struct Stale {
    id: i64,
    path: String,
    sop: String,
    transfer_syntax: String,
    charset: String,
    repaired: Option<String>,
    old_copy: Option<String>,
}

/// Writes the corrected copies a queue row's study needs before it is sent (none when the
/// study has no corrections). Called by the sync worker before each round of sending.
pub fn prepare(store: &Store, data_dir: &Path, queue_id: i64) -> Result<(), CorrectionError> {
    let (study_id, study_uid, corrections, received, stale) = {
        let conn = store.lock();
        let Some((study_id, study_uid)) = conn
            .query_row(
                "SELECT s.id, s.study_uid FROM send_queue q JOIN studies s ON s.id = q.study_ref WHERE q.id = ?1",
                [queue_id],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
            )
            .optional()?
        else {
            return Ok(());
        };
        let corrections = list(&conn, study_id)?;
        let Some(latest) = corrections.last().map(|c| c.id) else {
            return Ok(());
        };
        let mut stmt = conn.prepare(
            "SELECT i.id, i.path, i.sop_instance_uid, i.transfer_syntax, i.charset, i.charset_repaired, i.send_path
             FROM instances i JOIN series se ON se.id = i.series_ref
             WHERE se.study_ref = ?1 AND i.review_reason IS NULL
               AND (i.send_correction IS NULL OR i.send_correction <> ?2)",
        )?;
        let stale = stmt
            .query_map(params![study_id, latest], |r| {
                Ok(Stale {
                    id: r.get(0)?,
                    path: r.get(1)?,
                    sop: r.get(2)?,
                    transfer_syntax: r.get(3)?,
                    charset: r.get(4)?,
                    repaired: r.get(5)?,
                    old_copy: r.get(6)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let received = received_values(&conn, study_id)?;
        (study_id, study_uid, corrections, received, stale)
    };
    let latest = corrections.last().map(|c| c.id).unwrap_or_default();
    let dir = data_dir.join("derived").join(safe_name(&study_uid));
    std::fs::create_dir_all(&dir)?;
    for s in stale {
        let rel = PathBuf::from("derived")
            .join(safe_name(&study_uid))
            .join(format!("{}.c{latest}.dcm", safe_name(&s.sop)));
        let dest = data_dir.join(&rel);
        let tmp = dest.with_extension("tmp");
        let size = write_copy(
            &data_dir.join(&s.path),
            &tmp,
            &s.transfer_syntax,
            &s.charset,
            s.repaired.as_deref(),
            &corrections,
            &received,
        )?;
        std::fs::rename(&tmp, &dest)?;
        File::open(&dir)?.sync_all()?;
        let rel = rel.to_string_lossy().into_owned();
        store.lock().execute(
            "UPDATE instances SET send_path = ?2, send_size = ?3, send_correction = ?4 WHERE id = ?1",
            params![s.id, rel, size as i64, latest],
        )?;
        if let Some(old) = s.old_copy.filter(|o| *o != rel) {
            let _ = std::fs::remove_file(data_dir.join(old));
        }
    }
    tracing::debug!(study = study_id, "corrected copies ready");
    Ok(())
}

fn safe_name(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

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

const UNDEFINED: u32 = 0xFFFF_FFFF;
const ITEM: u32 = 0xFFFE_E000;
const ITEM_END: u32 = 0xFFFE_E00D;
const SEQUENCE_END: u32 = 0xFFFE_E0DD;
const LONG_VRS: [&[u8; 2]; 13] = [
    b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV",
];

fn read_u32(r: &mut impl Read, out: &mut Vec<u8>) -> io::Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    out.extend_from_slice(&b);
    Ok(u32::from_le_bytes(b))
}

fn tag_of(b: [u8; 4]) -> u32 {
    (u32::from(u16::from_le_bytes([b[0], b[1]])) << 16)
        | u32::from(u16::from_le_bytes([b[2], b[3]]))
}

/// Reads the rest of an element whose 4 tag bytes are already in `out`.
fn read_rest(r: &mut impl Read, tag: u32, explicit: bool, out: &mut Vec<u8>) -> io::Result<()> {
    let len = if explicit && !matches!(tag, ITEM | ITEM_END | SEQUENCE_END) {
        let mut vr = [0u8; 4];
        r.read_exact(&mut vr)?;
        out.extend_from_slice(&vr);
        if LONG_VRS.iter().any(|v| **v == [vr[0], vr[1]]) {
            read_u32(r, out)?
        } else {
            u32::from(u16::from_le_bytes([vr[2], vr[3]]))
        }
    } else {
        read_u32(r, out)?
    };
    if len != UNDEFINED {
        let start = out.len();
        out.resize(start + len as usize, 0);
        return r.read_exact(&mut out[start..]);
    }
    // Undefined length: items (or fragments) up to the sequence delimiter; an item of
    // undefined length holds elements up to its item delimiter.
    for _ in 0..1_000_000 {
        let mut t = [0u8; 4];
        r.read_exact(&mut t)?;
        out.extend_from_slice(&t);
        let t = tag_of(t);
        if t == SEQUENCE_END || t == ITEM_END {
            read_u32(r, out)?;
            return Ok(());
        }
        read_rest(r, t, explicit, out)?;
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        "sequence without end",
    ))
}

/// Element header + value in the copy's transfer syntax.
fn element(tag: u32, vr: [u8; 2], value: &[u8], explicit: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 12);
    out.extend_from_slice(&((tag >> 16) as u16).to_le_bytes());
    out.extend_from_slice(&(tag as u16).to_le_bytes());
    let len = value.len() as u32;
    if !explicit {
        out.extend_from_slice(&len.to_le_bytes());
    } else if LONG_VRS.contains(&&vr) {
        out.extend_from_slice(&vr);
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&len.to_le_bytes());
    } else {
        out.extend_from_slice(&vr);
        out.extend_from_slice(&(len as u16).to_le_bytes());
    }
    out.extend_from_slice(value);
    out
}

fn padded(mut v: Vec<u8>) -> Vec<u8> {
    if v.len() % 2 == 1 {
        v.push(b' ');
    }
    v
}

fn item(content: &[u8]) -> Vec<u8> {
    let mut out = vec![0xFE, 0xFF, 0x00, 0xE0];
    out.extend_from_slice(&(content.len() as u32).to_le_bytes());
    out.extend_from_slice(content);
    out
}

/// Writes the corrected copy of `original` to `dest`; returns its size.
fn write_copy(
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
    let header_len = |bytes: &[u8]| -> usize {
        if !explicit {
            8
        } else if LONG_VRS.iter().any(|v| **v == [bytes[4], bytes[5]]) {
            12
        } else {
            8
        }
    };
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
        if n == 0 {
            if new_scs.is_some() {
                let original = kept
                    .get(&SPECIFIC_CHARACTER_SET)
                    .map(|b| b[header_len(b)..].to_vec());
                modified.extend(element(
                    SPECIFIC_CHARACTER_SET,
                    *b"CS",
                    &original.unwrap_or_default(),
                    explicit,
                ));
            }
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
            modified.extend(element(tag, vr, &value, explicit));
        }
        before.extend(c.attributes.clone());
        let at = chrono::DateTime::from_timestamp_millis(c.at)
            .map(|t| {
                t.with_timezone(&chrono::Local)
                    .format("%Y%m%d%H%M%S%z")
                    .to_string()
            })
            .unwrap_or_default();
        let mut content = element(0x0400_0550, *b"SQ", &item(&modified), explicit);
        content.extend(element(
            0x0400_0562,
            *b"DT",
            &padded(at.into_bytes()),
            explicit,
        ));
        content.extend(element(
            0x0400_0563,
            *b"LO",
            &padded(MODIFYING_SYSTEM.as_bytes().to_vec()),
            explicit,
        ));
        content.extend(element(0x0400_0564, *b"LO", &[], explicit));
        content.extend(element(
            0x0400_0565,
            *b"CS",
            &padded(c.reason.as_bytes().to_vec()),
            explicit,
        ));
        items.extend(item(&content));
    }
    kept.insert(
        ORIGINAL_ATTRIBUTES_SEQUENCE,
        element(ORIGINAL_ATTRIBUTES_SEQUENCE, *b"SQ", &items, explicit),
    );
    if let Some(scs) = &new_scs {
        kept.insert(
            SPECIFIC_CHARACTER_SET,
            element(
                SPECIFIC_CHARACTER_SET,
                *b"CS",
                &padded(scs.as_bytes().to_vec()),
                explicit,
            ),
        );
    }
    for (kw, tag, vr) in ATTRIBUTES {
        let touched = corrections.iter().any(|c| c.attributes.contains_key(kw));
        if touched {
            let value = padded(encode(
                target,
                current.get(kw).map(String::as_str).unwrap_or(""),
            )?);
            kept.insert(tag, element(tag, vr, &value, explicit));
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

#[cfg(test)]
mod tests;
