//! One frame to and from a JPEG-LS lossless codestream (ISO 14495-1, PS3.5 A.4.3) with CharLS.
//! Samples are coded unsigned with P = the layout's precision: Bits Stored, or Bits Allocated
//! for whole stored words (signed data narrower than its container; see `descriptor::plan`).
//! Colour is coded sample-interleaved with no colour transform (PS3.5 Table 8.2.3-1 allows none).
//!
//! Must never: write a near-lossless (NEAR > 0) codestream.

use charls::{CharLS, FrameInfo, InterleaveMode};

use crate::descriptor::Layout;

fn frame_info(layout: &Layout) -> FrameInfo {
    FrameInfo {
        width: layout.columns as u32,
        height: layout.rows as u32,
        bits_per_sample: layout.precision as i32,
        component_count: layout.samples as i32,
    }
}

/// CharLS takes one byte per sample up to 8 bits, else a native-endian `u16`.
fn one_byte_samples(layout: &Layout) -> bool {
    layout.precision <= 8
}

pub(crate) fn encode(layout: &Layout, patterns: &[u16]) -> Result<Vec<u8>, String> {
    let source: Vec<u8> = if one_byte_samples(layout) {
        patterns.iter().map(|&v| v as u8).collect()
    } else {
        patterns.iter().flat_map(|v| v.to_ne_bytes()).collect()
    };
    let mut codec = CharLS::default();
    if layout.samples > 1 {
        codec
            .set_interleave_mode(InterleaveMode::Sample)
            .map_err(|e| e.to_string())?;
    }
    codec
        .encode(frame_info(layout), 0, &source)
        .map_err(|e| e.to_string())
}

/// Decodes `codestream` into `patterns`, checking it describes exactly the frame we expect.
pub(crate) fn decode(
    layout: &Layout,
    codestream: &[u8],
    patterns: &mut Vec<u16>,
) -> Result<(), String> {
    let info = CharLS::default()
        .get_frame_info(codestream)
        .map_err(|e| e.to_string())?;
    if info != frame_info(layout) {
        return Err(format!(
            "the codestream describes {info:?}, not {:?}",
            frame_info(layout)
        ));
    }
    let bytes = CharLS::default()
        .decode(codestream)
        .map_err(|e| e.to_string())?;
    let expected = layout.samples_per_frame() * if one_byte_samples(layout) { 1 } else { 2 };
    if bytes.len() != expected {
        return Err(format!(
            "decoded {} bytes where the frame has {expected}",
            bytes.len()
        ));
    }
    patterns.clear();
    if one_byte_samples(layout) {
        patterns.extend(bytes.iter().map(|&b| u16::from(b)));
    } else {
        patterns.extend(
            bytes
                .chunks_exact(2)
                .map(|b| u16::from_ne_bytes([b[0], b[1]])),
        );
    }
    Ok(())
}
