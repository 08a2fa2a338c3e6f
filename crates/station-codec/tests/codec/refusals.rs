//! Images the codecs cannot hold exactly are refused, each with its own reason, before any
//! output (or, for what only the pixels show, part way, with the frame named).

use std::io::Cursor;

use station_codec::{Codec, EncodeError, NotCompressible, PixelElement, PixelEncoder};

use crate::images::{colour, palette, Image, Mono};

fn refusal(image: &Image, codec: Codec) -> NotCompressible {
    match PixelEncoder::new(codec, &image.descriptor) {
        Err(reason) => reason,
        Ok(_) => panic!("{} with {codec} was accepted", image.name),
    }
}

/// The refusal of an image both codecs refuse for the same reason.
fn refused_by_both(image: &Image) -> NotCompressible {
    let a = refusal(image, Codec::JpegLsLossless);
    let b = refusal(image, Codec::Jpeg2000Lossless);
    assert_eq!(a.code(), b.code(), "{}", image.name);
    a
}

fn mono8() -> Image {
    Mono::new("mono", 16, 16, 8, 8).build()
}

fn mono12() -> Image {
    Mono::new("mono 12", 16, 16, 16, 12).build()
}

#[test]
fn already_compressed_pixel_data_goes_as_received() {
    let mut image = mono8();
    image.descriptor.transfer_syntax_uid = "1.2.840.10008.1.2.4.50".into();
    assert_eq!(
        refused_by_both(&image),
        NotCompressible::NotNative("1.2.840.10008.1.2.4.50".into())
    );
    // Encapsulated uncompressed is still encapsulated: not a native value to read.
    image.descriptor.transfer_syntax_uid = "1.2.840.10008.1.2.1.98".into();
    assert_eq!(refused_by_both(&image).code(), "not-native");
}

#[test]
fn float_pixels_are_refused() {
    let mut image = Mono::new("float", 4, 4, 16, 16).build();
    image.descriptor.element = PixelElement::FloatPixelData;
    image.descriptor.bits_allocated = 32;
    assert_eq!(refused_by_both(&image), NotCompressible::FloatPixels);
    image.descriptor.element = PixelElement::DoubleFloatPixelData;
    image.descriptor.bits_allocated = 64;
    assert_eq!(refused_by_both(&image), NotCompressible::FloatPixels);
}

#[test]
fn more_than_16_bits_and_single_bit_images_are_refused() {
    let mut image = mono12();
    image.descriptor.bits_allocated = 32;
    image.descriptor.bits_stored = 24;
    image.descriptor.high_bit = 23;
    assert_eq!(refused_by_both(&image), NotCompressible::BitsAllocated(32));
    image.descriptor.bits_allocated = 1;
    image.descriptor.bits_stored = 1;
    image.descriptor.high_bit = 0;
    assert_eq!(refused_by_both(&image), NotCompressible::BitsAllocated(1));
}

#[test]
fn bits_stored_outside_bits_allocated_and_a_displaced_high_bit_are_refused() {
    let mut image = mono8();
    image.descriptor.bits_stored = 0;
    assert_eq!(refused_by_both(&image).code(), "bits-stored");
    let mut image = mono12();
    image.descriptor.high_bit = 15; // retired layout: value in the top bits
    assert_eq!(
        refused_by_both(&image),
        NotCompressible::HighBit {
            high_bit: 15,
            bits_stored: 12
        }
    );
    let mut image = mono8();
    image.descriptor.bits_stored = 12;
    assert_eq!(refused_by_both(&image).code(), "bits-stored");
}

#[test]
fn subsampled_retired_and_unknown_colour_spaces_are_refused() {
    for photometric in [
        "YBR_FULL_422",
        "YBR_PARTIAL_420",
        "YBR_ICT",
        "ARGB",
        "CMYK",
        "HSV",
        "XYZ",
    ] {
        let mut image = colour("colour", "RGB", 8, 8, None, 8, false);
        image.descriptor.photometric_interpretation = photometric.into();
        assert_eq!(
            refused_by_both(&image).code(),
            "photometric-interpretation",
            "{photometric}"
        );
    }
    // JPEG 2000's colour transform is for RGB; YBR_FULL goes as received there.
    let ybr = colour("YBR_FULL", "YBR_FULL", 8, 8, None, 8, false);
    assert!(PixelEncoder::new(Codec::JpegLsLossless, &ybr.descriptor).is_ok());
    assert_eq!(
        refusal(&ybr, Codec::Jpeg2000Lossless),
        NotCompressible::Photometric {
            photometric: "YBR_FULL".into(),
            codec: Codec::Jpeg2000Lossless
        }
    );
}

#[test]
fn signed_colour_and_signed_palette_indices_are_refused() {
    let mut rgb = colour("RGB", "RGB", 8, 8, None, 8, false);
    rgb.descriptor.pixel_representation = 1;
    assert_eq!(
        refused_by_both(&rgb),
        NotCompressible::SignedColour("RGB".into())
    );
    let mut pal = palette("palette", 8, 8);
    pal.descriptor.pixel_representation = 1;
    assert_eq!(
        refused_by_both(&pal),
        NotCompressible::SignedColour("PALETTE COLOR".into())
    );
    let mut odd = mono8();
    odd.descriptor.pixel_representation = 2;
    assert_eq!(
        refused_by_both(&odd),
        NotCompressible::PixelRepresentation(2)
    );
}

#[test]
fn inconsistent_attributes_are_refused() {
    let mut image = colour("RGB", "RGB", 8, 8, None, 8, false);
    image.descriptor.samples_per_pixel = 1;
    assert_eq!(refused_by_both(&image).code(), "samples-per-pixel");
    let mut image = colour("RGB", "RGB", 8, 8, None, 8, false);
    image.descriptor.planar_configuration = Some(2);
    assert_eq!(
        refused_by_both(&image),
        NotCompressible::PlanarConfiguration(2)
    );
    let mut image = mono8();
    image.descriptor.rows = 0;
    assert_eq!(refused_by_both(&image).code(), "empty");
    let mut image = mono8();
    image.descriptor.number_of_frames = Some(0);
    assert_eq!(refused_by_both(&image).code(), "empty");
    // 12000 × 12000 RGB is one 432 MB frame: more than an encoder may hold.
    let mut image = colour("huge", "RGB", 8, 8, None, 8, false);
    (image.descriptor.rows, image.descriptor.columns) = (12_000, 12_000);
    image.descriptor.pixel_data_length = 12_000 * 12_000 * 3;
    assert_eq!(
        refused_by_both(&image),
        NotCompressible::FrameTooLarge { bytes: 432_000_000 }
    );
    // Pixel Data that is longer or shorter than Rows × Columns × … says.
    let mut image = mono8();
    image.descriptor.pixel_data_length += 2;
    assert_eq!(
        refused_by_both(&image),
        NotCompressible::Length {
            expected: 256,
            actual: 258
        }
    );
    let mut image = mono8();
    image.descriptor.number_of_frames = Some(2);
    assert_eq!(refused_by_both(&image).code(), "length");
}

#[test]
fn big_endian_bytes_in_an_ambiguous_layout_are_refused() {
    // 16-bit samples in OB have no defined byte order.
    let mut image = Mono {
        big_endian: true,
        ..Mono::new("BE 16-bit OB", 8, 8, 16, 16)
    }
    .build();
    image.descriptor.pixel_data_vr = Some(*b"OB");
    assert_eq!(refused_by_both(&image).code(), "big-endian-layout");
    // 8-bit samples swapped in OW words, an odd number per frame: pairs straddle the frames.
    let mut image = Mono {
        big_endian: true,
        frames: Some(2),
        ..Mono::new("BE 8-bit OW", 3, 3, 8, 8)
    }
    .build();
    image.descriptor.pixel_data_vr = Some(*b"OW");
    assert_eq!(refused_by_both(&image).code(), "big-endian-layout");
}

fn encode_error(image: &Image, codec: Codec, source: &[u8]) -> NotCompressible {
    let encoder = PixelEncoder::new(codec, &image.descriptor).unwrap();
    match encoder.encode(source, Cursor::new(Vec::new())) {
        Err(EncodeError::NotCompressible(reason)) => reason,
        other => panic!("{} with {codec}: {other:?}", image.name),
    }
}

#[test]
fn overlay_bits_above_high_bit_are_refused_with_the_frame() {
    let mut image = Mono {
        frames: Some(3),
        ..Mono::new("12-bit with overlay", 16, 16, 16, 12)
    }
    .build();
    // An overlay plane in bit 12 of one pixel of the second frame (retired, PS3.5 8.1.2).
    let frame_len = 16 * 16 * 2;
    image.pixels[frame_len + 41] |= 0x10;
    for codec in Codec::ALL {
        assert_eq!(
            encode_error(&image, codec, &image.pixels),
            NotCompressible::BitsAboveHighBit { frame: 1 }
        );
    }
    // Signed data whose upper bits are not the sign's extension is the same case for JPEG 2000,
    // which codes signed values; JPEG-LS codes such samples as whole stored words, bits and all.
    let mut signed = Mono {
        signed: true,
        ..Mono::new("signed 12", 4, 4, 16, 12)
    }
    .build();
    signed.pixels[1] = 0x07; // 0x07xx: bit 11 clear but bits 8–10 set: fine
    signed.pixels[3] = 0x18; // bit 12 set, bit 11 set, bits 13–15 clear: not sign-extended
    assert_eq!(
        encode_error(&signed, Codec::Jpeg2000Lossless, &signed.pixels),
        NotCompressible::BitsAboveHighBit { frame: 0 }
    );
    let (_, encoded, _) = crate::encode(&signed, Codec::JpegLsLossless);
    assert_eq!(encoded.native_bytes, 32);
}

#[test]
fn pixel_data_ending_early_is_refused_with_the_frame() {
    let image = Mono {
        frames: Some(3),
        ..Mono::new("three frames", 8, 8, 8, 8)
    }
    .build();
    for codec in Codec::ALL {
        assert_eq!(
            encode_error(&image, codec, &image.pixels[..64 * 2 + 10]),
            NotCompressible::Truncated { frame: 2 }
        );
    }
}

#[test]
fn every_reason_reads_as_a_sentence_and_has_a_code() {
    let reason = NotCompressible::NotLossless {
        frame: 3,
        codec: Codec::JpegLsLossless,
        offset: 17,
    };
    assert_eq!(
        reason.to_string(),
        "frame 3: the JPEG-LS lossless frame does not decode to the original pixels (first difference at byte 17)"
    );
    assert_eq!(reason.code(), "not-lossless");
    let wrapped = EncodeError::from(NotCompressible::FloatPixels);
    assert!(wrapped
        .to_string()
        .starts_with("not compressible: float pixel data"));
}
