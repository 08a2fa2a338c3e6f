use super::*;
use crate::dicom::element::{element as encode, ITEM};
use crate::dicom::part10::{prefix, FileMeta};
use dicom_core::header::Header as _;

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
        // 16-bit samples in OB have no defined byte order in Big Endian (PS3.5 A.3).
        (
            big_endian_image(&be_mono(16, 16, "1"), *b"OB", &[7u8; 96]),
            "big-endian-layout",
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

// Explicit VR Big Endian input (PS3.5 A.3).

/// One explicit VR big endian element: tag and length big endian, `value` as given (the caller
/// writes numbers most significant byte first).
fn be(tag: u32, vr: [u8; 2], value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&((tag >> 16) as u16).to_be_bytes());
    out.extend_from_slice(&(tag as u16).to_be_bytes());
    out.extend_from_slice(&vr);
    if element::has_long_length(vr) {
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&(value.len() as u32).to_be_bytes());
    } else {
        out.extend_from_slice(&(value.len() as u16).to_be_bytes());
    }
    out.extend_from_slice(value);
    out
}

/// A tag with no VR (items and delimiters), big endian, with `len`.
fn be_marker(tag: u32, len: u32) -> Vec<u8> {
    let mut out = ((tag >> 16) as u16).to_be_bytes().to_vec();
    out.extend_from_slice(&(tag as u16).to_be_bytes());
    out.extend_from_slice(&len.to_be_bytes());
    out
}

/// A big endian item holding `content`, of defined or undefined length.
fn be_item(content: &[u8], defined: bool) -> Vec<u8> {
    if defined {
        [be_marker(ITEM, content.len() as u32), content.to_vec()].concat()
    } else {
        [
            be_marker(ITEM, UNDEFINED_LENGTH),
            content.to_vec(),
            be_marker(element::ITEM_END, 0),
        ]
        .concat()
    }
}

/// A big endian sequence of `items`, of defined or undefined length.
fn be_sequence(tag: u32, items: &[Vec<u8>], defined: bool) -> Vec<u8> {
    let body = items.concat();
    if defined {
        return be(tag, *b"SQ", &body);
    }
    let mut out = be(tag, *b"SQ", &[]);
    let n = out.len();
    out[n - 4..].copy_from_slice(&UNDEFINED_LENGTH.to_be_bytes());
    [out, body, be_marker(element::SEQUENCE_END, 0)].concat()
}

fn us_be(values: &[u16]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_be_bytes()).collect()
}

fn text(vr: [u8; 2], s: &str) -> Vec<u8> {
    padded(vr, s.as_bytes().to_vec())
}

/// The Image Pixel attributes of an 8 × 6 monochrome image, big endian.
fn be_mono(bits_allocated: u16, bits_stored: u16, frames: &str) -> Vec<u8> {
    [
        be(0x0028_0002, *b"US", &us_be(&[1])),
        be(0x0028_0004, *b"CS", b"MONOCHROME2 "),
        be(0x0028_0008, *b"IS", &text(*b"IS", frames)),
        be(0x0028_0010, *b"US", &us_be(&[8])),
        be(0x0028_0011, *b"US", &us_be(&[6])),
        be(0x0028_0100, *b"US", &us_be(&[bits_allocated])),
        be(0x0028_0101, *b"US", &us_be(&[bits_stored])),
        be(0x0028_0102, *b"US", &us_be(&[bits_stored - 1])),
        be(0x0028_0103, *b"US", &us_be(&[0])),
    ]
    .concat()
}

/// A PS3.10 file in Explicit VR Big Endian: SOP Class, `attrs` (encoded, in tag order, none
/// past group 0028), Pixel Data of `vr` and trailing padding.
fn big_endian_image(attrs: &[u8], vr: [u8; 2], pixels: &[u8]) -> Vec<u8> {
    [
        prefix(&FileMeta::station(CT, "1.2.3.4", EXPLICIT_BE)).unwrap(),
        be(0x0008_0016, *b"UI", &text(*b"UI", CT)),
        attrs.to_vec(),
        be(PIXEL_DATA, vr, &padded(*b"OB", pixels.to_vec())),
        be(0xFFFC_FFFC, *b"OB", &[0, 0]),
    ]
    .concat()
}

/// Each sample of an object's native Pixel Data, as dicom-rs reads its values: 16-bit words as
/// numbers; 8-bit samples in OW words the low byte first (PS3.5 8.1.1), in OB as they are.
fn samples_read_by_dicom_rs(obj: &dicom_object::DefaultDicomObject) -> Vec<u16> {
    use dicom_core::PrimitiveValue;
    use dicom_dictionary_std::tags;
    let bits: u16 = obj.element(tags::BITS_ALLOCATED).unwrap().to_int().unwrap();
    let px = obj.element(tags::PIXEL_DATA).unwrap();
    match (px.value().primitive().expect("native"), bits) {
        (PrimitiveValue::U16(words), 16) => words.to_vec(),
        (PrimitiveValue::U16(words), 8) => words
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .map(u16::from)
            .collect(),
        (PrimitiveValue::U8(bytes), 8) => bytes.iter().map(|&b| u16::from(b)).collect(),
        (other, bits) => panic!("{bits}-bit pixel data read as {other:?}"),
    }
}

/// Each sample of a JPEG-LS copy, decoded by CharLS frame by frame (one byte a sample up to 8
/// bits, else a native-endian `u16`; colour interleaved by pixel).
fn samples_decoded(obj: &dicom_object::DefaultDicomObject) -> Vec<u16> {
    let px = obj.element(dicom_dictionary_std::tags::PIXEL_DATA).unwrap();
    let mut out = Vec::new();
    for fragment in px.value().fragments().expect("encapsulated") {
        let info = charls::CharLS::default()
            .get_frame_info(fragment)
            .expect("a JPEG-LS codestream");
        let bytes = charls::CharLS::default().decode(fragment).expect("decodes");
        if info.bits_per_sample <= 8 {
            out.extend(bytes.iter().map(|&b| u16::from(b)));
        } else {
            out.extend(
                bytes
                    .chunks_exact(2)
                    .map(|b| u16::from_ne_bytes([b[0], b[1]])),
            );
        }
    }
    out
}

/// `a` and `b` hold the same elements (Pixel Data aside) with the same VRs and values, read as
/// values (numbers, tags, text), sequences item by item.
fn assert_same_elements(a: &dicom_object::InMemDicomObject, b: &dicom_object::InMemDicomObject) {
    use dicom_core::value::Value;
    let px = dicom_dictionary_std::tags::PIXEL_DATA;
    let tags = |o: &dicom_object::InMemDicomObject| -> Vec<dicom_core::Tag> {
        o.iter().map(|e| e.tag()).filter(|t| *t != px).collect()
    };
    assert_eq!(tags(a), tags(b));
    for e in a.iter().filter(|e| e.tag() != px) {
        let f = b.element(e.tag()).unwrap();
        assert_eq!(e.vr(), f.vr(), "{}", e.tag());
        match (e.value(), f.value()) {
            (Value::Sequence(x), Value::Sequence(y)) => {
                assert_eq!(x.items().len(), y.items().len(), "{}", e.tag());
                for (i, j) in x.items().iter().zip(y.items()) {
                    assert_same_elements(i, j);
                }
            }
            (x, y) => assert_eq!(x.primitive(), y.primitive(), "{}", e.tag()),
        }
    }
}

/// Compresses `file` (big endian) with JPEG-LS and checks the copy against the original as
/// dicom-rs reads it: every other element's value, and the pixels' values.
fn assert_big_endian_compressed(file: &[u8], frames: u32) -> dicom_object::DefaultDicomObject {
    let (out, dir) = run(file, Codec::JpegLsLossless);
    let Ok(Outcome::Compressed(c)) = out else {
        panic!("{out:?}")
    };
    assert_eq!(c.frames, frames);
    let original = dicom_object::open_file(dir.path().join("in.dcm")).expect("dicom-rs reads it");
    assert_eq!(original.meta().transfer_syntax(), EXPLICIT_BE);
    let copy = dicom_object::open_file(dir.path().join("out.dcm")).expect("dicom-rs reads it");
    assert_eq!(
        copy.meta().transfer_syntax(),
        Codec::JpegLsLossless.transfer_syntax_uid()
    );
    assert_same_elements(&original, &copy);
    let samples = samples_read_by_dicom_rs(&original);
    assert_eq!(
        samples_decoded(&copy),
        samples,
        "the original's pixel values"
    );
    copy
}

/// A 12-bit two-frame image received big endian: compressed, its pixels' values and every other
/// value (US, SS, SL, FD, OF, text) the original's.
#[test]
fn a_big_endian_16_bit_image_is_compressed_with_its_values() {
    let values: Vec<u16> = (0..96u32).map(|i| ((i * 733 + 5) % 4096) as u16).collect();
    let attrs = [
        be(0x0008_0060, *b"CS", b"CT"),
        be(0x0009_0010, *b"LO", &text(*b"LO", "STATION TEST")),
        be(0x0009_1001, *b"SL", &(-70_000i32).to_be_bytes()),
        be(
            0x0009_1002,
            *b"FD",
            &[1.5f64.to_be_bytes(), (-2.25f64).to_be_bytes()].concat(),
        ),
        be(
            0x0009_1003,
            *b"OF",
            &[0.5f32.to_be_bytes(), 3.0f32.to_be_bytes()].concat(),
        ),
        be(0x0009_1004, *b"SS", &(-300i16).to_be_bytes()),
        be(0x0010_0010, *b"PN", &text(*b"PN", "BIG^ENDIAN")),
        be_mono(16, 12, "2"),
        be(0x0028_0106, *b"US", &us_be(&[5])),
        be(0x0028_0107, *b"US", &us_be(&[4095])),
        be(0x0028_1052, *b"DS", &text(*b"DS", "-1024")),
    ]
    .concat();
    let file = big_endian_image(&attrs, *b"OW", &us_be(&values));
    assert_big_endian_compressed(&file, 2);
}

/// An 8-bit RGB image big endian, its Pixel Data in OB (bytes, nothing to swap) and in OW
/// (16-bit words, two samples swapped in each): both compressed to the original's samples.
#[test]
fn a_big_endian_8_bit_rgb_image_in_ob_or_ow_is_compressed_with_its_samples() {
    let samples: Vec<u8> = (0..144u32).map(|i| (i * 97 % 251) as u8).collect();
    let attrs = [
        be(0x0028_0002, *b"US", &us_be(&[3])),
        be(0x0028_0004, *b"CS", b"RGB "),
        be(0x0028_0006, *b"US", &us_be(&[0])),
        be(0x0028_0010, *b"US", &us_be(&[8])),
        be(0x0028_0011, *b"US", &us_be(&[6])),
        be(0x0028_0100, *b"US", &us_be(&[8])),
        be(0x0028_0101, *b"US", &us_be(&[8])),
        be(0x0028_0102, *b"US", &us_be(&[7])),
        be(0x0028_0103, *b"US", &us_be(&[0])),
    ]
    .concat();
    let ob = big_endian_image(&attrs, *b"OB", &samples);
    let in_words: Vec<u8> = samples.chunks(2).flat_map(|p| [p[1], p[0]]).collect();
    let ow = big_endian_image(&attrs, *b"OW", &in_words);
    for file in [ob, ow] {
        let copy = assert_big_endian_compressed(&file, 1);
        let decoded: Vec<u8> = samples_decoded(&copy).iter().map(|&s| s as u8).collect();
        assert_eq!(decoded, samples);
    }
}

/// Sequences in a big endian dataset (defined and undefined lengths, one nested) hold big
/// endian US, UL, FD and OW values: each comes out with the same value.
#[test]
fn big_endian_sequences_are_converted_item_by_item() {
    // Sequence of Ultrasound Regions (PS3.3 C.8.5.5): what a real ultrasound device sends.
    let region = |x0: u32, delta: f64, defined: bool| {
        let lut = be_item(
            &[
                be(0x0028_3002, *b"US", &us_be(&[4, 0, 12])),
                be(0x0028_3006, *b"OW", &us_be(&[1, 300, 4095, 7])),
            ]
            .concat(),
            true,
        );
        let content = [
            be(0x0018_6012, *b"US", &us_be(&[1])),
            be(0x0018_6018, *b"UL", &x0.to_be_bytes()),
            be(0x0018_601A, *b"UL", &(x0 + 70_000).to_be_bytes()),
            be(0x0018_6024, *b"US", &us_be(&[3])),
            be(0x0018_602C, *b"FD", &delta.to_be_bytes()),
            be_sequence(0x0028_3000, &[lut], true),
        ]
        .concat();
        be_item(&content, defined)
    };
    let regions = [region(10, 0.015, true), region(258, 0.03125, false)];
    for defined in [true, false] {
        let attrs = [
            be_sequence(0x0018_6011, &regions, defined),
            be_mono(16, 16, "1"),
        ]
        .concat();
        let values: Vec<u8> = us_be(&(0..48u16).map(|i| i * 1361).collect::<Vec<_>>());
        let file = big_endian_image(&attrs, *b"OW", &values);
        let copy = assert_big_endian_compressed(&file, 1);
        let seq = copy.element(dicom_core::Tag(0x0018, 0x6011)).unwrap();
        let second = &seq.items().unwrap()[1];
        let x1 = second.element(dicom_core::Tag(0x0018, 0x601A)).unwrap();
        assert_eq!(x1.to_int::<u32>().unwrap(), 70_258);
    }
}

/// AT values (Frame Increment Pointer, and Dimension Index Pointer in a sequence) are two
/// 16-bit numbers each: the tags they point to stay the same.
#[test]
fn big_endian_attribute_tags_keep_the_tags_they_point_to() {
    let at = |tags: &[(u16, u16)]| -> Vec<u8> {
        tags.iter()
            .flat_map(|(g, e)| [g.to_be_bytes(), e.to_be_bytes()].concat())
            .collect()
    };
    let dimension = be_item(
        &[
            be(0x0020_9165, *b"AT", &at(&[(0x0020, 0x9056)])),
            be(
                0x0020_9167,
                *b"AT",
                &at(&[(0x0020, 0x9111), (0x0018, 0x1063)]),
            ),
        ]
        .concat(),
        false,
    );
    let mono = be_mono(16, 10, "2");
    // (0028,0009) goes between Number of Frames and Rows, in tag order: after the first three.
    let third_end = [
        be(0x0028_0002, *b"US", &us_be(&[1])),
        be(0x0028_0004, *b"CS", b"MONOCHROME2 "),
        be(0x0028_0008, *b"IS", &text(*b"IS", "2")),
    ]
    .concat()
    .len();
    let attrs = [
        be(0x0018_1063, *b"DS", &text(*b"DS", "33.3")),
        be_sequence(0x0020_9222, &[dimension], false),
        mono[..third_end].to_vec(),
        be(0x0028_0009, *b"AT", &at(&[(0x0018, 0x1063)])),
        mono[third_end..].to_vec(),
    ]
    .concat();
    let values: Vec<u8> = us_be(&(0..96u16).map(|i| i * 11 % 1024).collect::<Vec<_>>());
    let copy = assert_big_endian_compressed(&big_endian_image(&attrs, *b"OW", &values), 2);
    let pointer = copy.element(dicom_core::Tag(0x0028, 0x0009)).unwrap();
    assert_eq!(
        pointer.value().primitive(),
        Some(&dicom_core::PrimitiveValue::Tags(
            [dicom_core::Tag(0x0018, 0x1063)][..].into()
        ))
    );
}

/// A big endian number whose bytes are not whole numbers is an error, not a guess.
#[test]
fn a_big_endian_value_of_broken_numbers_is_an_error() {
    let attrs = [be(0x0009_1001, *b"US", &[1, 2, 3]), be_mono(8, 8, "1")].concat();
    let odd = big_endian_image(&attrs, *b"OB", &[1u8; 48]);
    let (out, dir) = run(&odd, Codec::JpegLsLossless);
    assert!(matches!(out, Err(CompressError::Malformed(_))), "{out:?}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}
