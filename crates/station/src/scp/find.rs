//! What every C-FIND SCP of the station shares (PS3.4 §C.2.2, PS3.7 §9.1.2): reading a query
//! identifier safely (bounds first, then dicom-rs; its text keys through the station's own
//! charset code), the matching primitives (wildcards, date ranges), writing text in the
//! character set the caller asked in, and sending responses while watching for a C-CANCEL.
//! Used by the Modality Worklist (`worklist`) and the Query/Retrieve SCP (`query`).
//!
//! Must never: hand dicom-rs an identifier the bounds check has not passed, or write a
//! character the declared character set cannot carry as anything but `?`.

use std::io::ErrorKind;
use std::net::TcpStream;

use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_encoding::TransferSyntax;
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::{TransferSyntaxIndex, TransferSyntaxRegistry};
use dicom_ul::pdu::{PDataValue, PDataValueType};
use dicom_ul::{Pdu, ServerAssociation};

use crate::dicom::dimse::{self, command_field, status, Command};
use crate::dicom::header::{self, QueryText};
use crate::dicom::{bounds, charset};

/// The largest query identifier accepted (issue 18): a real one is a few hundred bytes.
pub const MAX_IDENTIFIER: usize = 64 * 1024;

/// (0008,0005) of an ISO 2022 answer with GB2312 in G1 (PS3.5 Annex J).
pub const IR58: &str = "\\ISO 2022 IR 58";

/// Sequences nest at most this deep in a query (a real one nests one or none).
const MAX_QUERY_DEPTH: usize = 8;

/// The character set to answer a query declared `declared` in: GB18030, GBK and
/// `\ISO 2022 IR 58` are honoured, anything else gets UTF-8 (ISO_IR 192).
pub fn answer_charset(declared: &str) -> &'static str {
    let asked = declared.to_ascii_uppercase();
    if asked.contains("GB18030") {
        "GB18030"
    } else if asked.contains("GBK") {
        "GBK"
    } else if asked.contains("ISO 2022 IR 58") {
        IR58
    } else {
        "ISO_IR 192"
    }
}

/// A query identifier, read.
pub struct Identifier {
    /// The identifier as received.
    pub object: InMemDicomObject,
    /// Its name, ID and accession decoded by the station's charset code.
    pub keys: QueryText,
    /// The presentation context's transfer syntax, in which the answers go.
    pub syntax: &'static TransferSyntax,
}

/// Reads `identifier` (in transfer syntax `ts`), or says why it cannot be read (answered
/// "Identifier does not match SOP Class", A900).
pub fn read_identifier(identifier: &[u8], ts: &str) -> Result<Identifier, String> {
    let syntax = TransferSyntaxRegistry
        .get(ts)
        .ok_or_else(|| format!("an unknown transfer syntax {ts}"))?;
    // Checked before dicom-rs parses it (it recurses into sequences): little endian only, which
    // is what callers send queries in.
    let explicit = match ts {
        header::IMPLICIT_VR_LE => false,
        header::EXPLICIT_VR_LE => true,
        _ => {
            return Err(format!(
                "a query in transfer syntax {ts}, which we do not read"
            ))
        }
    };
    bounds::check(identifier, explicit, MAX_QUERY_DEPTH).map_err(|e| e.to_string())?;
    let object =
        InMemDicomObject::read_dataset_with_ts(identifier, syntax).map_err(|e| e.to_string())?;
    let keys = header::read_query_text(identifier, ts).map_err(|e| e.to_string())?;
    Ok(Identifier {
        object,
        keys,
        syntax,
    })
}

/// A text value of `obj`, its padding dropped; empty when absent.
pub fn text(obj: &InMemDicomObject, tag: Tag) -> String {
    obj.element(tag)
        .ok()
        .and_then(|e| e.to_str().ok())
        .map(|s| s.trim_matches(|c: char| c == ' ' || c == '\0').to_string())
        .unwrap_or_default()
}

/// Wildcard matching (PS3.4 §C.2.2.2.4): `*` any run, `?` one character; otherwise equal.
pub fn wildcard(pattern: &str, value: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let v: Vec<char> = value.chars().collect();
    let (mut pi, mut vi) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while vi < v.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == v[vi]) {
            pi += 1;
            vi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = vi;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            vi = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Single value or range matching of a DA (PS3.4 §C.2.2.2.5).
pub fn date_matches(key: &str, date: &str) -> bool {
    match key.split_once('-') {
        None => key.is_empty() || key == date,
        Some((from, to)) => (from.is_empty() || date >= from) && (to.is_empty() || date <= to),
    }
}

/// Sets a text element of an answer (replacing one the query carried).
pub fn put_str(obj: &mut InMemDicomObject, tag: Tag, vr: VR, value: &str) {
    obj.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
}

/// A text value that may hold Chinese, in the answer's `charset`. dicom-rs cannot write ISO
/// 2022 (it reads only the first value of (0008,0005)), so for [`IR58`] the bytes are made
/// here and written as they are, padded with a space to even length (PS3.5 §6.2). A character
/// GB2312 lacks is written as `?`, as a device that asked in GB2312 could not show it anyway.
pub fn put_text(obj: &mut InMemDicomObject, tag: Tag, vr: VR, value: &str, charset: &str) {
    if charset != IR58 || value.is_ascii() {
        return put_str(obj, tag, vr, value);
    }
    let in_gb2312 = |c: char| charset::encode_iso2022_ir58(c.encode_utf8(&mut [0; 4])).is_ok();
    let shown: String = value
        .chars()
        .map(|c| if in_gb2312(c) { c } else { '?' })
        .collect();
    let mut bytes = charset::encode_iso2022_ir58(&shown).unwrap_or_default();
    if bytes.len() % 2 == 1 {
        bytes.push(b' ');
    }
    obj.put(DataElement::new(tag, vr, PrimitiveValue::from(bytes)));
}

/// Sends one C-FIND-RSP with `code`, and its identifier `data` in a PDU of its own (some
/// peers choke on a command and a dataset in one PDU).
pub fn reply_find(
    assoc: &mut ServerAssociation<TcpStream>,
    request: &Command,
    context_id: u8,
    code: u16,
    data: Option<Vec<u8>>,
) -> Result<(), String> {
    let cmd = dimse::response_with(
        request,
        command_field::C_FIND_RSP,
        code,
        None,
        data.is_some(),
    )
    .map_err(|e| e.to_string())?;
    send_pdv(assoc, context_id, PDataValueType::Command, cmd)?;
    match data {
        Some(bytes) => send_pdv(assoc, context_id, PDataValueType::Data, bytes),
        None => Ok(()),
    }
}

/// Sends the answers of a C-FIND: a pending response per match, then success, or cancel when
/// the caller sent C-CANCEL in between.
pub fn answer_find(
    assoc: &mut ServerAssociation<TcpStream>,
    reader: &super::wire::Reader,
    request: &Command,
    context_id: u8,
    syntax: &TransferSyntax,
    matches: &[InMemDicomObject],
) -> Result<(), String> {
    for m in matches {
        if cancel_requested(assoc, reader)? {
            tracing::info!("C-FIND cancelled by the caller");
            return reply_find(assoc, request, context_id, status::CANCEL, None);
        }
        let mut bytes = Vec::new();
        m.write_dataset_with_ts(&mut bytes, syntax)
            .map_err(|e| format!("cannot encode a C-FIND response: {e}"))?;
        reply_find(assoc, request, context_id, status::PENDING, Some(bytes))?;
    }
    reply_find(assoc, request, context_id, status::SUCCESS, None)
}

/// Sends one P-DATA value (a command or a data set) on the association.
pub fn send_pdv(
    assoc: &mut ServerAssociation<TcpStream>,
    context_id: u8,
    value_type: PDataValueType,
    data: Vec<u8>,
) -> Result<(), String> {
    assoc
        .send(&Pdu::PData {
            data: vec![PDataValue {
                presentation_context_id: context_id,
                value_type,
                is_last: true,
                data,
            }],
        })
        .map_err(|e| format!("cannot send a response: {e}"))
}

/// Whether the device sent something while we answer: a C-CANCEL-RQ stops the answers
/// (PS3.7 §9.3.2.3); anything else in the middle of a C-FIND is a protocol error.
pub fn cancel_requested(
    assoc: &mut ServerAssociation<TcpStream>,
    reader: &super::wire::Reader,
) -> Result<bool, String> {
    let stream = assoc.inner_stream();
    stream.set_nonblocking(true).map_err(|e| e.to_string())?;
    let waiting = match stream.peek(&mut [0u8; 1]) {
        Ok(n) => n > 0,
        Err(e) if e.kind() == ErrorKind::WouldBlock => false,
        Err(e) => return Err(e.to_string()),
    };
    stream.set_nonblocking(false).map_err(|e| e.to_string())?;
    if !waiting {
        return Ok(false);
    }
    match reader.receive(assoc).map_err(|e| e.to_string())? {
        Pdu::PData { data } => {
            let cmd = data
                .iter()
                .find(|p| p.value_type == PDataValueType::Command)
                .map(|p| Command::parse(&p.data))
                .transpose()
                .map_err(|e| e.to_string())?;
            match cmd {
                Some(c) if c.command_field == command_field::C_CANCEL_RQ => Ok(true),
                _ => Err("a message other than C-CANCEL arrived during a C-FIND".into()),
            }
        }
        other => Err(format!("{other:?} arrived during a C-FIND")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_and_date_ranges_match_as_ps3_4_says() {
        assert!(wildcard("王*", "王^小明"));
        assert!(wildcard("*小明", "王^小明"));
        assert!(wildcard("王^??", "王^小明"));
        assert!(!wildcard("王^?", "王^小明"));
        assert!(!wildcard("李*", "王^小明"));
        assert!(wildcard("*", ""));
        assert!(date_matches("20261128-20261130", "20261130"));
        assert!(date_matches("-20261130", "20261101"));
        assert!(date_matches("20261130-", "20261201"));
        assert!(!date_matches("20261201-", "20261130"));
        assert!(date_matches("", "20261130"));
        assert!(!date_matches("20261129", "20261130"));
    }
}
