//! The encoder the engine calls: native Pixel Data in, encapsulated Pixel Data out, one frame at a
//! time, each frame decoded again and compared with the original before it is written.
//!
//! Must never: write a frame before it has been proven to decode to the original bytes, or read
//! more than one frame ahead.

use std::io::{self, Read, Seek, Write};

use crate::descriptor::{plan, Layout};
use crate::encapsulation::Fragments;
use crate::{frame, j2k, jpegls};
use crate::{Codec, DatasetChanges, EncodeError, NotCompressible, PixelDescriptor};

/// Encodes the Pixel Data of one image with one codec. It holds only the image's description, so
/// one encoder can be shared and used from several threads at once (`Send + Sync`); each
/// [`encode`](PixelEncoder::encode) call has its own buffers and codec instances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PixelEncoder {
    codec: Codec,
    layout: Layout,
    changes: DatasetChanges,
}

/// What one [`PixelEncoder::encode`] call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encoded {
    /// Frames encoded (every frame of the image).
    pub frames: u32,
    /// Native bytes read (the frames, without the value's padding byte).
    pub native_bytes: u64,
    /// Length of the encapsulated value written (items and delimiter included).
    pub encapsulated_bytes: u64,
}

/// The buffer one `encode` call reuses from frame to frame: the native frame. Everything else a
/// frame needs lives only while it is used (the codecs read the native bytes directly, and the
/// check compares the decoded frame with them a chunk at a time), so an encode holds at most
/// the native frame, the codestream and one decoded copy (plus the codec's own working memory).
#[derive(Default)]
struct Work {
    native: Vec<u8>,
}

impl PixelEncoder {
    /// An encoder for the image `pixels` describes, or the reason `codec` cannot hold it exactly.
    pub fn new(codec: Codec, pixels: &PixelDescriptor) -> Result<PixelEncoder, NotCompressible> {
        let (layout, changes) = plan(pixels, codec)?;
        Ok(PixelEncoder {
            codec,
            layout,
            changes,
        })
    }

    /// The codec this encoder writes.
    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// What the dataset must say once its Pixel Data is the encoded value.
    pub fn changes(&self) -> &DatasetChanges {
        &self.changes
    }

    /// Number of frames the image has (1 when Number of Frames is absent).
    pub fn frames(&self) -> u32 {
        self.layout.frames
    }

    /// How many bytes [`encode`](PixelEncoder::encode) reads from its source: the frames back to
    /// back, not the padding byte an odd-length value ends with.
    pub fn native_len(&self) -> u64 {
        self.layout.native_len()
    }

    /// Reads the native frames from `source` (positioned at the Pixel Data value) and writes the
    /// encapsulated value to `out` at its current position, ending with the Sequence Delimitation
    /// Item; `out` is left at the value's end. The caller writes
    /// [`crate::ENCAPSULATED_PIXEL_DATA_HEADER`] before it. Give it buffered I/O.
    ///
    /// On any error what was written is incomplete: throw the output away, and for
    /// [`EncodeError::NotCompressible`] send the original.
    pub fn encode<R: Read, W: Write + Seek>(
        &self,
        mut source: R,
        mut out: W,
    ) -> Result<Encoded, EncodeError> {
        let mut work = Work::default();
        work.native.resize(self.layout.frame_len(), 0);
        let mut fragments = Fragments::begin(&mut out, self.layout.frames)?;
        for index in 0..self.layout.frames {
            source
                .read_exact(&mut work.native)
                .map_err(|e| match e.kind() {
                    io::ErrorKind::UnexpectedEof => {
                        EncodeError::NotCompressible(NotCompressible::Truncated { frame: index })
                    }
                    _ => EncodeError::Read(e),
                })?;
            let codestream = self.encode_frame(index, &mut work)?;
            fragments.push(&mut out, &codestream)?;
        }
        let encapsulated_bytes = fragments.finish(&mut out)?;
        Ok(Encoded {
            frames: self.layout.frames,
            native_bytes: self.layout.native_len(),
            encapsulated_bytes,
        })
    }

    /// Encodes the frame in `work.native`; the codestream is returned only once it has been
    /// proven to decode to the original bytes.
    fn encode_frame(&self, index: u32, work: &mut Work) -> Result<Vec<u8>, NotCompressible> {
        frame::check_patterns(&self.layout, &work.native)
            .map_err(|()| NotCompressible::BitsAboveHighBit { frame: index })?;
        let encoded = match self.codec {
            Codec::JpegLsLossless => jpegls::encode(&self.layout, &work.native),
            Codec::Jpeg2000Lossless => j2k::encode(&self.layout, &work.native),
        };
        let codestream = encoded.map_err(|detail| NotCompressible::EncoderFailed {
            frame: index,
            codec: self.codec,
            detail,
        })?;
        self.verify(index, &codestream, work)?;
        Ok(codestream)
    }

    /// Decodes `codestream`, rebuilds the native bytes a DICOM reader would get from it, and
    /// compares them with the original frame in `work.native`.
    fn verify(
        &self,
        index: u32,
        codestream: &[u8],
        work: &mut Work,
    ) -> Result<(), NotCompressible> {
        let layout = &self.layout;
        let native = &work.native;
        let difference = match self.codec {
            Codec::JpegLsLossless => jpegls::decode(layout, codestream).map(|decoded| {
                frame::first_difference(layout, native, |i| {
                    jpegls::decoded_pattern(layout, &decoded, i)
                })
            }),
            Codec::Jpeg2000Lossless => j2k::decode(layout, codestream, |decoded| {
                frame::first_difference(layout, native, decoded)
            }),
        };
        match difference {
            Err(detail) => Err(NotCompressible::DecodeFailed {
                frame: index,
                codec: self.codec,
                detail,
            }),
            Ok(None) => Ok(()),
            Ok(Some(offset)) => Err(NotCompressible::NotLossless {
                frame: index,
                codec: self.codec,
                offset,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PixelElement;

    fn gradient(seed: u16) -> (PixelDescriptor, Vec<u8>) {
        let (rows, columns) = (32u16, 24u16);
        let pixels: Vec<u8> = (0..rows * columns)
            .flat_map(|i| ((i * 7 + seed) % 4096).to_le_bytes())
            .collect();
        let descriptor = PixelDescriptor {
            transfer_syntax_uid: "1.2.840.10008.1.2.1".into(),
            element: PixelElement::PixelData,
            pixel_data_vr: Some(*b"OW"),
            pixel_data_length: pixels.len() as u64,
            rows,
            columns,
            samples_per_pixel: 1,
            bits_allocated: 16,
            bits_stored: 12,
            high_bit: 11,
            pixel_representation: 0,
            photometric_interpretation: "MONOCHROME2".into(),
            planar_configuration: None,
            number_of_frames: None,
        };
        (descriptor, pixels)
    }

    fn work_for(native: &[u8]) -> Work {
        Work {
            native: native.to_vec(),
        }
    }

    /// The guard itself: a codestream that decodes to other pixels, or not at all, is caught.
    #[test]
    fn a_codestream_that_is_not_the_frame_is_caught() {
        let (descriptor, original) = gradient(0);
        let (_, other) = gradient(5);
        for codec in Codec::ALL {
            let encoder = PixelEncoder::new(codec, &descriptor).unwrap();
            let wrong = encoder.encode_frame(0, &mut work_for(&other)).unwrap();
            let mut work = work_for(&original);
            assert_eq!(
                encoder.verify(7, &wrong, &mut work),
                Err(NotCompressible::NotLossless {
                    frame: 7,
                    codec,
                    offset: 0
                })
            );
            let right = encoder.encode_frame(0, &mut work).unwrap();
            assert_eq!(encoder.verify(0, &right, &mut work), Ok(()));
            let cut = &right[..right.len() / 2];
            match encoder.verify(3, cut, &mut work) {
                Err(NotCompressible::DecodeFailed { frame: 3, .. })
                | Err(NotCompressible::NotLossless { frame: 3, .. }) => {}
                other => panic!("{codec}: a truncated codestream gave {other:?}"),
            }
        }
    }
}
