//! The station's own read-only DICOMweb for the LAN (PS3.18), what the image viewer (and a
//! workstation that speaks DICOMweb) reads: QIDO-RS studies, series and instances (10.6),
//! WADO-RS series metadata, whole instances, frames (one or several), rendered images and
//! thumbnails (10.4). Behind the same login or API token as the rest of the API, for the roles
//! that see patients, each read audited with the patient it showed.
//!
//! Must never: serve a file without the role check and the audit entry, hold the store's lock
//! while reading a file, or open a stored file without `dicom::bounds` (a file nested too deep
//! would abort the process).

mod bulk;
mod qido;
mod rendered;

use std::path::Path;

use dicom_dictionary_std::tags;
use serde_json::Value;

use super::downloads::Binary;
use super::{roles, Api, ApiError, ErrorCode};
use crate::store::{self, audit, studies};
pub use qido::StudySearch;
pub use rendered::RenderQuery;

/// One request the server understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `GET /studies` with the usual keys (PS3.18 10.6.1.2); none lists the latest studies.
    Studies(StudySearch),
    /// `GET /studies/{study}/series`
    Series {
        /// Study Instance UID (0020,000D) from the path.
        study: String,
    },
    /// `GET /studies/{study}/series/{series}/instances`
    Instances {
        /// Study Instance UID (0020,000D) from the path.
        study: String,
        /// Series Instance UID (0020,000E) from the path.
        series: String,
    },
    /// `GET /studies/{study}/series/{series}/metadata`
    Metadata {
        /// Study Instance UID (0020,000D) from the path.
        study: String,
        /// Series Instance UID (0020,000E) from the path.
        series: String,
    },
    /// `GET /studies/{study}/series/{series}/instances/{sop}`
    Instance {
        /// Study Instance UID (0020,000D) from the path.
        study: String,
        /// Series Instance UID (0020,000E) from the path.
        series: String,
        /// SOP Instance UID (0008,0018) from the path.
        sop: String,
    },
    /// `GET /studies/{study}/series/{series}/instances/{sop}/frames/{list}`: frames by number
    /// (1-based, `1,3,5`), one part each in the order asked.
    Frames {
        /// Study Instance UID (0020,000D) from the path.
        study: String,
        /// Series Instance UID (0020,000E) from the path.
        series: String,
        /// SOP Instance UID (0008,0018) from the path.
        sop: String,
        /// The frame numbers (from 1; at most 1000), as [`frame_list`] read them.
        frames: Vec<usize>,
    },
    /// `GET …/instances/{sop}/rendered` (the first frame) or `…/frames/{n}/rendered`: an image
    /// through a window (PS3.18 8.3.5), JPEG unless the caller accepts only PNG.
    Rendered {
        /// Study Instance UID (0020,000D) from the path.
        study: String,
        /// Series Instance UID (0020,000E) from the path.
        series: String,
        /// SOP Instance UID (0008,0018) from the path.
        sop: String,
        /// The frame number (from 1); `None`: the instance's first frame.
        frame: Option<usize>,
        /// Window, size and quality asked for in the query string.
        query: RenderQuery,
    },
    /// `GET /studies/{study}[/series/{series}[/instances/{sop}]]/thumbnail`: the preview of the
    /// instance, or of the first image of the series or study (PS3.18 8.3.5.1.3).
    Thumbnail {
        /// Study Instance UID (0020,000D) from the path.
        study: String,
        /// Series Instance UID (0020,000E) when the path names a series.
        series: Option<String>,
        /// SOP Instance UID (0008,0018) when the path names an instance.
        sop: Option<String>,
        /// Size and quality asked for in the query string.
        query: RenderQuery,
    },
}

/// The frame numbers of a `frames/{list}` path segment, or why it is not one.
pub(crate) fn frame_list(text: &str) -> Result<Vec<usize>, ApiError> {
    let frames: Option<Vec<usize>> = text
        .split(',')
        .map(|n| n.trim().parse::<usize>().ok().filter(|n| *n >= 1))
        .collect();
    match frames {
        Some(frames) if !frames.is_empty() && frames.len() <= 1000 => Ok(frames),
        _ => Err(ApiError::invalid(format!(
            "frames {text:?}: frame numbers from 1, separated by commas"
        ))),
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
                    list.push(qido::study_json(
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
                let series = audited_study(&conn, actor, "dicomweb.series", study)?;
                Ok(json_answer(Value::Array(
                    series.iter().map(|s| qido::series_json(study, s)).collect(),
                )))
            }
            Request::Instances { study, series } => {
                let conn = self.store.lock();
                let found = audited_series(&conn, actor, "dicomweb.instances", study, series)?;
                let list = found
                    .instances
                    .iter()
                    .map(|i| qido::instance_json(study, series, i))
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
                    content_type: bulk::MULTIPART_DICOM,
                    bytes: bulk::multipart([("application/dicom", &bytes[..])]),
                })
            }
            Request::Frames {
                study,
                series,
                sop,
                frames,
            } => {
                let full = data_dir.join(self.instance_path(actor, study, series, sop)?);
                let file =
                    crate::dicom::bounds::open_file(&full).map_err(|e| unreadable(&full, e))?;
                let ts = file
                    .meta()
                    .transfer_syntax()
                    .trim_end_matches('\0')
                    .to_owned();
                let obj = file.into_inner();
                let mut parts = Vec::new();
                for frame in frames {
                    let (bytes, ts) = bulk::frame_of(&obj, &ts, *frame).map_err(|e| {
                        ApiError::new(
                            ErrorCode::NotFound,
                            "该影像没有这一帧",
                            format!("frame {frame} of {sop}: {e}"),
                        )
                    })?;
                    parts.push((
                        format!("application/octet-stream; transfer-syntax={ts}"),
                        bytes,
                    ));
                }
                Ok(Binary {
                    content_type: bulk::MULTIPART_OCTETS,
                    bytes: bulk::multipart(parts.iter().map(|(t, b)| (t.as_str(), &b[..]))),
                })
            }
            Request::Rendered {
                study,
                series,
                sop,
                frame,
                query,
            } => {
                let look = query.look(*frame)?;
                let full = data_dir.join(self.instance_path(actor, study, series, sop)?);
                rendered::rendered(&full, sop, &look)
            }
            Request::Thumbnail {
                study,
                series,
                sop,
                query,
            } => {
                let look = query.look(None)?;
                let candidates = self.thumbnail_candidates(actor, study, series, sop)?;
                rendered::thumbnail(&self.store, &data_dir, &candidates, &look)
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

    /// The instances whose preview may stand for a thumbnail, in series and instance order,
    /// after the read's audit entry; a purged study is fetched back first.
    fn thumbnail_candidates(
        &self,
        actor: &str,
        study: &str,
        series: &Option<String>,
        sop: &Option<String>,
    ) -> Result<Vec<String>, ApiError> {
        let conn = self.store.lock();
        let all = audited_study(&conn, actor, "dicomweb.thumbnail", study)?;
        let mut candidates: Vec<String> = all
            .iter()
            .filter(|s| series.as_ref().is_none_or(|uid| *uid == s.series_uid))
            .flat_map(|s| &s.instances)
            .map(|i| i.sop_instance_uid.clone())
            .filter(|uid| sop.as_ref().is_none_or(|want| want == uid))
            .collect();
        if candidates.is_empty() {
            return Err(not_found(if sop.is_some() {
                "该影像"
            } else {
                "该序列"
            }));
        }
        let purged = store::retention::purged_study_of(&conn, &candidates[0])?.is_some();
        drop(conn);
        if purged {
            self.on_disk(study, sop.as_deref())?;
        }
        // A study's thumbnail looks at a handful of instances at most (an SR or ECG first).
        candidates.truncate(8);
        Ok(candidates)
    }
}

/// The series of study `study`, after the read's audit entry naming its patient.
fn audited_study(
    conn: &rusqlite::Connection,
    actor: &str,
    action: &str,
    study: &str,
) -> Result<Vec<studies::SeriesInfo>, ApiError> {
    let summary = studies::summary_of(conn, study)?.ok_or_else(|| not_found("该检查"))?;
    let series = studies::series_of(conn, study)?;
    audit::read(conn, actor, action, study, "", &[&summary.patient_id])?;
    Ok(series)
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
