//! One frame to and from a JPEG-LS lossless codestream (ISO 14495-1, PS3.5 A.4.3) with CharLS.
//! Samples are coded unsigned with P = the layout's precision: Bits Stored, or Bits Allocated
//! for whole stored words (signed data narrower than its container; see `descriptor::plan`).
//! Colour is coded sample-interleaved with no colour transform (PS3.5 Table 8.2.3-1 allows none).
//!
//! Must never: write a near-lossless (NEAR > 0) codestream.

use charls::{CharLS, FrameInfo, InterleaveMode};

use crate::descriptor::Layout;
use crate::frame;

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

/// True when `native` already is the buffer CharLS takes: samples in the order it codes them
/// (interleaved), as wide as it wants them, in this machine's byte order (little endian), and
/// each equal to its bit pattern (unsigned; `frame::check_patterns` has ruled out bits above
/// High Bit). The usual radiograph (16-bit little-endian, 12 bits stored) is, and is then
/// encoded without a converted copy.
fn native_is_charls_input(layout: &Layout) -> bool {
    !layout.signed
        && !layout.planar
        && !layout.big_endian
        && cfg!(target_endian = "little")
        && one_byte_samples(layout) == (layout.bytes_per_sample == 1)
}

/// Encodes the frame in `native` (already checked by `frame::check_patterns`).
pub(crate) fn encode(layout: &Layout, native: &[u8]) -> Result<Vec<u8>, String> {
    let converted: Vec<u8>;
    let source: &[u8] = if native_is_charls_input(layout) {
        native
    } else {
        let samples = layout.samples;
        let patterns = (0..layout.samples_per_frame())
            .map(|i| frame::pattern(layout, native, i / samples, i % samples));
        converted = if one_byte_samples(layout) {
            patterns.map(|v| v as u8).collect()
        } else {
            // Sized up front: a growing Vec would pass through twice the frame on its way.
            let mut bytes = Vec::with_capacity(2 * layout.samples_per_frame());
            bytes.extend(patterns.flat_map(u16::to_ne_bytes));
            bytes
        };
        &converted
    };
    let mut codec = CharLS::default();
    if layout.samples > 1 {
        codec
            .set_interleave_mode(InterleaveMode::Sample)
            .map_err(|e| e.to_string())?;
    }
    // The charls crate copies `source` once more inside: the frame and that copy are no more
    // than the check holds later (the frame and its decoded copy), so avoiding it through
    // CharLS's C API would not lower the peak. Its output buffer is sized for the worst case
    // but zero-allocated, so only the pages the codestream fills are ever resident.
    codec
        .encode(frame_info(layout), 0, source)
        .map_err(|e| e.to_string())
}

/// Decodes `codestream`, checking it describes exactly the frame we expect, and returns the
/// decoded samples as CharLS gives them (read them with [`decoded_pattern`]).
pub(crate) fn decode(layout: &Layout, codestream: &[u8]) -> Result<Vec<u8>, String> {
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
    Ok(bytes)
}

/// Bit pattern `i` (pixel by pixel, colour samples interleaved) of what [`decode`] returned.
pub(crate) fn decoded_pattern(layout: &Layout, decoded: &[u8], i: usize) -> u16 {
    if one_byte_samples(layout) {
        u16::from(decoded[i])
    } else {
        u16::from_ne_bytes([decoded[2 * i], decoded[2 * i + 1]])
    }
}
