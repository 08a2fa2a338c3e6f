//! The station's own read-only DICOMweb for the LAN (PS3.18), what the image viewer (and a
//! workstation that speaks DICOMweb) reads: QIDO-RS studies and series (10.6), WADO-RS series
//! metadata, whole instances and frames (10.4). Behind the same login or API token as the rest
//! of the API, for the roles that see patients, each read audited with the patient it showed.
//!
//! Must never: serve a file without the role check and the audit entry, hold the store's lock
//! while reading a file, or open a stored file without `dicom::bounds` (a file nested too deep
//! would abort the process).

use std::path::Path;

use dicom_core::value::Value as DicomValue;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use serde_json::{json, Value};

use super::downloads::Binary;
use super::{roles, Api, ApiError, ErrorCode};
use crate::store::{self, audit, studies};

/// The boundary of every multipart answer (a fixed one: the parts are DICOM or pixel bytes,
/// never text that could contain it by chance at a line start after CRLF).
const BOUNDARY: &str = "station-dicomweb-part-0a8f3c";

/// One request the server understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `GET /studies` with the usual keys (PS3.18 10.6.1.2); none lists the latest studies.
    Studies(StudySearch),
    /// `GET /studies/{study}/series`
    Series { study: String },
    /// `GET /studies/{study}/series/{series}/instances`
    Instances { study: String, series: String },
    /// `GET /studies/{study}/series/{series}/metadata`
    Metadata { study: String, series: String },
    /// `GET /studies/{study}/series/{series}/instances/{sop}`
    Instance {
        study: String,
        series: String,
        sop: String,
    },
    /// `GET /studies/{study}/series/{series}/instances/{sop}/frames/{n}` (1-based)
    Frame {
        study: String,
        series: String,
        sop: String,
        frame: usize,
    },
}

/// The QIDO-RS study keys the station matches (PS3.18 Table 10.6.1-5); a `*` in a name or an
/// accession is a wildcard (the match is by substring), a date is `YYYYMMDD` or a range
/// `YYYYMMDD-YYYYMMDD` with either end open.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct StudySearch {
    #[serde(rename = "StudyInstanceUID", alias = "0020000D")]
    pub study_uid: Option<String>,
    #[serde(rename = "PatientID", alias = "00100020")]
    pub patient_id: Option<String>,
    #[serde(rename = "PatientName", alias = "00100010")]
    pub patient_name: Option<String>,
    #[serde(rename = "AccessionNumber", alias = "00080050")]
    pub accession: Option<String>,
    #[serde(rename = "StudyDate", alias = "00080020")]
    pub study_date: Option<String>,
    #[serde(rename = "ModalitiesInStudy", alias = "00080061")]
    pub modality: Option<String>,
    /// 100 when absent, at most 500. Text: a query string's numbers reach a flattened struct
    /// as text.
    pub limit: Option<String>,
    pub offset: Option<String>,
}

impl StudySearch {
    /// The index's filter for these keys, or why a key cannot be matched.
    fn filter(&self) -> Result<studies::StudyFilter, ApiError> {
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

fn not_found(what: &str) -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        format!("本站没有{what}"),
        format!("no such {what} on this station"),
    )
}

fn unreadable(path: &Path, e: impl std::fmt::Display) -> ApiError {
    tracing::warn!(path = %path.display(), error = %e, "DICOMweb: cannot read a stored instance");
    ApiError::new(
        ErrorCode::Conflict,
        "该影像文件无法读取",
        format!("the stored instance cannot be read: {e}"),
    )
}

/// One attribute in DICOM JSON (PS3.18 F.2): empty values leave the attribute out.
fn attr(out: &mut serde_json::Map<String, Value>, tag: &str, vr: &str, value: Value) {
    let empty = value.is_null() || value.as_str() == Some("");
    if !empty {
        out.insert(tag.into(), json!({ "vr": vr, "Value": [value] }));
    }
}

fn study_json(s: &studies::StudySummary, series: usize) -> Value {
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

fn series_json(study_uid: &str, s: &studies::SeriesInfo) -> Value {
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

/// A multipart/related body (RFC 2387) of one part.
fn multipart(part_type: &str, bytes: &[u8]) -> Vec<u8> {
    let mut out = format!("--{BOUNDARY}\r\nContent-Type: {part_type}\r\n\r\n").into_bytes();
    out.extend_from_slice(bytes);
    out.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    out
}

/// Frame `n` (1-based) of a stored object: its bytes and the transfer syntax they are in.
fn frame_of(obj: &InMemDicomObject, ts: &str, n: usize) -> Result<(Vec<u8>, String), String> {
    let frames = obj
        .get(tags::NUMBER_OF_FRAMES)
        .and_then(|e| e.to_int::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    if n == 0 || n > frames {
        return Err(format!("no frame {n} (the instance has {frames})"));
    }
    let pixels = obj.get(tags::PIXEL_DATA).ok_or("no pixel data")?;
    match pixels.value() {
        DicomValue::PixelSequence(seq) => {
            let fragments = seq.fragments();
            let bytes = if frames == 1 {
                fragments.concat()
            } else if fragments.len() == frames {
                fragments[n - 1].clone()
            } else {
                return Err("fragments do not map one to one onto frames".into());
            };
            Ok((bytes, ts.to_owned()))
        }
        _ => {
            let int = |tag| obj.get(tag).and_then(|e| e.to_int::<usize>().ok());
            let (rows, cols) = (
                int(tags::ROWS).unwrap_or(0),
                int(tags::COLUMNS).unwrap_or(0),
            );
            let samples = int(tags::SAMPLES_PER_PIXEL).unwrap_or(1);
            let bits = int(tags::BITS_ALLOCATED).unwrap_or(8);
            let size = rows * cols * samples * bits.div_ceil(8);
            let all = pixels.to_bytes().map_err(|e| e.to_string())?;
            let start = (n - 1) * size;
            let frame = all
                .get(start..start + size)
                .ok_or("pixel data shorter than its frames")?;
            // dicom-rs holds native pixel data in little endian whatever the file's syntax.
            Ok((frame.to_vec(), "1.2.840.10008.1.2.1".to_owned()))
        }
    }
}

impl Api {
    /// Answers one DICOMweb request for the caller holding `token`.
    pub fn dicomweb(&self, token: Option<&str>, request: &Request) -> Result<Binary, ApiError> {
        let session = self
            .authorize(token, roles::dicomweb_access(), "dicomweb")?
            .ok_or_else(ApiError::unauthenticated)?;
        let actor = session.user.username.as_str();
        let data_dir = self.config().data_dir.clone();
        let json_answer = |v: Value| Binary {
            content_type: "application/dicom+json",
            bytes: v.to_string().into_bytes(),
        };
        match request {
            Request::Studies(search) => {
                let filter = search.filter()?;
                let conn = self.store.lock();
                let found: Vec<studies::StudySummary> = match &search.study_uid {
                    Some(uid) => studies::summary_of(&conn, uid)?.into_iter().collect(),
                    None => studies::search(&conn, &filter)?.1,
                };
                let mut list = Vec::new();
                for s in &found {
                    list.push(study_json(
                        s,
                        studies::series_of(&conn, &s.study_uid)?.len(),
                    ));
                }
                let patients: Vec<&str> = found.iter().map(|s| s.patient_id.as_str()).collect();
                let detail = format!("{search:?}");
                audit::read(&conn, actor, "dicomweb.studies", "", &detail, &patients)?;
                Ok(json_answer(Value::Array(list)))
            }
            Request::Series { study } => {
                let conn = self.store.lock();
                let summary =
                    studies::summary_of(&conn, study)?.ok_or_else(|| not_found("该检查"))?;
                let series = studies::series_of(&conn, study)?;
                audit::read(
                    &conn,
                    actor,
                    "dicomweb.series",
                    study,
                    "",
                    &[&summary.patient_id],
                )?;
                Ok(json_answer(Value::Array(
                    series.iter().map(|s| series_json(study, s)).collect(),
                )))
            }
            Request::Instances { study, series } => {
                let conn = self.store.lock();
                let found = audited_series(&conn, actor, "dicomweb.instances", study, series)?;
                let list = found
                    .instances
                    .iter()
                    .map(|i| {
                        let mut o = serde_json::Map::new();
                        attr(&mut o, "0020000D", "UI", json!(study));
                        attr(&mut o, "0020000E", "UI", json!(series));
                        attr(&mut o, "00080016", "UI", json!(i.sop_class_uid));
                        attr(&mut o, "00080018", "UI", json!(i.sop_instance_uid));
                        if let Some(n) = i.instance_number {
                            attr(&mut o, "00200013", "IS", json!(n));
                        }
                        Value::Object(o)
                    })
                    .collect();
                Ok(json_answer(Value::Array(list)))
            }
            Request::Metadata { study, series } => {
                let paths = self.series_paths(actor, study, series)?;
                let mut list = Vec::new();
                for path in paths {
                    let full = data_dir.join(&path);
                    let mut obj = crate::dicom::bounds::open_file(&full)
                        .map_err(|e| unreadable(&full, e))?
                        .into_inner();
                    // Bulk data is read by its own request (frames, the whole instance).
                    obj.remove_element(tags::PIXEL_DATA);
                    obj.remove_element(tags::WAVEFORM_SEQUENCE);
                    list.push(dicom_json::to_value(&obj).map_err(|e| unreadable(&full, e))?);
                }
                Ok(json_answer(Value::Array(list)))
            }
            Request::Instance { study, series, sop } => {
                let full = data_dir.join(self.instance_path(actor, study, series, sop)?);
                let bytes = std::fs::read(&full).map_err(|e| unreadable(&full, e))?;
                Ok(Binary {
                    content_type: MULTIPART_DICOM,
                    bytes: multipart("application/dicom", &bytes),
                })
            }
            Request::Frame {
                study,
                series,
                sop,
                frame,
            } => {
                let full = data_dir.join(self.instance_path(actor, study, series, sop)?);
                let file =
                    crate::dicom::bounds::open_file(&full).map_err(|e| unreadable(&full, e))?;
                let ts = file
                    .meta()
                    .transfer_syntax()
                    .trim_end_matches('\0')
                    .to_owned();
                let (bytes, ts) = frame_of(&file.into_inner(), &ts, *frame).map_err(|e| {
                    ApiError::new(
                        ErrorCode::NotFound,
                        "该影像没有这一帧",
                        format!("frame {frame} of {sop}: {e}"),
                    )
                })?;
                let part = format!("application/octet-stream; transfer-syntax={ts}");
                Ok(Binary {
                    content_type: MULTIPART_OCTETS,
                    bytes: multipart(&part, &bytes),
                })
            }
        }
    }

    /// The stored files of a series (the first copy of each instance), after the audit entry.
    fn series_paths(
        &self,
        actor: &str,
        study: &str,
        series: &str,
    ) -> Result<Vec<String>, ApiError> {
        let conn = self.store.lock();
        let found = audited_series(&conn, actor, "dicomweb.metadata", study, series)?;
        let mut paths = Vec::new();
        let mut purged = false;
        for i in &found.instances {
            if let Some(first) = store::instances_with_sop(&conn, &i.sop_instance_uid)?.first() {
                paths.push(first.path.clone());
                purged |= first.purged_at.is_some();
            }
        }
        drop(conn);
        if purged {
            self.on_disk(study, None)?;
        }
        Ok(paths)
    }

    /// The stored file of one instance of the series, after the (coalesced) audit entry: a
    /// viewer asks for every frame, which is one entry per series and reader.
    fn instance_path(
        &self,
        actor: &str,
        study: &str,
        series: &str,
        sop: &str,
    ) -> Result<String, ApiError> {
        let conn = self.store.lock();
        let found = audited_series(&conn, actor, "dicomweb.instances", study, series)?;
        if !found.instances.iter().any(|i| i.sop_instance_uid == sop) {
            return Err(not_found("该影像"));
        }
        let first = store::instances_with_sop(&conn, sop)?
            .into_iter()
            .next()
            .ok_or_else(|| not_found("该影像"))?;
        drop(conn);
        if first.purged_at.is_some() {
            self.on_disk(study, Some(sop))?;
        }
        Ok(first.path)
    }
}

/// The series `series` of study `study`, after the read's audit entry naming its patient.
fn audited_series(
    conn: &rusqlite::Connection,
    actor: &str,
    action: &str,
    study: &str,
    series: &str,
) -> Result<studies::SeriesInfo, ApiError> {
    let summary = studies::summary_of(conn, study)?.ok_or_else(|| not_found("该检查"))?;
    let found = studies::series_of(conn, study)?
        .into_iter()
        .find(|s| s.series_uid == series)
        .ok_or_else(|| not_found("该序列"))?;
    audit::read(conn, actor, action, series, "", &[&summary.patient_id])?;
    Ok(found)
}

const MULTIPART_DICOM: &str =
    "multipart/related; type=\"application/dicom\"; boundary=station-dicomweb-part-0a8f3c";
const MULTIPART_OCTETS: &str =
    "multipart/related; type=\"application/octet-stream\"; boundary=station-dicomweb-part-0a8f3c";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_constants_use_the_boundary() {
        assert!(MULTIPART_DICOM.ends_with(BOUNDARY));
        assert!(MULTIPART_OCTETS.ends_with(BOUNDARY));
        let body = multipart("application/dicom", b"DICM");
        let text = String::from_utf8_lossy(&body);
        assert!(text.starts_with(&format!(
            "--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\nDICM\r\n--{BOUNDARY}--"
        )));
    }
}
