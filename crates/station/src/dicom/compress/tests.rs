use super::*;
use crate::dicom::element::element as encode;
use crate::dicom::part10::{prefix, FileMeta};

const CT: &str = "1.2.840.10008.5.1.4.1.1.2";

/// A PS3.10 file in `ts` with the given Image Pixel attributes and pixel bytes.
fn image(ts: &str, explicit: bool, attrs: &[(u32, [u8; 2], Vec<u8>)], pixels: &[u8]) -> Vec<u8> {
    let mut out = prefix(&FileMeta::station(CT, "1.2.3.4", ts)).unwrap();
    let mut put =
        |tag: u32, vr: [u8; 2], v: &[u8]| out.extend(encode(tag, vr, v, explicit).unwrap());
    put(0x0008_0016, *b"UI", &padded(*b"UI", CT.as_bytes().to_vec()));
    for (tag, vr, v) in attrs {
        put(*tag, *vr, v);
    }
    let vr = if pixels.len() % 2 == 0 {
        *b"OW"
    } else {
        *b"OB"
    };
    if !pixels.is_empty() {
        put(PIXEL_DATA, vr, &padded(*b"OB", pixels.to_vec()));
    }
    put(0xFFFC_FFFC, *b"OB", &[0, 0]);
    out
}

fn mono(
    bits_allocated: u16,
    bits_stored: u16,
    signed: bool,
    frames: &str,
) -> Vec<(u32, [u8; 2], Vec<u8>)> {
    let us = |v: u16| v.to_le_bytes().to_vec();
    vec![
        (0x0028_0002, *b"US", us(1)),
        (0x0028_0004, *b"CS", b"MONOCHROME2 ".to_vec()),
        (
            0x0028_0008,
            *b"IS",
            padded(*b"IS", frames.as_bytes().to_vec()),
        ),
        (0x0028_0010, *b"US", us(8)),
        (0x0028_0011, *b"US", us(6)),
        (0x0028_0100, *b"US", us(bits_allocated)),
        (0x0028_0101, *b"US", us(bits_stored)),
        (0x0028_0102, *b"US", us(bits_stored - 1)),
        (0x0028_0103, *b"US", us(u16::from(signed))),
    ]
}

fn run(file: &[u8], codec: Codec) -> (Result<Outcome, CompressError>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.dcm"), file).unwrap();
    let out = write_compressed(
        &dir.path().join("in.dcm"),
        &dir.path().join("out.dcm"),
        codec,
    );
    (out, dir)
}

/// An implicit VR 12-bit two-frame image becomes a JPEG-LS file that dicom-rs reads: the new
/// transfer syntax, one fragment per frame and the elements around Pixel Data kept.
#[test]
fn an_implicit_image_becomes_an_encapsulated_explicit_file() {
    let pixels: Vec<u8> = (0..96u16)
        .flat_map(|i| (i * 37 % 4096).to_le_bytes())
        .collect();
    for codec in Codec::ALL {
        let file = image(IMPLICIT_LE, false, &mono(16, 12, false, "2"), &pixels);
        let (out, dir) = run(&file, codec);
        let Ok(Outcome::Compressed(c)) = out else {
            panic!("{codec}: {out:?}")
        };
        assert_eq!((c.frames, c.native_bytes), (2, 192));
        let path = dir.path().join("out.dcm");
        assert_eq!(c.size, std::fs::metadata(&path).unwrap().len());
        assert!(!dir.path().join("out.tmp").exists());
        let obj = dicom_object::open_file(&path).expect("dicom-rs reads the copy");
        assert_eq!(obj.meta().transfer_syntax(), codec.transfer_syntax_uid());
        let px = obj.element(dicom_dictionary_std::tags::PIXEL_DATA).unwrap();
        let fragments = px.value().fragments().expect("encapsulated");
        assert_eq!(fragments.len(), 2);
        assert_eq!(px.value().offset_table().map(|t| t.len()), Some(2));
        let rows = obj.element(dicom_dictionary_std::tags::ROWS).unwrap();
        assert_eq!(rows.to_int::<u16>().unwrap(), 8);
        assert!(obj.element(dicom_core::Tag(0xFFFC, 0xFFFC)).is_ok());
    }
}

#[test]
fn what_cannot_or_need_not_be_compressed_is_declined_and_nothing_is_left() {
    let pixels = vec![7u8; 48];
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            image(
                "1.2.840.10008.1.2.4.50",
                true,
                &mono(8, 8, false, "1"),
                &pixels,
            ),
            "not-native",
        ),
        (
            image(EXPLICIT_BE, true, &mono(8, 8, false, "1"), &pixels),
            "not-yet",
        ),
        (image(EXPLICIT_LE, true, &[], &[]), "no-pixel-data"),
        (
            image(EXPLICIT_LE, true, &mono(8, 8, false, "1")[1..], &pixels),
            "attribute",
        ),
        // 48 bytes are not 8 × 6 16-bit samples.
        (
            image(EXPLICIT_LE, true, &mono(16, 16, false, "1"), &pixels),
            "length",
        ),
    ];
    for (file, code) in cases {
        let (out, dir) = run(&file, Codec::JpegLsLossless);
        match out {
            Ok(Outcome::AsReceived(d)) => assert_eq!(d.code(), code, "{d}"),
            other => panic!("{code}: {other:?}"),
        }
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "only the original stays");
    }
}

/// A deflated dataset is inflated on the way and compressed like an explicit one.
#[test]
fn a_deflated_image_is_inflated_and_compressed() {
    use std::io::Write as _;
    let pixels: Vec<u8> = (0..48u16)
        .flat_map(|i| (i * 91 % 4096).to_le_bytes())
        .collect();
    let plain = image(EXPLICIT_LE, true, &mono(16, 12, false, "1"), &pixels);
    let header = prefix(&FileMeta::station(CT, "1.2.3.4", DEFLATED)).unwrap();
    let old_header = prefix(&FileMeta::station(CT, "1.2.3.4", EXPLICIT_LE)).unwrap();
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&plain[old_header.len()..]).unwrap();
    let file = [header, z.finish().unwrap()].concat();
    let (out, dir) = run(&file, Codec::JpegLsLossless);
    let Ok(Outcome::Compressed(c)) = out else {
        panic!("{out:?}")
    };
    assert_eq!(c.native_bytes, 96);
    let obj = dicom_object::open_file(dir.path().join("out.dcm")).expect("readable");
    assert_eq!(
        obj.meta().transfer_syntax(),
        Codec::JpegLsLossless.transfer_syntax_uid()
    );
    assert!(
        obj.element(dicom_core::Tag(0xFFFC, 0xFFFC)).is_ok(),
        "what followed Pixel Data"
    );
}
