//! The encapsulated Pixel Data value (PS3.5 A.4): an Item holding the Basic Offset Table, one
//! Item (fragment) per frame, then the Sequence Delimitation Item. The table's size is known
//! before the first frame (four bytes per frame), so it is written as zeros first and filled in
//! by seeking back once every fragment's offset is known: no frame is held back in memory.
//!
//! Must never: write a fragment of odd length, or an offset that does not point at its frame's
//! Item tag.

use std::io::{Seek, SeekFrom, Write};

use crate::{EncodeError, NotCompressible};

/// (7FE0,0010) Pixel Data, OB, undefined length, in Explicit VR Little Endian (PS3.5 7.1.2):
/// what goes in front of the value [`crate::PixelEncoder::encode`] writes.
pub const ENCAPSULATED_PIXEL_DATA_HEADER: [u8; 12] = [
    0xE0, 0x7F, 0x10, 0x00, b'O', b'B', 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF,
];

/// (FFFE,E000) Item tag, little endian.
const ITEM_TAG: [u8; 4] = [0xFE, 0xFF, 0x00, 0xE0];
/// (FFFE,E0DD) Sequence Delimitation Item with its zero length.
const SEQUENCE_DELIMITATION: [u8; 8] = [0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0];
/// The largest Item length: 0xFFFFFFFF means undefined length.
const MAX_ITEM_LEN: u64 = 0xFFFF_FFFE;

fn write_item_header(out: &mut impl Write, len: u32) -> Result<(), EncodeError> {
    out.write_all(&ITEM_TAG).map_err(EncodeError::Write)?;
    out.write_all(&len.to_le_bytes())
        .map_err(EncodeError::Write)
}

/// Writes one encapsulated value, fragment by fragment.
pub(crate) struct Fragments {
    frames: u32,
    /// Where the Basic Offset Table's entries start in the output.
    table_at: u64,
    offsets: Vec<u32>,
    /// Bytes from the first fragment's Item tag to the next fragment's.
    next_offset: u64,
}

impl Fragments {
    /// Writes the Basic Offset Table Item for `frames` frames, with zero offsets for now.
    pub fn begin(out: &mut (impl Write + Seek), frames: u32) -> Result<Fragments, EncodeError> {
        let table_len = u64::from(frames) * 4;
        if table_len > MAX_ITEM_LEN {
            return Err(NotCompressible::TooLarge.into());
        }
        write_item_header(out, table_len as u32)?;
        let table_at = out.stream_position().map_err(EncodeError::Write)?;
        out.write_all(&vec![0; table_len as usize])
            .map_err(EncodeError::Write)?;
        Ok(Fragments {
            frames,
            table_at,
            offsets: Vec::with_capacity(frames as usize),
            next_offset: 0,
        })
    }

    /// Writes the next frame's fragment, padded to even length with one 00H byte.
    pub fn push(&mut self, out: &mut impl Write, fragment: &[u8]) -> Result<(), EncodeError> {
        let padded = fragment.len() as u64 + fragment.len() as u64 % 2;
        let offset = u32::try_from(self.next_offset).map_err(|_| NotCompressible::TooLarge)?;
        if padded > MAX_ITEM_LEN {
            return Err(NotCompressible::TooLarge.into());
        }
        write_item_header(out, padded as u32)?;
        out.write_all(fragment).map_err(EncodeError::Write)?;
        if fragment.len() % 2 == 1 {
            out.write_all(&[0]).map_err(EncodeError::Write)?;
        }
        self.offsets.push(offset);
        self.next_offset += 8 + padded;
        Ok(())
    }

    /// Closes the value and fills in the Basic Offset Table; returns the value's length. The
    /// output is left positioned at the value's end.
    pub fn finish(self, out: &mut (impl Write + Seek)) -> Result<u64, EncodeError> {
        debug_assert_eq!(self.offsets.len(), self.frames as usize);
        out.write_all(&SEQUENCE_DELIMITATION)
            .map_err(EncodeError::Write)?;
        let end = out.stream_position().map_err(EncodeError::Write)?;
        let table: Vec<u8> = self.offsets.iter().flat_map(|o| o.to_le_bytes()).collect();
        out.seek(SeekFrom::Start(self.table_at))
            .map_err(EncodeError::Write)?;
        out.write_all(&table).map_err(EncodeError::Write)?;
        out.seek(SeekFrom::Start(end)).map_err(EncodeError::Write)?;
        let table_item = 8 + 4 * u64::from(self.frames);
        Ok(table_item + self.next_offset + SEQUENCE_DELIMITATION.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn offsets_point_at_each_fragment_item_and_odd_fragments_are_padded() {
        let mut out = Cursor::new(b"prefix".to_vec());
        out.seek(SeekFrom::End(0)).unwrap();
        let mut f = Fragments::begin(&mut out, 2).unwrap();
        f.push(&mut out, &[1, 2, 3]).unwrap();
        f.push(&mut out, &[4, 5]).unwrap();
        let len = f.finish(&mut out).unwrap();
        let bytes = out.into_inner();
        let value = &bytes[6..];
        assert_eq!(value.len() as u64, len);
        #[rustfmt::skip]
        let expected: Vec<u8> = [
            &[0xFE, 0xFF, 0x00, 0xE0, 8, 0, 0, 0][..],
            &[0, 0, 0, 0, 12, 0, 0, 0],
            &[0xFE, 0xFF, 0x00, 0xE0, 4, 0, 0, 0, 1, 2, 3, 0],
            &[0xFE, 0xFF, 0x00, 0xE0, 2, 0, 0, 0, 4, 5],
            &[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0],
        ]
        .concat();
        assert_eq!(value, expected);
    }
}
