//! Data elements as bytes (PS3.5 §7): the one table of value representations and their header
//! forms, and reading and writing whole elements byte for byte in little endian (explicit or
//! implicit VR). The header reader (`header`), the corrected-copy writer
//! (`registry::correction`), the PS3.10 file header (`part10`) and the demo's device files
//! all use it.
//!
//! Must never: change a byte of an element it copies, or write a length its header form cannot
//! hold (that is an error).

use std::io::{self, Read};

/// Explicit VRs with a 2-byte length (PS3.5 §7.1.2, Table 7.1-2). Every other VR, those added
/// to the standard later included, has a 2-byte reserved field and a 4-byte length.
pub const SHORT_VRS: [&[u8; 2]; 21] = [
    b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO", b"LT", b"PN",
    b"SH", b"SL", b"SS", b"ST", b"TM", b"UI", b"UL", b"US",
];

/// The VRs with a 4-byte length, as the standard lists them today (PS3.5 Table 7.1-1).
pub const LONG_VRS: [&[u8; 2]; 13] = [
    b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV",
];

/// A value length meaning "up to the delimitation item" (PS3.5 §7.1.1).
pub const UNDEFINED_LENGTH: u32 = 0xFFFF_FFFF;
/// Item, Item Delimitation Item, Sequence Delimitation Item (PS3.5 §7.5).
pub const ITEM: u32 = 0xFFFE_E000;
/// Item Delimitation Item (FFFE,E00D): ends an item of undefined length.
pub const ITEM_END: u32 = 0xFFFE_E00D;
/// Sequence Delimitation Item (FFFE,E0DD): ends a sequence of undefined length.
pub const SEQUENCE_END: u32 = 0xFFFE_E0DD;

/// Whether an explicit-VR header of `vr` has the 4-byte length form.
pub fn has_long_length(vr: [u8; 2]) -> bool {
    !SHORT_VRS.contains(&&vr)
}

/// Whether `vr` is one of the standard's value representations.
pub fn is_known_vr(vr: &[u8]) -> bool {
    LONG_VRS
        .iter()
        .chain(SHORT_VRS.iter())
        .any(|v| &v[..] == vr)
}

/// The tag of 4 little-endian bytes (group, element).
pub fn tag_le(b: [u8; 4]) -> u32 {
    (u32::from(u16::from_le_bytes([b[0], b[1]])) << 16)
        | u32::from(u16::from_le_bytes([b[2], b[3]]))
}

/// Appends an element header: tag, then (explicit VR) the VR and its length form, or
/// (implicit VR) a 4-byte length. An explicit short form cannot hold `len` over 65535.
pub fn write_header(
    out: &mut Vec<u8>,
    tag: u32,
    vr: [u8; 2],
    len: u32,
    explicit: bool,
) -> io::Result<()> {
    out.extend_from_slice(&((tag >> 16) as u16).to_le_bytes());
    out.extend_from_slice(&(tag as u16).to_le_bytes());
    if !explicit {
        out.extend_from_slice(&len.to_le_bytes());
    } else if has_long_length(vr) {
        out.extend_from_slice(&vr);
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&len.to_le_bytes());
    } else {
        let short = u16::try_from(len).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("value of ({tag:08X}) too long for its VR"),
            )
        })?;
        out.extend_from_slice(&vr);
        out.extend_from_slice(&short.to_le_bytes());
    }
    Ok(())
}

/// A whole element: header and `value` (already of even length).
pub fn element(tag: u32, vr: [u8; 2], value: &[u8], explicit: bool) -> io::Result<Vec<u8>> {
    let len = u32::try_from(value.len()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("value of ({tag:08X}) over 4 GiB"),
        )
    })?;
    let mut out = Vec::with_capacity(value.len() + 12);
    write_header(&mut out, tag, vr, len, explicit)?;
    out.extend_from_slice(value);
    Ok(out)
}

/// An item of defined length holding `content` (encoded elements).
pub fn item(content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 8);
    out.extend_from_slice(&((ITEM >> 16) as u16).to_le_bytes());
    out.extend_from_slice(&(ITEM as u16).to_le_bytes());
    out.extend_from_slice(&(content.len() as u32).to_le_bytes());
    out.extend_from_slice(content);
    out
}

/// `value` padded to even length as its VR requires: NUL for UI, OB and UN, space otherwise
/// (PS3.5 §6.2).
pub fn padded(vr: [u8; 2], mut value: Vec<u8>) -> Vec<u8> {
    if value.len() % 2 == 1 {
        value.push(if matches!(&vr, b"UI" | b"OB" | b"UN") {
            0
        } else {
            b' '
        });
    }
    value
}

/// Reads 4 bytes as a little-endian number, keeping them in `out`.
pub fn read_u32(r: &mut impl Read, out: &mut Vec<u8>) -> io::Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    out.extend_from_slice(&b);
    Ok(u32::from_le_bytes(b))
}

/// Reads the rest of an element whose 4 tag bytes are already in `out` (VR, length and value;
/// an undefined length up to its delimiter), appending its bytes unchanged.
pub fn read_rest(r: &mut impl Read, tag: u32, explicit: bool, out: &mut Vec<u8>) -> io::Result<()> {
    let len = if explicit && !matches!(tag, ITEM | ITEM_END | SEQUENCE_END) {
        let mut vr = [0u8; 4];
        r.read_exact(&mut vr)?;
        out.extend_from_slice(&vr);
        if has_long_length([vr[0], vr[1]]) {
            read_u32(r, out)?
        } else {
            u32::from(u16::from_le_bytes([vr[2], vr[3]]))
        }
    } else {
        read_u32(r, out)?
    };
    if len != UNDEFINED_LENGTH {
        let start = out.len();
        out.resize(start + len as usize, 0);
        return r.read_exact(&mut out[start..]);
    }
    // Undefined length: items (or fragments) up to the sequence delimiter; an item of
    // undefined length holds elements up to its item delimiter.
    for _ in 0..1_000_000 {
        let mut t = [0u8; 4];
        r.read_exact(&mut t)?;
        out.extend_from_slice(&t);
        let t = tag_le(t);
        if t == SEQUENCE_END || t == ITEM_END {
            read_u32(r, out)?;
            return Ok(());
        }
        read_rest(r, t, explicit, out)?;
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        "sequence without end",
    ))
}

/// The length of the header of an element whose bytes start with `bytes`.
pub fn header_len(bytes: &[u8], explicit: bool) -> usize {
    match bytes.get(4..6) {
        Some(vr) if explicit && has_long_length([vr[0], vr[1]]) => 12,
        _ => 8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vr_has_one_header_form_and_elements_read_back_unchanged() {
        assert_eq!(LONG_VRS.len() + SHORT_VRS.len(), 34, "PS3.5 lists 34 VRs");
        assert!(LONG_VRS.iter().all(|v| has_long_length(**v)));
        assert!(SHORT_VRS.iter().all(|v| !has_long_length(**v)));
        // A VR added after this was written takes the long form, as the standard says.
        assert!(has_long_length(*b"ZZ"));

        let name = element(
            0x0010_0010,
            *b"PN",
            &padded(*b"PN", b"WANG^XIAO".to_vec()),
            true,
        )
        .expect("element");
        assert_eq!(&name[..8], b"\x10\x00\x10\x00PN\x0a\x00");
        let seq_item = item(&name);
        let seq = element(0x0400_0561, *b"SQ", &seq_item, true).expect("sequence");
        assert_eq!(header_len(&seq, true), 12);
        for bytes in [&name, &seq] {
            let mut r = &bytes[4..];
            let mut out = bytes[..4].to_vec();
            read_rest(
                &mut r,
                tag_le([bytes[0], bytes[1], bytes[2], bytes[3]]),
                true,
                &mut out,
            )
            .expect("read");
            assert_eq!(&out, bytes);
        }
        let too_long = element(0x0010_0010, *b"PN", &vec![b'A'; 70_000], true);
        assert!(too_long.is_err(), "a short form cannot hold 70000 bytes");
    }
}
