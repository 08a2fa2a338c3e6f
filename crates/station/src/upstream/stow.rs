//! STOW-RS (PS3.18 §10.5): `POST {base}/studies` with a multipart/related body of PS3.10
//! files, streamed from disk, and the per-instance outcome read from the response.
//!
//! Must never: count an instance as stored unless the response's Referenced SOP Sequence names
//! it (an HTTP 200 with an empty or partial body stores nothing as far as we know).

use std::collections::BTreeMap;
use std::path::PathBuf;

use bytes::Bytes;
use futures_util::stream::{self, BoxStream, StreamExt};
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::StatusCode;
use serde_json::Value;
use tokio_util::io::ReaderStream;

use super::{dicom_json, Hub, UpstreamError};

/// One instance to send: its file and the SOP Instance UID the hub must report back.
#[derive(Debug, Clone)]
pub struct StowInstance {
    pub path: PathBuf,
    pub sop_instance_uid: String,
}

/// What the hub said of one instance (PS3.18 §10.5.3.1, Table 10.5.3-1).
#[derive(Debug, Clone, PartialEq)]
pub enum InstanceOutcome {
    Stored,
    /// Stored, with a Warning Reason (0008,1196), e.g. B000 coercion of data elements.
    StoredWithWarning(u16),
    /// In the Failed SOP Sequence with its Failure Reason (0008,1197).
    Failed(u16),
    /// Not in either list: not stored, whatever the HTTP status.
    NotMentioned,
}

#[derive(Debug, Clone)]
pub struct StowResult {
    pub http_status: u16,
    /// Keyed by SOP Instance UID, one entry for every instance sent.
    pub outcomes: BTreeMap<String, InstanceOutcome>,
}

impl StowResult {
    pub fn all_stored(&self) -> bool {
        self.outcomes.values().all(|o| {
            matches!(
                o,
                InstanceOutcome::Stored | InstanceOutcome::StoredWithWarning(_)
            )
        })
    }
}

impl Hub {
    /// Sends `instances` in one request. Transport failures, 408, 429 and 5xx are transient;
    /// other 4xx except 409 are permanent. A 409 (some instances failed) is read like a 200.
    pub async fn stow(&self, instances: &[StowInstance]) -> Result<StowResult, UpstreamError> {
        let boundary = format!("station-{:032x}", rand::random::<u128>());
        let url = format!("{}/studies", self.base);
        let request = self
            .client
            .post(&url)
            .header(
                CONTENT_TYPE,
                format!("multipart/related; type=\"application/dicom\"; boundary={boundary}"),
            )
            .header(ACCEPT, "application/dicom+json")
            .body(reqwest::Body::wrap_stream(multipart_body(
                instances.iter().map(|i| i.path.clone()).collect(),
                boundary,
            )));
        // 409: some instances failed; the body still lists what was stored.
        let (status, body) = self
            .exchange(request, |s| s.is_success() || s == StatusCode::CONFLICT)
            .await?;
        let json: Value = if body.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&body).unwrap_or(Value::Null)
        };
        Ok(StowResult {
            http_status: status.as_u16(),
            outcomes: outcomes(&json, instances),
        })
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
    // Failed SOP Sequence (0008,1198): Failure Reason (0008,1197).
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
                .cloned()
                .unwrap_or(InstanceOutcome::NotMentioned);
            (i.sop_instance_uid.clone(), outcome)
        })
        .collect()
}

/// The multipart/related body (RFC 2387) as a stream: each file is read in chunks as the
/// request goes out.
fn multipart_body(
    files: Vec<PathBuf>,
    boundary: String,
) -> BoxStream<'static, std::io::Result<Bytes>> {
    let part_header = Bytes::from(format!(
        "--{boundary}\r\nContent-Type: application/dicom\r\n\r\n"
    ));
    let closing = Bytes::from(format!("--{boundary}--\r\n"));
    let parts = files.into_iter().map(move |path| {
        let header = stream::once(futures_util::future::ready(Ok(part_header.clone())));
        let file = stream::once(async move { tokio::fs::File::open(&path).await })
            .map(|opened| match opened {
                Ok(f) => ReaderStream::with_capacity(f, 256 * 1024).boxed(),
                Err(e) => stream::once(futures_util::future::ready(Err(e))).boxed(),
            })
            .flatten();
        let crlf = stream::once(futures_util::future::ready(Ok(Bytes::from_static(b"\r\n"))));
        header.chain(file).chain(crlf)
    });
    stream::iter(parts)
        .flatten()
        .chain(stream::once(futures_util::future::ready(Ok(closing))))
        .boxed()
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
        let body: Value = serde_json::from_str(
            r#"{
              "00081199": {"vr": "SQ", "Value": [
                {"00081150": {"vr": "UI", "Value": ["1.2.840.10008.5.1.4.1.1.7"]},
                 "00081155": {"vr": "UI", "Value": ["1.1"]}},
                {"00081155": {"vr": "UI", "Value": ["1.2"]}, "00081196": {"vr": "US", "Value": [45056]}}
              ]},
              "00081198": {"vr": "SQ", "Value": [
                {"00081155": {"vr": "UI", "Value": ["1.3"]}, "00081197": {"vr": "US", "Value": [49152]}}
              ]}
            }"#,
        )
        .expect("json");
        let o = outcomes(&body, &sent(&["1.1", "1.2", "1.3", "1.4"]));
        assert_eq!(o["1.1"], InstanceOutcome::Stored);
        assert_eq!(o["1.2"], InstanceOutcome::StoredWithWarning(0xB000));
        assert_eq!(o["1.3"], InstanceOutcome::Failed(0xC000));
        assert_eq!(o["1.4"], InstanceOutcome::NotMentioned);
    }

    #[test]
    fn an_empty_body_stores_nothing() {
        let o = outcomes(&Value::Null, &sent(&["1.1"]));
        assert_eq!(o["1.1"], InstanceOutcome::NotMentioned);
        let r = StowResult {
            http_status: 200,
            outcomes: o,
        };
        assert!(!r.all_stored());
    }
}
