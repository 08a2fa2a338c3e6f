//! Tests of `charset`.
use super::*;

fn gb(s: &str) -> Vec<u8> {
    encoding_rs::GB18030.encode(s).0.into_owned()
}

fn latin(s: &str) -> Vec<u8> {
    s.chars().map(|c| c as u8).collect()
}

/// Escape sequence + GB2312 bytes: ISO 2022 IR 58 in G1 (PS3.5 Annex J).
fn ir58(s: &str) -> Vec<u8> {
    [b"\x1b$)A".to_vec(), gb(s)].concat()
}

/// JIS X 0208 in G0 is EUC-JP without the high bit (PS3.5 Annex H).
fn ir87(s: &str) -> Vec<u8> {
    let jis = encoding_rs::EUC_JP
        .encode(s)
        .0
        .iter()
        .map(|b| b & 0x7F)
        .collect();
    [b"\x1b$B".to_vec(), jis, b"\x1b(B".to_vec()].concat()
}

fn check(declared: &str, bytes: &[u8], text: &str, repaired_as: Option<&str>) {
    let d = decode(&split_declared(declared.as_bytes()), bytes);
    assert_eq!(
        (d.text.as_str(), d.repaired_as),
        (text, repaired_as),
        "{declared:?} {bytes:x?}"
    );
}

#[test]
fn split_declared_keeps_leading_empty_value() {
    assert_eq!(split_declared(b"\\ISO 2022 IR 58"), ["", "ISO 2022 IR 58"]);
    assert_eq!(split_declared(b"ISO_IR 192 "), ["ISO_IR 192"]);
    assert_eq!(
        split_declared(b"ISO 2022 IR 6\\ISO 2022 IR 87\0"),
        ["ISO 2022 IR 6", "ISO 2022 IR 87"]
    );
    assert!(split_declared(b"").is_empty() && split_declared(b"  ").is_empty());
}

#[test]
fn declared_charsets_decode() {
    check("", b"DOE^JOHN", "DOE^JOHN", None);
    check("ISO_IR 192", "王^小明".as_bytes(), "王^小明", None);
    check("GB18030", &gb("王^小明"), "王^小明", None);
    check("GBK", &encoding_rs::GBK.encode("王小明").0, "王小明", None);
    // 0x80 is a C1 control in ISO-8859-1, not the euro sign of windows-1252.
    check("ISO_IR 100", b"a\x80", "a\u{80}", None);
    check("ISO_IR 144", b"\xbf\xe3\xe8\xda\xd8\xdd", "Пушкин", None);
}

#[test]
fn iso2022_code_extensions() {
    // Each PN component group re-designates G1, as in PS3.5 Annex J.2.
    let name = [
        &b"Zhang^XiaoDong="[..],
        &ir58("张"),
        b"^",
        &ir58("小东"),
        b"=",
    ]
    .concat();
    check("\\ISO 2022 IR 58", &name, "Zhang^XiaoDong=张^小东=", None);
    // Devices that skip the escape after '^' or altogether, and a closing ESC ( B.
    let name = [ir58("王"), b"^".to_vec(), gb("小明"), b"\x1b(B".to_vec()].concat();
    check("ISO 2022 IR 6\\ISO 2022 IR 58", &name, "王^小明", None);
    check("\\ISO 2022 IR 58", &gb("王^小明"), "王^小明", None);
    let name = [&b"Yamada^Tarou="[..], &ir87("山田"), b"^", &ir87("太郎")].concat();
    check("\\ISO 2022 IR 87", &name, "Yamada^Tarou=山田^太郎", None);
    let name = [
        &b"Hong^Gildong=\x1b$)C"[..],
        &encoding_rs::EUC_KR.encode("洪^吉洞").0,
    ]
    .concat();
    check("\\ISO 2022 IR 149", &name, "Hong^Gildong=洪^吉洞", None);
}

#[test]
fn genuine_latin1_is_not_repaired() {
    for name in [
        "Müller^Hans",
        "Gérard^Françoise",
        "Søren^Bjørnæs",
        "José^María",
        "Ñúñez",
    ] {
        check("ISO_IR 100", &latin(name), name, None);
    }
}

#[test]
fn mislabelled_text_is_repaired_and_flagged() {
    check("", &gb("王^小明"), "王^小明", Some("GB18030"));
    check("ISO_IR 6", &gb("王小明"), "王小明", Some("GB18030"));
    check("", &gb("王婷"), "王婷", Some("GB18030"));
    check(
        "ISO_IR 100",
        &gb("CT胸部平扫"),
        "CT胸部平扫",
        Some("GB18030"),
    );
    // GBK trail bytes 0x80–0x9F cannot be Latin-1 text.
    check("ISO_IR 100", &gb("张伟^李娜"), "张伟^李娜", Some("GB18030"));
    check("ISO_IR 100", &gb("王小明"), "王小明", Some("GB18030"));
    check(
        "ISO_IR 100",
        "Müller^Hans".as_bytes(),
        "Müller^Hans",
        Some("ISO_IR 192"),
    );
    check("", "王小明".as_bytes(), "王小明", Some("ISO_IR 192"));
    check("GB18030", "王小明".as_bytes(), "王小明", Some("ISO_IR 192"));
    check("ISO_IR 192", &gb("王小明"), "王小明", Some("GB18030"));
    check("ISO_IR 192", b"M\xfcller", "Müller", Some("ISO_IR 100"));
    // GB18030 that happens to be valid UTF-8, and Cyrillic UTF-8 that GB18030 would take.
    check("", &gb("MR头颅"), "MR头颅", Some("GB18030"));
    check(
        "",
        "Пушкин^Александр".as_bytes(),
        "Пушкин^Александр",
        Some("ISO_IR 192"),
    );
    // No charset but Latin-1 bytes: the usual intent, reported as a guess.
    check("", b"M\xfcller^Hans", "Müller^Hans", Some("ISO_IR 100"));
    check("BOGUS", &gb("王小明"), "王小明", Some("GB18030"));
}

#[test]
fn garbage_never_panics() {
    let inputs: [&[u8]; 7] = [
        b"\x1b",
        b"\x1b$",
        b"\x1b$)A\xb0",
        b"\x1b$B\x30",
        b"\xff\xfe\x1b(Z",
        b"\x81",
        b"\x1b)I\xe0",
    ];
    for bytes in inputs {
        for declared in [
            "\\ISO 2022 IR 58",
            "ISO 2022 IR 87",
            "",
            "BOGUS",
            "GB18030",
            "ISO_IR 13",
        ] {
            let _ = decode(&split_declared(declared.as_bytes()), bytes);
        }
    }
    let d = decode(&split_declared(b"\\ISO 2022 IR 58"), b"\x1b$)A\xb0");
    assert!(d.text.contains('\u{FFFD}'));
}

#[test]
fn ir58_encoding_designates_g1_per_component_group_and_decodes_back() {
    let name = "Wang^XiaoMing=王^小明=wang^xiao ming";
    let bytes = encode_iso2022_ir58(name).expect("GB2312 holds these");
    let expected = [
        b"Wang^XiaoMing=".to_vec(),
        ir58("王"),
        b"^".to_vec(),
        ir58("小明"),
        b"=wang^xiao ming".to_vec(),
    ]
    .concat();
    assert_eq!(bytes, expected);
    check("\\ISO 2022 IR 58", &bytes, name, None);
    // Outside GB2312 (a GB18030-only ideograph): refused, naming the character.
    assert_eq!(encode_iso2022_ir58("王㐀"), Err('㐀'));
}
