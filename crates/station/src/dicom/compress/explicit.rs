//! One data element read in Implicit VR Little Endian and written in Explicit VR Little Endian
//! (PS3.5 7.1.2, 7.1.3): the VR from the standard's dictionary, the context-dependent ones
//! resolved (US or SS by Pixel Representation, OB or OW as OW as PS3.5 A.1 has it for implicit
//! VR), private creators LO, other unknown elements UN, anything of undefined length a sequence.
//! Sequences and items are written with undefined length, so the longer explicit headers inside
//! them never need their lengths recounted. Explicit VR input is copied byte for byte.
//!
//! Must never: change a value's bytes, recurse deeper than [`MAX_STORED_DEPTH`], or trust a
//! length before the bytes are there (values are read through `take`, not pre-allocated).

use std::io::{self, Read};

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry, VirtualVr};
use dicom_core::Tag;
use dicom_dictionary_std::StandardDataDictionary;

use super::CompressError;
use crate::dicom::bounds::MAX_STORED_DEPTH;
use crate::dicom::element::{
    read_rest, tag_le, write_header, ITEM, ITEM_END, SEQUENCE_END, UNDEFINED_LENGTH,
};

/// Item (undefined length), Item Delimitation Item and Sequence Delimitation Item, little endian.
const ITEM_UNDEFINED: [u8; 8] = [0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF];
const ITEM_DELIMITATION: [u8; 8] = [0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0];
const SEQUENCE_DELIMITATION: [u8; 8] = [0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0];
/// Items per sequence and elements per item at most: a bound on every loop over input.
const MAX_COUNT: usize = 1_000_000;

/// Reads 4 tag bytes; None at a clean end of input.
pub(super) fn read_tag(r: &mut dyn Read) -> io::Result<Option<[u8; 4]>> {
    let mut t = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match r.read(&mut t[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Some(t))
}

/// The rest of the element whose tag bytes `t` were just read, whole, in Explicit VR Little
/// Endian. `signed`: Pixel Representation is 1 (for the US-or-SS elements).
pub(super) fn element(
    r: &mut dyn Read,
    t: [u8; 4],
    implicit: bool,
    signed: bool,
) -> Result<Vec<u8>, CompressError> {
    let tag = tag_le(t);
    let mut out = Vec::new();
    if implicit {
        convert(r, tag, signed, 0, &mut out)?;
    } else {
        out.extend_from_slice(&t);
        read_rest(&mut &mut *r, tag, true, &mut out)?;
    }
    Ok(out)
}

fn read_u32(r: &mut dyn Read) -> io::Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

/// The explicit VR of an implicit element (PS3.6 for standard tags, PS3.5 7.8 for private ones).
fn vr_of(tag: u32, len: u32, signed: bool) -> [u8; 2] {
    let (group, number) = ((tag >> 16) as u16, tag as u16);
    if len == UNDEFINED_LENGTH {
        return *b"SQ";
    }
    if number == 0 {
        return *b"UL";
    }
    if group % 2 == 1 {
        return if (0x0010..=0x00FF).contains(&number) {
            *b"LO"
        } else {
            *b"UN"
        };
    }
    match StandardDataDictionary
        .by_tag(Tag(group, number))
        .map(|e| e.vr())
    {
        Some(VirtualVr::Exact(vr)) => vr.to_bytes(),
        Some(VirtualVr::Xs) if signed => *b"SS",
        Some(VirtualVr::Xs) => *b"US",
        Some(VirtualVr::Ox | VirtualVr::Px | VirtualVr::Lt) => *b"OW",
        _ => *b"UN",
    }
}

fn malformed(what: &str) -> CompressError {
    CompressError::Malformed(what.to_string())
}

fn convert(
    r: &mut dyn Read,
    tag: u32,
    signed: bool,
    depth: usize,
    out: &mut Vec<u8>,
) -> Result<(), CompressError> {
    let len = read_u32(r)?;
    let vr = vr_of(tag, len, signed);
    if &vr == b"SQ" {
        return sequence(r, tag, len, signed, depth, out);
    }
    let mut value = Vec::new();
    (&mut *r).take(u64::from(len)).read_to_end(&mut value)?;
    if value.len() as u64 != u64::from(len) {
        return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
    }
    write_header(out, tag, vr, len, true)?;
    out.extend_from_slice(&value);
    Ok(())
}

fn sequence(
    r: &mut dyn Read,
    tag: u32,
    len: u32,
    signed: bool,
    depth: usize,
    out: &mut Vec<u8>,
) -> Result<(), CompressError> {
    if depth >= MAX_STORED_DEPTH {
        return Err(malformed("sequences nested too deeply"));
    }
    write_header(out, tag, *b"SQ", UNDEFINED_LENGTH, true)?;
    if len == UNDEFINED_LENGTH {
        contents(r, signed, depth, out, false, Holds::Items)?;
    } else {
        let mut body = (&mut *r).take(u64::from(len));
        contents(&mut body, signed, depth, out, true, Holds::Items)?;
        if body.limit() != 0 {
            return Err(malformed("a sequence ends inside an item"));
        }
    }
    out.extend_from_slice(&SEQUENCE_DELIMITATION);
    Ok(())
}

/// The next tag inside a sequence or item; None at the end of a defined-length one's bytes
/// (running out of an undefined-length one is an error).
fn next_tag(r: &mut dyn Read, defined: bool, what: &str) -> Result<Option<[u8; 4]>, CompressError> {
    match read_tag(r)? {
        None if !defined => Err(CompressError::Malformed(format!(
            "{what} without its delimiter"
        ))),
        t => Ok(t),
    }
}

/// What a sequence or an item holds.
#[derive(Clone, Copy, PartialEq)]
enum Holds {
    Items,
    Elements,
}

/// A sequence's items or an item's elements, up to the end of its bytes (defined length) or its
/// delimiter.
fn contents(
    r: &mut dyn Read,
    signed: bool,
    depth: usize,
    out: &mut Vec<u8>,
    defined: bool,
    holds: Holds,
) -> Result<(), CompressError> {
    let (what, end) = match holds {
        Holds::Items => ("a sequence", SEQUENCE_END),
        Holds::Elements => ("an item", ITEM_END),
    };
    for _ in 0..MAX_COUNT {
        let Some(t) = next_tag(r, defined, what)? else {
            return Ok(());
        };
        let tag = tag_le(t);
        if tag == end && !defined {
            read_u32(r)?;
            return Ok(());
        }
        match holds {
            Holds::Elements => convert(r, tag, signed, depth + 1, out)?,
            Holds::Items if tag == ITEM => item(r, signed, depth, out)?,
            Holds::Items => return Err(malformed("a sequence holds something other than items")),
        }
    }
    Err(CompressError::Malformed(format!("{what} holds too much")))
}

/// One item, written with undefined length.
fn item(
    r: &mut dyn Read,
    signed: bool,
    depth: usize,
    out: &mut Vec<u8>,
) -> Result<(), CompressError> {
    let len = read_u32(r)?;
    out.extend_from_slice(&ITEM_UNDEFINED);
    if len == UNDEFINED_LENGTH {
        contents(r, signed, depth, out, false, Holds::Elements)?;
    } else {
        let mut body = (&mut *r).take(u64::from(len));
        contents(&mut body, signed, depth, out, true, Holds::Elements)?;
    }
    out.extend_from_slice(&ITEM_DELIMITATION);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dicom::element::{element as encode, item};

    /// An implicit dataset with a nested defined-length sequence comes out explicit, with
    /// sequences and items of undefined length and every value unchanged.
    #[test]
    fn implicit_elements_become_explicit_with_values_unchanged() {
        let rows = encode(0x0028_0010, *b"US", &4u16.to_le_bytes(), false).unwrap();
        let code = encode(0x0008_0100, *b"SH", b"T-1234", false).unwrap();
        let seq = encode(0x0008_1032, *b"SQ", &item(&code), false).unwrap();
        let smallest = encode(0x0028_0106, *b"US", &(-5i16).to_le_bytes(), false).unwrap();
        let private = encode(0x0009_1001, *b"UN", b"ab", false).unwrap();
        let mut converted = Vec::new();
        for bytes in [&rows, &seq, &smallest, &private] {
            let mut r: &[u8] = &bytes[4..];
            let t = [bytes[0], bytes[1], bytes[2], bytes[3]];
            converted.extend(element(&mut r, t, true, true).unwrap());
            assert!(r.is_empty());
        }
        let mut expected = encode(0x0028_0010, *b"US", &4u16.to_le_bytes(), true).unwrap();
        expected.extend_from_slice(&[0x08, 0x00, 0x32, 0x10, b'S', b'Q', 0, 0]);
        expected.extend_from_slice(&[0xFF; 4]);
        expected.extend_from_slice(&ITEM_UNDEFINED);
        expected.extend(encode(0x0008_0100, *b"SH", b"T-1234", true).unwrap());
        expected.extend_from_slice(&ITEM_DELIMITATION);
        expected.extend_from_slice(&SEQUENCE_DELIMITATION);
        expected.extend(encode(0x0028_0106, *b"SS", &(-5i16).to_le_bytes(), true).unwrap());
        expected.extend(encode(0x0009_1001, *b"UN", b"ab", true).unwrap());
        assert_eq!(converted, expected);
    }

    #[test]
    fn a_length_past_the_input_is_an_error_not_an_allocation() {
        let bytes = [0x10, 0x00, 0x10, 0x00, 0xF0, 0xFF, 0xFF, 0x7F, b'a'];
        let mut r: &[u8] = &bytes[4..];
        assert!(element(&mut r, [0x10, 0x00, 0x10, 0x00], true, false).is_err());
    }
}
