//! A multipart/related body (RFC 2387) of PS3.10 files for STOW-RS, streamed from disk with its
//! exact length known up front (sent as Content-Length: hubs and reverse proxies that refuse
//! chunked uploads still take it, and the upload timeout can be sized from it).
//!
//! Must never: hold a whole file (let alone a study) in memory, open every file of a batch at
//! once, or send a different number of bytes than announced (a file that changed size since it
//! was measured ends the stream with an error instead).

use std::path::PathBuf;

use bytes::{Bytes, BytesMut};
use futures_util::stream::{self, BoxStream, StreamExt};
use tokio::io::AsyncReadExt;

use super::UpstreamError;

/// Bytes read from a file per chunk of the body.
const CHUNK: usize = 256 * 1024;

pub(super) struct MultipartBody {
    /// For the Content-Type: `multipart/related; type="application/dicom"; boundary=…`.
    pub boundary: String,
    pub content_length: u64,
    pub stream: BoxStream<'static, std::io::Result<Bytes>>,
}

impl MultipartBody {
    /// Measures every file (so a missing one fails before anything is sent) and prepares the
    /// stream; files are opened one at a time as the body goes out.
    pub async fn of_files(files: &[PathBuf]) -> Result<MultipartBody, UpstreamError> {
        // 128 random bits: a boundary that occurs inside a file is not a practical concern.
        let boundary = format!("station-{:032x}", rand::random::<u128>());
        let part_header = Bytes::from(format!(
            "--{boundary}\r\nContent-Type: application/dicom\r\n\r\n"
        ));
        let closing = Bytes::from(format!("--{boundary}--\r\n"));
        let mut parts = Vec::with_capacity(files.len());
        let mut content_length = closing.len() as u64;
        for path in files {
            let meta = tokio::fs::metadata(path)
                .await
                .map_err(|source| UpstreamError::File {
                    path: path.display().to_string(),
                    source,
                })?;
            if !meta.is_file() {
                return Err(UpstreamError::File {
                    path: path.display().to_string(),
                    source: std::io::Error::other("not a regular file"),
                });
            }
            content_length += part_header.len() as u64 + meta.len() + 2;
            parts.push((path.clone(), meta.len()));
        }
        let stream = stream::iter(parts)
            .flat_map(move |(path, len)| {
                let crlf = Bytes::from_static(b"\r\n");
                stream::once(futures_util::future::ready(Ok(part_header.clone())))
                    .chain(file_stream(path, len))
                    .chain(stream::once(futures_util::future::ready(Ok(crlf))))
            })
            .chain(stream::once(futures_util::future::ready(Ok(closing))))
            .boxed();
        Ok(MultipartBody {
            boundary,
            content_length,
            stream,
        })
    }

    pub fn content_type(&self) -> String {
        format!(
            "multipart/related; type=\"application/dicom\"; boundary={}",
            self.boundary
        )
    }
}

/// Where one file's part of the body is.
enum FilePart {
    Unopened(PathBuf),
    Open {
        path: PathBuf,
        reader: tokio::io::Take<tokio::fs::File>,
        sent: u64,
    },
    Done,
}

/// Exactly `len` bytes of the file at `path`, opened when the stream first polls, in chunks.
/// A file now shorter or longer than `len` ends the stream with an error: the hub must never
/// get a truncated object.
fn file_stream(path: PathBuf, len: u64) -> BoxStream<'static, std::io::Result<Bytes>> {
    stream::unfold(FilePart::Unopened(path), move |part| async move {
        match part {
            FilePart::Unopened(path) => match tokio::fs::File::open(&path).await {
                Ok(file) => next_chunk(path, file.take(len), 0, len).await,
                Err(e) => Some((Err(e), FilePart::Done)),
            },
            FilePart::Open { path, reader, sent } => next_chunk(path, reader, sent, len).await,
            FilePart::Done => None,
        }
    })
    .boxed()
}

async fn next_chunk(
    path: PathBuf,
    mut reader: tokio::io::Take<tokio::fs::File>,
    sent: u64,
    len: u64,
) -> Option<(std::io::Result<Bytes>, FilePart)> {
    let changed = |path: &PathBuf| {
        std::io::Error::other(format!(
            "{} changed size while being sent (was {len} bytes)",
            path.display()
        ))
    };
    let mut buf = BytesMut::with_capacity(CHUNK);
    match reader.read_buf(&mut buf).await {
        Err(e) => Some((Err(e), FilePart::Done)),
        Ok(0) if sent < len => Some((Err(changed(&path)), FilePart::Done)),
        Ok(0) => {
            // All announced bytes sent: the file must end here too.
            let mut file = reader.into_inner();
            let mut one = [0u8; 1];
            match file.read(&mut one).await {
                Ok(0) => None,
                Ok(_) => Some((Err(changed(&path)), FilePart::Done)),
                Err(e) => Some((Err(e), FilePart::Done)),
            }
        }
        Ok(n) => Some((
            Ok(buf.freeze()),
            FilePart::Open {
                path,
                reader,
                sent: sent + n as u64,
            },
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn collect(body: MultipartBody) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut stream = body.stream;
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out)
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    #[test]
    fn parts_are_framed_and_the_length_is_exact() {
        let dir = tempfile::tempdir().expect("dir");
        let a = dir.path().join("a.dcm");
        let b = dir.path().join("b.dcm");
        std::fs::write(&a, vec![7u8; 3 * CHUNK + 5]).expect("a");
        std::fs::write(&b, b"second").expect("b");
        let rt = rt();
        let body = rt.block_on(MultipartBody::of_files(&[a, b])).expect("body");
        let boundary = body.boundary.clone();
        let announced = body.content_length;
        let bytes = rt.block_on(collect(body)).expect("stream");
        assert_eq!(bytes.len() as u64, announced);
        let head = format!("--{boundary}\r\nContent-Type: application/dicom\r\n\r\n");
        let mut expected = head.clone().into_bytes();
        expected.extend(vec![7u8; 3 * CHUNK + 5]);
        expected.extend(b"\r\n");
        expected.extend(head.as_bytes());
        expected.extend(b"second\r\n");
        expected.extend(format!("--{boundary}--\r\n").as_bytes());
        assert!(bytes == expected, "body framing differs");
    }

    #[test]
    fn a_missing_file_fails_before_sending() {
        let err = rt()
            .block_on(MultipartBody::of_files(&[PathBuf::from(
                "/nonexistent/x.dcm",
            )]))
            .err()
            .expect("missing file");
        assert!(matches!(err, UpstreamError::File { .. }), "{err}");
    }

    #[test]
    fn a_file_that_changed_size_ends_the_stream_with_an_error() {
        let dir = tempfile::tempdir().expect("dir");
        let a = dir.path().join("a.dcm");
        std::fs::write(&a, b"0123456789").expect("a");
        let rt = rt();
        let grown = rt
            .block_on(MultipartBody::of_files(std::slice::from_ref(&a)))
            .expect("body");
        std::fs::write(&a, b"0123456789 and more").expect("grow");
        assert!(
            rt.block_on(collect(grown)).is_err(),
            "a longer file is not cut short"
        );
        let shrunk = rt
            .block_on(MultipartBody::of_files(std::slice::from_ref(&a)))
            .expect("body");
        std::fs::write(&a, b"0123").expect("shrink");
        assert!(
            rt.block_on(collect(shrunk)).is_err(),
            "a shorter file is not padded"
        );
    }
}
