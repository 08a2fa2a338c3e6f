//! One frame to and from a JPEG 2000 lossless codestream (ISO 15444-1, PS3.5 A.4.4) with
//! OpenJPEG: reversible 5/3 wavelet, one quality layer, precision = Bits Stored, signedness =
//! Pixel Representation (PS3.5 8.2.4), and RGB through the reversible colour transform (the
//! dataset then says YBR_RCT).
//!
//! Must never: use the irreversible 9/7 wavelet or the irreversible colour transform.

mod openjpeg;

use crate::descriptor::Layout;
use crate::frame::{self, signed_value};
use openjpeg::{ComponentInfo, EncodeOptions};

fn component_info(layout: &Layout) -> ComponentInfo {
    ComponentInfo {
        precision: layout.precision,
        signed: layout.signed,
    }
}

/// Encodes the frame in `native` (already checked by `frame::check_patterns`). OpenJPEG holds
/// each sample as an `i32`, filled here straight from the native bytes.
pub(crate) fn encode(layout: &Layout, native: &[u8]) -> Result<Vec<u8>, String> {
    let components = vec![component_info(layout); layout.samples];
    let options = EncodeOptions {
        colour_transform: layout.colour_transform,
    };
    openjpeg::encode(
        layout.columns as u32,
        layout.rows as u32,
        &components,
        &options,
        &mut |c, data| {
            for (p, d) in data.iter_mut().enumerate() {
                let pattern = frame::pattern(layout, native, p, c);
                *d = if layout.signed {
                    signed_value(layout, pattern)
                } else {
                    i32::from(pattern)
                };
            }
        },
    )
}

/// Decodes `codestream`, checking it describes exactly the frame we expect and every value lies
/// in the range its precision allows (a decoder would clip one that does not), and hands the
/// decoded bit patterns to `compare` (pattern `i` pixel by pixel, colour samples interleaved)
/// while the decoded image is alive: no second copy of the frame is made.
pub(crate) fn decode<T>(
    layout: &Layout,
    codestream: &[u8],
    compare: impl FnOnce(&dyn Fn(usize) -> u16) -> T,
) -> Result<T, String> {
    let image = openjpeg::decode(codestream)?;
    if (image.width(), image.height()) != (layout.columns as u32, layout.rows as u32) {
        return Err(format!(
            "the codestream is {}×{}, not {}×{}",
            image.width(),
            image.height(),
            layout.columns,
            layout.rows
        ));
    }
    let components = image.components();
    if components.len() != layout.samples {
        return Err(format!(
            "the codestream has {} components, not {}",
            components.len(),
            layout.samples
        ));
    }
    let expected = component_info(layout);
    let (low, high) = if layout.signed {
        (
            -(1i32 << (layout.precision - 1)),
            (1i32 << (layout.precision - 1)) - 1,
        )
    } else {
        (0, (1i32 << layout.precision) - 1)
    };
    let mut planes = Vec::with_capacity(layout.samples);
    for (c, component) in components.into_iter().enumerate() {
        let Some((info, data)) = component else {
            return Err(format!("component {c} does not cover the whole image"));
        };
        if info != expected {
            return Err(format!("component {c} is {info:?}, not {expected:?}"));
        }
        if let Some(p) = data.iter().position(|v| !(low..=high).contains(v)) {
            return Err(format!(
                "component {c} sample {p} decodes to {}, outside {low}..={high}",
                data[p]
            ));
        }
        planes.push(data);
    }
    let mask = u32::from(layout.value_mask());
    let samples = layout.samples;
    Ok(compare(&|i| {
        (planes[i % samples][i / samples] as u32 & mask) as u16
    }))
}
