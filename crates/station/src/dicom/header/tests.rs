//! Tests of `header`.
use super::*;
use crate::dicom::element::SHORT_VRS;
use std::path::PathBuf;

#[derive(Clone, Copy, PartialEq)]
enum Enc {
    Implicit,
    Le,
    Be,
}

/// `x` as `n` bytes in the byte order of `enc`.
fn num(enc: Enc, x: u32, n: usize) -> Vec<u8> {
    match enc {
        Enc::Be => x.to_be_bytes()[4 - n..].to_vec(),
        _ => x.to_le_bytes()[..n].to_vec(),
    }
}

/// An element header; items and delimiters are `hdr(enc, 0xFFFE, e, "", len)`.
fn hdr(enc: Enc, g: u16, e: u16, vr: &str, len: u32) -> Vec<u8> {
    let mut out = [num(enc, g.into(), 2), num(enc, e.into(), 2)].concat();
    if enc != Enc::Implicit && g != 0xFFFE {
        out.extend(vr.as_bytes());
        if SHORT_VRS.iter().any(|v| &v[..] == vr.as_bytes()) {
            return [out, num(enc, len, 2)].concat();
        }
        out.extend([0, 0]);
    }
    [out, num(enc, len, 4)].concat()
}

fn el(enc: Enc, g: u16, e: u16, vr: &str, value: &[u8]) -> Vec<u8> {
    let mut v = value.to_vec();
    if v.len() % 2 == 1 {
        v.push(if vr == "UI" { 0 } else { b' ' });
    }
    [hdr(enc, g, e, vr, v.len() as u32), v].concat()
}

/// A dataset with the header attributes; `extra` goes between groups 0008 and 0010.
fn dataset(enc: Enc, charset: &str, name: &[u8], extra: &[u8]) -> Vec<u8> {
    let mut d = Vec::new();
    if !charset.is_empty() {
        d.extend(el(enc, 0x0008, 0x0005, "CS", charset.as_bytes()));
    }
    d.extend(el(enc, 0x0008, 0x0016, "UI", b"1.2.840.10008.5.1.4.1.1.7"));
    d.extend(el(enc, 0x0008, 0x0018, "UI", b"1.2.3.4.5"));
    d.extend(el(enc, 0x0008, 0x0020, "DA", b"20240131"));
    d.extend(el(enc, 0x0008, 0x0030, "TM", b"101500"));
    d.extend(el(enc, 0x0008, 0x0050, "SH", b"ACC7"));
    d.extend(el(enc, 0x0008, 0x0060, "CS", b"US"));
    d.extend(el(enc, 0x0008, 0x1030, "LO", b"Abdomen"));
    d.extend(el(enc, 0x0008, 0x103E, "LO", b"Liver"));
    d.extend(extra);
    d.extend(el(enc, 0x0010, 0x0010, "PN", name));
    d.extend(el(enc, 0x0010, 0x0020, "LO", b"P-001"));
    d.extend(el(enc, 0x0010, 0x0030, "DA", b"19800229"));
    d.extend(el(enc, 0x0010, 0x0040, "CS", b"F"));
    d.extend(el(enc, 0x0020, 0x000D, "UI", b"1.2.3"));
    d.extend(el(enc, 0x0020, 0x000E, "UI", b"1.2.3.4"));
    d.extend(el(enc, 0x0020, 0x0011, "IS", b" 3"));
    d.extend(el(enc, 0x0020, 0x0013, "IS", b"12"));
    // Pixel data claiming far more bytes than exist: must never be read.
    d.extend(hdr(enc, 0x7FE0, 0x0010, "OW", 0x7FFF_FFF0));
    d
}

fn part10(ts: &str, body: &[u8], group_length: bool) -> Vec<u8> {
    let le = Enc::Le;
    let mut meta = el(le, 0x0002, 0x0001, "OB", &[0, 1]);
    meta.extend(el(le, 0x0002, 0x0002, "UI", b"1.2.840.10008.5.1.4.1.1.7"));
    meta.extend(el(le, 0x0002, 0x0010, "UI", ts.as_bytes()));
    let mut out = [vec![0u8; 128], b"DICM".to_vec()].concat();
    if group_length {
        out.extend(el(le, 0x0002, 0x0000, "UL", &num(le, meta.len() as u32, 4)));
    }
    [out, meta, body.to_vec()].concat()
}

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn gb(s: &str) -> Vec<u8> {
    encoding_rs::GB18030.encode(s).0.into_owned()
}

fn deflate(body: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(body).unwrap();
    z.finish().unwrap()
}

/// What `dataset` holds, as read back.
fn expected(ts: &str, charset: &str, name: &str) -> Header {
    let s = |v: &str| v.to_string();
    Header {
        transfer_syntax: s(ts),
        sop_class_uid: s("1.2.840.10008.5.1.4.1.1.7"),
        sop_instance_uid: s("1.2.3.4.5"),
        study_uid: s("1.2.3"),
        series_uid: s("1.2.3.4"),
        modality: s("US"),
        study_date: s("20240131"),
        study_time: s("101500"),
        accession: s("ACC7"),
        study_description: s("Abdomen"),
        series_description: s("Liver"),
        patient_birth_date: s("19800229"),
        patient_sex: s("F"),
        series_number: Some(3),
        instance_number: Some(12),
        patient_id: s("P-001"),
        patient_name: s(name),
        charset: s(charset),
        ..Header::default()
    }
}

fn open(dir: &tempfile::TempDir, bytes: &[u8]) -> Result<Header, HeaderError> {
    read_part10(&write(dir, "a.dcm", bytes))
}

#[test]
fn reads_every_transfer_syntax_and_charset() {
    let dir = tempfile::tempdir().unwrap();
    let gbk = encoding_rs::GBK.encode("王^小明").0.into_owned();
    let ir58 = [
        &b"Wang^XiaoMing=\x1b$)A"[..],
        &gb("王"),
        b"^\x1b$)A",
        &gb("小明"),
    ];
    let jpeg = "1.2.840.10008.1.2.4.50";
    let cases = [
        (
            Enc::Le,
            EXPLICIT_VR_LE,
            "ISO_IR 192",
            "王^小明".as_bytes().to_vec(),
            "王^小明",
        ),
        (
            Enc::Implicit,
            IMPLICIT_VR_LE,
            "GB18030",
            gb("王^小明"),
            "王^小明",
        ),
        (Enc::Be, EXPLICIT_VR_BE, "GBK", gbk, "王^小明"),
        (
            Enc::Le,
            DEFLATED_LE,
            "\\ISO 2022 IR 58",
            ir58.concat(),
            "Wang^XiaoMing=王^小明",
        ),
        (
            Enc::Le,
            jpeg,
            "ISO_IR 100",
            b"M\xfcller^Hans".to_vec(),
            "Müller^Hans",
        ),
    ];
    for (i, (enc, ts, charset, name, want)) in cases.into_iter().enumerate() {
        let body = dataset(enc, charset, &name, &[]);
        let body = if ts == DEFLATED_LE {
            deflate(&body)
        } else {
            body
        };
        // Every other file lacks the optional meta group length.
        let file = part10(ts, &body, ts == DEFLATED_LE || i % 2 == 0);
        assert_eq!(
            sniff(&write(&dir, "a.dcm", &file)).unwrap(),
            FileKind::Part10
        );
        assert_eq!(open(&dir, &file).unwrap(), expected(ts, charset, want));
    }
    // Garbage instead of deflate data is reported, not panicked on.
    let err = open(&dir, &part10(DEFLATED_LE, &[0xFF; 64], true)).unwrap_err();
    assert!(matches!(err, HeaderError::Malformed(_)), "{err}");
}

#[test]
fn raw_datasets_are_sniffed_and_read() {
    let dir = tempfile::tempdir().unwrap();
    for (enc, ts) in [(Enc::Le, EXPLICIT_VR_LE), (Enc::Implicit, IMPLICIT_VR_LE)] {
        let p = write(&dir, "raw", &dataset(enc, "", b"DOE^JOHN", &[]));
        let kind = FileKind::RawDataset {
            transfer_syntax: ts,
        };
        assert_eq!(sniff(&p).unwrap(), kind);
        assert_eq!(
            read_raw_dataset(&p, ts).unwrap(),
            expected(ts, "", "DOE^JOHN")
        );
    }
    // A Part 10 file without its preamble: the meta group names the real syntax.
    let body = dataset(Enc::Implicit, "", b"DOE^JOHN", &[]);
    let p = write(&dir, "raw", &part10(IMPLICIT_VR_LE, &body, true)[132..]);
    let kind = FileKind::RawDataset {
        transfer_syntax: EXPLICIT_VR_LE,
    };
    assert_eq!(sniff(&p).unwrap(), kind);
    let h = read_raw_dataset(&p, EXPLICIT_VR_LE).unwrap();
    assert_eq!(h, expected(IMPLICIT_VR_LE, "", "DOE^JOHN"));
}

/// Undefined-length sequence whose undefined-length item holds another undefined-length
/// sequence with a defined-length item, then (explicit only) an undefined-length UN whose
/// content is implicit VR LE. The decoy names inside must not be taken.
fn nested(enc: Enc) -> Vec<u8> {
    let leaf = el(enc, 0x0008, 0x1155, "UI", b"9.9.9");
    let mut s = hdr(enc, 0x0008, 0x1115, "SQ", UNDEFINED);
    s.extend(hdr(enc, 0xFFFE, 0xE000, "", UNDEFINED));
    s.extend(el(enc, 0x0010, 0x0010, "PN", b"WRONG^NAME"));
    s.extend(hdr(enc, 0x0008, 0x1199, "SQ", UNDEFINED));
    s.extend([hdr(enc, 0xFFFE, 0xE000, "", leaf.len() as u32), leaf].concat());
    s.extend(hdr(enc, 0xFFFE, 0xE0DD, "", 0));
    s.extend(hdr(enc, 0xFFFE, 0xE00D, "", 0));
    s.extend(hdr(enc, 0xFFFE, 0xE0DD, "", 0));
    if enc != Enc::Implicit {
        let imp = Enc::Implicit;
        s.extend(hdr(enc, 0x0009, 0x1010, "UN", UNDEFINED));
        s.extend(hdr(imp, 0xFFFE, 0xE000, "", UNDEFINED));
        s.extend(el(imp, 0x0010, 0x0010, "PN", b"WRONG^TOO"));
        s.extend(hdr(imp, 0xFFFE, 0xE00D, "", 0));
        s.extend(hdr(imp, 0xFFFE, 0xE0DD, "", 0));
    }
    s
}

#[test]
fn nested_undefined_length_sequences_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let syntaxes = [(Enc::Le, EXPLICIT_VR_LE), (Enc::Implicit, IMPLICIT_VR_LE)];
    for (enc, ts) in syntaxes.into_iter().chain([(Enc::Be, EXPLICIT_VR_BE)]) {
        let body = dataset(enc, "", b"DOE^JANE", &nested(enc));
        let h = open(&dir, &part10(ts, &body, true)).unwrap();
        assert_eq!(h, expected(ts, "", "DOE^JANE"));
    }
}

#[test]
fn truncated_files_are_malformed_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let body = dataset(Enc::Le, "", b"DOE^JOHN", &nested(Enc::Le));
    let full = part10(EXPLICIT_VR_LE, &body, true);
    let find = |what: &[u8]| full.windows(what.len()).position(|w| w == what).unwrap();
    match open(&dir, &full[..find(b"DOE^JOHN") + 3]) {
        Err(HeaderError::Malformed(msg)) => assert!(msg.contains("(0010,0010)"), "{msg}"),
        other => panic!("{other:?}"),
    }
    // Cuts before the series UID (last required) fail; later ones may succeed at an
    // element boundary, and always once the pixel data tag is complete.
    let series = el(Enc::Le, 0x0020, 0x000E, "UI", b"1.2.3.4");
    let series_end = find(&series) + series.len();
    for cut in 0..full.len() {
        match open(&dir, &full[..cut]) {
            Ok(_) => assert!(cut >= series_end, "cut at {cut}"),
            Err(e) => assert!(cut < full.len() - 8, "cut at {cut}: {e}"),
        }
    }
}

#[test]
fn missing_and_oversized_attributes() {
    let dir = tempfile::tempdir().unwrap();
    let body = dataset(Enc::Le, "", b"DOE^JOHN", &[]);
    let sop = el(Enc::Le, 0x0008, 0x0018, "UI", b"1.2.3.4.5");
    let at = body.windows(sop.len()).position(|w| w == sop).unwrap();
    let without = [&body[..at], &body[at + sop.len()..]].concat();
    let err = open(&dir, &part10(EXPLICIT_VR_LE, &without, true)).unwrap_err();
    assert!(
        matches!(err, HeaderError::Missing("SOP Instance UID (0008,0018)")),
        "{err}"
    );
    let big = el(Enc::Le, 0x0008, 0x1030, "UT", &vec![b'x'; 70_000]);
    let body = [el(Enc::Le, 0x0008, 0x0016, "UI", b"1.2"), big].concat();
    let err = open(&dir, &part10(EXPLICIT_VR_LE, &body, true)).unwrap_err();
    assert!(matches!(err, HeaderError::Malformed(_)), "{err}");
}

#[test]
fn charset_repair_is_flagged_only_when_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let body = dataset(Enc::Le, "", &gb("王^小明"), &[]);
    let h = open(&dir, &part10(EXPLICIT_VR_LE, &body, true)).unwrap();
    let want = expected(EXPLICIT_VR_LE, "", "王^小明");
    assert_eq!(
        h,
        Header {
            charset_repaired: Some("GB18030".into()),
            ..want
        }
    );
    let body = dataset(Enc::Le, "ISO_IR 100", b"M\xfcller^Hans", &[]);
    let h = open(&dir, &part10(EXPLICIT_VR_LE, &body, true)).unwrap();
    assert_eq!(h, expected(EXPLICIT_VR_LE, "ISO_IR 100", "Müller^Hans"));
}

#[test]
fn sniff_names_what_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let reason = |bytes: &[u8]| match sniff(&write(&dir, "x", bytes)).unwrap() {
        FileKind::NotDicom { reason } => reason,
        other => panic!("{other:?}"),
    };
    assert_eq!(reason(b""), "the file is empty");
    assert_eq!(reason(b"%PDF-1.7\n"), "the file is a PDF document");
    assert_eq!(
        reason(b"\xFF\xD8\xFF\xE0\x00\x10JFIF"),
        "the file is a JPEG image"
    );
    let text = b"hello, this is a text file";
    assert_eq!(reason(text), "no DICOM preamble or recognizable dataset");
    assert!(matches!(
        open(&dir, b"%PDF-1.7"),
        Err(HeaderError::NotDicom(_))
    ));
}

#[test]
fn reads_file_written_by_dicom_object() {
    use dicom_core::{DataElement, PrimitiveValue, VR};
    use dicom_dictionary_std::tags;
    use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
    let e = |tag, vr, v: &str| DataElement::new(tag, vr, PrimitiveValue::from(v));
    let obj = InMemDicomObject::from_element_iter([
        e(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192"),
        e(tags::SOP_CLASS_UID, VR::UI, "1.2.840.10008.5.1.4.1.1.7"),
        e(tags::SOP_INSTANCE_UID, VR::UI, "1.2.3.4.5.6"),
        e(tags::PATIENT_NAME, VR::PN, "王^小明"),
        e(tags::STUDY_INSTANCE_UID, VR::UI, "1.2.3"),
        e(tags::SERIES_INSTANCE_UID, VR::UI, "1.2.3.4"),
        e(tags::INSTANCE_NUMBER, VR::IS, "7"),
    ]);
    let meta = FileMetaTableBuilder::new().transfer_syntax(EXPLICIT_VR_LE);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("o.dcm");
    obj.with_meta(meta).unwrap().write_to_file(&p).unwrap();
    let h = read_part10(&p).unwrap();
    assert_eq!(
        (h.patient_name.as_str(), h.sop_instance_uid.as_str()),
        ("王^小明", "1.2.3.4.5.6")
    );
    assert_eq!(
        (h.instance_number, h.charset.as_str()),
        (Some(7), "ISO_IR 192")
    );
}
