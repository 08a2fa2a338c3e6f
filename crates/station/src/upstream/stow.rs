//! STOW-RS (PS3.18 §10.5): `POST {base}/studies` with a multipart/related body of PS3.10
//! files streamed from disk, and the per-instance outcome read from the response
//! (§10.5.3: Referenced SOP Sequence, Failed SOP Sequence, Warning and Failure Reasons).
//!
//! Must never: count an instance as stored unless the response's Referenced SOP Sequence names
//! it (an HTTP 200 with an empty or partial body stores nothing as far as we know), or drop
//! the body of a 409 (or of a 4xx that names instances): it says which instances were stored.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE};
use reqwest::StatusCode;
use serde_json::Value;

use super::multipart::MultipartBody;
use super::{dicom_json, Hub, UpstreamError};

/// One instance to send: its file and the SOP Instance UID the hub must report back.
#[derive(Debug, Clone)]
pub struct StowInstance {
    /// The instance file in the store, streamed as it is.
    pub path: PathBuf,
    /// Its SOP Instance UID (0008,0018), the key the hub's answer is read by.
    pub sop_instance_uid: String,
}

/// What the hub said of one instance (PS3.18 §10.5.3, Table 10.5.3-1; reason codes PS3.4 B.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceOutcome {
    /// In the Referenced SOP Sequence (0008,1199) without a warning.
    Stored,
    /// Stored, with a Warning Reason (0008,1196), e.g. 0xB000 coercion of data elements.
    StoredWithWarning(u16),
    /// In the Failed SOP Sequence with its Failure Reason (0008,1197), e.g. 0xA700 out of
    /// resources, 0xC000 cannot understand; 0x0110 (processing failure) when none was given.
    Failed(u16),
    /// In neither list: not stored as far as we know, whatever the HTTP status. Sending it
    /// again (or asking QIDO-RS) is the way to find out.
    NotMentioned,
}

impl InstanceOutcome {
    /// The hub holds it (with or without a warning).
    pub fn is_stored(self) -> bool {
        matches!(
            self,
            InstanceOutcome::Stored | InstanceOutcome::StoredWithWarning(_)
        )
    }
}

/// The answer to one STOW-RS request.
#[derive(Debug, Clone)]
pub struct StowResult {
    /// 200, 202 or 409 as the standard has it; also a 4xx from hubs (Orthanc) that store the
    /// good parts of a request and reject the rest with 400, naming what they stored.
    pub http_status: u16,
    /// Keyed by SOP Instance UID, one entry for every instance sent.
    pub outcomes: BTreeMap<String, InstanceOutcome>,
}

impl StowResult {
    /// Reads a STOW-RS response body (DICOM JSON, PS3.18 Annex F) for the instances `sent`.
    /// An empty, unreadable or non-JSON body names nothing: every instance is `NotMentioned`.
    pub fn from_response(http_status: u16, body: &str, sent: &[StowInstance]) -> StowResult {
        let json = serde_json::from_str(body).unwrap_or(Value::Null);
        StowResult {
            http_status,
            outcomes: outcomes(&json, sent),
        }
    }

    /// Every instance sent is held by the hub (with or without a warning).
    pub fn all_stored(&self) -> bool {
        self.outcomes.values().all(|o| o.is_stored())
    }

    /// SOP Instance UIDs with this outcome (e.g. every `NotMentioned`, to send again).
    pub fn with_outcome(&self, wanted: impl Fn(InstanceOutcome) -> bool) -> Vec<&str> {
        self.outcomes
            .iter()
            .filter(|(_, o)| wanted(**o))
            .map(|(uid, _)| uid.as_str())
            .collect()
    }
}

impl Hub {
    /// Sends `instances` in one request. Errors: a file that cannot be read (nothing sent);
    /// transient for transport failures, 408, 429 and 5xx; permanent for other 4xx, except
    /// 409, and a 4xx whose body names instances, which are read like a 200.
    pub async fn stow(&self, instances: &[StowInstance]) -> Result<StowResult, UpstreamError> {
        let paths: Vec<PathBuf> = instances.iter().map(|i| i.path.clone()).collect();
        let body = MultipartBody::of_files(&paths).await?;
        let mut timeout = self.options.timeout;
        if let Some(rate) = self.options.min_upload_bytes_per_sec.filter(|r| *r > 0) {
            timeout += Duration::from_secs(body.content_length / rate);
        }
        let content_type = body.content_type();
        let mut stream = body.stream;
        if let Some(limit) = self.options.rate_limit.clone() {
            stream = stream
                .then(move |chunk| {
                    let limit = limit.clone();
                    async move {
                        if let Ok(bytes) = &chunk {
                            limit.take(bytes.len()).await;
                        }
                        chunk
                    }
                })
                .boxed();
        }
        let request = self
            .client
            .post(format!("{}/studies", self.base))
            .timeout(timeout)
            .header(CONTENT_TYPE, content_type)
            .header(CONTENT_LENGTH, body.content_length)
            .header(ACCEPT, "application/dicom+json")
            .body(reqwest::Body::wrap_stream(stream));
        let answer = self.send(request).await?;
        let status = answer.status;
        let readable = status.is_success() || status == StatusCode::CONFLICT;
        let busy = status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::REQUEST_TIMEOUT;
        if readable || (status.is_client_error() && !busy) {
            let result = StowResult::from_response(status.as_u16(), &answer.body, instances);
            let names_any = result
                .outcomes
                .values()
                .any(|o| *o != InstanceOutcome::NotMentioned);
            if readable || names_any {
                return Ok(result);
            }
        }
        Err(answer.into_error())
    }
}

/// Each sent instance's outcome from the response dataset.
fn outcomes(response: &Value, sent: &[StowInstance]) -> BTreeMap<String, InstanceOutcome> {
    // A response dataset may come bare or as a one-element array.
    let dataset = match response {
        Value::Array(items) => items.first().unwrap_or(&Value::Null),
        other => other,
    };
    let mut said = BTreeMap::new();
    // Referenced SOP Sequence (0008,1199): Referenced SOP Instance UID (0008,1155).
    for item in dicom_json::sequence(dataset, "00081199") {
        if let Some(uid) = dicom_json::string(item, "00081155") {
            let outcome = match dicom_json::number(item, "00081196") {
                Some(code) => InstanceOutcome::StoredWithWarning(code as u16),
                None => InstanceOutcome::Stored,
            };
            said.insert(uid, outcome);
        }
    }
    // Failed SOP Sequence (0008,1198): Failure Reason (0008,1197). Listed in both: failed.
    for item in dicom_json::sequence(dataset, "00081198") {
        if let Some(uid) = dicom_json::string(item, "00081155") {
            let code = dicom_json::number(item, "00081197").unwrap_or(0x0110) as u16;
            said.insert(uid, InstanceOutcome::Failed(code));
        }
    }
    sent.iter()
        .map(|i| {
            let outcome = said
                .get(&i.sop_instance_uid)
                .copied()
                .unwrap_or(InstanceOutcome::NotMentioned);
            (i.sop_instance_uid.clone(), outcome)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(uids: &[&str]) -> Vec<StowInstance> {
        uids.iter()
            .map(|u| StowInstance {
                path: PathBuf::from("x.dcm"),
                sop_instance_uid: u.to_string(),
            })
            .collect()
    }

    #[test]
    fn only_listed_instances_count_as_stored() {
        let body = r#"{
              "00081199": {"vr": "SQ", "Value": [
                {"00081150": {"vr": "UI", "Value": ["1.2.840.10008.5.1.4.1.1.7"]},
                 "00081155": {"vr": "UI", "Value": ["1.1"]}},
                {"00081155": {"vr": "UI", "Value": ["1.2"]}, "00081196": {"vr": "US", "Value": [45056]}}
              ]},
              "00081198": {"vr": "SQ", "Value": [
                {"00081155": {"vr": "UI", "Value": ["1.3"]}, "00081197": {"vr": "US", "Value": [49152]}},
                {"00081155": {"vr": "UI", "Value": ["1.5"]}}
              ]}
            }"#;
        let r = StowResult::from_response(409, body, &sent(&["1.1", "1.2", "1.3", "1.4", "1.5"]));
        let o = &r.outcomes;
        assert_eq!(o["1.1"], InstanceOutcome::Stored);
        assert_eq!(o["1.2"], InstanceOutcome::StoredWithWarning(0xB000));
        assert_eq!(o["1.3"], InstanceOutcome::Failed(0xC000));
        assert_eq!(o["1.4"], InstanceOutcome::NotMentioned);
        assert_eq!(o["1.5"], InstanceOutcome::Failed(0x0110));
        assert_eq!(
            r.with_outcome(|o| o == InstanceOutcome::NotMentioned),
            vec!["1.4"]
        );
        assert!(!r.all_stored());
    }

    #[test]
    fn empty_or_foreign_bodies_store_nothing() {
        for body in ["", "not json", "[]", "{}", r#"{"00081199": {"vr": "SQ"}}"#] {
            let r = StowResult::from_response(200, body, &sent(&["1.1"]));
            assert_eq!(r.outcomes["1.1"], InstanceOutcome::NotMentioned, "{body:?}");
            assert!(!r.all_stored());
        }
    }

    #[test]
    fn an_instance_the_hub_stored_but_we_did_not_send_is_ignored() {
        let body = r#"[{"00081199": {"vr": "SQ", "Value": [
            {"00081155": {"vr": "UI", "Value": ["9.9"]}},
            {"00081155": {"vr": "UI", "Value": ["1.1"]}}]}}]"#;
        let r = StowResult::from_response(200, body, &sent(&["1.1"]));
        assert_eq!(r.outcomes.len(), 1);
        assert!(r.all_stored());
    }
}
