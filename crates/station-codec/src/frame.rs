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

/// The bit patterns of `native` (one frame) into `patterns`, pixel by pixel. `Err(())` when a
/// sample has bits above High Bit that its pattern does not account for (overlay planes in
/// unused bits, or signed data that is not sign-extended): compression would drop them.
pub(crate) fn to_patterns(
    layout: &Layout,
    native: &[u8],
    patterns: &mut Vec<u16>,
) -> Result<(), ()> {
    debug_assert_eq!(native.len(), layout.frame_len());
    let mask = layout.value_mask();
    patterns.clear();
    patterns.reserve(layout.samples_per_frame());
    for p in 0..layout.pixels() {
        for s in 0..layout.samples {
            let raw = read_sample(layout, native, native_index(layout, p, s));
            let pattern = raw & mask;
            if expand(layout, pattern) != raw {
                return Err(());
            }
            patterns.push(pattern);
        }
    }
    Ok(())
}

/// The native bytes of one frame rebuilt from its bit patterns, into `native`.
pub(crate) fn to_native(layout: &Layout, patterns: &[u16], native: &mut Vec<u8>) {
    debug_assert_eq!(patterns.len(), layout.samples_per_frame());
    native.clear();
    native.resize(layout.frame_len(), 0);
    for p in 0..layout.pixels() {
        for s in 0..layout.samples {
            let raw = expand(layout, patterns[p * layout.samples + s]);
            write_sample(layout, native, native_index(layout, p, s), raw);
        }
    }
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

    #[test]
    fn signed_12_bit_round_trips_through_its_pattern() {
        let l = layout(2, 12, true, false, false);
        // -1 and -2048 sign-extended in 16 bits.
        let native = [0xFF, 0xFF, 0x00, 0xF8];
        let mut patterns = Vec::new();
        to_patterns(&l, &native, &mut patterns).unwrap();
        assert_eq!(patterns, vec![0x0FFF, 0x0800]);
        assert_eq!(signed_value(&l, patterns[1]), -2048);
        let mut back = Vec::new();
        to_native(&l, &patterns, &mut back);
        assert_eq!(back, native);
    }

    #[test]
    fn bits_above_high_bit_are_refused() {
        let l = layout(2, 12, false, false, false);
        assert!(to_patterns(&l, &[0x00, 0x10, 0x00, 0x00], &mut Vec::new()).is_err());
        // Signed data that is not sign-extended is refused too.
        let s = layout(2, 12, true, false, false);
        assert!(to_patterns(&s, &[0xFF, 0x0F, 0x00, 0x00], &mut Vec::new()).is_err());
    }

    #[test]
    fn planar_big_endian_becomes_interleaved_patterns() {
        let l = layout(2, 16, false, true, true);
        // R R G G B B, each big-endian.
        let native = [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6];
        let mut patterns = Vec::new();
        to_patterns(&l, &native, &mut patterns).unwrap();
        assert_eq!(patterns, vec![1, 3, 5, 2, 4, 6]);
        let mut back = Vec::new();
        to_native(&l, &patterns, &mut back);
        assert_eq!(back, native);
    }
}
