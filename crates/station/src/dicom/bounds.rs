//! Limits checked on an untrusted dataset (a command set, a C-FIND identifier, a stored file
//! from a device or a hub) before any parser sees it. dicom-rs builds sequences by recursion and allocates by declared
//! lengths: a few thousand nested sequences in a few tens of KB overflow the stack and abort the
//! whole process, and one element declaring gigabytes is allocated before parsing fails. This
//! walk does neither: it keeps its own stack, reads lengths against what is left, and stops at
//! the first problem.
//!
//! Must never: recurse, allocate by a declared length, or accept a structure it did not walk to
//! the end.

use std::path::Path;

use dicom_object::DefaultDicomObject;

use super::element::{
    has_long_length, is_known_vr, tag_le, ITEM, ITEM_END, SEQUENCE_END, UNDEFINED_LENGTH,
};

/// Sequences nest at most this deep in a stored object (an SR content tree included).
pub const MAX_STORED_DEPTH: usize = 64;
const IMPLICIT_VR_LE: &str = "1.2.840.10008.1.2";
const EXPLICIT_VR_LE: &str = "1.2.840.10008.1.2.1";

/// Why a dataset is refused unparsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BoundsError {
    /// An element's declared length runs past the end of the data.
    #[error("element ({tag:08X}) declares {declared} bytes but only {left} remain")]
    TooLong {
        /// The element's tag, group in the high 16 bits.
        tag: u32,
        /// Its Value Length, in bytes.
        declared: u32,
        /// Bytes left in the dataset (or the enclosing item).
        left: usize,
    },
    /// Sequences nest deeper than the limit given (the limit).
    #[error("sequences nested deeper than {0}")]
    TooDeep(usize),
    /// The data stops inside an element, an item or a sequence of undefined length.
    #[error("the dataset ends inside an element or an open sequence")]
    Truncated,
    /// An item or a delimitation item where none can be.
    #[error("a delimiter closes nothing, or an item stands outside a sequence")]
    Unbalanced,
    /// The file could not be read (the I/O error as text).
    #[error("cannot read the file: {0}")]
    Io(String),
    /// Native Pixel Data shorter than its image attributes say.
    #[error("Pixel Data holds {declared} bytes but rows × columns × samples × frames × bits need {expected}")]
    ShortPixelData {
        /// Pixel Data's Value Length, in bytes.
        declared: u64,
        /// The bytes the image attributes call for.
        expected: u64,
    },
}

/// Why a stored file was not opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The file could not be read.
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    /// No preamble and "DICM", or a file meta group that cannot be read.
    #[error("not a DICOM Part 10 file, or its file meta group is damaged")]
    NotPart10,
    /// The dataset broke a limit of [`check`].
    #[error(transparent)]
    Bounds(#[from] BoundsError),
    /// dicom-rs refused the dataset after the walk passed it (its message).
    #[error("{0}")]
    Parse(String),
}

/// Opens a stored PS3.10 file with dicom-rs after [`check`] has walked its dataset: the one
/// way the station parses a whole object (previews, waveforms, reports), so a file nested or
/// sized to crash the parser is an error, never an abort. Datasets in a syntax this walk cannot
/// read (big endian, deflated) are opened unchecked.
pub fn open_file(path: &Path) -> Result<DefaultDicomObject, OpenError> {
    {
        let bytes = std::fs::read(path)?;
        let (ts, dataset) = part10_dataset(&bytes).ok_or(OpenError::NotPart10)?;
        match ts {
            IMPLICIT_VR_LE => check(dataset, false, MAX_STORED_DEPTH)?,
            EXPLICIT_VR_LE => check(dataset, true, MAX_STORED_DEPTH)?,
            // Every encapsulated syntax is explicit VR little endian outside the pixel data.
            t if t.starts_with("1.2.840.10008.1.2.4.") || t == "1.2.840.10008.1.2.5" => {
                check(dataset, true, MAX_STORED_DEPTH)?
            }
            _ => {}
        }
    }
    dicom_object::open_file(path).map_err(|e| OpenError::Parse(e.to_string()))
}

/// The bytes of a file's start read to find its file meta group's end: far more than any meta
/// group holds.
const META_PREFIX: u64 = 64 * 1024;

/// Checks a stored PS3.10 file as [`check`] does, reading it a header at a time (values are
/// skipped): a dataset cut short inside any element (Pixel Data included), a length beyond the
/// end, nesting deeper than `max_depth`, or native Pixel Data shorter than the image it
/// describes (rows × columns × samples × frames × bits allocated). Datasets in a syntax this walk cannot read (big
/// endian, deflated) pass unchecked.
pub fn check_file(path: &Path, max_depth: usize) -> Result<(), OpenError> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let total = file.metadata()?.len();
    let mut prefix = Vec::new();
    (&file).take(META_PREFIX).read_to_end(&mut prefix)?;
    let (ts, dataset) = part10_dataset(&prefix).ok_or(OpenError::NotPart10)?;
    if dataset.is_empty() && total > prefix.len() as u64 {
        // The meta group runs past the prefix: no sound file has one that long.
        return Err(OpenError::NotPart10);
    }
    let explicit = match ts {
        IMPLICIT_VR_LE => false,
        EXPLICIT_VR_LE => true,
        t if t.starts_with("1.2.840.10008.1.2.4.") || t == "1.2.840.10008.1.2.5" => true,
        _ => return Ok(()),
    };
    let start = (prefix.len() - dataset.len()) as u64;
    let len = usize::try_from(total - start).map_err(|_| OpenError::NotPart10)?;
    let mut source = InFile {
        file: std::io::BufReader::with_capacity(4096, file),
        start,
        len,
    };
    let facts = walk(&mut source, explicit, max_depth)?;
    let native = ts == IMPLICIT_VR_LE || ts == EXPLICIT_VR_LE;
    if let (true, Some(declared), Some(expected)) =
        (native, facts.pixel_bytes, facts.expected_pixel_bytes())
    {
        if declared < expected {
            return Err(BoundsError::ShortPixelData { declared, expected }.into());
        }
    }
    Ok(())
}

/// The transfer syntax and the dataset's bytes of a PS3.10 file held in memory.
fn part10_dataset(bytes: &[u8]) -> Option<(&str, &[u8])> {
    if bytes.get(128..132)? != b"DICM" {
        return None;
    }
    let mut pos = 132;
    let mut ts = "";
    // Where (0002,0000) says the group ends: dicom-rs reads the meta group by that length, so
    // every element up to it must be a sound meta element, or dicom-rs would meet a stranger's
    // length first (a changed VR made it zero-fill 774 MB for a 1 KB file).
    let mut declared_end = None;
    // The meta group (0002,xxxx) is explicit VR little endian (PS3.10 §7.1).
    while bytes.get(pos..pos + 2) == Some(&[0x02, 0x00]) || declared_end.is_some_and(|e| pos < e) {
        if bytes.get(pos..pos + 2)? != [0x02, 0x00] {
            return None;
        }
        let vr = [*bytes.get(pos + 4)?, *bytes.get(pos + 5)?];
        if !is_known_vr(&vr) {
            return None;
        }
        let (len, header) = if has_long_length(vr) {
            let b = bytes.get(pos + 8..pos + 12)?;
            (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize, 12)
        } else {
            let b = bytes.get(pos + 6..pos + 8)?;
            (usize::from(u16::from_le_bytes([b[0], b[1]])), 8)
        };
        let value = bytes.get(pos + header..(pos + header).checked_add(len)?)?;
        match bytes.get(pos + 2..pos + 4)? {
            [0x00, 0x00] if pos == 132 && len == 4 => {
                let group = u32::from_le_bytes([value[0], value[1], value[2], value[3]]);
                declared_end = Some((pos + header).checked_add(group as usize)?);
            }
            [0x10, 0x00] => {
                ts = std::str::from_utf8(value)
                    .ok()?
                    .trim_end_matches(['\0', ' ']);
            }
            _ => {}
        }
        pos += header + len;
    }
    Some((ts, bytes.get(pos..)?))
}

/// One open sequence or item: where it ends (None: at its delimiter), and whether its items are
/// opaque bytes (encapsulated pixel data's fragments) rather than datasets.
struct Open {
    end: Option<usize>,
    fragments: bool,
}

/// Checks that `bytes`, a whole little-endian dataset (explicit VR or implicit), nests
/// sequences at most `max_depth` deep and declares no length beyond its end. In implicit VR a
/// value counts as a sequence when its length is undefined or it starts with an item, which is
/// how a parser with a dictionary would take it too.
pub fn check(bytes: &[u8], explicit: bool, max_depth: usize) -> Result<(), BoundsError> {
    walk(&mut Slice(bytes), explicit, max_depth).map(|_| ())
}

const PIXEL_DATA: u32 = 0x7FE0_0010;

/// What the top level of a dataset says of its image (PS3.3 C.7.6.3), and the length of a
/// native Pixel Data value.
#[derive(Debug, Default)]
struct ImageFacts {
    samples: Option<u64>,
    frames: Option<u64>,
    rows: Option<u64>,
    columns: Option<u64>,
    bits_allocated: Option<u64>,
    /// Photometric Interpretation names chroma subsampling (YBR_FULL_422, YBR_PARTIAL_420…):
    /// fewer bytes than samples × pixels, so the count is not checked.
    subsampled: bool,
    pixel_bytes: Option<u64>,
}

impl ImageFacts {
    fn wants(tag: u32) -> bool {
        matches!(
            tag,
            0x0028_0002 | 0x0028_0004 | 0x0028_0008 | 0x0028_0010 | 0x0028_0011 | 0x0028_0100
        )
    }

    /// Takes the value of `tag` (US, or IS for Number of Frames).
    fn note(&mut self, tag: u32, value: &[u8]) {
        let us = || {
            value
                .get(..2)
                .map(|b| u64::from(u16::from_le_bytes([b[0], b[1]])))
        };
        match tag {
            0x0028_0002 => self.samples = us(),
            0x0028_0008 => {
                self.frames = std::str::from_utf8(value)
                    .ok()
                    .and_then(|t| t.trim_matches(|c: char| c == ' ' || c == '\0').parse().ok())
            }
            0x0028_0004 => self.subsampled = value.windows(3).any(|w| w == b"422" || w == b"420"),
            0x0028_0010 => self.rows = us(),
            0x0028_0011 => self.columns = us(),
            0x0028_0100 => self.bits_allocated = us(),
            _ => {}
        }
    }

    /// The bytes native pixel data must hold, when the dataset says all it takes to know.
    fn expected_pixel_bytes(&self) -> Option<u64> {
        if self.subsampled {
            return None;
        }
        let bits = self.rows?
            * self.columns?
            * self.samples?
            * self.frames.unwrap_or(1)
            * self.bits_allocated?;
        Some(bits.div_ceil(8))
    }
}

/// Where [`walk`] reads a dataset from: a slice in memory, or a file read piece by piece.
trait Source {
    fn len(&self) -> usize;
    /// Fills `out` from `at`; false when the source ends first.
    fn read(&mut self, at: usize, out: &mut [u8]) -> Result<bool, BoundsError>;
}

struct Slice<'a>(&'a [u8]);

impl Source for Slice<'_> {
    fn len(&self) -> usize {
        self.0.len()
    }
    fn read(&mut self, at: usize, out: &mut [u8]) -> Result<bool, BoundsError> {
        match self.0.get(at..at + out.len()) {
            Some(b) => {
                out.copy_from_slice(b);
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

/// A dataset in a file from `start` on, read a header at a time: values are skipped, never
/// read, so a 300 MB cine costs a few hundred small reads.
struct InFile {
    file: std::io::BufReader<std::fs::File>,
    start: u64,
    len: usize,
}

impl Source for InFile {
    fn len(&self) -> usize {
        self.len
    }
    fn read(&mut self, at: usize, out: &mut [u8]) -> Result<bool, BoundsError> {
        use std::io::{Read, Seek, SeekFrom};
        if at + out.len() > self.len {
            return Ok(false);
        }
        self.file
            .seek(SeekFrom::Start(self.start + at as u64))
            .and_then(|_| self.file.read_exact(out))
            .map_err(|e| BoundsError::Io(e.to_string()))?;
        Ok(true)
    }
}

/// The walk of [`check`] over any source.
fn walk(
    src: &mut impl Source,
    explicit: bool,
    max_depth: usize,
) -> Result<ImageFacts, BoundsError> {
    let mut facts = ImageFacts::default();
    let mut stack: Vec<Open> = Vec::new();
    let mut pos = 0usize;
    let len = src.len();
    let mut bytes_at = |at: usize, out: &mut [u8]| -> Result<(), BoundsError> {
        if src.read(at, out)? {
            Ok(())
        } else {
            Err(BoundsError::Truncated)
        }
    };
    // Each turn moves `pos` forward by at least 8 bytes or closes a container: bounded by the
    // input's length.
    loop {
        while let Some(end) = stack.last().and_then(|o| o.end) {
            if pos < end {
                break;
            }
            if pos > end {
                return Err(BoundsError::Truncated);
            }
            stack.pop();
        }
        if pos == len {
            return if stack.is_empty() {
                Ok(facts)
            } else {
                Err(BoundsError::Truncated)
            };
        }
        let limit = stack.last().and_then(|o| o.end).unwrap_or(len);
        let mut head = [0u8; 12];
        bytes_at(pos, &mut head[..8])?;
        let tag = tag_le([head[0], head[1], head[2], head[3]]);
        let u32_of = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        // What is left of the open container after this element's (or item's) header.
        let at = pos;
        let left_after = move |header: usize| limit.saturating_sub(at + header);
        if tag == ITEM_END || tag == SEQUENCE_END {
            pos += 8;
            match stack.pop() {
                Some(Open { end: None, .. }) => continue,
                _ => return Err(BoundsError::Unbalanced),
            }
        }
        if tag == ITEM {
            let len = u32_of(&head[4..8]);
            let in_fragments = match stack.last() {
                Some(open) => open.fragments,
                None => return Err(BoundsError::Unbalanced),
            };
            pos += 8;
            if in_fragments {
                // A fragment's bytes are pixel data, never elements.
                if len == UNDEFINED_LENGTH || len as usize > left_after(8) {
                    return Err(BoundsError::TooLong {
                        tag,
                        declared: len,
                        left: left_after(8),
                    });
                }
                pos += len as usize;
                continue;
            }
            open(&mut stack, &pos, tag, len, left_after(8), false, max_depth)?;
            continue;
        }
        let (vr, len, header) = if explicit {
            let vr = [head[4], head[5]];
            if has_long_length(vr) {
                bytes_at(pos + 8, &mut head[8..12])?;
                (Some(vr), u32_of(&head[8..12]), 12)
            } else {
                (
                    Some(vr),
                    u32::from(u16::from_le_bytes([head[6], head[7]])),
                    8,
                )
            }
        } else {
            (None, u32_of(&head[4..8]), 8)
        };
        let value = pos + header;
        let mut first = [0u8; 4];
        let starts_with_item = vr.is_none()
            && value + 4 <= limit
            && bytes_at(value, &mut first).is_ok()
            && first == [0xFE, 0xFF, 0x00, 0xE0];
        let sequence = match vr {
            Some(vr) => &vr == b"SQ" || (&vr == b"UN" && len == UNDEFINED_LENGTH),
            None => len == UNDEFINED_LENGTH || starts_with_item,
        };
        let fragments = !sequence && len == UNDEFINED_LENGTH;
        if sequence || fragments {
            pos = value;
            // Fragments do not nest: they count once, like the sequence they look like.
            open(
                &mut stack,
                &pos,
                tag,
                len,
                left_after(header),
                fragments,
                max_depth,
            )?;
            continue;
        }
        if len as usize > left_after(header) {
            return Err(BoundsError::TooLong {
                tag,
                declared: len,
                left: left_after(header),
            });
        }
        if stack.is_empty() && len <= 16 && ImageFacts::wants(tag) {
            let mut v = [0u8; 16];
            bytes_at(value, &mut v[..len as usize])?;
            facts.note(tag, &v[..len as usize]);
        }
        if stack.is_empty() && tag == PIXEL_DATA {
            facts.pixel_bytes = Some(u64::from(len));
        }
        pos = value + len as usize;
    }
}

/// Opens a sequence or item of `len` at `pos` (just past its header), checking depth and room.
fn open(
    stack: &mut Vec<Open>,
    pos: &usize,
    tag: u32,
    len: u32,
    left: usize,
    fragments: bool,
    max_depth: usize,
) -> Result<(), BoundsError> {
    // A sequence and its item are one level of nesting to a person, two frames to a parser.
    if stack.len() >= 2 * max_depth {
        return Err(BoundsError::TooDeep(max_depth));
    }
    let end = if len == UNDEFINED_LENGTH {
        None
    } else if len as usize <= left {
        Some(*pos + len as usize)
    } else {
        return Err(BoundsError::TooLong {
            tag,
            declared: len,
            left,
        });
    };
    stack.push(Open { end, fragments });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dicom::element::{element, item};

    /// `depth` sequences of one item each, around a name, in explicit or implicit VR.
    fn nested(depth: usize, explicit: bool, undefined: bool) -> Vec<u8> {
        let mut inner =
            element(0x0010_0010, *b"PN", b"WANG^XIAO ", explicit).expect("name element");
        for _ in 0..depth {
            inner = if undefined {
                // (0040,0100), group then element, little endian.
                let mut seq = vec![0x40, 0x00, 0x00, 0x01];
                if explicit {
                    seq.extend_from_slice(b"SQ\0\0");
                }
                seq.extend_from_slice(&UNDEFINED_LENGTH.to_le_bytes());
                seq.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0]);
                seq.extend_from_slice(&UNDEFINED_LENGTH.to_le_bytes());
                seq.extend_from_slice(&inner);
                seq.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
                seq.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
                seq
            } else {
                element(0x0040_0100, *b"SQ", &item(&inner), explicit).expect("sequence")
            };
        }
        inner
    }

    #[test]
    fn shallow_datasets_pass_in_both_vr_forms_and_length_forms() {
        for explicit in [true, false] {
            for undefined in [true, false] {
                let bytes = nested(3, explicit, undefined);
                assert_eq!(
                    check(&bytes, explicit, 16),
                    Ok(()),
                    "{explicit} {undefined}"
                );
            }
        }
        assert_eq!(check(&[], true, 0), Ok(()));
    }

    #[test]
    fn deep_nesting_is_refused_without_recursing() {
        for explicit in [true, false] {
            for undefined in [true, false] {
                // Far deeper than any stack would survive if this recursed.
                let bytes = nested(20_000, explicit, undefined);
                assert_eq!(
                    check(&bytes, explicit, 16),
                    Err(BoundsError::TooDeep(16)),
                    "{explicit} {undefined}"
                );
            }
        }
        assert_eq!(
            check(&nested(1, false, false), false, 0),
            Err(BoundsError::TooDeep(0)),
            "a command set has no sequence at all"
        );
    }

    #[test]
    fn a_length_beyond_the_end_is_refused_before_anything_is_allocated() {
        let mut bytes = element(0x0010_0010, *b"PN", b"WANG", true).expect("name");
        bytes.extend_from_slice(&[0x10, 0x00, 0x20, 0x00, b'L', b'O', 0xFF, 0xFF]);
        assert!(matches!(
            check(&bytes, true, 4),
            Err(BoundsError::TooLong {
                tag: 0x0010_0020,
                declared: 0xFFFF,
                ..
            })
        ));
        let mut implicit = vec![0x00, 0x00, 0x00, 0x00];
        implicit.extend_from_slice(&0x8000_0000u32.to_le_bytes());
        assert!(matches!(
            check(&implicit, false, 0),
            Err(BoundsError::TooLong { .. })
        ));
        // Cut inside a header, or a sequence never closed.
        assert_eq!(check(&bytes[..3], true, 4), Err(BoundsError::Truncated));
        let open = nested(2, true, true);
        assert_eq!(
            check(&open[..open.len() - 8], true, 4),
            Err(BoundsError::Truncated)
        );
        assert_eq!(
            check(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0], true, 4),
            Err(BoundsError::Unbalanced)
        );
    }
}
