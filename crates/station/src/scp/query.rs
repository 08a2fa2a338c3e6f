//! Query/Retrieve – FIND (PS3.4 §C.4.1): the Patient Root and Study Root Information Models at
//! PATIENT, STUDY, SERIES and IMAGE level, for the LAN workstations listed in
//! `dicom.query_callers`. The attributes of each level (PS3.4 §C.6.1.1 and §C.6.2.1: the
//! required and unique keys, the related counts) come from the index (`store::qr`); matching
//! is PS3.4 §C.2.2.2: universal (empty), single value, wildcard (`*`, `?`), UID list and
//! date/time range. Answers are in the character set the query was asked in (GB18030, GBK,
//! `\ISO 2022 IR 58`, else UTF-8) and carry the keys asked, each with our value or empty.
//! Also reads the identifier of a C-MOVE or C-GET into the instances it names ([`Query`]).
//!
//! Must never: answer a caller not in `query_callers` (the session checks before calling),
//! return an attribute the query did not ask for (beyond Specific Character Set and the level),
//! or answer without the audit entry naming the patients shown.

use std::net::TcpStream;

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_ul::ServerAssociation;

use super::find::{self, date_matches, put_str, put_text, text, wildcard, Identifier};
use crate::dicom::dimse::{status, Command};
use crate::store::qr::{self, QrFilter, QrRow};
use crate::store::{audit, Store};

/// Patient Root Query/Retrieve Information Model – FIND, MOVE, GET (PS3.4 §C.6.1).
pub const PATIENT_ROOT_FIND: &str = "1.2.840.10008.5.1.4.1.2.1.1";
/// Patient Root C-MOVE.
pub const PATIENT_ROOT_MOVE: &str = "1.2.840.10008.5.1.4.1.2.1.2";
/// Patient Root C-GET.
pub const PATIENT_ROOT_GET: &str = "1.2.840.10008.5.1.4.1.2.1.3";
/// Study Root Query/Retrieve Information Model – FIND, MOVE, GET (PS3.4 §C.6.2).
pub const STUDY_ROOT_FIND: &str = "1.2.840.10008.5.1.4.1.2.2.1";
/// Study Root C-MOVE.
pub const STUDY_ROOT_MOVE: &str = "1.2.840.10008.5.1.4.1.2.2.2";
/// Study Root C-GET.
pub const STUDY_ROOT_GET: &str = "1.2.840.10008.5.1.4.1.2.2.3";

/// Whether `sop_class` is one of the Q/R models we serve.
pub fn is_query_retrieve(sop_class: &str) -> bool {
    [
        PATIENT_ROOT_FIND,
        PATIENT_ROOT_MOVE,
        PATIENT_ROOT_GET,
        STUDY_ROOT_FIND,
        STUDY_ROOT_MOVE,
        STUDY_ROOT_GET,
    ]
    .contains(&sop_class)
}

/// Query/Retrieve Level (0008,0052).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// "PATIENT": one answer per patient.
    Patient,
    /// "STUDY".
    Study,
    /// "SERIES".
    Series,
    /// "IMAGE": one answer per instance.
    Image,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Patient => "PATIENT",
            Level::Study => "STUDY",
            Level::Series => "SERIES",
            Level::Image => "IMAGE",
        }
    }
}

/// A Q/R identifier, read.
pub struct Query {
    /// The level asked for.
    pub level: Level,
    /// What the unique keys narrow the index to.
    pub filter: QrFilter,
    identifier: Identifier,
    /// The answers' character set.
    charset: &'static str,
}

/// A unique key's values: a UID list is `\`-separated (PS3.4 §C.2.2.2.2).
fn uid_list(obj: &InMemDicomObject, tag: Tag) -> Vec<String> {
    text(obj, tag)
        .split('\\')
        .map(|u| u.trim_matches(|c: char| c == ' ' || c == '\0').to_string())
        .filter(|u| !u.is_empty())
        .collect()
}

impl Query {
    /// The query of `identifier` under the model of `sop_class`, or why it cannot be answered.
    pub fn parse(identifier: Identifier, sop_class: &str) -> Result<Query, String> {
        let obj = &identifier.object;
        let level = match text(obj, tags::QUERY_RETRIEVE_LEVEL)
            .to_ascii_uppercase()
            .as_str()
        {
            "PATIENT" => Level::Patient,
            "STUDY" => Level::Study,
            "SERIES" => Level::Series,
            "IMAGE" => Level::Image,
            other => return Err(format!("Query/Retrieve Level {other:?}")),
        };
        let study_root = [STUDY_ROOT_FIND, STUDY_ROOT_MOVE, STUDY_ROOT_GET].contains(&sop_class);
        if study_root && level == Level::Patient {
            return Err("PATIENT level in the Study Root model".into());
        }
        let pid = &identifier.keys.patient_id;
        let filter = QrFilter {
            // Only a single value narrows in SQL; a wildcard is matched afterwards.
            patient_id: (!pid.is_empty() && !pid.contains(['*', '?'])).then(|| pid.clone()),
            study_uids: uid_list(obj, tags::STUDY_INSTANCE_UID),
            series_uids: uid_list(obj, tags::SERIES_INSTANCE_UID),
            sop_uids: uid_list(obj, tags::SOP_INSTANCE_UID),
        };
        let charset = find::answer_charset(&identifier.keys.charset);
        Ok(Query {
            level,
            filter,
            identifier,
            charset,
        })
    }

    /// Whether a retrieve at this level names what it retrieves by its unique key
    /// (PS3.4 §C.4.2.2.1: only unique keys in a C-MOVE or C-GET identifier).
    pub fn names_unique_key(&self) -> bool {
        match self.level {
            Level::Patient => self.filter.patient_id.is_some(),
            Level::Study => !self.filter.study_uids.is_empty(),
            Level::Series => !self.filter.series_uids.is_empty(),
            Level::Image => !self.filter.sop_uids.is_empty(),
        }
    }

    /// The index rows at the query's level that match every key.
    pub fn matching(&self, conn: &rusqlite::Connection) -> Result<Vec<QrRow>, String> {
        let rows = match self.level {
            Level::Patient => qr::patients(conn, &self.filter),
            Level::Study => qr::studies(conn, &self.filter),
            Level::Series => qr::series(conn, &self.filter),
            Level::Image => qr::instances(conn, &self.filter),
        }
        .map_err(|e| e.to_string())?;
        Ok(rows
            .into_iter()
            .filter(|r| self.matches(&attributes(r, self.level)))
            .collect())
    }

    /// Whether every key with a value matches ours; a key we do not hold matches anything
    /// (PS3.4 §C.2.2.1.2: unsupported optional keys are ignored).
    fn matches(&self, ours: &[(Tag, VR, String)]) -> bool {
        self.identifier.object.iter().all(|asked| {
            let tag = asked.header().tag;
            let Some((_, vr, value)) = ours.iter().find(|(t, _, _)| *t == tag) else {
                return true;
            };
            let key = self.key_text(tag);
            if key.is_empty() || key.chars().all(|c| c == '*') {
                return true;
            }
            match vr {
                VR::UI => key.split('\\').any(|k| k.trim() == value),
                VR::DA | VR::TM => date_matches(&key, value),
                VR::PN => wildcard(&key.to_lowercase(), &value.to_lowercase()),
                // A multi-valued attribute (Modalities in Study) matches if any value does.
                _ => value
                    .split('\\')
                    .any(|v| key.split('\\').any(|k| wildcard(k, v))),
            }
        })
    }

    /// A key's text: name, ID and accession as the station's charset code read them (it
    /// honours `\ISO 2022 IR 58`), the rest as dicom-rs did.
    fn key_text(&self, tag: Tag) -> String {
        let keys = &self.identifier.keys;
        match tag {
            tags::PATIENT_NAME => keys.patient_name.clone(),
            tags::PATIENT_ID => keys.patient_id.clone(),
            tags::ACCESSION_NUMBER => keys.accession.clone(),
            _ => text(&self.identifier.object, tag),
        }
    }

    /// The answer for one matching row: the keys asked, ours or empty, plus the character set
    /// and the level.
    fn response(&self, row: &QrRow) -> InMemDicomObject {
        let ours = attributes(row, self.level);
        let mut out = InMemDicomObject::new_empty();
        put_str(&mut out, tags::SPECIFIC_CHARACTER_SET, VR::CS, self.charset);
        put_str(
            &mut out,
            tags::QUERY_RETRIEVE_LEVEL,
            VR::CS,
            self.level.name(),
        );
        for asked in self.identifier.object.iter() {
            let tag = asked.header().tag;
            if tag == tags::SPECIFIC_CHARACTER_SET || tag == tags::QUERY_RETRIEVE_LEVEL {
                continue;
            }
            match ours.iter().find(|(t, _, _)| *t == tag) {
                Some((_, vr, value)) => put_text(&mut out, tag, *vr, value, self.charset),
                // A sequence key we do not hold goes back as an empty sequence.
                None if asked.header().vr == VR::SQ => {
                    out.put(DataElement::new(
                        tag,
                        VR::SQ,
                        DataSetSequence::from(Vec::<InMemDicomObject>::new()),
                    ));
                }
                None => {
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
}

/// The attributes we hold for a row at `level`: its own and those of the levels above
/// (PS3.4 §C.6.1.1.2–5, §C.6.2.1.2–4).
fn attributes(r: &QrRow, level: Level) -> Vec<(Tag, VR, String)> {
    let n = |v: i64| v.to_string();
    let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
    let mut a = vec![
        (tags::PATIENT_NAME, VR::PN, r.patient_name.clone()),
        (tags::PATIENT_ID, VR::LO, r.patient_id.clone()),
        (tags::PATIENT_BIRTH_DATE, VR::DA, r.birth_date.clone()),
        (tags::PATIENT_SEX, VR::CS, r.sex.clone()),
    ];
    if level == Level::Patient {
        a.push((
            tags::NUMBER_OF_PATIENT_RELATED_STUDIES,
            VR::IS,
            n(r.related_studies),
        ));
        a.push((
            tags::NUMBER_OF_PATIENT_RELATED_SERIES,
            VR::IS,
            n(r.related_series),
        ));
        a.push((
            tags::NUMBER_OF_PATIENT_RELATED_INSTANCES,
            VR::IS,
            n(r.related_instances),
        ));
        return a;
    }
    a.extend([
        (tags::STUDY_INSTANCE_UID, VR::UI, r.study_uid.clone()),
        (tags::STUDY_DATE, VR::DA, r.study_date.clone()),
        (tags::STUDY_TIME, VR::TM, r.study_time.clone()),
        (tags::ACCESSION_NUMBER, VR::SH, r.accession.clone()),
        (tags::STUDY_DESCRIPTION, VR::LO, r.study_description.clone()),
        (tags::MODALITIES_IN_STUDY, VR::CS, r.modalities.clone()),
        // Not indexed: known, and empty (PS3.4 §C.6.2.1.2 requires the key be answered).
        (tags::STUDY_ID, VR::SH, String::new()),
        (tags::REFERRING_PHYSICIAN_NAME, VR::PN, String::new()),
    ]);
    if level == Level::Study {
        a.push((
            tags::NUMBER_OF_STUDY_RELATED_SERIES,
            VR::IS,
            n(r.related_series),
        ));
        a.push((
            tags::NUMBER_OF_STUDY_RELATED_INSTANCES,
            VR::IS,
            n(r.related_instances),
        ));
        return a;
    }
    a.extend([
        (tags::SERIES_INSTANCE_UID, VR::UI, r.series_uid.clone()),
        (tags::MODALITY, VR::CS, r.modality.clone()),
        (tags::SERIES_NUMBER, VR::IS, opt(r.series_number)),
        (
            tags::SERIES_DESCRIPTION,
            VR::LO,
            r.series_description.clone(),
        ),
    ]);
    if level == Level::Series {
        a.push((
            tags::NUMBER_OF_SERIES_RELATED_INSTANCES,
            VR::IS,
            n(r.related_instances),
        ));
        return a;
    }
    a.extend([
        (tags::SOP_INSTANCE_UID, VR::UI, r.sop_uid.clone()),
        (tags::SOP_CLASS_UID, VR::UI, r.sop_class_uid.clone()),
        (tags::INSTANCE_NUMBER, VR::IS, opt(r.instance_number)),
    ]);
    a
}

/// The audit entry of a query or retrieve by `calling_ae`: who asked, at which level, and
/// the patients the answer showed (coalesced as other reads are).
pub fn audit(
    conn: &rusqlite::Connection,
    calling_ae: &str,
    action: &str,
    level: Level,
    rows: &[QrRow],
) -> Result<(), String> {
    let mut patients: Vec<&str> = rows.iter().map(|r| r.patient_id.as_str()).collect();
    patients.sort_unstable();
    patients.dedup();
    audit::read(
        conn,
        &format!("dicom:{calling_ae}"),
        action,
        level.name(),
        "",
        &patients,
    )
    .map(|_| ())
    .map_err(|e| e.to_string())
}

/// Serves one Q/R C-FIND-RQ whose identifier (in transfer syntax `ts`) has fully arrived.
#[allow(clippy::too_many_arguments)]
pub fn serve_find(
    assoc: &mut ServerAssociation<TcpStream>,
    reader: &super::wire::Reader,
    store: &Store,
    calling_ae: &str,
    request: &Command,
    context_id: u8,
    ts: &str,
    identifier: &[u8],
) -> Result<(), String> {
    let reply = |assoc: &mut ServerAssociation<TcpStream>, code: u16| {
        find::reply_find(assoc, request, context_id, code, None)
    };
    let query = match find::read_identifier(identifier, ts)
        .and_then(|i| Query::parse(i, &request.affected_sop_class_uid))
    {
        Ok(q) => q,
        Err(e) => {
            tracing::warn!(error = %e, "unanswerable query");
            return reply(assoc, status::IDENTIFIER_MISMATCH);
        }
    };
    let found = {
        let conn = store.lock();
        query.matching(&conn).and_then(|rows| {
            audit(&conn, calling_ae, "qr.find", query.level, &rows)?;
            Ok(rows)
        })
    };
    let rows = match found {
        Ok(rows) => rows,
        Err(e) => {
            tracing::error!(error = %e, "query failed");
            return reply(assoc, status::CANNOT_UNDERSTAND);
        }
    };
    tracing::info!(
        calling_ae,
        level = query.level.name(),
        matches = rows.len(),
        "C-FIND"
    );
    let answers: Vec<InMemDicomObject> = rows.iter().map(|r| query.response(r)).collect();
    find::answer_find(
        assoc,
        reader,
        request,
        context_id,
        query.identifier.syntax,
        &answers,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_transfer_syntax_registry::entries::EXPLICIT_VR_LITTLE_ENDIAN;

    /// A query at `level` with `keys` (tag, VR, value), as a caller's identifier.
    fn query(sop_class: &str, level: &str, keys: &[(Tag, VR, &str)]) -> Result<Query, String> {
        let mut obj = InMemDicomObject::new_empty();
        put_str(&mut obj, tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192");
        put_str(&mut obj, tags::QUERY_RETRIEVE_LEVEL, VR::CS, level);
        for (tag, vr, value) in keys {
            put_str(&mut obj, *tag, *vr, value);
        }
        let mut bytes = Vec::new();
        obj.write_dataset_with_ts(&mut bytes, &EXPLICIT_VR_LITTLE_ENDIAN.erased())
            .expect("encode");
        find::read_identifier(&bytes, crate::dicom::header::EXPLICIT_VR_LE)
            .and_then(|i| Query::parse(i, sop_class))
    }

    fn study() -> QrRow {
        QrRow {
            patient_id: "P1".into(),
            patient_name: "王^小明".into(),
            study_uid: "1.2.3".into(),
            study_date: "20261128".into(),
            modalities: "DX\\US".into(),
            accession: "A100".into(),
            ..QrRow::default()
        }
    }

    #[test]
    fn study_keys_match_by_wildcard_range_uid_list_and_any_modality() {
        let matches = |keys: &[(Tag, VR, &str)]| {
            let q = query(STUDY_ROOT_FIND, "STUDY", keys).expect("a query");
            q.matches(&attributes(&study(), Level::Study))
        };
        assert!(matches(&[(tags::PATIENT_NAME, VR::PN, "王*")]));
        assert!(matches(&[(tags::PATIENT_NAME, VR::PN, "")]), "universal");
        assert!(!matches(&[(tags::PATIENT_NAME, VR::PN, "李*")]));
        assert!(matches(&[(tags::STUDY_DATE, VR::DA, "20261101-20261130")]));
        assert!(!matches(&[(tags::STUDY_DATE, VR::DA, "20261201-")]));
        assert!(matches(&[(tags::STUDY_INSTANCE_UID, VR::UI, "9.9\\1.2.3")]));
        assert!(!matches(&[(tags::STUDY_INSTANCE_UID, VR::UI, "1.2")]));
        assert!(matches(&[(tags::MODALITIES_IN_STUDY, VR::CS, "US")]));
        assert!(!matches(&[(tags::MODALITIES_IN_STUDY, VR::CS, "CT")]));
        assert!(matches(&[(tags::ACCESSION_NUMBER, VR::SH, "A1?0")]));
        // A key we do not hold is ignored, not a mismatch (PS3.4 §C.2.2.1.2).
        assert!(matches(&[(tags::PATIENT_COMMENTS, VR::LT, "X")]));
    }

    #[test]
    fn levels_are_checked_against_the_model_and_retrieves_need_their_unique_key() {
        assert!(query(STUDY_ROOT_FIND, "PATIENT", &[]).is_err());
        assert!(query(PATIENT_ROOT_FIND, "PATIENT", &[]).is_ok());
        assert!(query(STUDY_ROOT_FIND, "FRAME", &[]).is_err());
        let q = query(STUDY_ROOT_MOVE, "STUDY", &[]).expect("a query");
        assert!(!q.names_unique_key());
        let q = query(
            STUDY_ROOT_MOVE,
            "SERIES",
            &[(tags::SERIES_INSTANCE_UID, VR::UI, "1.2\\1.3")],
        )
        .expect("a query");
        assert!(q.names_unique_key());
        assert_eq!(q.filter.series_uids, ["1.2", "1.3"]);
        // A wildcard patient ID is matched afterwards, not used to narrow the index.
        let q = query(
            PATIENT_ROOT_FIND,
            "PATIENT",
            &[(tags::PATIENT_ID, VR::LO, "P*")],
        )
        .expect("a query");
        assert_eq!(q.filter.patient_id, None);
    }
}
