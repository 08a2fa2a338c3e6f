//! QIDO-RS (PS3.18 §10.6): which instances of a study (or series) the hub holds, to verify
//! delivery and to look for reports. Results are paged with `limit` / `offset` until the hub has nothing more.
//!
//! Must never: report an instance as held unless the hub listed it, or loop without bound on
//! a hub that pages wrongly.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::header::ACCEPT;
use reqwest::StatusCode;
use serde_json::Value;

use super::hub::checked_uid;
use super::{dicom_json, Hub, UpstreamError};

/// Requests per query before giving up on a hub whose pages never end.
const MAX_PAGES: usize = 1000;

/// SOP Instance UID (0008,0018), Series (0020,000E) and Study (0020,000D) Instance UIDs, SOP
/// Class UID (0008,0016).
const SOP_INSTANCE_UID: &str = "00080018";
const SERIES_INSTANCE_UID: &str = "0020000E";
const STUDY_INSTANCE_UID: &str = "0020000D";
const SOP_CLASS_UID: &str = "00080016";
/// Patient's Name (0010,0010) and Patient ID (0010,0020): whose study the hub shows.
const PATIENT_NAME: &str = "00100010";
const PATIENT_ID: &str = "00100020";
/// Specific Character Set (0008,0005): what the hub squeezed the answer's text through
/// (Orthanc sends it unasked).
const SPECIFIC_CHARACTER_SET: &str = "00080005";

/// One copy of an instance the hub lists for a study. A patient attribute the hub left out of
/// its answer is `None` (unknown), an empty one `Some("")`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldInstance {
    /// SOP Instance UID (0008,0018) as the hub lists it.
    pub sop_instance_uid: String,
    /// "" when the hub lists the instance without its series.
    pub series_uid: String,
    /// As DICOM text: component groups joined with `=` (see [`dicom_json::person_name`]).
    pub patient_name: Option<String>,
    /// Patient ID (0010,0020) as the hub holds it.
    pub patient_id: Option<String>,
    /// The Specific Character Set the hub declares for the answer, values joined with `\\`
    /// (Orthanc answers in its `DefaultEncoding`, dropping what Latin-1 cannot hold).
    pub charset: Option<String>,
}

/// One instance a search found at the hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundInstance {
    /// Study Instance UID (0020,000D).
    pub study_uid: String,
    /// Series Instance UID (0020,000E), part of the WADO-RS path (never empty).
    pub series_uid: String,
    /// SOP Instance UID (0008,0018): what WADO-RS fetches.
    pub sop_instance_uid: String,
    /// SOP Class UID (0008,0016): which of the asked-for report classes it is.
    pub sop_class_uid: String,
}

impl Hub {
    /// The SOP Instance UIDs the hub holds for `study_uid`; empty when it has none.
    pub async fn study_instances(
        &self,
        study_uid: &str,
    ) -> Result<BTreeSet<String>, UpstreamError> {
        let path = format!("studies/{}/instances", checked_uid(study_uid)?);
        Ok(self.instances(&path).await?.into_keys().collect())
    }

    /// The SOP Instance UIDs the hub holds for one series of a study.
    pub async fn series_instances(
        &self,
        study_uid: &str,
        series_uid: &str,
    ) -> Result<BTreeSet<String>, UpstreamError> {
        let path = format!(
            "studies/{}/series/{}/instances",
            checked_uid(study_uid)?,
            checked_uid(series_uid)?
        );
        Ok(self.instances(&path).await?.into_keys().collect())
    }

    /// The hub's instances of `study_uid` grouped by Series Instance UID. An instance the hub
    /// lists without its series is under "".
    pub async fn study_instances_by_series(
        &self,
        study_uid: &str,
    ) -> Result<BTreeMap<String, BTreeSet<String>>, UpstreamError> {
        let mut by_series: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for held in self.study_holdings(study_uid).await? {
            by_series
                .entry(held.series_uid)
                .or_default()
                .insert(held.sop_instance_uid);
        }
        Ok(by_series)
    }

    /// Every copy of an instance the hub lists for `study_uid`, with its series and the patient
    /// it is filed under, to verify delivery per series (and, after a correction, that the
    /// hub shows the corrected patient) in one query. A hub holding one SOP Instance UID under
    /// two patients (Orthanc files by Patient ID) lists it twice.
    pub async fn study_holdings(
        &self,
        study_uid: &str,
    ) -> Result<Vec<HeldInstance>, UpstreamError> {
        let path = format!("studies/{}/instances", checked_uid(study_uid)?);
        // Specific Character Set is read when the hub sends it, never asked for: Orthanc
        // answers 400 to includefield=00080005 for a study in `\ISO 2022 IR 58`.
        let query = format!(
            "includefield={SERIES_INSTANCE_UID}&includefield={PATIENT_NAME}\
             &includefield={PATIENT_ID}"
        );
        let items = self.search_all(&path, &query).await?;
        Ok(items
            .iter()
            .filter_map(|item| {
                Some(HeldInstance {
                    sop_instance_uid: dicom_json::string(item, SOP_INSTANCE_UID)?,
                    series_uid: dicom_json::string(item, SERIES_INSTANCE_UID).unwrap_or_default(),
                    patient_name: item
                        .get(PATIENT_NAME)
                        .map(|_| dicom_json::person_name(item, PATIENT_NAME)),
                    patient_id: item
                        .get(PATIENT_ID)
                        .map(|_| dicom_json::string(item, PATIENT_ID).unwrap_or_default()),
                    charset: item.get(SPECIFIC_CHARACTER_SET).map(|a| {
                        let values = a.get("Value").and_then(Value::as_array);
                        let text = values.into_iter().flatten().filter_map(Value::as_str);
                        text.collect::<Vec<_>>().join("\\")
                    }),
                })
            })
            .collect())
    }

    /// Every instance an instance-level query lists, SOP Instance UID → Series Instance UID.
    async fn instances(&self, path: &str) -> Result<BTreeMap<String, String>, UpstreamError> {
        let query = format!("includefield={SERIES_INSTANCE_UID}");
        let mut held = BTreeMap::new();
        for (sop, item) in self.search(path, &query).await? {
            let series = dicom_json::string(&item, SERIES_INSTANCE_UID).unwrap_or_default();
            held.insert(sop, series);
        }
        Ok(held)
    }

    /// Instances of the given SOP classes the hub holds in any of `study_uids`, in one paged
    /// instance-level query (UID list matching, PS3.18 §8.3.4.1). The answer is filtered again
    /// here: a hub that ignores a filter must not attach another study's objects.
    pub async fn find_in_studies(
        &self,
        study_uids: &[String],
        sop_classes: &[&str],
    ) -> Result<Vec<FoundInstance>, UpstreamError> {
        if study_uids.is_empty() {
            return Ok(Vec::new());
        }
        let studies = study_uids
            .iter()
            .map(|u| checked_uid(u))
            .collect::<Result<Vec<_>, _>>()?;
        let classes = sop_classes
            .iter()
            .map(|u| checked_uid(u))
            .collect::<Result<Vec<_>, _>>()?;
        let query = format!(
            "StudyInstanceUID={}&SOPClassUID={}&includefield={STUDY_INSTANCE_UID}\
             &includefield={SERIES_INSTANCE_UID}&includefield={SOP_CLASS_UID}",
            studies.join(","),
            classes.join(",")
        );
        let mut found = Vec::new();
        for (sop, item) in self.search("instances", &query).await? {
            let get = |tag| dicom_json::string(&item, tag).unwrap_or_default();
            let hit = FoundInstance {
                study_uid: get(STUDY_INSTANCE_UID),
                series_uid: get(SERIES_INSTANCE_UID),
                sop_class_uid: get(SOP_CLASS_UID),
                sop_instance_uid: sop,
            };
            if studies.contains(&hit.study_uid.as_str())
                && classes.contains(&hit.sop_class_uid.as_str())
                && !hit.series_uid.is_empty()
            {
                found.push(hit);
            }
        }
        Ok(found)
    }

    /// Whether QIDO-RS answers a search with our credentials: one study-level search asking
    /// for a single match (the connection test's last step).
    pub async fn answers_queries(&self) -> Result<(), UpstreamError> {
        let url = format!("{}/studies?limit=1", self.base);
        let request = self
            .client
            .get(&url)
            .header(ACCEPT, "application/dicom+json");
        self.query(request).await.map(|_| ())
    }

    /// Every match of an instance-level search (`query` without paging), by SOP Instance UID.
    async fn search(
        &self,
        path: &str,
        query: &str,
    ) -> Result<BTreeMap<String, Value>, UpstreamError> {
        let items = self.search_all(path, query).await?;
        Ok(items
            .into_iter()
            .filter_map(|item| Some((dicom_json::string(&item, SOP_INSTANCE_UID)?, item)))
            .collect())
    }

    /// Every match of an instance-level search, page by page. Paging ends on an empty page,
    /// not on a short one: hubs may cap a page below the `limit` asked for, and a listing cut
    /// short would look like missing instances.
    async fn search_all(&self, path: &str, query: &str) -> Result<Vec<Value>, UpstreamError> {
        let limit = self.options.qido_page_size;
        let mut held = Vec::new();
        let mut seen = BTreeSet::new();
        let mut offset = 0usize;
        for _ in 0..MAX_PAGES {
            let url = format!(
                "{}/{path}?{query}&includefield={SOP_INSTANCE_UID}&limit={limit}&offset={offset}",
                self.base
            );
            let request = self
                .client
                .get(&url)
                .header(ACCEPT, "application/dicom+json");
            let page = match self.query(request).await? {
                Some(page) if !page.is_empty() => page,
                _ => return Ok(held),
            };
            let before = held.len();
            for item in page.iter() {
                if dicom_json::string(item, SOP_INSTANCE_UID).is_some()
                    && seen.insert(item.to_string())
                {
                    held.push(item.clone());
                }
            }
            if held.len() == before {
                // A hub that ignores `offset` sends the first page again: we have it all.
                return Ok(held);
            }
            offset += page.len();
        }
        Err(UpstreamError::Permanent {
            status: 200,
            message: format!("QIDO-RS paging of {path} did not end after {MAX_PAGES} pages"),
        })
    }

    /// One QIDO-RS request: the matches, or `None` for "no match" (204, an empty body, or a
    /// 404 that is not an error document: some hubs answer so for a study they do not have).
    async fn query(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<Option<Vec<Value>>, UpstreamError> {
        let answer = self.send(request).await?;
        let body = answer.body.trim();
        if answer.status == StatusCode::NO_CONTENT
            || (answer.status.is_success() && body.is_empty())
        {
            return Ok(None);
        }
        if answer.status == StatusCode::NOT_FOUND {
            // Orthanc says 404 only for a wrong path (its error document is an object), and
            // for an unknown study answers 200 [].
            return match serde_json::from_str::<Value>(body) {
                _ if body.is_empty() => Ok(None),
                Ok(Value::Array(_)) => Ok(None),
                _ => Err(answer.into_error()),
            };
        }
        if !answer.status.is_success() {
            return Err(answer.into_error());
        }
        match serde_json::from_str::<Value>(body) {
            Ok(Value::Array(items)) => Ok(Some(items)),
            // A body cut short by the link, or a proxy's page: not an answer, ask again later.
            Ok(_) | Err(_) => Err(UpstreamError::Transient {
                message: format!(
                    "HTTP {}: the QIDO-RS answer is not a DICOM JSON array",
                    answer.status.as_u16()
                ),
                retry_after: None,
            }),
        }
    }
}
