//! Every layout the encoder accepts, encoded, wrapped in a Part-10 file as the engine will, and
//! decoded by tools that share no code with it (see independent.rs).

use std::path::Path;

use station_codec::Codec;

use crate::encode;
use crate::hayro;
use crate::images::{colour, palette, Image, Mono};
use crate::independent::{dcmdjpls, verify, Case};
use crate::part10;

/// The layouts both codecs hold.
fn common() -> Vec<Image> {
    let v = vec![
        Mono::new("mono 8-bit", 200, 256, 8, 8).build(),
        Mono {
            photometric: "MONOCHROME1",
            ..Mono::new("MONOCHROME1 8-bit", 64, 80, 8, 8)
        }
        .build(),
        Mono::new("mono 12-bit in 16", 240, 200, 16, 12).build(),
        Mono::new("mono 16-bit", 128, 160, 16, 16).build(),
        Mono::new("mono 10-bit in 16", 50, 60, 16, 10).build(),
        Mono {
            signed: true,
            ..Mono::new("signed 16-bit", 128, 128, 16, 16)
        }
        .build(),
        Mono {
            signed: true,
            ..Mono::new("signed 12-bit in 16", 100, 90, 16, 12)
        }
        .build(),
        Mono {
            signed: true,
            ..Mono::new("signed 8-bit", 40, 50, 8, 8)
        }
        .build(),
        Mono {
            big_endian: true,
            ..Mono::new("big-endian 12-bit", 60, 70, 16, 12)
        }
        .build(),
        Mono {
            big_endian: true,
            frames: Some(2),
            ..Mono::new("big-endian 8-bit in OW words", 60, 70, 8, 8)
        }
        .build(),
        Mono {
            frames: Some(12),
            ..Mono::new("multi-frame 8-bit", 96, 128, 8, 8)
        }
        .build(),
        Mono {
            frames: Some(4),
            ..Mono::new("multi-frame 16-bit", 64, 64, 16, 16)
        }
        .build(),
        // JPEG-LS codes these as whole stored words: DCMTK decodes them no other way.
        Mono::new("mono 6-bit in 16", 30, 40, 16, 6).build(),
        Mono::new("mono 6-bit in 8", 30, 40, 8, 6).build(),
        Mono {
            signed: true,
            ..Mono::new("signed 5-bit in 8", 30, 40, 8, 5)
        }
        .build(),
        Mono::new("odd-sized 17x13", 13, 17, 8, 8).build(),
        Mono::new("one pixel", 1, 1, 16, 16).build(),
        Mono::new("one row of three", 1, 3, 8, 8).build(),
        colour("RGB planar 0", "RGB", 120, 160, None, 8, false),
        colour("RGB planar 1", "RGB", 120, 160, None, 8, true),
        colour("RGB 16-bit", "RGB", 40, 30, None, 16, false),
        colour("RGB cine planar 0", "RGB", 96, 128, Some(6), 8, false),
        colour("RGB odd-sized planar 1", "RGB", 7, 9, Some(3), 8, true),
        palette("palette colour", 100, 120),
    ];
    // A value of odd length: 13 × 17 one-byte pixels, padded on the wire.
    assert!(v.iter().any(|i| i.pixels.len() % 2 == 1));
    v
}

fn write_pair(dir: &Path, i: usize, image: &Image, codec: Codec) -> Case {
    let (encoder, encoded, value) = encode(image, codec);
    assert_eq!(
        encoded.frames,
        image.descriptor.number_of_frames.unwrap_or(1)
    );
    assert_eq!(encoded.native_bytes, image.pixels.len() as u64);
    assert_eq!(encoded.encapsulated_bytes, value.len() as u64);
    let changes = encoder.changes();
    assert_eq!(changes.transfer_syntax_uid, codec.transfer_syntax_uid());
    let original = dir.join(format!("{i}-original.dcm"));
    let compressed = dir.join(format!("{i}-compressed.dcm"));
    std::fs::write(&original, part10::native(image)).unwrap();
    std::fs::write(
        &compressed,
        part10::encapsulated(
            image,
            changes.transfer_syntax_uid,
            changes.photometric_interpretation,
            changes.planar_configuration,
            &value,
        ),
    )
    .unwrap();
    Case {
        name: image.name.to_string(),
        original,
        encoded: compressed,
        transfer_syntax: codec.transfer_syntax_uid(),
        photometric: changes
            .photometric_interpretation
            .unwrap_or(&image.descriptor.photometric_interpretation)
            .to_string(),
        planar: changes.planar_configuration,
        frames: encoded.frames,
        dcmtk: None,
        grok: false,
    }
}

/// Images with real structure come out smaller: the point of the exercise.
fn assert_smaller(image: &Image, codec: Codec) {
    if image.pixels.len() >= 20_000 {
        let (_, encoded, _) = encode(image, codec);
        assert!(
            encoded.encapsulated_bytes < encoded.native_bytes,
            "{} with {codec}: {} bytes from {}",
            image.name,
            encoded.encapsulated_bytes,
            encoded.native_bytes
        );
    }
}

#[test]
fn jpeg_ls_copies_decode_to_the_original_pixels_in_pydicom_and_dcmtk() {
    let dir = tempfile::tempdir().unwrap();
    let mut images = common();
    images.push(colour("YBR_FULL", "YBR_FULL", 64, 48, None, 8, false));
    let mut cases = Vec::new();
    for (i, image) in images.iter().enumerate() {
        let mut case = write_pair(dir.path(), i, image, Codec::JpegLsLossless);
        let decompressed = dir.path().join(format!("{i}-dcmtk.dcm"));
        dcmdjpls(&case.encoded, &decompressed);
        case.dcmtk = Some(decompressed);
        cases.push(case);
        assert_smaller(image, Codec::JpegLsLossless);
    }
    verify(dir.path(), &cases);
}

#[test]
fn jpeg_2000_copies_decode_to_the_original_pixels_in_pydicom_grok_and_hayro() {
    let dir = tempfile::tempdir().unwrap();
    let images = common();
    let mut cases = Vec::new();
    for (i, image) in images.iter().enumerate() {
        let mut case = write_pair(dir.path(), i, image, Codec::Jpeg2000Lossless);
        case.grok = true;
        // hayro (written for PDF images) clips negative samples: it checks unsigned images.
        if image.descriptor.pixel_representation == 0 {
            hayro::check(image, &encode(image, Codec::Jpeg2000Lossless).2);
        }
        cases.push(case);
        assert_smaller(image, Codec::Jpeg2000Lossless);
    }
    verify(dir.path(), &cases);
}

#[test]
fn dataset_changes_name_the_new_colour_space_and_planar_configuration() {
    let rgb = colour("RGB planar 1", "RGB", 8, 8, None, 8, true);
    let (jls, _, _) = encode(&rgb, Codec::JpegLsLossless);
    assert_eq!(jls.changes().photometric_interpretation, None);
    assert_eq!(jls.changes().planar_configuration, Some(0));
    let (j2k, _, _) = encode(&rgb, Codec::Jpeg2000Lossless);
    assert_eq!(j2k.changes().photometric_interpretation, Some("YBR_RCT"));
    assert_eq!(j2k.changes().planar_configuration, Some(0));
    let mono = Mono::new("mono", 8, 8, 8, 8).build();
    let (m, _, _) = encode(&mono, Codec::Jpeg2000Lossless);
    assert_eq!(m.changes().photometric_interpretation, None);
    assert_eq!(m.changes().planar_configuration, None);
}
