//! What the caller tells us about an image (the Image Pixel module, PS3.3 C.7.6.3, and how the
//! native Pixel Data is laid out, PS3.5 8.1), checked against what each codec holds exactly
//! (PS3.5 Tables 8.2.3-1 and 8.2.4-1), and what the dataset must then say.
//!
//! Must never: accept an image whose compressed form would need a different pixel value, a
//! different sample count or a colour space the decoder cannot undo exactly.

use crate::{Codec, NotCompressible};

/// Which element carries the pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PixelElement {
    /// (7FE0,0010) Pixel Data.
    #[default]
    PixelData,
    /// (7FE0,0008) Float Pixel Data.
    FloatPixelData,
    /// (7FE0,0009) Double Float Pixel Data.
    DoubleFloatPixelData,
}

/// The pixel description of one image, as read from its dataset. Values are the raw attribute
/// values; the encoder decides what it can hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PixelDescriptor {
    /// The transfer syntax the object is stored in (for deflated objects the caller inflates
    /// and hands over the plain bytes).
    pub transfer_syntax_uid: String,
    /// Which pixel element the dataset has.
    pub element: PixelElement,
    /// The Pixel Data element's VR as written (explicit VR syntaxes); `None` for implicit VR.
    pub pixel_data_vr: Option<[u8; 2]>,
    /// The Pixel Data element's value length (with its padding byte, if any).
    pub pixel_data_length: u64,
    /// (0028,0010)
    pub rows: u16,
    /// (0028,0011)
    pub columns: u16,
    /// (0028,0002)
    pub samples_per_pixel: u16,
    /// (0028,0100)
    pub bits_allocated: u16,
    /// (0028,0101)
    pub bits_stored: u16,
    /// (0028,0102)
    pub high_bit: u16,
    /// (0028,0103)
    pub pixel_representation: u16,
    /// (0028,0004), padding spaces allowed.
    pub photometric_interpretation: String,
    /// (0028,0006); absent for one sample per pixel.
    pub planar_configuration: Option<u16>,
    /// (0028,0008); `None` when absent (one frame).
    pub number_of_frames: Option<u32>,
}

/// What the rest of the dataset must say once its Pixel Data is the encapsulated value.
///
/// Besides these: the dataset is written in Explicit VR Little Endian (every compressed transfer
/// syntax is), Pixel Data becomes VR OB with undefined length ([`crate::ENCAPSULATED_PIXEL_DATA_HEADER`]),
/// and Lossy Image Compression (0028,2110) and its companions stay as they are: the compression
/// is lossless, so no new lossy history is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetChanges {
    /// (0002,0010) in the file meta group.
    pub transfer_syntax_uid: &'static str,
    /// New (0028,0004) when the codec changes the colour space: JPEG 2000's reversible colour
    /// transform makes RGB into YBR_RCT (PS3.3 C.7.6.3.1.2).
    pub photometric_interpretation: Option<&'static str>,
    /// New (0028,0006) for colour images: compressed colour is always by pixel (0).
    pub planar_configuration: Option<u16>,
}

/// How the native bytes of one frame are laid out, checked and ready for the codecs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    pub rows: usize,
    pub columns: usize,
    /// 1 or 3.
    pub samples: usize,
    /// 1 or 2 (Bits Allocated 8 or 16).
    pub bytes_per_sample: usize,
    /// The bits each sample is coded with: Bits Stored, or Bits Allocated when JPEG-LS codes
    /// whole stored words (see `plan`).
    pub precision: u32,
    /// Samples are coded as signed values (JPEG 2000 only: JPEG-LS has no sign).
    pub signed: bool,
    /// Planar Configuration 1: all of the first sample, then the second, then the third.
    pub planar: bool,
    /// The value is big-endian 16-bit words (Explicit VR Big Endian, OW): 16-bit samples most
    /// significant byte first, 8-bit samples swapped in pairs. Frames then hold whole words.
    pub big_endian: bool,
    pub frames: u32,
    /// JPEG 2000 only: code the three samples through the reversible colour transform.
    pub colour_transform: bool,
}

impl Layout {
    pub fn pixels(&self) -> usize {
        self.rows * self.columns
    }

    pub fn samples_per_frame(&self) -> usize {
        self.pixels() * self.samples
    }

    pub fn frame_len(&self) -> usize {
        self.samples_per_frame() * self.bytes_per_sample
    }

    pub fn native_len(&self) -> u64 {
        self.frame_len() as u64 * u64::from(self.frames)
    }

    /// The mask of the bits that hold a sample's value.
    pub fn value_mask(&self) -> u16 {
        (((1u32 << self.precision) - 1) & 0xFFFF) as u16
    }
}

/// The largest frame we encode. Encoding holds a few copies of a frame (JPEG 2000: its samples
/// as 32-bit integers, twice): 128 MiB covers mammography and large photographs while bounding
/// what one worker can use.
const MAX_FRAME_BYTES: usize = 128 << 20;

const IMPLICIT_VR_LITTLE_ENDIAN: &str = "1.2.840.10008.1.2";
const EXPLICIT_VR_LITTLE_ENDIAN: &str = "1.2.840.10008.1.2.1";
const DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN: &str = "1.2.840.10008.1.2.1.99";
const EXPLICIT_VR_BIG_ENDIAN: &str = "1.2.840.10008.1.2.2";

/// Checks `d` against what `codec` holds exactly and works out the layout and dataset changes.
pub(crate) fn plan(
    d: &PixelDescriptor,
    codec: Codec,
) -> Result<(Layout, DatasetChanges), NotCompressible> {
    let big_endian = match d.transfer_syntax_uid.trim_end_matches(['\0', ' ']) {
        IMPLICIT_VR_LITTLE_ENDIAN
        | EXPLICIT_VR_LITTLE_ENDIAN
        | DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN => false,
        EXPLICIT_VR_BIG_ENDIAN => true,
        other => return Err(NotCompressible::NotNative(other.to_string())),
    };
    if d.element != PixelElement::PixelData {
        return Err(NotCompressible::FloatPixels);
    }
    let bytes_per_sample = match d.bits_allocated {
        8 => 1,
        16 => 2,
        other => return Err(NotCompressible::BitsAllocated(other)),
    };
    // PS3.5 7.3 and A.3: in Explicit VR Big Endian an OW value is big-endian 16-bit words (two
    // 8-bit samples swapped in each), an OB value plain bytes. 16-bit samples in OB have no
    // defined order.
    let ambiguous = || NotCompressible::BigEndianLayout {
        vr: String::from_utf8_lossy(&d.pixel_data_vr.unwrap_or(*b"  ")).into_owned(),
        bits_allocated: d.bits_allocated,
    };
    let big_endian_words = match (big_endian, d.pixel_data_vr.as_ref(), bytes_per_sample) {
        (false, _, _) => false,
        (true, Some(b"OW"), _) => true,
        (true, Some(b"OB"), 1) => false,
        (true, _, _) => return Err(ambiguous()),
    };
    if d.bits_stored == 0 || d.bits_stored > d.bits_allocated {
        return Err(NotCompressible::BitsStored {
            stored: d.bits_stored,
            allocated: d.bits_allocated,
            codec,
        });
    }
    // PS3.5 8.2: compressed pixel data has its High Bit at Bits Stored − 1.
    if d.high_bit + 1 != d.bits_stored {
        return Err(NotCompressible::HighBit {
            high_bit: d.high_bit,
            bits_stored: d.bits_stored,
        });
    }
    let signed = match d.pixel_representation {
        0 => false,
        1 => true,
        other => return Err(NotCompressible::PixelRepresentation(other)),
    };

    let photometric = d.photometric_interpretation.trim_end_matches(['\0', ' ']);
    let unsupported = || NotCompressible::Photometric {
        photometric: photometric.to_string(),
        codec,
    };
    // (samples per pixel, the new Photometric Interpretation if the codec changes it)
    let (samples, new_photometric) = match (photometric, codec) {
        ("MONOCHROME1" | "MONOCHROME2", _) => (1, None),
        ("PALETTE COLOR", _) => (1, None),
        ("RGB", Codec::JpegLsLossless) => (3, None),
        // Reversible colour transform on: the codestream holds YBR_RCT (PS3.5 8.2.4).
        ("RGB", Codec::Jpeg2000Lossless) => (3, Some("YBR_RCT")),
        // Table 8.2.3-1 pairs YBR_FULL with JPEG-LS (8 bits, no colour transform). JPEG 2000 is
        // left alone: its colour transform must not be applied to YBR samples.
        ("YBR_FULL", Codec::JpegLsLossless) => (3, None),
        // YBR_FULL_422 and the other subsampled or lossy-only spaces, retired ones, and
        // anything unknown.
        _ => return Err(unsupported()),
    };
    if d.samples_per_pixel != samples {
        return Err(NotCompressible::SamplesPerPixel {
            samples: d.samples_per_pixel,
            photometric: photometric.to_string(),
        });
    }
    if signed && photometric != "MONOCHROME1" && photometric != "MONOCHROME2" {
        return Err(NotCompressible::SignedColour(photometric.to_string()));
    }
    if photometric == "YBR_FULL" && d.bits_stored != 8 {
        return Err(NotCompressible::BitsStored {
            stored: d.bits_stored,
            allocated: d.bits_allocated,
            codec,
        });
    }
    let planar = match (samples, d.planar_configuration) {
        (1, _) | (_, None | Some(0)) => false,
        (_, Some(1)) => true,
        (_, Some(other)) => return Err(NotCompressible::PlanarConfiguration(other)),
    };

    let frames = d.number_of_frames.unwrap_or(1);
    if d.rows == 0 || d.columns == 0 || frames == 0 {
        return Err(NotCompressible::Empty {
            rows: d.rows,
            columns: d.columns,
            frames,
        });
    }
    // JPEG-LS has no sign and its decoders differ in what they put above Bits Stored: pydicom
    // sign-extends from Pixel Representation, DCMTK (and so Orthanc, the usual hub) writes
    // zeros. Signed samples narrower than their container are therefore coded as whole stored
    // words (P = Bits Allocated, as dcmcjpls does by default), which every decoder gives back
    // byte for byte. So are the layouts DCMTK decodes no other way: 8 bits or fewer in 16, and
    // fewer than 8 in 8.
    let dcmtk_precision = if bytes_per_sample == 1 { 8..=8 } else { 9..=16 };
    let whole_words = codec == Codec::JpegLsLossless
        && ((signed && d.bits_stored < d.bits_allocated)
            || !dcmtk_precision.contains(&d.bits_stored));
    let (precision, signed) = if whole_words {
        (d.bits_allocated, false)
    } else {
        (d.bits_stored, signed)
    };
    let layout = Layout {
        rows: usize::from(d.rows),
        columns: usize::from(d.columns),
        samples: usize::from(samples),
        bytes_per_sample,
        precision: u32::from(precision),
        signed,
        planar,
        big_endian: big_endian_words,
        frames,
        colour_transform: new_photometric == Some("YBR_RCT"),
    };
    if layout.frame_len() > MAX_FRAME_BYTES {
        return Err(NotCompressible::FrameTooLarge {
            bytes: layout.frame_len() as u64,
        });
    }
    // Swapped pairs of 8-bit samples would straddle frames (or the padding byte) when a frame
    // has an odd number of samples.
    if big_endian_words && bytes_per_sample == 1 && layout.frame_len() % 2 == 1 {
        return Err(ambiguous());
    }
    // The value is the frames back to back, plus one padding byte when that is odd (PS3.5 7.1).
    let expected = layout.native_len();
    let padded = expected + expected % 2;
    if d.pixel_data_length != expected && d.pixel_data_length != padded {
        return Err(NotCompressible::Length {
            expected,
            actual: d.pixel_data_length,
        });
    }
    let changes = DatasetChanges {
        transfer_syntax_uid: codec.transfer_syntax_uid(),
        photometric_interpretation: new_photometric,
        planar_configuration: (samples == 3).then_some(0),
    };
    Ok((layout, changes))
}
