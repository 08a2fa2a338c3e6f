//! Why an image is not compressed. Every reason means the same to the caller: send the original.

use std::io;

use crate::Codec;

/// An image this crate will not compress, with the reason (for the log and for a person). The
/// caller sends the original instead; nothing about the image is wrong for sending as received.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotCompressible {
    #[error("the pixel data is not native (transfer syntax {0}); it goes as received")]
    NotNative(String),
    #[error("float pixel data has no lossless JPEG-LS or JPEG 2000 form in DICOM")]
    FloatPixels,
    #[error("Bits Allocated {0} is not 8 or 16 (the codecs hold at most 16 bits per sample)")]
    BitsAllocated(u16),
    #[error("Bits Stored {stored} with Bits Allocated {allocated} is outside what {codec} holds")]
    BitsStored {
        stored: u16,
        allocated: u16,
        codec: Codec,
    },
    #[error("High Bit {high_bit} is not Bits Stored − 1 ({bits_stored} − 1)")]
    HighBit { high_bit: u16, bits_stored: u16 },
    #[error("Pixel Representation {0} is neither 0 (unsigned) nor 1 (signed)")]
    PixelRepresentation(u16),
    #[error("Photometric Interpretation {photometric} has no lossless {codec} form")]
    Photometric { photometric: String, codec: Codec },
    #[error("signed pixels with Photometric Interpretation {0} have no lossless compressed form")]
    SignedColour(String),
    #[error("Samples per Pixel {samples} does not match Photometric Interpretation {photometric}")]
    SamplesPerPixel { samples: u16, photometric: String },
    #[error("Planar Configuration {0} is neither 0 nor 1")]
    PlanarConfiguration(u16),
    #[error("the image has no pixels (Rows {rows}, Columns {columns}, Number of Frames {frames})")]
    Empty {
        rows: u16,
        columns: u16,
        frames: u32,
    },
    #[error("one frame is {bytes} bytes, more than the encoder takes in memory at once")]
    FrameTooLarge { bytes: u64 },
    #[error("Pixel Data holds {actual} bytes where the image attributes call for {expected}")]
    Length { expected: u64, actual: u64 },
    #[error("big-endian Pixel Data with VR {vr} and Bits Allocated {bits_allocated} has an ambiguous byte order")]
    BigEndianLayout { vr: String, bits_allocated: u16 },
    #[error("frame {frame}: the Pixel Data ends before the frame does")]
    Truncated { frame: u32 },
    #[error("frame {frame}: sample values use bits above High Bit (e.g. old overlay planes); compressing would drop them")]
    BitsAboveHighBit { frame: u32 },
    #[error("frame {frame}: the {codec} encoder failed: {detail}")]
    EncoderFailed {
        frame: u32,
        codec: Codec,
        detail: String,
    },
    #[error("frame {frame}: the {codec} frame could not be decoded again: {detail}")]
    DecodeFailed {
        frame: u32,
        codec: Codec,
        detail: String,
    },
    #[error("frame {frame}: the {codec} frame does not decode to the original pixels (first difference at byte {offset})")]
    NotLossless {
        frame: u32,
        codec: Codec,
        offset: usize,
    },
    #[error("the compressed frames pass 4 GiB, beyond what a Basic Offset Table addresses")]
    TooLarge,
}

impl NotCompressible {
    /// A stable short code for the reason, for the engine's translations and counters.
    pub fn code(&self) -> &'static str {
        match self {
            NotCompressible::NotNative(_) => "not-native",
            NotCompressible::FloatPixels => "float-pixels",
            NotCompressible::BitsAllocated(_) => "bits-allocated",
            NotCompressible::BitsStored { .. } => "bits-stored",
            NotCompressible::HighBit { .. } => "high-bit",
            NotCompressible::PixelRepresentation(_) => "pixel-representation",
            NotCompressible::Photometric { .. } => "photometric-interpretation",
            NotCompressible::SignedColour(_) => "signed-colour",
            NotCompressible::SamplesPerPixel { .. } => "samples-per-pixel",
            NotCompressible::PlanarConfiguration(_) => "planar-configuration",
            NotCompressible::Empty { .. } => "empty",
            NotCompressible::FrameTooLarge { .. } => "frame-too-large",
            NotCompressible::Length { .. } => "length",
            NotCompressible::BigEndianLayout { .. } => "big-endian-layout",
            NotCompressible::Truncated { .. } => "truncated",
            NotCompressible::BitsAboveHighBit { .. } => "bits-above-high-bit",
            NotCompressible::EncoderFailed { .. } => "encoder-failed",
            NotCompressible::DecodeFailed { .. } => "decode-failed",
            NotCompressible::NotLossless { .. } => "not-lossless",
            NotCompressible::TooLarge => "too-large",
        }
    }
}

/// What [`crate::PixelEncoder::encode`] can fail with. On any error, what was written to the
/// output is incomplete and must be thrown away.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// Send the original: the image cannot be compressed exactly.
    #[error("not compressible: {0}")]
    NotCompressible(#[from] NotCompressible),
    /// Reading the original failed (a disk error, not a property of the image).
    #[error("reading the original pixel data: {0}")]
    Read(#[source] io::Error),
    /// Writing the compressed copy failed (a disk error, e.g. no space).
    #[error("writing the compressed pixel data: {0}")]
    Write(#[source] io::Error),
}
