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

use std::net::TcpStream;

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_ul::ServerAssociation;

use super::find::{self, date_matches, put_str, put_text, text, wildcard};
use crate::dicom::dimse::{status, Command};
use crate::dicom::header::QueryText;
use crate::registry::orders::{self, OrderWithPatient};
use crate::store::{OrderState, Store};

/// Modality Worklist Information Model – FIND (PS3.4 K.6.1.2).
pub const MODALITY_WORKLIST_FIND: &str = "1.2.840.10008.5.1.4.31";

/// What a query asks, read from its identifier.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    /// Patient's Name key (wildcards `*` `?`), decoded; empty matches all.
    pub patient_name: String,
    /// Patient ID key; empty matches all.
    pub patient_id: String,
    /// Accession Number key; empty matches all.
    pub accession: String,
    /// Modality key of the Scheduled Procedure Step; empty matches all.
    pub modality: String,
    /// Scheduled Station AE Title key; empty matches all.
    pub station_ae: String,
    /// A date, or a range "from-to" (either end may be empty).
    pub date: String,
    /// The response character set: "GB18030", "GBK", [`find::IR58`] or "ISO_IR 192".
    pub charset: &'static str,
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
        Query {
            patient_name: keys.patient_name.clone(),
            patient_id: keys.patient_id.clone(),
            accession: keys.accession.clone(),
            modality: text(&sps, tags::MODALITY),
            station_ae: text(&sps, tags::SCHEDULED_STATION_AE_TITLE),
            date: text(&sps, tags::SCHEDULED_PROCEDURE_STEP_START_DATE),
            charset: find::answer_charset(&keys.charset),
        }
    }

    /// Whether order `o` answers this query.
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
    let reply = |assoc: &mut ServerAssociation<TcpStream>, code: u16| {
        find::reply_find(assoc, request, context_id, code, None)
    };
    if request.affected_sop_class_uid != MODALITY_WORKLIST_FIND {
        tracing::warn!(sop_class = %request.affected_sop_class_uid, "C-FIND for an information model we do not serve");
        return reply(assoc, status::SOP_CLASS_NOT_SUPPORTED);
    }
    let query = match find::read_identifier(identifier, ts) {
        Ok(q) => q,
        Err(e) => {
            tracing::warn!(error = %e, "unreadable worklist query");
            return reply(assoc, status::IDENTIFIER_MISMATCH);
        }
    };
    let matches = match answer(store, &query.object, &query.keys) {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = %e, "worklist query failed");
            return reply(assoc, status::CANNOT_UNDERSTAND);
        }
    };
    tracing::info!(matches = matches.len(), "worklist query");
    find::answer_find(assoc, reader, request, context_id, query.syntax, &matches)
}
