//! A minimal byte-exact PS3.10 writer (explicit VR little endian) for the demo generator, over
//! the shared element codec and file header (`dicom::element`, `dicom::part10`), and the text
//! encodings of the demo's character sets.
//!
//! It exists so the demo controls every byte it writes: names must land on disk in exactly
//! the encoding a given device would use (including ISO 2022 escapes and an undeclared
//! GB18030), which a general DICOM library would "fix". Pixel data is streamed, never held.
//! It must never be used for received objects (those are stored as received, see `ingest`),
//! and must never silently replace a character it cannot encode: that is an error.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use crate::dicom::charset;
use crate::dicom::element::{self, padded};
use crate::dicom::part10::{self, FileMeta};

/// Transfer syntax of every demo file: explicit VR little endian.
pub use crate::dicom::header::EXPLICIT_VR_LE;
/// Implementation class UID of the demo generator (a fixed UUID-derived UID).
pub const DEMO_IMPLEMENTATION_CLASS_UID: &str = "2.25.227093814705530815460217493384390123875";
pub const DEMO_IMPLEMENTATION_VERSION_NAME: &str = "CLINICDEMO1";

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// How a simulated device encodes text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Charset {
    /// (0008,0005) "ISO_IR 192".
    Utf8,
    /// (0008,0005) "GB18030".
    Gb18030,
    /// (0008,0005) "GBK".
    Gbk,
    /// (0008,0005) "\ISO 2022 IR 58": ASCII in G0, GB2312 designated to G1 by ESC $ ) A
    /// before each Chinese run (PS3.5 Annex K.2 style).
    Iso2022Ir58,
    /// No (0008,0005) at all, yet GB18030 bytes: a device that forgot to declare it.
    UndeclaredGb18030,
}

impl Charset {
    /// The declared (0008,0005) value, "" when the element is absent.
    pub fn declared(self) -> &'static str {
        match self {
            Charset::Utf8 => "ISO_IR 192",
            Charset::Gb18030 => "GB18030",
            Charset::Gbk => "GBK",
            Charset::Iso2022Ir58 => "\\ISO 2022 IR 58",
            Charset::UndeclaredGb18030 => "",
        }
    }

    /// Encodes a text value (all components / values of it) as this device would.
    pub fn encode(self, s: &str) -> io::Result<Vec<u8>> {
        match self {
            Charset::Utf8 => Ok(s.as_bytes().to_vec()),
            Charset::Gb18030 | Charset::UndeclaredGb18030 => strict(encoding_rs::GB18030, s),
            Charset::Gbk => strict(encoding_rs::GBK, s),
            Charset::Iso2022Ir58 => charset::encode_iso2022_ir58(s)
                .map_err(|c| invalid(format!("{c:?} is not in GB2312"))),
        }
    }
}

fn strict(enc: &'static encoding_rs::Encoding, s: &str) -> io::Result<Vec<u8>> {
    let (bytes, _, had_errors) = enc.encode(s);
    if had_errors {
        return Err(invalid(format!(
            "{s:?} is not representable in {}",
            enc.name()
        )));
    }
    Ok(bytes.into_owned())
}

fn header(out: &mut Vec<u8>, tag: u32, vr: [u8; 2], len: u32) -> io::Result<()> {
    element::write_header(out, tag, vr, len, true)
}

enum Value {
    Bytes(Vec<u8>),
    Items(Vec<DataSet>),
}

/// A dataset under construction: elements kept in tag order, values already encoded.
#[derive(Default)]
pub struct DataSet {
    elems: BTreeMap<u32, ([u8; 2], Value)>,
}

impl DataSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Raw value bytes; padded to even length (NUL for UI/OB/UN, space otherwise).
    pub fn raw(&mut self, tag: u32, vr: &[u8; 2], bytes: Vec<u8>) -> &mut Self {
        self.elems
            .insert(tag, (*vr, Value::Bytes(padded(*vr, bytes))));
        self
    }

    /// An ASCII value (CS, DA, TM, DT, UI, DS, IS, AS, AE and plain-ASCII text).
    pub fn ascii(&mut self, tag: u32, vr: &[u8; 2], s: &str) -> &mut Self {
        debug_assert!(s.is_ascii(), "{s:?} is not ASCII");
        self.raw(tag, vr, s.as_bytes().to_vec())
    }

    /// A text value (SH, LO, ST, LT, UT, PN) in the device's character set.
    pub fn text(&mut self, tag: u32, vr: &[u8; 2], s: &str, cs: Charset) -> io::Result<&mut Self> {
        let bytes = cs.encode(s)?;
        Ok(self.raw(tag, vr, bytes))
    }

    pub fn us(&mut self, tag: u32, v: u16) -> &mut Self {
        self.raw(tag, b"US", v.to_le_bytes().to_vec())
    }

    pub fn ss(&mut self, tag: u32, v: i16) -> &mut Self {
        self.raw(tag, b"SS", v.to_le_bytes().to_vec())
    }

    pub fn ul(&mut self, tag: u32, v: u32) -> &mut Self {
        self.raw(tag, b"UL", v.to_le_bytes().to_vec())
    }

    /// An attribute tag value (AT), e.g. Frame Increment Pointer.
    pub fn at(&mut self, tag: u32, value: u32) -> &mut Self {
        let mut b = ((value >> 16) as u16).to_le_bytes().to_vec();
        b.extend_from_slice(&(value as u16).to_le_bytes());
        self.raw(tag, b"AT", b)
    }

    /// A sequence (possibly empty), written with defined lengths.
    pub fn seq(&mut self, tag: u32, items: Vec<DataSet>) -> &mut Self {
        self.elems.insert(tag, (*b"SQ", Value::Items(items)));
        self
    }

    /// Appends the encoded elements, in ascending tag order.
    pub fn encode(&self, out: &mut Vec<u8>) -> io::Result<()> {
        for (&tag, (vr, value)) in &self.elems {
            match value {
                Value::Bytes(b) => {
                    let len = u32::try_from(b.len())
                        .map_err(|_| invalid(format!("value of ({tag:08X}) over 4 GiB")))?;
                    header(out, tag, *vr, len)?;
                    out.extend_from_slice(b);
                }
                Value::Items(items) => {
                    let mut body = Vec::new();
                    for item in items {
                        let mut content = Vec::new();
                        item.encode(&mut content)?;
                        body.extend(element::item(&content));
                    }
                    header(out, tag, *vr, body.len() as u32)?;
                    out.extend_from_slice(&body);
                }
            }
        }
        Ok(())
    }
}

/// Pixel data written last, row by row, so a large image is never held whole.
pub trait PixelSource {
    /// OB for 8-bit samples, OW for 16-bit.
    fn vr(&self) -> [u8; 2];
    /// Exact value length in bytes (even).
    fn len(&self) -> u64;
    /// Writes exactly `len()` bytes.
    fn write_to(&mut self, w: &mut dyn Write) -> io::Result<()>;
}

struct Counting<'a, W: Write> {
    inner: &'a mut W,
    n: u64,
}

impl<W: Write> Write for Counting<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.n += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes preamble, "DICM", the file meta group, the dataset and then the pixel data (tag
/// (7FE0,0010), so it must sort after every dataset element). Returns the file size.
pub fn write_part10(
    path: &Path,
    sop_class_uid: &str,
    sop_instance_uid: &str,
    source_ae: &str,
    ds: &DataSet,
    pixels: Option<&mut dyn PixelSource>,
) -> io::Result<u64> {
    let mut head = part10::prefix(&FileMeta {
        sop_class_uid,
        sop_instance_uid,
        transfer_syntax: EXPLICIT_VR_LE,
        implementation_class_uid: DEMO_IMPLEMENTATION_CLASS_UID,
        implementation_version_name: DEMO_IMPLEMENTATION_VERSION_NAME,
        source_ae: Some(source_ae),
    })?;
    ds.encode(&mut head)?;

    let mut w = BufWriter::with_capacity(1 << 20, File::create(path)?);
    w.write_all(&head)?;
    let mut total = head.len() as u64;
    if let Some(px) = pixels {
        let len = px.len();
        let len32 = u32::try_from(len)
            .ok()
            .filter(|l| l % 2 == 0 && *l != u32::MAX)
            .ok_or_else(|| invalid(format!("pixel data length {len} not encodable")))?;
        let mut ph = Vec::new();
        header(&mut ph, 0x7FE0_0010, px.vr(), len32)?;
        w.write_all(&ph)?;
        let mut counting = Counting {
            inner: &mut w,
            n: 0,
        };
        px.write_to(&mut counting)?;
        if counting.n != len {
            return Err(io::Error::other(format!(
                "pixel source wrote {} bytes, announced {len}",
                counting.n
            )));
        }
        total += ph.len() as u64 + len;
    }
    w.flush()?;
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso2022_designates_after_each_delimiter() {
        // PS3.5 Annex K.2 example: "Wang^XiaoDong=王^小东=".
        let got = Charset::Iso2022Ir58
            .encode("Wang^XiaoDong=王^小东=")
            .unwrap();
        let want = b"Wang^XiaoDong=\x1b$)A\xcd\xf5^\x1b$)A\xd0\xa1\xb6\xab=".to_vec();
        assert_eq!(got, want);
        assert!(Charset::Iso2022Ir58.encode("𠀀").is_err());
        assert!(Charset::Gbk.encode("😀").is_err());
    }
}
