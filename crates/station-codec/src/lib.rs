//! Lossless re-encoding of native (uncompressed) DICOM pixel data for the wire: JPEG-LS lossless
//! (PS3.5 A.4.3, CharLS) or JPEG 2000 lossless (PS3.5 A.4.4, OpenJPEG), written as encapsulated
//! Pixel Data (PS3.5 A.4: Basic Offset Table, one fragment per frame, Sequence Delimitation).
//!
//! The caller describes the image ([`PixelDescriptor`]), asks for a [`PixelEncoder`] (which refuses
//! images the codec cannot hold exactly with a typed [`NotCompressible`] reason), hands it a reader
//! positioned at the native Pixel Data value and a seekable writer, and applies the
//! [`DatasetChanges`] to the rest of the dataset. Frames are read, encoded, decoded again and
//! compared byte for byte with the original one at a time, so memory stays at a few frames
//! whatever the size of the object.
//!
//! What the caller does around [`PixelEncoder::encode`] to make the compressed copy (PS3.10):
//! - a new file meta group with Transfer Syntax UID [`DatasetChanges::transfer_syntax_uid`]
//!   (and its group length); everything else in it as before;
//! - the dataset in Explicit VR Little Endian whatever it was received in: elements of an
//!   Implicit VR dataset get their VR from the dictionary, a Big Endian one is byte-swapped by
//!   VR (US, SS, UL, SL, FL, FD, OW, AT, …), a deflated one is inflated;
//! - (0028,0004) and (0028,0006) set as [`DatasetChanges`] says, Lossy Image Compression
//!   (0028,2110) left as it is; then [`ENCAPSULATED_PIXEL_DATA_HEADER`] and the value `encode`
//!   writes, then whatever followed Pixel Data (e.g. trailing padding), re-encoded the same way;
//! - on [`EncodeError::NotCompressible`], the original goes as received, with the reason's
//!   [`NotCompressible::code`] and text logged.
//!
//! Must never: write a frame that does not decode to exactly the original bytes, hold more than
//! one source frame at a time, touch any attribute itself, or depend on the `station` engine.

mod codec;
mod descriptor;
mod encapsulation;
mod encoder;
mod error;
mod frame;
mod j2k;
mod jpegls;

pub use codec::Codec;
pub use descriptor::{DatasetChanges, PixelDescriptor, PixelElement};
pub use encapsulation::ENCAPSULATED_PIXEL_DATA_HEADER;
pub use encoder::{Encoded, PixelEncoder};
pub use error::{EncodeError, NotCompressible};
