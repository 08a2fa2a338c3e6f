//! A second, unrelated JPEG 2000 decoder: hayro-jpeg2000, pure Rust, written from the standard
//! with no OpenJPEG code. Each frame of an encapsulated value must decode to the original values.

use hayro_jpeg2000::{DecodeSettings, DecoderContext, Image as J2k};

use crate::images::Image;

/// The fragments of an encapsulated value (PS3.5 A.4), walked independently of the crate.
pub fn fragments(value: &[u8]) -> Vec<&[u8]> {
    let le32 = |at: usize| u32::from_le_bytes(value[at..at + 4].try_into().unwrap()) as usize;
    let mut pos = 8 + le32(4); // after the Basic Offset Table item
    let mut out = Vec::new();
    while value[pos..pos + 4] == [0xFE, 0xFF, 0x00, 0xE0] {
        let len = le32(pos + 4);
        out.push(&value[pos + 8..pos + 8 + len]);
        pos += 8 + len;
    }
    assert_eq!(value[pos..], [0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
    out
}

/// The original sample values of frame `f`, component by component, read from the native bytes.
fn original(image: &Image, f: usize) -> Vec<Vec<i64>> {
    let d = &image.descriptor;
    let (pixels, samples) = (
        usize::from(d.rows) * usize::from(d.columns),
        usize::from(d.samples_per_pixel),
    );
    let bytes = usize::from(d.bits_allocated / 8);
    let frame = &image.pixels[f * pixels * samples * bytes..][..pixels * samples * bytes];
    let big = d.transfer_syntax_uid == crate::part10::EXPLICIT_VR_BIG_ENDIAN;
    let planar = d.planar_configuration == Some(1);
    (0..samples)
        .map(|s| {
            (0..pixels)
                .map(|p| {
                    let i = if planar {
                        s * pixels + p
                    } else {
                        p * samples + s
                    };
                    let raw = match (bytes, big) {
                        // Big-endian OW words hold two 8-bit samples, swapped.
                        (1, _) if big && d.pixel_data_vr == Some(*b"OW") => i64::from(frame[i ^ 1]),
                        (1, _) => i64::from(frame[i]),
                        (_, false) => {
                            i64::from(u16::from_le_bytes([frame[2 * i], frame[2 * i + 1]]))
                        }
                        (_, true) => {
                            i64::from(u16::from_be_bytes([frame[2 * i], frame[2 * i + 1]]))
                        }
                    };
                    let bits = u32::from(d.bits_stored);
                    let value = raw & ((1 << bits) - 1);
                    if d.pixel_representation == 1 && value >= 1 << (bits - 1) {
                        value - (1 << bits)
                    } else {
                        value
                    }
                })
                .collect()
        })
        .collect()
}

/// Decodes every frame of `value` with hayro and compares it with `image`'s pixels.
pub fn check(image: &Image, value: &[u8]) {
    for (f, codestream) in fragments(value).into_iter().enumerate() {
        // A trailing 00H pads odd codestreams to even length; it is not part of the codestream.
        let codestream = codestream
            .strip_suffix(&[0])
            .filter(|c| c.ends_with(&[0xFF, 0xD9]))
            .unwrap_or(codestream);
        let j2k = J2k::new(codestream, &DecodeSettings::default())
            .unwrap_or_else(|e| panic!("{} frame {f}: hayro: {e:?}", image.name));
        let mut ctx = DecoderContext::default();
        let decoded = j2k
            .decode(&mut ctx)
            .unwrap_or_else(|e| panic!("{} frame {f}: hayro: {e:?}", image.name));
        let want = original(image, f);
        assert_eq!(
            decoded.components().len(),
            want.len(),
            "{} frame {f}",
            image.name
        );
        for (c, (component, want)) in decoded.components().iter().zip(&want).enumerate() {
            let got: Vec<i64> = component.samples().iter().map(|&v| v as i64).collect();
            if let Some(p) = got.iter().zip(want).position(|(a, b)| a != b) {
                panic!(
                    "{} frame {f} component {c}: hayro decodes sample {p} as {}, original {}",
                    image.name, got[p], want[p]
                );
            }
            assert_eq!(got.len(), want.len());
        }
    }
}
