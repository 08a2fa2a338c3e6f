//! The compressed copy for the wire: from a stored PS3.10 file received uncompressed (Implicit
//! or Explicit VR Little Endian, Deflated, or Explicit VR Big Endian), a PS3.10 file whose Pixel Data is JPEG-LS lossless or JPEG 2000 lossless
//! (PS3.5 A.4.3, A.4.4), made as `station_codec` says its caller must: the meta group with the
//! new Transfer Syntax UID (everything else in it kept), the dataset in Explicit VR Little Endian
//! (`explicit`: a Big Endian one byte-swapped by VR), (0028,0004) and (0028,0006) as the codec's `DatasetChanges` say, then the
//! encapsulated Pixel Data the codec writes frame by frame (each frame decoded again and compared
//! with the original first), then whatever followed Pixel Data. Big Endian Pixel Data goes to the
//! codec as received: it reads OW words most significant byte first (PS3.5 A.3), so the samples
//! it encodes and compares are the original's values.
//!
//! What cannot be compressed exactly, or is not yet handled here, is [`Outcome::AsReceived`]
//! with the reason: the caller sends the original. Images already compressed, objects without
//! pixel data (SR, PDF, waveforms), and every [`NotCompressible`] reason of the codec (Big
//! Endian 16-bit samples in OB, whose byte order the standard leaves undefined, among them).
//!
//! Must never: write to the original, leave anything under the destination name but a complete
//! copy (it is written to a temporary name and renamed), hold more than the elements before
//! Pixel Data ([`MAX_HELD`]) and one frame in memory, or make anything lossy.

mod explicit;

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;

use station_codec::{
    Codec, EncodeError, NotCompressible, PixelDescriptor, PixelElement, PixelEncoder,
    ENCAPSULATED_PIXEL_DATA_HEADER,
};

use super::element::{self, has_long_length, padded, read_rest, tag_le, UNDEFINED_LENGTH};
use explicit::{read_tag, Source};

/// Attributes before Pixel Data are held in memory while the pixel description is gathered
/// (they are small: the header of an image); a dataset with more goes as received.
pub const MAX_HELD: usize = 64 << 20;

const PIXEL_DATA: u32 = 0x7FE0_0010;
const FLOAT_PIXEL_DATA: u32 = 0x7FE0_0008;
const DOUBLE_FLOAT_PIXEL_DATA: u32 = 0x7FE0_0009;
const ROWS: u32 = 0x0028_0010;
const IMPLICIT_LE: &str = "1.2.840.10008.1.2";
const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
const EXPLICIT_BE: &str = "1.2.840.10008.1.2.2";
const DEFLATED: &str = "1.2.840.10008.1.2.1.99";

/// Why making the copy failed (unlike a [`Declined`] reason, unexpected: the caller logs a
/// warning and sends the original).
#[derive(Debug, thiserror::Error)]
pub enum CompressError {
    /// Reading the original or writing the copy failed (disk full, file gone).
    #[error("I/O: {0}")]
    Io(#[from] io::Error),
    /// The stored file does not parse as the transfer syntax it declares (what is wrong).
    #[error("the dataset cannot be read: {0}")]
    Malformed(String),
}

/// What [`write_compressed`] did.
#[derive(Debug)]
pub enum Outcome {
    /// The copy is at the destination path.
    Compressed(Compressed),
    /// Nothing was written: send the original.
    AsReceived(Declined),
}

/// The sizes of a copy made, for the log and the encoder's pacing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compressed {
    /// The copy's size in bytes.
    pub size: u64,
    /// Frames encoded (1 for a single-frame image).
    pub frames: u32,
    /// Native pixel bytes in, encapsulated bytes out.
    pub native_bytes: u64,
    /// The encapsulated Pixel Data's length in bytes, as the codec wrote it.
    pub encapsulated_bytes: u64,
}

/// Why an object goes as received.
#[derive(Debug)]
pub enum Declined {
    /// Already in a compressed (or otherwise non-native) transfer syntax: sent as the device did.
    NotNative(String),
    /// Something this module does not handle yet (a dataset too large before Pixel Data).
    NotYet(&'static str),
    /// No Pixel Data: SR, PDF, waveforms, presentation states.
    NoPixelData,
    /// An attribute the pixel description needs is missing or unreadable.
    Attribute(&'static str),
    /// The codec cannot hold this image exactly.
    NotCompressible(NotCompressible),
    /// The copy came out no smaller than the original (noise compresses badly): it would only
    /// cost the hub's decoding. Decided by the caller, who has both sizes.
    NotSmaller {
        /// The copy's size in bytes.
        copy: u64,
        /// The original's size in bytes.
        original: u64,
    },
}

impl Declined {
    /// A stable short code, for the log and counters.
    pub fn code(&self) -> &'static str {
        match self {
            Declined::NotNative(_) => "not-native",
            Declined::NotYet(_) => "not-yet",
            Declined::NoPixelData => "no-pixel-data",
            Declined::Attribute(_) => "attribute",
            Declined::NotCompressible(n) => n.code(),
            Declined::NotSmaller { .. } => "not-smaller",
        }
    }
}

impl fmt::Display for Declined {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Declined::NotNative(ts) => write!(f, "transfer syntax {ts} is already compressed"),
            Declined::NotYet(what) => write!(f, "{what}: not transcoded yet"),
            Declined::NoPixelData => f.write_str("no pixel data"),
            Declined::Attribute(what) => write!(f, "{what} missing or unreadable"),
            Declined::NotCompressible(n) => n.fmt(f),
            Declined::NotSmaller { copy, original } => write!(
                f,
                "the compressed copy ({copy} bytes) is not smaller than the original ({original} bytes)"
            ),
        }
    }
}

/// The Image Pixel attributes (PS3.3 C.7.6.3) as read from the top-level dataset.
#[derive(Default)]
struct Pixels {
    rows: Option<u16>,
    columns: Option<u16>,
    samples_per_pixel: Option<u16>,
    bits_allocated: Option<u16>,
    bits_stored: Option<u16>,
    high_bit: Option<u16>,
    pixel_representation: Option<u16>,
    photometric: Option<String>,
    planar_configuration: Option<u16>,
    number_of_frames: Option<u32>,
}

impl Pixels {
    /// Notes `bytes` (a whole explicit VR element) if it is one of ours.
    fn note(&mut self, tag: u32, bytes: &[u8]) {
        let value = &bytes[element::header_len(bytes, true).min(bytes.len())..];
        let us = || value.get(..2).map(|v| u16::from_le_bytes([v[0], v[1]]));
        let text = || {
            String::from_utf8_lossy(value)
                .trim_end_matches(['\0', ' '])
                .trim()
                .to_string()
        };
        match tag {
            ROWS => self.rows = us(),
            0x0028_0011 => self.columns = us(),
            0x0028_0002 => self.samples_per_pixel = us(),
            0x0028_0100 => self.bits_allocated = us(),
            0x0028_0101 => self.bits_stored = us(),
            0x0028_0102 => self.high_bit = us(),
            0x0028_0103 => self.pixel_representation = us(),
            0x0028_0006 => self.planar_configuration = us(),
            0x0028_0004 => self.photometric = Some(text()),
            0x0028_0008 => self.number_of_frames = text().parse().ok(),
            _ => {}
        }
    }

    fn descriptor(
        &self,
        transfer_syntax: &str,
        vr: Option<[u8; 2]>,
        length: u32,
    ) -> Result<PixelDescriptor, Declined> {
        let need = |v: Option<u16>, what| v.ok_or(Declined::Attribute(what));
        Ok(PixelDescriptor {
            transfer_syntax_uid: transfer_syntax.to_string(),
            element: PixelElement::PixelData,
            pixel_data_vr: vr,
            pixel_data_length: u64::from(length),
            rows: need(self.rows, "Rows")?,
            columns: need(self.columns, "Columns")?,
            samples_per_pixel: need(self.samples_per_pixel, "Samples per Pixel")?,
            bits_allocated: need(self.bits_allocated, "Bits Allocated")?,
            bits_stored: need(self.bits_stored, "Bits Stored")?,
            high_bit: need(self.high_bit, "High Bit")?,
            pixel_representation: need(self.pixel_representation, "Pixel Representation")?,
            photometric_interpretation: self
                .photometric
                .clone()
                .ok_or(Declined::Attribute("Photometric Interpretation"))?,
            planar_configuration: self.planar_configuration,
            number_of_frames: self.number_of_frames,
        })
    }
}

/// The preamble, "DICM" and meta group of `r`'s file (PS3.10 7.1), and its transfer syntax.
struct Meta {
    transfer_syntax: String,
    /// Each meta element but the group length, whole.
    elements: Vec<(u32, Vec<u8>)>,
}

fn read_meta(r: &mut impl Read) -> Result<Meta, CompressError> {
    let mut head = [0u8; 132];
    r.read_exact(&mut head)?;
    if &head[128..] != b"DICM" {
        return Err(CompressError::Malformed("not a PS3.10 file".into()));
    }
    let mut gl = Vec::new();
    let t = read_tag(r)?.ok_or_else(|| CompressError::Malformed("no meta group".into()))?;
    gl.extend_from_slice(&t);
    read_rest(r, tag_le(t), true, &mut gl)?;
    if tag_le(t) != 0x0002_0000 || gl.len() != 12 {
        return Err(CompressError::Malformed(
            "meta group without its length".into(),
        ));
    }
    let meta_len = u32::from_le_bytes([gl[8], gl[9], gl[10], gl[11]]);
    let mut group = Vec::new();
    r.take(u64::from(meta_len)).read_to_end(&mut group)?;
    if group.len() as u64 != u64::from(meta_len) {
        return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
    }
    let mut rest: &[u8] = &group;
    let (mut elements, mut transfer_syntax) = (Vec::new(), None);
    for _ in 0..1000 {
        let Some(t) = read_tag(&mut rest)? else { break };
        let mut bytes = t.to_vec();
        read_rest(&mut rest, tag_le(t), true, &mut bytes)?;
        if tag_le(t) == 0x0002_0010 {
            let value = &bytes[element::header_len(&bytes, true)..];
            let text = String::from_utf8_lossy(value);
            transfer_syntax = Some(text.trim_end_matches(['\0', ' ']).to_string());
        }
        elements.push((tag_le(t), bytes));
    }
    let transfer_syntax =
        transfer_syntax.ok_or_else(|| CompressError::Malformed("no Transfer Syntax UID".into()))?;
    Ok(Meta {
        transfer_syntax,
        elements,
    })
}

/// Preamble, "DICM" and the meta group of `meta` with Transfer Syntax UID `uid`.
fn new_meta(meta: &Meta, uid: &str) -> Result<Vec<u8>, CompressError> {
    let mut group = Vec::new();
    for (tag, bytes) in &meta.elements {
        if *tag == 0x0002_0010 {
            let value = padded(*b"UI", uid.as_bytes().to_vec());
            group.extend(element::element(*tag, *b"UI", &value, true)?);
        } else {
            group.extend_from_slice(bytes);
        }
    }
    let mut out = vec![0u8; 128];
    out.extend_from_slice(b"DICM");
    let len = u32::try_from(group.len())
        .map_err(|_| CompressError::Malformed("meta group too long".into()))?;
    out.extend(element::element(
        0x0002_0000,
        *b"UL",
        &len.to_le_bytes(),
        true,
    )?);
    out.extend(group);
    Ok(out)
}

/// Writes the compressed copy of `original` to `dest` (through `dest` + ".tmp"), or says why
/// the original must go instead. On an error nothing is left at `dest` or its temporary name.
pub fn write_compressed(
    original: &Path,
    dest: &Path,
    codec: Codec,
) -> Result<Outcome, CompressError> {
    let tmp = dest.with_extension("tmp");
    let outcome = write(original, &tmp, codec);
    match &outcome {
        Ok(Outcome::Compressed(_)) => {
            if let Err(e) = std::fs::rename(&tmp, dest) {
                let _ = std::fs::remove_file(&tmp);
                return Err(e.into());
            }
        }
        _ => {
            let _ = std::fs::remove_file(&tmp);
        }
    }
    outcome
}

fn write(original: &Path, tmp: &Path, codec: Codec) -> Result<Outcome, CompressError> {
    let declined = |d| Ok(Outcome::AsReceived(d));
    let mut file = BufReader::with_capacity(1 << 16, File::open(original)?);
    let meta = read_meta(&mut file)?;
    let source = match meta.transfer_syntax.as_str() {
        IMPLICIT_LE => Source::ImplicitLe,
        EXPLICIT_LE | DEFLATED => Source::ExplicitLe,
        EXPLICIT_BE => Source::ExplicitBe,
        other => return declined(Declined::NotNative(other.to_string())),
    };
    // A deflated dataset is Explicit VR Little Endian once inflated (PS3.5 A.5), read as a
    // stream like any other.
    let mut r: Box<dyn Read> = if meta.transfer_syntax == DEFLATED {
        Box::new(BufReader::new(flate2::read::DeflateDecoder::new(file)))
    } else {
        Box::new(file)
    };
    // Top-level elements before Pixel Data, explicit, by tag (replaced ones swapped in later).
    let mut before: BTreeMap<u32, Vec<u8>> = BTreeMap::new();
    let (mut held, mut pixels) = (0usize, Pixels::default());
    let pixel_tag = loop {
        let Some(t) = read_tag(&mut r)? else {
            return declined(Declined::NoPixelData);
        };
        let tag = source.tag(t);
        match tag {
            PIXEL_DATA => break tag,
            FLOAT_PIXEL_DATA | DOUBLE_FLOAT_PIXEL_DATA => {
                return declined(Declined::NotCompressible(NotCompressible::FloatPixels))
            }
            // Past the Image Pixel group without Rows: not an image (spares reading a PDF).
            _ if tag > PIXEL_DATA || (tag > 0x0028_FFFF && pixels.rows.is_none()) => {
                return declined(Declined::NoPixelData)
            }
            _ => {}
        }
        let signed = pixels.pixel_representation == Some(1);
        let bytes = explicit::element(&mut r, t, source, signed)?;
        held += bytes.len();
        if held > MAX_HELD {
            return declined(Declined::NotYet(
                "over 64 MiB of attributes before Pixel Data",
            ));
        }
        pixels.note(tag, &bytes);
        before.insert(tag, bytes);
    };
    // The Pixel Data header: VR (explicit) and the value length.
    let mut vr = None;
    let mut len_bytes = [0u8; 4];
    if source != Source::ImplicitLe {
        let mut v = [0u8; 4];
        r.read_exact(&mut v)?;
        if !has_long_length([v[0], v[1]]) {
            return Err(CompressError::Malformed(
                "Pixel Data with a short header".into(),
            ));
        }
        vr = Some([v[0], v[1]]);
    }
    r.read_exact(&mut len_bytes)?;
    let length = source.number(&len_bytes);
    debug_assert_eq!(pixel_tag, PIXEL_DATA);
    if length == UNDEFINED_LENGTH {
        return declined(Declined::NotNative(format!(
            "{} with encapsulated Pixel Data",
            meta.transfer_syntax
        )));
    }
    let descriptor = match pixels.descriptor(&meta.transfer_syntax, vr, length) {
        Ok(d) => d,
        Err(d) => return declined(d),
    };
    let encoder = match PixelEncoder::new(codec, &descriptor) {
        Ok(e) => e,
        Err(n) => return declined(Declined::NotCompressible(n)),
    };
    let changes = encoder.changes().clone();
    if let Some(p) = changes.photometric_interpretation {
        let value = padded(*b"CS", p.as_bytes().to_vec());
        before.insert(
            0x0028_0004,
            element::element(0x0028_0004, *b"CS", &value, true)?,
        );
    }
    if let Some(p) = changes.planar_configuration {
        before.insert(
            0x0028_0006,
            element::element(0x0028_0006, *b"US", &p.to_le_bytes(), true)?,
        );
    }

    let mut w = BufWriter::with_capacity(1 << 16, File::create(tmp)?);
    w.write_all(&new_meta(&meta, changes.transfer_syntax_uid)?)?;
    for bytes in before.values() {
        w.write_all(bytes)?;
    }
    w.write_all(&ENCAPSULATED_PIXEL_DATA_HEADER)?;
    let native = encoder.native_len();
    let encoded = match encoder.encode((&mut r).take(native), &mut w) {
        Ok(e) => e,
        Err(EncodeError::NotCompressible(n)) => return declined(Declined::NotCompressible(n)),
        Err(EncodeError::Read(e) | EncodeError::Write(e)) => return Err(e.into()),
    };
    // The value's padding byte, if any, is not part of the compressed value.
    io::copy(
        &mut (&mut r).take(u64::from(length).saturating_sub(native)),
        &mut io::sink(),
    )?;
    for _ in 0..1_000_000 {
        let Some(t) = read_tag(&mut r)? else { break };
        w.write_all(&explicit::element(&mut r, t, source, false)?)?;
    }
    let file = w.into_inner().map_err(|e| e.into_error())?;
    // No fsync: the copy is sent and deleted by this process, and thrown away at the next start
    // if the process dies first; the original is what must survive a crash.
    let size = file.metadata()?.len();
    Ok(Outcome::Compressed(Compressed {
        size,
        frames: encoded.frames,
        native_bytes: encoded.native_bytes,
        encapsulated_bytes: encoded.encapsulated_bytes,
    }))
}

#[cfg(test)]
mod tests;
