//! WADO-RS (PS3.18 §10.4): retrieving one instance the hub holds (a report written there) as
//! a PS3.10 object from a `multipart/related; type="application/dicom"` answer.
//!
//! Must never: hand back anything but the bytes of one DICOM part (a truncated or oddly framed
//! answer is an error to retry, not a file), or read an answer past the hub's size bound.

use reqwest::header::ACCEPT;

use super::hub::checked_uid;
use super::{Hub, UpstreamError};

impl Hub {
    /// The PS3.10 bytes of one instance: `GET {base}/studies/{s}/series/{se}/instances/{i}`.
    pub async fn retrieve_instance(
        &self,
        study_uid: &str,
        series_uid: &str,
        sop_instance_uid: &str,
    ) -> Result<Vec<u8>, UpstreamError> {
        let url = format!(
            "{}/studies/{}/series/{}/instances/{}",
            self.base,
            checked_uid(study_uid)?,
            checked_uid(series_uid)?,
            checked_uid(sop_instance_uid)?
        );
        let request = self.client.get(&url).header(
            ACCEPT,
            "multipart/related; type=\"application/dicom\"; transfer-syntax=*",
        );
        let answer = self.send_raw(request).await?;
        if !answer.status.is_success() {
            return Err(answer.into_error());
        }
        let broken = |why: &str| UpstreamError::Transient {
            message: format!("WADO-RS answer for {sop_instance_uid}: {why}"),
            retry_after: None,
        };
        let media = answer.content_type.to_ascii_lowercase();
        let bytes = if media.starts_with("multipart/") {
            let boundary = boundary(&answer.content_type)
                .ok_or_else(|| broken("multipart answer without a boundary"))?;
            first_part(&answer.body, &boundary)
                .ok_or_else(|| broken("no complete part in the multipart answer"))?
                .to_vec()
        } else if media.starts_with("application/dicom") {
            answer.body
        } else {
            return Err(broken(&format!("unexpected Content-Type {media:?}")));
        };
        if bytes.len() < 132 || &bytes[128..132] != b"DICM" {
            return Err(broken("the part is not a DICOM PS3.10 object"));
        }
        Ok(bytes)
    }
}

/// The `boundary` parameter of a multipart Content-Type (RFC 2046 §5.1.1), unquoted.
fn boundary(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| value.trim().trim_matches('"').to_string())
            .filter(|b| !b.is_empty())
    })
}

/// The content of the first body part between `--boundary` delimiters (RFC 2046 §5.1.1):
/// after the part's header block, up to the CRLF before the next delimiter.
fn first_part<'a>(body: &'a [u8], boundary: &str) -> Option<&'a [u8]> {
    let open = format!("--{boundary}");
    let start = find(body, open.as_bytes())? + open.len();
    let rest = &body[start..];
    let headers_end = find(rest, b"\r\n\r\n")? + 4;
    let content = &rest[headers_end..];
    let close = format!("\r\n--{boundary}");
    let end = find(content, close.as_bytes())?;
    Some(&content[..end])
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_part_is_cut_exactly() {
        let ct = "multipart/related; type=\"application/dicom\"; boundary=\"b-42\"";
        let b = boundary(ct).expect("boundary");
        assert_eq!(b, "b-42");
        let body =
            b"--b-42\r\nContent-Type: application/dicom\r\n\r\nDATA\r\n--b\r\nX\r\n--b-42--\r\n";
        assert_eq!(first_part(body, &b), Some(&b"DATA\r\n--b\r\nX"[..]));
        assert_eq!(
            first_part(b"--b-42\r\nContent-Type: x\r\n\r\ncut short", &b),
            None
        );
        assert_eq!(boundary("multipart/related; type=x"), None);
    }
}
