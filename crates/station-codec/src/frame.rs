//! One frame between its native bytes (PS3.5 8.1: byte order, Planar Configuration, bits above
//! High Bit) and the form both codecs start from: each sample's bit pattern at the coded
//! precision (Bits Stored, or all of Bits Allocated), pixel by pixel (colour samples
//! interleaved), in a `u16`.
//!
//! Must never: change a sample value; a frame whose native bytes cannot be rebuilt exactly from
//! its bit patterns is refused here rather than silently normalised.

use crate::descriptor::Layout;

/// The native sample that bit pattern `pattern` is written as: sign-extended through Bits
/// Allocated for signed data, as is for unsigned (PS3.5 8.1.1).
fn expand(layout: &Layout, pattern: u16) -> u16 {
    let sign_bit = 1u16 << (layout.precision - 1);
    if layout.signed && pattern & sign_bit != 0 {
        let allocated_mask = if layout.bytes_per_sample == 1 {
            0x00FF
        } else {
            0xFFFF
        };
        pattern | (!layout.value_mask() & allocated_mask)
    } else {
        pattern
    }
}

/// Where sample `s` of pixel `p` sits in the native frame, counted in samples.
fn native_index(layout: &Layout, p: usize, s: usize) -> usize {
    if layout.planar {
        s * layout.pixels() + p
    } else {
        p * layout.samples + s
    }
}

fn read_sample(layout: &Layout, native: &[u8], index: usize) -> u16 {
    match (layout.bytes_per_sample, layout.big_endian) {
        (1, false) => u16::from(native[index]),
        (1, true) => u16::from(native[index ^ 1]),
        (_, false) => u16::from_le_bytes([native[2 * index], native[2 * index + 1]]),
        (_, true) => u16::from_be_bytes([native[2 * index], native[2 * index + 1]]),
    }
}

fn write_sample(layout: &Layout, native: &mut [u8], index: usize, raw: u16) {
    match (layout.bytes_per_sample, layout.big_endian) {
        (1, false) => native[index] = raw as u8,
        (1, true) => native[index ^ 1] = raw as u8,
        (_, false) => native[2 * index..2 * index + 2].copy_from_slice(&raw.to_le_bytes()),
        (_, true) => native[2 * index..2 * index + 2].copy_from_slice(&raw.to_be_bytes()),
    }
}

/// `Err(())` when a sample of `native` (one frame) has bits above High Bit that its bit pattern
/// does not account for (overlay planes in unused bits, or signed data that is not
/// sign-extended): compression would drop them. Once this holds, every native sample is
/// `expand` of its pattern, so the codecs can read patterns straight from the native bytes
/// ([`pattern`]) instead of from a converted copy of the frame.
pub(crate) fn check_patterns(layout: &Layout, native: &[u8]) -> Result<(), ()> {
    debug_assert_eq!(native.len(), layout.frame_len());
    let mask = layout.value_mask();
    for index in 0..layout.samples_per_frame() {
        let raw = read_sample(layout, native, index);
        if expand(layout, raw & mask) != raw {
            return Err(());
        }
    }
    Ok(())
}

/// The bit pattern of sample `s` of pixel `p` in `native` (one frame).
pub(crate) fn pattern(layout: &Layout, native: &[u8], p: usize, s: usize) -> u16 {
    read_sample(layout, native, native_index(layout, p, s)) & layout.value_mask()
}

/// Native samples rebuilt per comparison step: 64 KiB of a 16-bit frame, an even count so a
/// byte-swapped 8-bit pair never straddles two steps.
const CHUNK_SAMPLES: usize = 32 * 1024;

/// Rebuilds the native bytes of one frame from its decoded bit patterns (`decoded(i)` is pattern
/// `i`, pixel by pixel, colour samples interleaved) and compares them with `native`: the offset
/// of the first byte that differs, or `None`. The rebuilt frame is made and compared a chunk at a
/// time, so the check costs no second copy of the frame.
pub(crate) fn first_difference(
    layout: &Layout,
    native: &[u8],
    decoded: impl Fn(usize) -> u16,
) -> Option<usize> {
    debug_assert_eq!(native.len(), layout.frame_len());
    let total = layout.samples_per_frame();
    let mut rebuilt = vec![0u8; CHUNK_SAMPLES * layout.bytes_per_sample];
    for first in (0..total).step_by(CHUNK_SAMPLES) {
        let count = CHUNK_SAMPLES.min(total - first);
        for i in 0..count {
            // Native sample n is decoded pattern n, unless the frame is colour-by-plane
            // (Planar Configuration 1, PS3.5 8.1.3): then it is sample s of pixel p.
            let n = first + i;
            let pattern = if layout.planar {
                let (p, s) = (n % layout.pixels(), n / layout.pixels());
                p * layout.samples + s
            } else {
                n
            };
            let raw = expand(layout, decoded(pattern));
            write_sample(layout, &mut rebuilt, i, raw);
        }
        let bytes = first * layout.bytes_per_sample..(first + count) * layout.bytes_per_sample;
        let offset = bytes.start;
        if let Some(at) = rebuilt[..bytes.len()]
            .iter()
            .zip(&native[bytes])
            .position(|(a, b)| a != b)
        {
            return Some(offset + at);
        }
    }
    None
}

/// A signed sample's value from its bit pattern (two's complement in Bits Stored bits).
pub(crate) fn signed_value(layout: &Layout, pattern: u16) -> i32 {
    let shift = 32 - layout.precision;
    ((u32::from(pattern) << shift) as i32) >> shift
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(bytes: usize, bits: u32, signed: bool, planar: bool, big_endian: bool) -> Layout {
        Layout {
            rows: 1,
            columns: 2,
            samples: if planar { 3 } else { 1 },
            bytes_per_sample: bytes,
            precision: bits,
            signed,
            planar,
            big_endian,
            frames: 1,
            colour_transform: false,
        }
    }

    /// The patterns of a frame, pixel by pixel, as the codecs read them.
    fn patterns(l: &Layout, native: &[u8]) -> Vec<u16> {
        (0..l.samples_per_frame())
            .map(|i| pattern(l, native, i / l.samples, i % l.samples))
            .collect()
    }

    #[test]
    fn signed_12_bit_round_trips_through_its_pattern() {
        let l = layout(2, 12, true, false, false);
        // -1 and -2048 sign-extended in 16 bits.
        let native = [0xFF, 0xFF, 0x00, 0xF8];
        check_patterns(&l, &native).unwrap();
        let p = patterns(&l, &native);
        assert_eq!(p, vec![0x0FFF, 0x0800]);
        assert_eq!(signed_value(&l, p[1]), -2048);
        assert_eq!(first_difference(&l, &native, |i| p[i]), None);
    }

    #[test]
    fn bits_above_high_bit_are_refused() {
        let l = layout(2, 12, false, false, false);
        assert!(check_patterns(&l, &[0x00, 0x10, 0x00, 0x00]).is_err());
        // Signed data that is not sign-extended is refused too.
        let s = layout(2, 12, true, false, false);
        assert!(check_patterns(&s, &[0xFF, 0x0F, 0x00, 0x00]).is_err());
    }

    #[test]
    fn planar_big_endian_becomes_interleaved_patterns() {
        let l = layout(2, 16, false, true, true);
        // R R G G B B, each big-endian.
        let native = [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6];
        let p = patterns(&l, &native);
        assert_eq!(p, vec![1, 3, 5, 2, 4, 6]);
        assert_eq!(first_difference(&l, &native, |i| p[i]), None);
        // The second G sample (native bytes 6–7) decoded one lower: its low byte differs.
        let mut wrong = p.clone();
        wrong[4] -= 1;
        assert_eq!(first_difference(&l, &native, |i| wrong[i]), Some(7));
    }

    /// A difference past the first comparison chunk is found at its own offset.
    #[test]
    fn a_difference_in_a_later_chunk_is_found_where_it_is() {
        let mut l = layout(2, 16, false, false, false);
        l.columns = 3 * CHUNK_SAMPLES / 2 + 1;
        let native: Vec<u8> = (0..l.pixels() as u32)
            .flat_map(|v| (v as u16).to_le_bytes())
            .collect();
        let p = patterns(&l, &native);
        assert_eq!(first_difference(&l, &native, |i| p[i]), None);
        let at = CHUNK_SAMPLES + 5;
        assert_eq!(
            first_difference(&l, &native, |i| p[i] ^ u16::from(i == at) << 8),
            Some(2 * at + 1)
        );
    }
}
