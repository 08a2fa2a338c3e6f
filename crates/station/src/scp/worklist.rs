//! Modality Worklist SCP (PS3.4 Annex K, Modality Worklist Information Model – FIND,
//! 1.2.840.10008.5.1.4.31): devices ask for the orders scheduled for them and get one pending
//! C-FIND response per match, then a final one. Matching follows PS3.4 §C.2.2.2: universal
//! (empty), single value, wildcard (`*`, `?`) and date range matching, on Patient's Name,
//! Patient ID, Accession Number and, in the Scheduled Procedure Step Sequence, Modality,
//! Scheduled Station AE Title and Scheduled Procedure Step Start Date.
//!
//! Names go out in the character set the query asked in when we can honour it (GB18030, GBK
//! or `\ISO 2022 IR 58`), otherwise in UTF-8 (ISO_IR 192); either way it is declared in each
//! response. The query's own text keys are decoded by the station's charset code
//! (`dicom::header::read_query_text`), not dicom-rs's, which ignores all but the first value of
//! (0008,0005) and so cannot read an ISO 2022 query.
//!
//! Must never: return an attribute the query did not ask for (beyond Specific Character Set),
//! or keep sending matches after a C-CANCEL.

use std::io::ErrorKind;
use std::net::TcpStream;

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::{TransferSyntaxIndex, TransferSyntaxRegistry};
use dicom_ul::pdu::{PDataValue, PDataValueType};
use dicom_ul::{Pdu, ServerAssociation};

use crate::dicom::dimse::{self, command_field, status, Command};
use crate::dicom::header::{self, QueryText};
use crate::dicom::{bounds, charset};
use crate::registry::orders::{self, OrderWithPatient};
use crate::store::{OrderState, Store};

/// Modality Worklist Information Model – FIND (PS3.4 K.6.1.2).
pub const MODALITY_WORKLIST_FIND: &str = "1.2.840.10008.5.1.4.31";

/// What a query asks, read from its identifier.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    pub patient_name: String,
    pub patient_id: String,
    pub accession: String,
    pub modality: String,
    pub station_ae: String,
    /// A date, or a range "from-to" (either end may be empty).
    pub date: String,
    /// The response character set: "GB18030", "GBK", [`IR58`] or "ISO_IR 192".
    pub charset: &'static str,
}

/// The largest query identifier accepted (issue 18): a real one is a few hundred bytes.
pub const MAX_IDENTIFIER: usize = 64 * 1024;
/// Sequences nest at most this deep in a query (a real one nests one: the SPS sequence).
const MAX_QUERY_DEPTH: usize = 8;

/// (0008,0005) of an ISO 2022 answer with GB2312 in G1 (PS3.5 Annex J).
pub const IR58: &str = "\\ISO 2022 IR 58";

fn text(obj: &InMemDicomObject, tag: Tag) -> String {
    obj.element(tag)
        .ok()
        .and_then(|e| e.to_str().ok())
        .map(|s| s.trim_matches(|c: char| c == ' ' || c == '\0').to_string())
        .unwrap_or_default()
}

impl Query {
    /// The query in `identifier`, its text keys from `keys` (the station's decoding of the
    /// same bytes).
    pub fn parse(identifier: &InMemDicomObject, keys: &QueryText) -> Query {
        let sps = identifier
            .element(tags::SCHEDULED_PROCEDURE_STEP_SEQUENCE)
            .ok()
            .and_then(|e| e.items())
            .and_then(|items| items.first().cloned())
            .unwrap_or_else(InMemDicomObject::new_empty);
        let asked = keys.charset.to_ascii_uppercase();
        Query {
            patient_name: keys.patient_name.clone(),
            patient_id: keys.patient_id.clone(),
            accession: keys.accession.clone(),
            modality: text(&sps, tags::MODALITY),
            station_ae: text(&sps, tags::SCHEDULED_STATION_AE_TITLE),
            date: text(&sps, tags::SCHEDULED_PROCEDURE_STEP_START_DATE),
            charset: if asked.contains("GB18030") {
                "GB18030"
            } else if asked.contains("GBK") {
                "GBK"
            } else if asked.contains("ISO 2022 IR 58") {
                IR58
            } else {
                "ISO_IR 192"
            },
        }
    }

    pub fn matches(&self, o: &OrderWithPatient) -> bool {
        let single = |key: &str, value: &str| key.is_empty() || wildcard(key, value);
        single(&self.patient_name, &o.patient.name)
            && single(&self.patient_id, &o.patient.clinic_id)
            && single(&self.accession, &o.order.accession)
            && (self.modality.is_empty() || o.order.modality.eq_ignore_ascii_case(&self.modality))
            && (self.station_ae.is_empty()
                || o.order.station_ae.is_empty()
                || wildcard(&self.station_ae, &o.order.station_ae))
            && date_matches(&self.date, &o.order.scheduled_date)
    }

    /// The scheduled dates worth reading from the store (a range's ends, open ends wide).
    fn date_bounds(&self) -> (String, String) {
        let (from, to) = match self.date.split_once('-') {
            Some((f, t)) => (f.trim(), t.trim()),
            None => (self.date.trim(), self.date.trim()),
        };
        let or = |v: &str, d: &str| {
            if v.is_empty() {
                d.to_string()
            } else {
                v.to_string()
            }
        };
        (or(from, "00000000"), or(to, "99999999"))
    }
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
fn date_matches(key: &str, date: &str) -> bool {
    match key.split_once('-') {
        None => key.is_empty() || key == date,
        Some((from, to)) => (from.is_empty() || date >= from) && (to.is_empty() || date <= to),
    }
}

fn put_str(obj: &mut InMemDicomObject, tag: Tag, vr: VR, value: &str) {
    obj.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
}

/// A text value that may hold Chinese, in the answer's `charset`. dicom-rs cannot write ISO
/// 2022 (it reads only the first value of (0008,0005)), so for [`IR58`] the bytes are made
/// here and written as they are, padded with a space to even length (PS3.5 §6.2). A character
/// GB2312 lacks is written as `?`, as a device that asked in GB2312 could not show it anyway.
fn put_text(obj: &mut InMemDicomObject, tag: Tag, vr: VR, value: &str, charset: &str) {
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

/// Our full answer for one order; [`restrict`] then keeps what was asked.
fn full_response(o: &OrderWithPatient, charset: &str) -> InMemDicomObject {
    let (ord, pat) = (&o.order, &o.patient);
    let mut sps = InMemDicomObject::new_empty();
    put_str(&mut sps, tags::MODALITY, VR::CS, &ord.modality);
    put_str(
        &mut sps,
        tags::SCHEDULED_STATION_AE_TITLE,
        VR::AE,
        &ord.station_ae,
    );
    put_str(
        &mut sps,
        tags::SCHEDULED_PROCEDURE_STEP_START_DATE,
        VR::DA,
        &ord.scheduled_date,
    );
    put_str(
        &mut sps,
        tags::SCHEDULED_PROCEDURE_STEP_START_TIME,
        VR::TM,
        &ord.scheduled_time,
    );
    put_str(
        &mut sps,
        tags::SCHEDULED_PERFORMING_PHYSICIAN_NAME,
        VR::PN,
        "",
    );
    put_text(
        &mut sps,
        tags::SCHEDULED_PROCEDURE_STEP_DESCRIPTION,
        VR::LO,
        &ord.procedure,
        charset,
    );
    put_str(
        &mut sps,
        tags::SCHEDULED_PROCEDURE_STEP_ID,
        VR::SH,
        &ord.sps_id,
    );
    put_str(
        &mut sps,
        tags::SCHEDULED_PROCEDURE_STEP_STATUS,
        VR::CS,
        if ord.state == OrderState::InProgress {
            "STARTED"
        } else {
            "SCHEDULED"
        },
    );
    let mut obj = InMemDicomObject::new_empty();
    put_str(&mut obj, tags::SPECIFIC_CHARACTER_SET, VR::CS, charset);
    put_str(&mut obj, tags::ACCESSION_NUMBER, VR::SH, &ord.accession);
    put_text(
        &mut obj,
        tags::REFERRING_PHYSICIAN_NAME,
        VR::PN,
        &ord.referring,
        charset,
    );
    put_text(&mut obj, tags::PATIENT_NAME, VR::PN, &pat.name, charset);
    put_str(&mut obj, tags::PATIENT_ID, VR::LO, &pat.clinic_id);
    put_str(&mut obj, tags::PATIENT_BIRTH_DATE, VR::DA, &pat.birth_date);
    put_str(&mut obj, tags::PATIENT_SEX, VR::CS, &pat.sex);
    put_str(
        &mut obj,
        tags::BODY_PART_EXAMINED,
        VR::CS,
        &ord.body_part.to_ascii_uppercase(),
    );
    put_str(&mut obj, tags::STUDY_INSTANCE_UID, VR::UI, &ord.study_uid);
    put_text(
        &mut obj,
        tags::REQUESTED_PROCEDURE_DESCRIPTION,
        VR::LO,
        &ord.procedure,
        charset,
    );
    put_str(
        &mut obj,
        tags::REQUESTED_PROCEDURE_ID,
        VR::SH,
        &ord.accession,
    );
    put_str(
        &mut obj,
        tags::REQUESTED_PROCEDURE_PRIORITY,
        VR::SH,
        if ord.priority == "urgent" {
            "HIGH"
        } else {
            "ROUTINE"
        },
    );
    put_text(
        &mut obj,
        tags::REQUESTED_PROCEDURE_COMMENTS,
        VR::LT,
        &ord.note,
        charset,
    );
    obj.put(DataElement::new(
        tags::SCHEDULED_PROCEDURE_STEP_SEQUENCE,
        VR::SQ,
        DataSetSequence::from(vec![sps]),
    ));
    obj
}

/// Keeps the attributes the query asked for (PS3.4 §C.2.2.1.3), empty when we have no value,
/// plus Specific Character Set; a sequence key with an empty item gets our whole item.
fn restrict(full: &InMemDicomObject, query: &InMemDicomObject) -> InMemDicomObject {
    let mut out = InMemDicomObject::new_empty();
    if let Ok(cs) = full.element(tags::SPECIFIC_CHARACTER_SET) {
        out.put(cs.clone());
    }
    for asked in query.iter() {
        let tag = asked.header().tag;
        if tag == tags::SPECIFIC_CHARACTER_SET {
            continue;
        }
        match (full.element(tag).ok(), asked.items()) {
            (Some(ours), Some(asked_items)) => {
                let our_items = ours.items().unwrap_or(&[]);
                let items = our_items
                    .iter()
                    .map(|item| match asked_items.first() {
                        Some(a) if a.iter().next().is_some() => restrict(item, a),
                        _ => item.clone(),
                    })
                    .collect::<Vec<_>>();
                out.put(DataElement::new(tag, VR::SQ, DataSetSequence::from(items)));
            }
            (Some(ours), None) => {
                out.put(ours.clone());
            }
            (None, Some(_)) => {
                out.put(DataElement::new(
                    tag,
                    VR::SQ,
                    DataSetSequence::from(Vec::<InMemDicomObject>::new()),
                ));
            }
            (None, None) => {
                out.put(DataElement::new(
                    tag,
                    asked.header().vr,
                    PrimitiveValue::Empty,
                ));
            }
        }
    }
    out
}

/// The identifiers to answer `identifier` with, one per matching open order.
pub fn answer(
    store: &Store,
    identifier: &InMemDicomObject,
    keys: &QueryText,
) -> Result<Vec<InMemDicomObject>, String> {
    let query = Query::parse(identifier, keys);
    let (from, to) = query.date_bounds();
    let candidates = orders::list(
        &store.lock(),
        &from,
        &to,
        &[OrderState::Scheduled, OrderState::InProgress],
    )
    .map_err(|e| e.to_string())?;
    Ok(candidates
        .iter()
        .filter(|o| query.matches(o))
        .map(|o| restrict(&full_response(o, query.charset), identifier))
        .collect())
}

/// Serves one C-FIND-RQ whose identifier (in transfer syntax `ts`) has fully arrived.
pub fn serve_find(
    assoc: &mut ServerAssociation<TcpStream>,
    reader: &super::wire::Reader,
    store: &Store,
    request: &Command,
    context_id: u8,
    ts: &str,
    identifier: &[u8],
) -> Result<(), String> {
    let reply = |assoc: &mut ServerAssociation<TcpStream>, code: u16, data: Option<Vec<u8>>| {
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
    };
    if request.affected_sop_class_uid != MODALITY_WORKLIST_FIND {
        tracing::warn!(sop_class = %request.affected_sop_class_uid, "C-FIND for an information model we do not serve");
        return reply(assoc, status::SOP_CLASS_NOT_SUPPORTED, None);
    }
    let Some(syntax) = TransferSyntaxRegistry.get(ts) else {
        return reply(assoc, status::IDENTIFIER_MISMATCH, None);
    };
    // Checked before dicom-rs parses it (it recurses into sequences): little endian only, which
    // is what devices send queries in.
    let explicit = match ts {
        header::IMPLICIT_VR_LE => false,
        header::EXPLICIT_VR_LE => true,
        _ => {
            tracing::warn!(
                transfer_syntax = ts,
                "worklist query in a transfer syntax we do not read"
            );
            return reply(assoc, status::IDENTIFIER_MISMATCH, None);
        }
    };
    if let Err(e) = bounds::check(identifier, explicit, MAX_QUERY_DEPTH) {
        tracing::warn!(error = %e, "worklist query refused unparsed");
        return reply(assoc, status::IDENTIFIER_MISMATCH, None);
    }
    let query = match InMemDicomObject::read_dataset_with_ts(identifier, syntax) {
        Ok(q) => q,
        Err(e) => {
            tracing::warn!(error = %e, "unreadable worklist query");
            return reply(assoc, status::IDENTIFIER_MISMATCH, None);
        }
    };
    let keys = match header::read_query_text(identifier, ts) {
        Ok(k) => k,
        Err(e) => {
            tracing::warn!(error = %e, "unreadable worklist query");
            return reply(assoc, status::IDENTIFIER_MISMATCH, None);
        }
    };
    let matches = match answer(store, &query, &keys) {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = %e, "worklist query failed");
            return reply(assoc, 0xC000, None);
        }
    };
    tracing::info!(matches = matches.len(), "worklist query");
    for m in &matches {
        if cancel_requested(assoc, reader)? {
            tracing::info!("worklist query cancelled by the device");
            return reply(assoc, status::CANCEL, None);
        }
        let mut bytes = Vec::new();
        m.write_dataset_with_ts(&mut bytes, syntax)
            .map_err(|e| format!("cannot encode a worklist response: {e}"))?;
        reply(assoc, status::PENDING, Some(bytes))?;
    }
    reply(assoc, status::SUCCESS, None)
}

fn send_pdv(
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
        .map_err(|e| format!("cannot send a worklist response: {e}"))
}

/// Whether the device sent something while we answer: a C-CANCEL-RQ stops the answers
/// (PS3.7 §9.3.2.3); anything else in the middle of a C-FIND is a protocol error.
fn cancel_requested(
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
