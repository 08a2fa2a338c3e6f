//! One data element read as received and written in Explicit VR Little Endian (PS3.5 7.1.2,
//! 7.3). Implicit VR Little Endian: the VR from the standard's dictionary, the context-dependent
//! ones resolved (US or SS by Pixel Representation, OB or OW as OW as PS3.5 A.1 has it for
//! implicit VR), private creators LO, other unknown elements UN, anything of undefined length a
//! sequence. Explicit VR Big Endian (PS3.5 A.3, retired but still sent by old devices): tags and
//! lengths read big endian, and the values of the VRs that hold binary numbers byte-swapped by
//! their number's size (PS3.5 7.3: US, SS, OW and AT by 16 bits, UL, SL, FL, OL and OF by 32, FD,
//! OD, OV, SV and UV by 64); text, OB and UN are bytes in either order and kept; the items of
//! sequences are big endian too, and converted the same way.
//! Sequences and items are written with undefined length, so the longer explicit headers inside
//! them never need their lengths recounted. Explicit VR Little Endian input is copied byte for
//! byte.
//!
//! Must never: change a value other than by the byte order its VR says, recurse deeper than
//! [`MAX_STORED_DEPTH`], or trust a length before the bytes are there (values are read through
//! `take`, not pre-allocated).

use std::io::{self, Read};

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry, VirtualVr};
use dicom_core::Tag;
use dicom_dictionary_std::StandardDataDictionary;

use super::CompressError;
use crate::dicom::bounds::MAX_STORED_DEPTH;
use crate::dicom::element::{
    has_long_length, read_rest, tag_le, write_header, ITEM, ITEM_END, SEQUENCE_END,
    UNDEFINED_LENGTH,
};

/// Item (undefined length), Item Delimitation Item and Sequence Delimitation Item, little endian.
const ITEM_UNDEFINED: [u8; 8] = [0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF];
const ITEM_DELIMITATION: [u8; 8] = [0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0];
const SEQUENCE_DELIMITATION: [u8; 8] = [0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0];
/// Items per sequence and elements per item at most: a bound on every loop over input.
const MAX_COUNT: usize = 1_000_000;

/// How the received dataset is encoded (a deflated one is Explicit VR Little Endian once
/// inflated, PS3.5 A.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    ImplicitLe,
    ExplicitLe,
    ExplicitBe,
}

impl Source {
    /// The tag of 4 bytes as read (group, then element, each in the source's byte order).
    pub(super) fn tag(self, t: [u8; 4]) -> u32 {
        match self {
            Source::ExplicitBe => {
                (u32::from(u16::from_be_bytes([t[0], t[1]])) << 16)
                    | u32::from(u16::from_be_bytes([t[2], t[3]]))
            }
            Source::ImplicitLe | Source::ExplicitLe => tag_le(t),
        }
    }

    /// A 16- or 32-bit number of `b` in the source's byte order.
    pub(super) fn number(self, b: &[u8]) -> u32 {
        let fold = |acc: u32, x: &u8| (acc << 8) | u32::from(*x);
        match self {
            Source::ExplicitBe => b.iter().fold(0, fold),
            Source::ImplicitLe | Source::ExplicitLe => b.iter().rev().fold(0, fold),
        }
    }
}

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
/// Endian. `signed`: Pixel Representation is 1 (for the US-or-SS elements of implicit VR).
pub(super) fn element(
    r: &mut dyn Read,
    t: [u8; 4],
    source: Source,
    signed: bool,
) -> Result<Vec<u8>, CompressError> {
    let mut out = Vec::new();
    if source == Source::ExplicitLe {
        out.extend_from_slice(&t);
        read_rest(&mut &mut *r, tag_le(t), true, &mut out)?;
    } else {
        convert(r, source, source.tag(t), signed, 0, &mut out)?;
    }
    Ok(out)
}

fn read_u32(r: &mut dyn Read, source: Source) -> io::Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(source.number(&b))
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

/// The VR and value length of an explicit big-endian element whose tag was read (PS3.5 7.1.2).
fn explicit_header(r: &mut dyn Read) -> io::Result<([u8; 2], u32)> {
    let mut h = [0u8; 4];
    r.read_exact(&mut h)?;
    let vr = [h[0], h[1]];
    // Not a VR: the bytes are not the big endian dataset the meta group says.
    if !vr.iter().all(u8::is_ascii_uppercase) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "an element without a value representation",
        ));
    }
    if has_long_length(vr) {
        Ok((vr, read_u32(r, Source::ExplicitBe)?))
    } else {
        Ok((vr, Source::ExplicitBe.number(&h[2..])))
    }
}

/// The size of the numbers a value of `vr` holds, swapped between big and little endian
/// (PS3.5 7.3); None for the bytes that are the same in both (text, OB, UN). An AT value is two
/// 16-bit numbers, group and element.
pub(super) fn number_size(vr: [u8; 2]) -> Option<usize> {
    match &vr {
        b"US" | b"SS" | b"OW" | b"AT" => Some(2),
        b"UL" | b"SL" | b"FL" | b"OL" | b"OF" => Some(4),
        b"FD" | b"OD" | b"OV" | b"SV" | b"UV" => Some(8),
        _ => None,
    }
}

fn malformed(what: &str) -> CompressError {
    CompressError::Malformed(what.to_string())
}

fn convert(
    r: &mut dyn Read,
    source: Source,
    tag: u32,
    signed: bool,
    depth: usize,
    out: &mut Vec<u8>,
) -> Result<(), CompressError> {
    let (vr, len) = if source == Source::ExplicitBe {
        explicit_header(r)?
    } else {
        let len = read_u32(r, source)?;
        (vr_of(tag, len, signed), len)
    };
    if &vr == b"SQ" {
        return sequence(r, source, tag, len, signed, depth, out);
    }
    if len == UNDEFINED_LENGTH {
        // PS3.5 6.2.2: a UN value of undefined length is a sequence encoded in Implicit VR
        // Little Endian whatever the dataset's transfer syntax: its bytes are kept.
        if &vr != b"UN" {
            return Err(CompressError::Malformed(format!(
                "({tag:08X}) {} of undefined length",
                String::from_utf8_lossy(&vr)
            )));
        }
        write_header(out, tag, vr, UNDEFINED_LENGTH, true)?;
        // `read_rest` reads the length itself: it is given back ahead of the contents.
        let length = UNDEFINED_LENGTH.to_le_bytes();
        let mut rest = (&length[..]).chain(&mut *r);
        let mut contents = Vec::new();
        read_rest(&mut rest, tag, false, &mut contents)?;
        out.extend_from_slice(&contents[4..]);
        return Ok(());
    }
    let mut value = Vec::new();
    (&mut *r).take(u64::from(len)).read_to_end(&mut value)?;
    if value.len() as u64 != u64::from(len) {
        return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
    }
    if source == Source::ExplicitBe {
        if let Some(size) = number_size(vr) {
            if value.len() % size != 0 {
                return Err(CompressError::Malformed(format!(
                    "({tag:08X}) {}: {} bytes are not whole numbers",
                    String::from_utf8_lossy(&vr),
                    value.len()
                )));
            }
            value.chunks_exact_mut(size).for_each(<[u8]>::reverse);
        }
    }
    write_header(out, tag, vr, len, true)?;
    out.extend_from_slice(&value);
    Ok(())
}

fn sequence(
    r: &mut dyn Read,
    source: Source,
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
    let walk = Walk {
        source,
        signed,
        depth,
    };
    if len == UNDEFINED_LENGTH {
        walk.contents(r, out, false, Holds::Items)?;
    } else {
        let mut body = (&mut *r).take(u64::from(len));
        walk.contents(&mut body, out, true, Holds::Items)?;
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

/// Where a walk through a sequence is: the source's encoding, Pixel Representation, the depth.
#[derive(Clone, Copy)]
struct Walk {
    source: Source,
    signed: bool,
    depth: usize,
}

impl Walk {
    /// A sequence's items or an item's elements, up to the end of its bytes (defined length) or
    /// its delimiter.
    fn contents(
        self,
        r: &mut dyn Read,
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
            let tag = self.source.tag(t);
            if tag == end && !defined {
                read_u32(r, self.source)?;
                return Ok(());
            }
            match holds {
                Holds::Elements => convert(r, self.source, tag, self.signed, self.depth + 1, out)?,
                Holds::Items if tag == ITEM => self.item(r, out)?,
                Holds::Items => {
                    return Err(malformed("a sequence holds something other than items"))
                }
            }
        }
        Err(CompressError::Malformed(format!("{what} holds too much")))
    }

    /// One item, written with undefined length.
    fn item(self, r: &mut dyn Read, out: &mut Vec<u8>) -> Result<(), CompressError> {
        let len = read_u32(r, self.source)?;
        out.extend_from_slice(&ITEM_UNDEFINED);
        if len == UNDEFINED_LENGTH {
            self.contents(r, out, false, Holds::Elements)?;
        } else {
            let mut body = (&mut *r).take(u64::from(len));
            self.contents(&mut body, out, true, Holds::Elements)?;
        }
        out.extend_from_slice(&ITEM_DELIMITATION);
        Ok(())
    }
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
            converted.extend(element(&mut r, t, Source::ImplicitLe, true).unwrap());
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
        assert!(element(&mut r, [0x10, 0x00, 0x10, 0x00], Source::ImplicitLe, false).is_err());
    }
}
