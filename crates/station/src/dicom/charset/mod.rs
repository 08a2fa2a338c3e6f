//! Text of a DICOM object decoded by its Specific Character Set (0008,0005), including the
//! multi-valued ISO 2022 forms Chinese devices send, and repair of mislabelled GB18030/GBK.
//!
//! Must never: return mojibake silently. When the declared charset does not fit the bytes, the
//! text is decoded with the detected one and the caller is told so.
//!
//! dicom-rs only honours the first value of (0008,0005) and has no ISO 2022 escape handling, so
//! this module does it itself (PS3.5 §6.1.2.5, Annexes H–K; PS3.3 C.12.1.1.2).

use encoding_rs::Encoding;

/// Result of decoding one text value.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The value as Unicode.
    pub text: String,
    /// Some(name) when the declared charset was wrong and we decoded with a detected one
    pub repaired_as: Option<&'static str>,
}

/// Parses the raw (0008,0005) value into its values, trimmed. A leading empty value is kept
/// (`\ISO 2022 IR 58` means "default repertoire, extended by GB2312"); an all-empty value gives
/// an empty Vec (= not declared).
pub fn split_declared(raw: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(raw);
    let mut values: Vec<String> = text
        .split('\\')
        .map(|v| v.trim_matches(|c: char| c == ' ' || c == '\0').to_string())
        .collect();
    while values.last().is_some_and(|v| v.is_empty()) {
        values.pop();
    }
    values
}

/// Decodes `bytes` of a text element (PN, LO, SH, ST, LT, UT …) under the declared (0008,0005)
/// values (already split on '\\', trimmed; empty slice = not declared).
pub fn decode(declared: &[String], bytes: &[u8]) -> Decoded {
    // Pure 7-bit text without escapes reads the same under every DICOM charset.
    if bytes.iter().all(|&b| b < 0x80 && b != ESC) {
        return plain(latin1(bytes));
    }
    let first = match declared.first() {
        Some(value) => term(value),
        None => Some(Term::Iso2022(G0::Ascii, None)),
    };
    match first {
        Some(Term::Utf8) => match std::str::from_utf8(bytes) {
            Ok(s) => plain(s.to_string()),
            Err(_) => detect(bytes),
        },
        Some(Term::Whole(enc)) => {
            let (text, errors) = enc.decode_without_bom_handling(bytes);
            match std::str::from_utf8(bytes) {
                Ok(s) if errors => repaired(s.to_string(), "ISO_IR 192"),
                _ => plain(text.into_owned()),
            }
        }
        Some(Term::Iso2022(g0, g1)) => {
            let (text, errors) = decode_iso2022(declared, g0, g1, bytes);
            // Only a lone default/Latin-1 declaration without escapes is suspected of hiding
            // other bytes: code extensions and escapes are a deliberate statement by the writer.
            let suspect = declared.len() <= 1 && !bytes.contains(&ESC) && g0 == G0::Ascii;
            match g1 {
                // High bytes under the 7-bit default repertoire: the declaration is wrong.
                None if suspect => detect(bytes),
                // Latin-1 fits any bytes, so only a clearly better reading replaces it.
                Some(G1::Latin1) if suspect => match detect(bytes) {
                    d if d.repaired_as == Some("ISO_IR 100") => plain(text),
                    d => d,
                },
                _ if errors => match std::str::from_utf8(bytes) {
                    Ok(s) => repaired(s.to_string(), "ISO_IR 192"),
                    Err(_) => plain(text),
                },
                _ => plain(text),
            }
        }
        // Unknown defined term: we cannot honour it, so decode by what the bytes look like.
        None => detect(bytes),
    }
}

fn plain(text: String) -> Decoded {
    Decoded {
        text,
        repaired_as: None,
    }
}

fn repaired(text: String, name: &'static str) -> Decoded {
    Decoded {
        text,
        repaired_as: Some(name),
    }
}

/// Decodes bytes whose declared charset cannot be right: UTF-8 if valid and plausible, else
/// GB18030 if clearly Chinese, else Latin-1, the usual intent of older Western devices (still
/// a guess, so it is reported).
fn detect(bytes: &[u8]) -> Decoded {
    let gb = looks_like_gb18030(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) if !gb || plausible_utf8(s) => repaired(s.to_string(), "ISO_IR 192"),
        _ if gb => {
            let text = encoding_rs::GB18030.decode_without_bom_handling(bytes).0;
            repaired(text.into_owned(), "GB18030")
        }
        _ => repaired(latin1(bytes), "ISO_IR 100"),
    }
}

/// Whether valid UTF-8 is likely meant as UTF-8 when GB18030 also fits. Short GB18030 text is
/// valid UTF-8 by chance surprisingly often ("头颅" = CD B7 C2 AD = "ͷ" + soft hyphen), but then
/// only as two-byte sequences (U+0080–U+07FF) mixing scripts or symbols; real text in that
/// range is letters of one script (Latin, Greek, Cyrillic, Hebrew, Arabic).
fn plausible_utf8(s: &str) -> bool {
    let script = |c: char| match c as u32 {
        0x00C0..=0x024F => Some(0),
        0x0370..=0x03FF => Some(1),
        0x0400..=0x052F => Some(2),
        0x0590..=0x05FF => Some(3),
        0x0600..=0x06FF => Some(4),
        _ => None,
    };
    if s.chars().any(|c| c as u32 >= 0x800) {
        return true;
    }
    let mut scripts = s
        .chars()
        .filter(|c| !c.is_ascii())
        .map(|c| script(c).filter(|_| c.is_alphabetic()));
    let first = scripts.next().flatten();
    first.is_some() && scripts.all(|x| x == first)
}

const ESC: u8 = 0x1B;

/// What a defined term means for decoding.
#[derive(Debug, Clone, Copy)]
enum Term {
    /// Encodings without code extensions (PS3.3 Table C.12-5): the whole value in one encoding.
    Whole(&'static Encoding),
    Utf8,
    /// A term taking part in ISO 2022 code extension: what it designates to G0 and G1.
    Iso2022(G0, Option<G1>),
}

/// Character set in G0 (bytes 0x21–0x7E).
#[derive(Debug, Clone, Copy, PartialEq)]
enum G0 {
    Ascii,
    /// JIS X 0208 (ISO-IR 87), two bytes per character.
    Jis0208,
    /// JIS X 0212 (ISO-IR 159), two bytes per character.
    Jis0212,
}

/// Character set in G1 (bytes 0xA1–0xFE).
#[derive(Debug, Clone, Copy, PartialEq)]
enum G1 {
    /// ISO-8859-1 proper: encoding_rs maps the ISO-8859-1 label to windows-1252, which differs
    /// in 0x80–0x9F, so Latin-1 is decoded by hand.
    Latin1,
    Single(&'static Encoding),
    /// JIS X 0201 katakana (ISO-IR 13).
    Katakana,
    /// GB2312 (ISO-IR 58), two bytes per character.
    Gb2312,
    /// KS X 1001 (ISO-IR 149), two bytes per character.
    Ksx1001,
}

fn term(value: &str) -> Option<Term> {
    use encoding_rs::*;
    let v = value.trim().to_ascii_uppercase();
    let single = |g1| Some(Term::Iso2022(G0::Ascii, Some(g1)));
    let name = v
        .strip_prefix("ISO_IR ")
        .or_else(|| v.strip_prefix("ISO 2022 IR "));
    match (v.as_str(), name) {
        ("", _) | (_, Some("6")) => Some(Term::Iso2022(G0::Ascii, None)),
        (_, Some("100")) => single(G1::Latin1),
        (_, Some("101")) => single(G1::Single(ISO_8859_2)),
        (_, Some("109")) => single(G1::Single(ISO_8859_3)),
        (_, Some("110")) => single(G1::Single(ISO_8859_4)),
        (_, Some("144")) => single(G1::Single(ISO_8859_5)),
        (_, Some("127")) => single(G1::Single(ISO_8859_6)),
        (_, Some("126")) => single(G1::Single(ISO_8859_7)),
        (_, Some("138")) => single(G1::Single(ISO_8859_8)),
        // windows-1254 and -874 only add printable characters where ISO has C1 controls.
        (_, Some("148")) => single(G1::Single(WINDOWS_1254)),
        (_, Some("166")) => single(G1::Single(WINDOWS_874)),
        (_, Some("203")) => single(G1::Single(ISO_8859_15)),
        (_, Some("13")) => single(G1::Katakana),
        (_, Some("87")) => Some(Term::Iso2022(G0::Jis0208, None)),
        (_, Some("159")) => Some(Term::Iso2022(G0::Jis0212, None)),
        (_, Some("149")) => Some(Term::Iso2022(G0::Ascii, Some(G1::Ksx1001))),
        (_, Some("58")) => Some(Term::Iso2022(G0::Ascii, Some(G1::Gb2312))),
        (_, Some("192")) | ("UTF-8", _) | ("UTF8", _) => Some(Term::Utf8),
        ("GB18030", _) => Some(Term::Whole(GB18030)),
        // encoding_rs decodes GBK as its superset GB18030; GB2312 is not a DICOM term but is
        // seen in the wild and is a subset.
        ("GBK", _) | ("GB2312", _) => Some(Term::Whole(GBK)),
        _ => None,
    }
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

/// ISO 2022 decoding with code extensions (PS3.5 §6.1.2.5). Returns the text and whether
/// anything could not be decoded (shown as U+FFFD).
fn decode_iso2022(
    declared: &[String],
    g0_init: G0,
    g1_init: Option<G1>,
    bytes: &[u8],
) -> (String, bool) {
    // Sets declared by values 2.. : used when high bytes arrive with nothing designated to G1,
    // because many devices declare `\ISO 2022 IR 58` but never write the escape sequence.
    let declared_g1 = declared.iter().skip(1).find_map(|v| match term(v) {
        Some(Term::Iso2022(_, Some(g1))) => Some(g1),
        _ => None,
    });
    let (mut g0, mut g1) = (g0_init, g1_init);
    let mut last_g1 = g1_init.or(declared_g1);
    let mut out = String::with_capacity(bytes.len());
    let mut errors = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == ESC {
            match escape(&bytes[i + 1..]) {
                Some((len, designation)) => {
                    match designation {
                        Designation::SetG0(set) => g0 = set,
                        Designation::SetG1(set) => {
                            g1 = Some(set);
                            last_g1 = Some(set);
                        }
                    }
                    i += len;
                }
                None => {
                    errors = true;
                    out.push('\u{FFFD}');
                }
            }
            i += 1;
            continue;
        }
        if b >= 0x80 {
            let end = run_end(bytes, i, |b| b >= 0x80);
            let run = &bytes[i..end];
            match g1.or(last_g1) {
                Some(set) => errors |= decode_g1(set, run, &mut out),
                None => {
                    errors = true;
                    out.extend(run.iter().map(|_| '\u{FFFD}'));
                }
            }
            i = end;
            continue;
        }
        if g0 != G0::Ascii && (0x21..=0x7E).contains(&b) {
            // Two-byte G0 sets: the EUC form is the same code with the high bit set.
            let end = run_end(bytes, i, |b| (0x21..=0x7E).contains(&b));
            let mut euc = Vec::with_capacity((end - i) * 3 / 2 + 1);
            for pair in bytes[i..end].chunks(2) {
                if g0 == G0::Jis0212 {
                    euc.push(0x8F);
                }
                euc.extend(pair.iter().map(|b| b | 0x80));
            }
            let (text, bad) = encoding_rs::EUC_JP.decode_without_bom_handling(&euc);
            out.push_str(&text);
            errors |= bad || (end - i) % 2 == 1;
            i = end;
            continue;
        }
        // Before delimiters and control characters the writer must return to the initial
        // sets (PS3.5 §6.1.2.5.3); resetting here also repairs writers that forget to.
        if matches!(b, b'\\' | b'^' | b'=' | b'\r' | b'\n' | b'\t' | 0x0C) {
            g0 = g0_init;
            g1 = g1_init;
        }
        out.push(b as char);
        i += 1;
    }
    (out, errors)
}

enum Designation {
    SetG0(G0),
    SetG1(G1),
}

/// Recognises the escape sequence after an ESC (PS3.3 Tables C.12-3 and C.12-4). Returns the
/// number of bytes after the ESC and what it designates.
fn escape(rest: &[u8]) -> Option<(usize, Designation)> {
    use encoding_rs::*;
    use Designation::{SetG0, SetG1};
    let single = |enc| Some((2, SetG1(G1::Single(enc))));
    match rest {
        [b'(', b'B', ..] | [b'(', b'J', ..] => Some((2, SetG0(G0::Ascii))),
        [b')', b'I', ..] => Some((2, SetG1(G1::Katakana))),
        [b'$', b'B', ..] => Some((2, SetG0(G0::Jis0208))),
        [b'$', b'(', b'D', ..] => Some((3, SetG0(G0::Jis0212))),
        [b'$', b')', b'A', ..] => Some((3, SetG1(G1::Gb2312))),
        [b'$', b')', b'C', ..] => Some((3, SetG1(G1::Ksx1001))),
        [b'-', b'A', ..] => Some((2, SetG1(G1::Latin1))),
        [b'-', b'B', ..] => single(ISO_8859_2),
        [b'-', b'C', ..] => single(ISO_8859_3),
        [b'-', b'D', ..] => single(ISO_8859_4),
        [b'-', b'L', ..] => single(ISO_8859_5),
        [b'-', b'G', ..] => single(ISO_8859_6),
        [b'-', b'F', ..] => single(ISO_8859_7),
        [b'-', b'H', ..] => single(ISO_8859_8),
        [b'-', b'M', ..] => single(WINDOWS_1254),
        [b'-', b'T', ..] => single(WINDOWS_874),
        [b'-', b'b', ..] => single(ISO_8859_15),
        _ => None,
    }
}

fn run_end(bytes: &[u8], start: usize, pred: impl Fn(u8) -> bool) -> usize {
    bytes[start..]
        .iter()
        .position(|&b| !pred(b))
        .map_or(bytes.len(), |n| start + n)
}

/// Decodes a run of high bytes in the G1 set; returns whether anything was invalid.
fn decode_g1(set: G1, run: &[u8], out: &mut String) -> bool {
    let multi = |enc: &'static Encoding, out: &mut String| {
        // GR-invoked 94×94 sets are exactly the EUC forms; reject bytes outside 0xA1–0xFE
        // because GBK/UHC decoders would otherwise accept them as extensions.
        let (text, bad) = enc.decode_without_bom_handling(run);
        out.push_str(&text);
        bad || run.len() % 2 == 1 || run.iter().any(|&b| b < 0xA1 || b == 0xFF)
    };
    match set {
        G1::Latin1 => {
            out.extend(run.iter().map(|&b| b as char));
            false
        }
        G1::Single(enc) => {
            let (text, bad) = enc.decode_without_bom_handling(run);
            out.push_str(&text);
            bad
        }
        G1::Katakana => {
            let mut bad = false;
            for &b in run {
                if (0xA1..=0xDF).contains(&b) {
                    out.push(char::from_u32(0xFF61 + u32::from(b - 0xA1)).unwrap_or('\u{FFFD}'));
                } else {
                    bad = true;
                    out.push('\u{FFFD}');
                }
            }
            bad
        }
        G1::Gb2312 => multi(encoding_rs::GBK, out),
        G1::Ksx1001 => multi(encoding_rs::EUC_KR, out),
    }
}

/// Whether `bytes` read as GB18030 is clearly better than Latin-1: it decodes cleanly, every
/// non-ASCII character is a CJK ideograph or CJK punctuation, and Latin-1 is implausible.
///
/// Bytes 0x80–0x9F are C1 controls in Latin-1 and never occur in names, so they rule it out.
/// Otherwise: a Latin-1 name has single accented letters inside words ("Müller"); read as
/// GB18030 the accented byte swallows the next ASCII letter, while Chinese text has every
/// character as two high bytes, so every run of high bytes must have even length. Two adjacent
/// accented letters ("Conceição", "Hæð") do form a pair, but touch ASCII letters and, when
/// lowercase, land on rare GB2312 level-2 ideographs (leads 0xD8–0xF7); so text whose high
/// bytes touch letters is only taken as Chinese when it is mostly high bytes ("CT胸部平扫")
/// and every pair is a common level-1 ideograph (leads 0xB0–0xD7).
fn looks_like_gb18030(bytes: &[u8]) -> bool {
    let latin1_impossible = bytes.iter().any(|&b| (0x80..=0x9F).contains(&b));
    if !latin1_impossible {
        let mut runs = bytes.split(|&b| b < 0x80).filter(|run| !run.is_empty());
        if runs.clone().any(|run| run.len() % 2 == 1) {
            return false;
        }
        let all_common = runs.all(|run| run.chunks(2).all(|p| (0xB0..=0xD7).contains(&p[0])));
        let count = |f: fn(&u8) -> bool| bytes.iter().filter(|b| f(b)).count();
        let mostly_high = count(|b| *b >= 0x80) >= count(u8::is_ascii_alphabetic);
        let touches_letter = bytes.windows(2).any(|w| {
            (w[0] >= 0x80 && w[1].is_ascii_alphabetic())
                || (w[0].is_ascii_alphabetic() && w[1] >= 0x80)
        });
        if touches_letter && !(all_common && mostly_high) {
            return false;
        }
    }
    let gb = encoding_rs::GB18030.decode_without_bom_handling_and_without_replacement(bytes);
    let Some(text) = gb else { return false };
    let mut ideographs = 0;
    for c in text.chars().filter(|c| !c.is_ascii()) {
        match c as u32 {
            0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x3FFFF => {
                ideographs += 1
            }
            // CJK punctuation, full-width forms, and the middle dot of transliterated names.
            0x3000..=0x303F | 0xFF00..=0xFFEF | 0x00B7 | 0x2010..=0x2027 => {}
            _ => return false,
        }
    }
    // One lone pair is as likely two accented letters ("äö") as one ideograph.
    ideographs >= if latin1_impossible { 1 } else { 2 }
}

/// Encodes `s` as `\ISO 2022 IR 58` (PS3.5 Annex J): ASCII in G0; before each run of Chinese
/// characters at the start of a value or after a delimiter (`^` `=` `\` CR LF), ESC $ ) A
/// designates GB2312 to G1, whose bytes are written with the high bit set (GR). Returns the
/// first character GB2312 does not hold as the error.
pub fn encode_iso2022_ir58(s: &str) -> Result<Vec<u8>, char> {
    let mut out = Vec::with_capacity(s.len() * 2);
    let mut designated = false;
    for c in s.chars() {
        if c.is_ascii() {
            if matches!(c, '^' | '=' | '\\' | '\r' | '\n') {
                designated = false;
            }
            out.push(c as u8);
            continue;
        }
        let mut buf = [0u8; 4];
        let (gb, _, had_errors) = encoding_rs::GBK.encode(c.encode_utf8(&mut buf));
        if had_errors || gb.len() != 2 || gb.iter().any(|&b| b < 0xA1 || b == 0xFF) {
            return Err(c);
        }
        if !designated {
            out.extend_from_slice(&[ESC, b'$', b')', b'A']);
            designated = true;
        }
        out.extend_from_slice(&gb);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
