//! QIDO-RS (PS3.18 §10.6): which instances of a study the hub holds, to verify delivery.
//!
//! Must never: report an instance as held unless the hub listed it.

use std::collections::BTreeSet;

use reqwest::header::ACCEPT;
use reqwest::StatusCode;
use serde_json::Value;

use super::{dicom_json, Hub, UpstreamError};

/// Results per page; hubs cap QIDO results (Orthanc and others page by limit/offset).
const PAGE: usize = 1000;
/// A study of more than this many pages is not a clinic study; stop rather than loop.
const MAX_PAGES: usize = 100;

impl Hub {
    /// The SOP Instance UIDs the hub holds for `study_uid`; empty when it has none.
    pub async fn study_instances(
        &self,
        study_uid: &str,
    ) -> Result<BTreeSet<String>, UpstreamError> {
        let mut held = BTreeSet::new();
        for page in 0..MAX_PAGES {
            let url = format!(
                "{}/studies/{study_uid}/instances?includefield=00080018&limit={PAGE}&offset={}",
                self.base,
                page * PAGE
            );
            let request = self
                .client
                .get(&url)
                .header(ACCEPT, "application/dicom+json");
            // 204: no match. 404: some hubs answer so for a study they do not have.
            let (status, body) = self
                .exchange(request, |s| s.is_success() || s == StatusCode::NOT_FOUND)
                .await?;
            if status == StatusCode::NO_CONTENT || status == StatusCode::NOT_FOUND {
                return Ok(held);
            }
            let items: Vec<Value> = if body.trim().is_empty() {
                Vec::new()
            } else {
                serde_json::from_str(&body).map_err(|e| UpstreamError::Transient {
                    message: format!("unreadable QIDO response: {e}"),
                    retry_after: None,
                })?
            };
            let n = items.len();
            held.extend(
                items
                    .iter()
                    .filter_map(|i| dicom_json::string(i, "00080018")),
            );
            if n < PAGE {
                break;
            }
        }
        Ok(held)
    }
}
