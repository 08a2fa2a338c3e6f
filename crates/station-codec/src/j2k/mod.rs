//! One frame to and from a JPEG 2000 lossless codestream (ISO 15444-1, PS3.5 A.4.4) with
//! OpenJPEG: reversible 5/3 wavelet, one quality layer, precision = Bits Stored, signedness =
//! Pixel Representation (PS3.5 8.2.4), and RGB through the reversible colour transform (the
//! dataset then says YBR_RCT).
//!
//! Must never: use the irreversible 9/7 wavelet or the irreversible colour transform.

mod openjpeg;

use crate::descriptor::Layout;
use crate::frame::signed_value;
use openjpeg::{ComponentInfo, EncodeOptions};

fn component_info(layout: &Layout) -> ComponentInfo {
    ComponentInfo {
        precision: layout.precision,
        signed: layout.signed,
    }
}

pub(crate) fn encode(layout: &Layout, patterns: &[u16]) -> Result<Vec<u8>, String> {
    let components = vec![component_info(layout); layout.samples];
    let options = EncodeOptions {
        colour_transform: layout.colour_transform,
    };
    let samples = layout.samples;
    openjpeg::encode(
        layout.columns as u32,
        layout.rows as u32,
        &components,
        &options,
        &mut |c, data| {
            let values = patterns.iter().skip(c).step_by(samples);
            for (d, &pattern) in data.iter_mut().zip(values) {
                *d = if layout.signed {
                    signed_value(layout, pattern)
                } else {
                    i32::from(pattern)
                };
            }
        },
    )
}

/// Decodes `codestream` into `patterns`, checking it describes exactly the frame we expect and
/// every value lies in the range its precision allows (a decoder would clip one that does not).
pub(crate) fn decode(
    layout: &Layout,
    codestream: &[u8],
    patterns: &mut Vec<u16>,
) -> Result<(), String> {
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
    let mask = u32::from(layout.value_mask());
    patterns.clear();
    patterns.resize(layout.samples_per_frame(), 0);
    for (c, component) in components.into_iter().enumerate() {
        let Some((info, data)) = component else {
            return Err(format!("component {c} does not cover the whole image"));
        };
        if info != expected {
            return Err(format!("component {c} is {info:?}, not {expected:?}"));
        }
        for (p, &value) in data.iter().enumerate() {
            if !(low..=high).contains(&value) {
                return Err(format!(
                    "component {c} sample {p} decodes to {value}, outside {low}..={high}"
                ));
            }
            patterns[p * layout.samples + c] = (value as u32 & mask) as u16;
        }
    }
    Ok(())
}
