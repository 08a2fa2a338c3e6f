//! WADO-RS (PS3.18 §10.4): retrieving one instance the hub holds (a report written there) as
//! a PS3.10 object from a `multipart/related; type="application/dicom"` answer, streamed into
//! the caller's writer (a staging file) as it arrives.
//!
//! Must never: hold the object whole in memory, or end without error on an answer cut short
//! (a part with no closing delimiter is a transient failure, not a file).

use std::io::Write;

use reqwest::header::ACCEPT;

use super::error::transport_error;
use super::hub::{checked_uid, content_type, read_answer};
use super::{Hub, UpstreamError};

/// Largest part accepted: far above any report, well below filling a clinic disk.
const MAX_PART_BYTES: u64 = 1024 * 1024 * 1024;
/// Bytes of preamble and part headers read before the content must have begun.
const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Asks a hub for an instance as it stored it.
pub const AS_STORED: &str = "*";
/// Explicit VR Little Endian: what a hub is asked for when the stored form (a compressed copy
/// this station sent) is not the file it deleted.
pub const EXPLICIT_VR_LITTLE_ENDIAN: &str = "1.2.840.10008.1.2.1";

impl Hub {
    /// Writes the PS3.10 bytes of one instance into `out`:
    /// `GET {base}/studies/{s}/series/{se}/instances/{i}`, in the transfer syntax the hub
    /// stored it in ([`AS_STORED`]) or in the one asked for (PS3.18 8.7.3.5.2: the hub
    /// transcodes). Returns how many were written.
    pub async fn retrieve_instance(
        &self,
        study_uid: &str,
        series_uid: &str,
        sop_instance_uid: &str,
        transfer_syntax: &str,
        out: &mut impl Write,
    ) -> Result<u64, UpstreamError> {
        let url = format!(
            "{}/studies/{}/series/{}/instances/{}",
            self.base,
            checked_uid(study_uid)?,
            checked_uid(series_uid)?,
            checked_uid(sop_instance_uid)?
        );
        let request = self.client.get(&url).header(
            ACCEPT,
            format!(
                "multipart/related; type=\"application/dicom\"; transfer-syntax={transfer_syntax}"
            ),
        );
        let mut response = self.open(request).await?;
        if !response.status().is_success() {
            return Err(read_answer(response).await?.into_error());
        }
        let broken = |why: String| UpstreamError::Transient {
            message: format!("WADO-RS answer for {sop_instance_uid}: {why}"),
            retry_after: None,
        };
        let media = content_type(&response);
        let mut part = if media.to_ascii_lowercase().starts_with("multipart/") {
            let boundary = boundary(&media)
                .ok_or_else(|| broken("multipart answer without a boundary".into()))?;
            FirstPart::new(&boundary)
        } else if media.to_ascii_lowercase().starts_with("application/dicom") {
            FirstPart::whole()
        } else {
            return Err(broken(format!("unexpected Content-Type {media:?}")));
        };
        let local = |e: std::io::Error| UpstreamError::File {
            path: "the staging file".into(),
            source: e,
        };
        while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
            part.feed(&chunk, out).map_err(|e| match e {
                PartError::Io(e) => local(e),
                PartError::Framing(why) => broken(why.into()),
            })?;
            if part.written > MAX_PART_BYTES {
                return Err(broken(format!("part larger than {MAX_PART_BYTES} bytes")));
            }
        }
        part.finish(out).map_err(|e| match e {
            PartError::Io(e) => local(e),
            PartError::Framing(why) => broken(why.into()),
        })
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

#[derive(Debug)]
enum PartError {
    Io(std::io::Error),
    Framing(&'static str),
}

#[derive(Debug, PartialEq)]
enum State {
    /// Before the first delimiter and the end of the part's header block.
    Preamble,
    Content,
    Done,
}

/// Passes on the content of the first body part of a multipart body fed chunk by chunk (RFC
/// 2046 §5.1.1): after `--boundary` and the part's headers, up to the CRLF before the next
/// delimiter. Holds back only as many bytes as a delimiter split across chunks needs.
struct FirstPart {
    open: Vec<u8>,
    /// `None`: not multipart, everything is content.
    close: Option<Vec<u8>>,
    state: State,
    held: Vec<u8>,
    written: u64,
}

impl FirstPart {
    fn new(boundary: &str) -> FirstPart {
        FirstPart {
            open: format!("--{boundary}").into_bytes(),
            close: Some(format!("\r\n--{boundary}").into_bytes()),
            state: State::Preamble,
            held: Vec::new(),
            written: 0,
        }
    }

    fn whole() -> FirstPart {
        FirstPart {
            open: Vec::new(),
            close: None,
            state: State::Content,
            held: Vec::new(),
            written: 0,
        }
    }

    fn emit(&mut self, out: &mut impl Write, upto: usize) -> Result<(), PartError> {
        out.write_all(&self.held[..upto]).map_err(PartError::Io)?;
        self.written += upto as u64;
        self.held.drain(..upto);
        Ok(())
    }

    fn feed(&mut self, chunk: &[u8], out: &mut impl Write) -> Result<(), PartError> {
        if self.state == State::Done {
            return Ok(());
        }
        self.held.extend_from_slice(chunk);
        if self.state == State::Preamble {
            let start = find(&self.held, &self.open).map(|i| i + self.open.len());
            let headers_end =
                start.and_then(|s| find(&self.held[s..], b"\r\n\r\n").map(|i| s + i + 4));
            match headers_end {
                Some(end) => {
                    self.held.drain(..end);
                    self.state = State::Content;
                }
                None if self.held.len() > MAX_HEADER_BYTES => {
                    return Err(PartError::Framing("no part header where one belongs"))
                }
                None => return Ok(()),
            }
        }
        let Some(close) = self.close.clone() else {
            let all = self.held.len();
            return self.emit(out, all);
        };
        match find(&self.held, &close) {
            Some(end) => {
                self.emit(out, end)?;
                self.held.clear();
                self.state = State::Done;
                Ok(())
            }
            None => {
                let safe = self.held.len().saturating_sub(close.len() - 1);
                self.emit(out, safe)
            }
        }
    }

    /// The body ended: the part must be complete. Returns how many bytes it had.
    fn finish(mut self, out: &mut impl Write) -> Result<u64, PartError> {
        match (&self.state, self.close.is_some()) {
            (State::Done, _) => Ok(self.written),
            (State::Content, false) => {
                let all = self.held.len();
                self.emit(out, all)?;
                Ok(self.written)
            }
            _ => Err(PartError::Framing(
                "the answer ended before its part was complete",
            )),
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_in(body: &[u8], boundary: &str, step: usize) -> Result<Vec<u8>, PartError> {
        let mut part = FirstPart::new(boundary);
        let mut out = Vec::new();
        for chunk in body.chunks(step) {
            part.feed(chunk, &mut out)?;
        }
        part.finish(&mut out)?;
        Ok(out)
    }

    #[test]
    fn the_first_part_is_cut_exactly_whatever_the_chunking() {
        let ct = "multipart/related; type=\"application/dicom\"; boundary=\"b-42\"";
        let b = boundary(ct).expect("boundary");
        assert_eq!(b, "b-42");
        let body =
            b"--b-42\r\nContent-Type: application/dicom\r\n\r\nDATA\r\n--b\r\nX\r\n--b-42--\r\n";
        for step in 1..body.len() {
            let got = split_in(body, &b, step).expect("complete part");
            assert_eq!(got, b"DATA\r\n--b\r\nX", "chunks of {step}");
        }
        assert!(boundary("multipart/related; type=x").is_none());
    }

    #[test]
    fn a_part_cut_short_is_an_error() {
        let body = b"--b-42\r\nContent-Type: application/dicom\r\n\r\ncut short";
        assert!(matches!(
            split_in(body, "b-42", 7),
            Err(PartError::Framing(_))
        ));
        assert!(matches!(
            split_in(b"--b-42\r\nContent-Ty", "b-42", 3),
            Err(PartError::Framing(_))
        ));
    }
}
