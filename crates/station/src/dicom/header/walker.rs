//! The element walker under [`super`]: data elements read one after another from a stream
//! (PS3.5 §7.1: implicit or explicit VR, little or big endian, sequences and items of defined or
//! undefined length), values skipped unless wanted, every length checked before it is trusted.
//!
//! Must never: allocate by a length the file declares beyond [`MAX_VALUE`], or recurse deeper
//! than [`MAX_DEPTH`] sequences.

use std::io::{self, Read};

use super::{charset, trim_end, HeaderError, Values, WANTED};
use crate::dicom::element::{self, has_long_length};

/// No header attribute is anywhere near this; a longer one means a damaged length field.
pub(super) const MAX_VALUE: u32 = 64 * 1024;
/// Nested sequences deeper than this are refused as damaged (no real header nests so deep).
const MAX_DEPTH: u32 = 32;
pub(super) const UNDEFINED: u32 = element::UNDEFINED_LENGTH;

/// Reads until `buf` is full or the input ends; returns how much was read.
pub(super) fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Syntax {
    ImplicitLe,
    ExplicitLe,
    ExplicitBe,
}

impl Syntax {
    /// Decodes a little- or big-endian number of 2 or 4 bytes.
    fn num(self, b: &[u8]) -> u32 {
        let fold = |acc: u32, &x: &u8| (acc << 8) | u32::from(x);
        match self {
            Syntax::ExplicitBe => b.iter().fold(0, fold),
            _ => b.iter().rev().fold(0, fold),
        }
    }
}

pub(super) struct Elem {
    tag: u32,
    vr: Option<[u8; 2]>,
    len: u32,
}

pub(super) fn tag_name(tag: u32) -> String {
    format!("({:04X},{:04X})", tag >> 16, tag & 0xFFFF)
}

pub(super) fn truncated(what: &str) -> HeaderError {
    HeaderError::Malformed(format!(
        "the file ends in the middle of {what}; it was probably cut off while being copied or sent"
    ))
}

pub(super) fn damaged(what: String) -> HeaderError {
    HeaderError::Malformed(format!("{what}; the file is damaged"))
}

/// Reads data elements one after another from a stream; values are skipped unless wanted.
pub(super) struct Walker<R> {
    pub(super) r: R,
    syntax: Syntax,
    deflated: bool,
}

impl<R: Read> Walker<R> {
    pub(super) fn new(r: R, syntax: Syntax, deflated: bool) -> Self {
        Walker {
            r,
            syntax,
            deflated,
        }
    }

    fn io_err(&self, e: io::Error, what: &str) -> HeaderError {
        match e.kind() {
            io::ErrorKind::UnexpectedEof => truncated(what),
            io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData if self.deflated => {
                damaged("the compressed (deflated) dataset cannot be unpacked".into())
            }
            _ => HeaderError::Io(e),
        }
    }

    /// Fills `buf`; Ok(false) when the input ended before its first byte.
    fn fill(&mut self, buf: &mut [u8], what: &str) -> Result<bool, HeaderError> {
        match read_full(&mut self.r, buf) {
            Ok(n) if n == buf.len() => Ok(true),
            Ok(0) => Ok(false),
            Ok(_) => Err(truncated(what)),
            Err(e) => Err(self.io_err(e, what)),
        }
    }

    /// Reads `n` bytes (at most 4) as a number, or `n` bytes of a value.
    fn bytes(&mut self, n: usize, what: &str) -> Result<Vec<u8>, HeaderError> {
        let mut v = vec![0u8; n];
        match self.fill(&mut v, what)? {
            true => Ok(v),
            false => Err(truncated(what)),
        }
    }

    fn num(&mut self, n: usize, syntax: Syntax, what: &str) -> Result<u32, HeaderError> {
        Ok(syntax.num(&self.bytes(n, what)?))
    }

    /// Reads a tag; None at a clean end of input.
    fn read_tag(&mut self) -> Result<Option<[u8; 4]>, HeaderError> {
        let mut t = [0u8; 4];
        Ok(self.fill(&mut t, "an element tag")?.then_some(t))
    }

    /// Reads the VR and length that follow a tag (PS3.5 §7.1). Item and delimitation tags
    /// (FFFE,xxxx) have no VR in any transfer syntax.
    fn read_rest(&mut self, t: [u8; 4], syntax: Syntax) -> Result<Elem, HeaderError> {
        let tag = (syntax.num(&t[..2]) << 16) | syntax.num(&t[2..]);
        let what = format!("element {}", tag_name(tag));
        if syntax == Syntax::ImplicitLe || tag >> 16 == 0xFFFE {
            let len = self.num(4, syntax, &what)?;
            return Ok(Elem { tag, vr: None, len });
        }
        let b = self.bytes(2, &what)?;
        let vr = [b[0], b[1]];
        if !vr.iter().all(u8::is_ascii_uppercase) {
            return Err(HeaderError::Malformed(format!(
                "element {} has no valid value representation; the file is damaged or not in the \
                 transfer syntax it declares",
                tag_name(tag)
            )));
        }
        // A VR not known is read as a long one, as the standard promises for VRs added later.
        let len = if !has_long_length(vr) {
            self.num(2, syntax, &what)?
        } else {
            self.bytes(2, &what)?; // reserved
            self.num(4, syntax, &what)?
        };
        Ok(Elem {
            tag,
            vr: Some(vr),
            len,
        })
    }

    fn read_elem(&mut self, syntax: Syntax, what: &str) -> Result<Elem, HeaderError> {
        let t = self.read_tag()?.ok_or_else(|| truncated(what))?;
        self.read_rest(t, syntax)
    }

    fn read_value(&mut self, el: &Elem) -> Result<Vec<u8>, HeaderError> {
        if el.len > MAX_VALUE {
            let (tag, len) = (tag_name(el.tag), el.len);
            return Err(damaged(format!(
                "element {tag} claims {len} bytes, far too many"
            )));
        }
        self.bytes(el.len as usize, &format!("element {}", tag_name(el.tag)))
    }

    fn skip_value(&mut self, el: &Elem, syntax: Syntax, depth: u32) -> Result<(), HeaderError> {
        let what = format!("element {}", tag_name(el.tag));
        if el.len != UNDEFINED {
            let n = u64::from(el.len);
            return match io::copy(&mut (&mut self.r).take(n), &mut io::sink()) {
                Ok(k) if k == n => Ok(()),
                Ok(_) => Err(truncated(&what)),
                Err(e) => Err(self.io_err(e, &what)),
            };
        }
        if depth >= MAX_DEPTH {
            return Err(damaged("sequences are nested too deeply".into()));
        }
        // UN of undefined length holds its items in implicit VR LE (PS3.5 §6.2.2).
        let syntax = if el.vr == Some(*b"UN") {
            Syntax::ImplicitLe
        } else {
            syntax
        };
        // Items up to the Sequence Delimitation Item (PS3.5 §7.5); an undefined-length item
        // holds elements up to its Item Delimitation Item.
        loop {
            let item = self.read_elem(syntax, &what)?;
            match item.tag {
                0xFFFE_E0DD => return Ok(()),
                0xFFFE_E000 if item.len != UNDEFINED => self.skip_value(&item, syntax, depth)?,
                0xFFFE_E000 => loop {
                    let inner = self.read_elem(syntax, &what)?;
                    if inner.tag == 0xFFFE_E00D {
                        break;
                    }
                    self.skip_value(&inner, syntax, depth + 1)?;
                },
                other => {
                    let (seq, other) = (tag_name(el.tag), tag_name(other));
                    return Err(damaged(format!(
                        "sequence {seq} holds {other} instead of an item"
                    )));
                }
            }
        }
    }

    /// Reads the file meta group (explicit VR LE, PS3.10 §7.1). Returns the transfer syntax and
    /// the bytes of the first dataset tag if it had to be read to see the group end.
    pub(super) fn read_meta(&mut self) -> Result<(Option<String>, Vec<u8>), HeaderError> {
        let (mut ts, mut consumed, mut end) = (None, 0u64, None);
        while end.is_none_or(|end| consumed < end) {
            let Some(t) = self.read_tag()? else { break };
            if t[..2] != [0x02, 0x00] {
                return Ok((ts, t.to_vec()));
            }
            let el = self.read_rest(t, Syntax::ExplicitLe)?;
            let short = el.vr.is_some_and(|vr| !has_long_length(vr));
            consumed += if short { 8 } else { 12 } + u64::from(el.len);
            match el.tag {
                0x0002_0000 if el.len == 4 => {
                    let len = self.num(4, Syntax::ExplicitLe, "the file meta group length")?;
                    end = Some(consumed + u64::from(len));
                }
                0x0002_0010 => {
                    let v = self.read_value(&el)?;
                    ts = Some(charset::decode(&[], trim_end(&v)).text.trim().to_string());
                }
                _ => self.skip_value(&el, Syntax::ExplicitLe, 0)?,
            }
        }
        Ok((ts, Vec::new()))
    }

    /// Walks the top-level dataset up to group 0020 and keeps the wanted values.
    pub(super) fn walk(mut self) -> Result<Values, HeaderError> {
        let mut values: Values = Default::default();
        let syntax = self.syntax;
        while let Some(t) = self.read_tag()? {
            // Groups are in ascending order: past 0020 nothing is wanted, and pixel data
            // (7FE0,0010) is never touched, not even its length.
            if syntax.num(&t[..2]) > 0x0020 {
                break;
            }
            let el = self.read_rest(t, syntax)?;
            match WANTED.iter().position(|&t| t == el.tag) {
                Some(i) if el.len != UNDEFINED => values[i] = Some(self.read_value(&el)?),
                _ => self.skip_value(&el, syntax, 0)?,
            }
        }
        Ok(values)
    }
}
