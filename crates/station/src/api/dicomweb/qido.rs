//! QIDO-RS for the LAN (PS3.18 10.6): the study keys the station matches, and studies, series
//! and instances as DICOM JSON (PS3.18 F.2) built from the index.
//!
//! Must never: read a stored file (the index answers every query) or name a patient in an
//! answer the caller's read was not audited for (the dispatcher audits first).

use serde_json::{json, Value};

use super::ApiError;
use crate::store::studies;

/// The QIDO-RS study keys the station matches (PS3.18 Table 10.6.1-5); a `*` in a name or an
/// accession is a wildcard (the match is by substring), a date is `YYYYMMDD` or a range
/// `YYYYMMDD-YYYYMMDD` with either end open.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct StudySearch {
    /// Study Instance UID (0020,000D): that one study, the other keys ignored.
    #[serde(rename = "StudyInstanceUID", alias = "0020000D")]
    pub study_uid: Option<String>,
    /// Patient ID (0010,0020), matched exactly (the clinic ID when the patient is registered).
    #[serde(rename = "PatientID", alias = "00100020")]
    pub patient_id: Option<String>,
    /// Patient's Name (0010,0010), matched like the Studies page's search box.
    #[serde(rename = "PatientName", alias = "00100010")]
    pub patient_name: Option<String>,
    /// Accession Number (0008,0050), matched like the search box; ignored with a name.
    #[serde(rename = "AccessionNumber", alias = "00080050")]
    pub accession: Option<String>,
    /// Study Date (0008,0020): a date or range, see above.
    #[serde(rename = "StudyDate", alias = "00080020")]
    pub study_date: Option<String>,
    /// Modalities in Study (0008,0061): studies with a series of this one modality (e.g. `CT`).
    #[serde(rename = "ModalitiesInStudy", alias = "00080061")]
    pub modality: Option<String>,
    /// 100 when absent, at most 500. Text: a query string's numbers reach a flattened struct
    /// as text.
    pub limit: Option<String>,
    /// Matches skipped before the first one answered (paging); 0 when absent. Text, as `limit`.
    pub offset: Option<String>,
}

impl StudySearch {
    /// The index's filter for these keys, or why a key cannot be matched.
    pub(super) fn filter(&self) -> Result<studies::StudyFilter, ApiError> {
        let text = |v: &Option<String>| {
            v.as_deref()
                .map(|t| t.replace(['*', '?'], " ").trim().to_owned())
                .filter(|t| !t.is_empty())
        };
        let (date_from, date_to) = match self.study_date.as_deref().map(str::trim) {
            None | Some("") => (None, None),
            Some(d) => {
                let (from, to) = d.split_once('-').unwrap_or((d, d));
                let valid = |x: &str| {
                    x.is_empty() || (x.len() == 8 && x.bytes().all(|b| b.is_ascii_digit()))
                };
                if !valid(from) || !valid(to) {
                    return Err(ApiError::invalid(format!(
                        "StudyDate {d:?}: YYYYMMDD or YYYYMMDD-YYYYMMDD"
                    )));
                }
                let some = |x: &str| (!x.is_empty()).then(|| x.to_owned());
                (some(from), some(to))
            }
        };
        let number = |key: &str, v: &Option<String>| -> Result<Option<u32>, ApiError> {
            v.as_deref()
                .map(|n| n.trim().parse::<u32>())
                .transpose()
                .map_err(|_| ApiError::invalid(format!("{key}: a whole number")))
        };
        let limit = number("limit", &self.limit)?;
        let offset = number("offset", &self.offset)?;
        Ok(studies::StudyFilter {
            // Name and accession are matched as the Studies page's search box matches them.
            text: text(&self.patient_name).or_else(|| text(&self.accession)),
            patient_id: self.patient_id.clone().filter(|p| !p.is_empty()),
            date_from,
            date_to,
            modality: self.modality.clone().filter(|m| !m.is_empty()),
            limit: limit.unwrap_or(100).clamp(1, 500),
            offset: offset.unwrap_or(0),
            ..Default::default()
        })
    }
}

/// One attribute in DICOM JSON (PS3.18 F.2): empty values leave the attribute out.
fn attr(out: &mut serde_json::Map<String, Value>, tag: &str, vr: &str, value: Value) {
    let empty = value.is_null() || value.as_str() == Some("");
    if !empty {
        out.insert(tag.into(), json!({ "vr": vr, "Value": [value] }));
    }
}

pub(super) fn study_json(s: &studies::StudySummary, series: usize) -> Value {
    let mut o = serde_json::Map::new();
    attr(&mut o, "0020000D", "UI", json!(s.study_uid));
    attr(&mut o, "00080020", "DA", json!(s.study_date));
    attr(&mut o, "00080030", "TM", json!(s.study_time));
    attr(&mut o, "00080050", "SH", json!(s.accession));
    attr(&mut o, "00081030", "LO", json!(s.description));
    attr(
        &mut o,
        "00100010",
        "PN",
        json!({ "Alphabetic": s.patient_name }),
    );
    attr(&mut o, "00100020", "LO", json!(s.patient_id));
    attr(&mut o, "00100040", "CS", json!(s.patient_sex));
    attr(&mut o, "00100030", "DA", json!(s.patient_birth_date));
    if !s.modalities.is_empty() {
        o.insert(
            "00080061".into(),
            json!({ "vr": "CS", "Value": s.modalities }),
        );
    }
    attr(&mut o, "00201206", "IS", json!(series));
    attr(&mut o, "00201208", "IS", json!(s.instances));
    Value::Object(o)
}

pub(super) fn series_json(study_uid: &str, s: &studies::SeriesInfo) -> Value {
    let mut o = serde_json::Map::new();
    attr(&mut o, "0020000D", "UI", json!(study_uid));
    attr(&mut o, "0020000E", "UI", json!(s.series_uid));
    attr(&mut o, "00080060", "CS", json!(s.modality));
    attr(&mut o, "0008103E", "LO", json!(s.description));
    if let Some(n) = s.number {
        attr(&mut o, "00200011", "IS", json!(n));
    }
    attr(&mut o, "00201209", "IS", json!(s.instances.len()));
    Value::Object(o)
}

/// One instance of a series as QIDO-RS lists it.
pub(super) fn instance_json(study_uid: &str, series_uid: &str, i: &studies::InstanceInfo) -> Value {
    let mut o = serde_json::Map::new();
    attr(&mut o, "0020000D", "UI", json!(study_uid));
    attr(&mut o, "0020000E", "UI", json!(series_uid));
    attr(&mut o, "00080016", "UI", json!(i.sop_class_uid));
    attr(&mut o, "00080018", "UI", json!(i.sop_instance_uid));
    if let Some(n) = i.instance_number {
        attr(&mut o, "00200013", "IS", json!(n));
    }
    Value::Object(o)
}
