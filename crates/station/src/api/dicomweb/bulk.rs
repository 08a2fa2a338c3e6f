//! WADO-RS bulk answers (PS3.18 10.4, 8.7.3): multipart/related bodies of whole instances and
//! of frames, and the frames of a stored object in the syntax they are stored in (native pixels
//! as explicit VR little endian).
//!
//! Must never: decompress a compressed frame (it goes in its own transfer syntax) or answer
//! a frame the object does not have.

use dicom_core::value::Value as DicomValue;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

/// The boundary of every multipart answer (a fixed one: the parts are DICOM or pixel bytes,
/// never text that could contain it by chance at a line start after CRLF).
const BOUNDARY: &str = "station-dicomweb-part-0a8f3c";

pub(super) const MULTIPART_DICOM: &str =
    "multipart/related; type=\"application/dicom\"; boundary=station-dicomweb-part-0a8f3c";
pub(super) const MULTIPART_OCTETS: &str =
    "multipart/related; type=\"application/octet-stream\"; boundary=station-dicomweb-part-0a8f3c";

/// A multipart/related body (RFC 2387) of the parts `(content type, bytes)`.
pub(super) fn multipart<'a>(parts: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Vec<u8> {
    let mut out = Vec::new();
    for (part_type, bytes) in parts {
        out.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Type: {part_type}\r\n\r\n").as_bytes(),
        );
        out.extend_from_slice(bytes);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

/// Frame `n` (1-based) of a stored object: its bytes and the transfer syntax they are in.
pub(super) fn frame_of(
    obj: &InMemDicomObject,
    ts: &str,
    n: usize,
) -> Result<(Vec<u8>, String), String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_constants_use_the_boundary() {
        assert!(MULTIPART_DICOM.ends_with(BOUNDARY));
        assert!(MULTIPART_OCTETS.ends_with(BOUNDARY));
        let body = multipart([("application/dicom", &b"DICM"[..])]);
        let text = String::from_utf8_lossy(&body);
        assert!(text.starts_with(&format!(
            "--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\nDICM\r\n--{BOUNDARY}--"
        )));
    }
}
