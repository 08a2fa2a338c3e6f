//! Why an image is not compressed. Every reason means the same to the caller: send the original.

use std::io;

use crate::Codec;

/// An image this crate will not compress, with the reason (for the log and for a person). The
/// caller sends the original instead; nothing about the image is wrong for sending as received.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotCompressible {
    /// The object is already compressed (its transfer syntax UID): nothing to do.
    #[error("the pixel data is not native (transfer syntax {0}); it goes as received")]
    NotNative(String),
    /// Float or Double Float Pixel Data (7FE0,0008/0009).
    #[error("float pixel data has no lossless JPEG-LS or JPEG 2000 form in DICOM")]
    FloatPixels,
    /// Bits Allocated (0028,0100) other than 8 or 16.
    #[error("Bits Allocated {0} is not 8 or 16 (the codecs hold at most 16 bits per sample)")]
    BitsAllocated(u16),
    /// Bits Stored (0028,0101) more than Bits Allocated, or more than the codec holds.
    #[error("Bits Stored {stored} with Bits Allocated {allocated} is outside what {codec} holds")]
    BitsStored {
        /// Bits Stored (0028,0101).
        stored: u16,
        /// Bits Allocated (0028,0100).
        allocated: u16,
        /// The codec asked for.
        codec: Codec,
    },
    /// High Bit (0028,0102) does not sit at the top of the stored bits.
    #[error("High Bit {high_bit} is not Bits Stored − 1 ({bits_stored} − 1)")]
    HighBit {
        /// High Bit (0028,0102).
        high_bit: u16,
        /// Bits Stored (0028,0101).
        bits_stored: u16,
    },
    /// Pixel Representation (0028,0103) other than 0 or 1.
    #[error("Pixel Representation {0} is neither 0 (unsigned) nor 1 (signed)")]
    PixelRepresentation(u16),
    /// A colour space the codec cannot carry exactly (e.g. PALETTE COLOR in JPEG 2000).
    #[error("Photometric Interpretation {photometric} has no lossless {codec} form")]
    Photometric {
        /// Photometric Interpretation (0028,0004) as received.
        photometric: String,
        /// The codec asked for.
        codec: Codec,
    },
    /// Signed samples in a colour image (Photometric Interpretation given).
    #[error("signed pixels with Photometric Interpretation {0} have no lossless compressed form")]
    SignedColour(String),
    /// Samples per Pixel (0028,0002) disagrees with the colour space.
    #[error("Samples per Pixel {samples} does not match Photometric Interpretation {photometric}")]
    SamplesPerPixel {
        /// Samples per Pixel (0028,0002).
        samples: u16,
        /// Photometric Interpretation (0028,0004) as received.
        photometric: String,
    },
    /// Planar Configuration (0028,0006) other than 0 (interleaved) or 1 (by plane).
    #[error("Planar Configuration {0} is neither 0 nor 1")]
    PlanarConfiguration(u16),
    /// Rows, Columns or Number of Frames is zero.
    #[error("the image has no pixels (Rows {rows}, Columns {columns}, Number of Frames {frames})")]
    Empty {
        /// Rows (0028,0010).
        rows: u16,
        /// Columns (0028,0011).
        columns: u16,
        /// Number of Frames (0028,0008), 1 when absent.
        frames: u32,
    },
    /// A single frame too large to hold in memory with its codestream and check copy.
    #[error("one frame is {bytes} bytes, more than the encoder takes in memory at once")]
    FrameTooLarge {
        /// Native size of one frame.
        bytes: u64,
    },
    /// The Pixel Data value is shorter or longer than Rows × Columns × samples × frames.
    #[error("Pixel Data holds {actual} bytes where the image attributes call for {expected}")]
    Length {
        /// Bytes the image attributes call for (padding allowed).
        expected: u64,
        /// The value length found.
        actual: u64,
    },
    /// Big-endian Pixel Data whose sample byte order PS3.5 leaves undefined (e.g. 16-bit in OB).
    #[error("big-endian Pixel Data with VR {vr} and Bits Allocated {bits_allocated} has an ambiguous byte order")]
    BigEndianLayout {
        /// The Pixel Data element's VR as written.
        vr: String,
        /// Bits Allocated (0028,0100).
        bits_allocated: u16,
    },
    /// The source ended in the middle of a frame (a short read, not a length mismatch).
    #[error("frame {frame}: the Pixel Data ends before the frame does")]
    Truncated {
        /// Frame number, from 1.
        frame: u32,
    },
    /// A sample has bits set above High Bit, which the codec would not keep.
    #[error("frame {frame}: sample values use bits above High Bit (e.g. old overlay planes); compressing would drop them")]
    BitsAboveHighBit {
        /// Frame number, from 1.
        frame: u32,
    },
    /// The codec library refused the frame.
    #[error("frame {frame}: the {codec} encoder failed: {detail}")]
    EncoderFailed {
        /// Frame number, from 1.
        frame: u32,
        /// The codec used.
        codec: Codec,
        /// The library's message.
        detail: String,
    },
    /// The codestream just written could not be decoded by the check.
    #[error("frame {frame}: the {codec} frame could not be decoded again: {detail}")]
    DecodeFailed {
        /// Frame number, from 1.
        frame: u32,
        /// The codec used.
        codec: Codec,
        /// The library's message.
        detail: String,
    },
    /// The check found the decoded frame differs from the original: never sent.
    #[error("frame {frame}: the {codec} frame does not decode to the original pixels (first difference at byte {offset})")]
    NotLossless {
        /// Frame number, from 1.
        frame: u32,
        /// The codec used.
        codec: Codec,
        /// First differing byte within the native frame.
        offset: usize,
    },
    /// The encapsulated value would pass the 32-bit offsets of the Basic Offset Table (PS3.5 A.4).
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
