//! Reading a report document the hub wrote: a Structured Report (Basic Text, Enhanced or
//! Comprehensive SR; PS3.3 C.17) as readable text with its verifying observer and flags, an
//! Encapsulated PDF (PS3.3 C.24) kept for display, a Key Object Selection (PS3.3 C.17.6) as
//! the images it points at.
//!
//! Must never: guess a report is final (only COMPLETE + VERIFIED, and not PRELIMINARY, is), or
//! fail on an item it does not know (it is shown by its concept name, or left out).

use std::path::Path;

use dicom_dictionary_std::tags;
use dicom_object::mem::InMemDicomObject;

use crate::dicom::charset;

/// Basic Text SR Storage (PS3.4 Annex B.5).
pub const BASIC_TEXT_SR: &str = "1.2.840.10008.5.1.4.1.1.88.11";
/// Enhanced SR Storage (PS3.4 Annex B.5).
pub const ENHANCED_SR: &str = "1.2.840.10008.5.1.4.1.1.88.22";
/// Comprehensive SR Storage (PS3.4 Annex B.5).
pub const COMPREHENSIVE_SR: &str = "1.2.840.10008.5.1.4.1.1.88.33";
/// Key Object Selection Document Storage (PS3.4 Annex B.5).
pub const KEY_OBJECT_SELECTION: &str = "1.2.840.10008.5.1.4.1.1.88.59";
/// Encapsulated PDF Storage (PS3.4 Annex B.5).
pub const ENCAPSULATED_PDF: &str = "1.2.840.10008.5.1.4.1.1.104.1";
/// The SOP classes of reports the station looks for at the hub.
pub const REPORT_CLASSES: [&str; 5] = [
    BASIC_TEXT_SR,
    ENHANCED_SR,
    COMPREHENSIVE_SR,
    KEY_OBJECT_SELECTION,
    ENCAPSULATED_PDF,
];

pub use crate::store::reports::{Parsed, ReportKind as Kind};

impl Kind {
    /// The kind of report a SOP Class UID holds; none for a class that is not a report.
    pub fn of_sop_class(sop_class_uid: &str) -> Option<Kind> {
        match sop_class_uid {
            BASIC_TEXT_SR | ENHANCED_SR | COMPREHENSIVE_SR => Some(Kind::Sr),
            ENCAPSULATED_PDF => Some(Kind::Pdf),
            KEY_OBJECT_SELECTION => Some(Kind::KeyObjects),
            _ => None,
        }
    }
}

/// A report document that cannot be read (not DICOM, cut short, or not the kind expected).
#[derive(Debug, thiserror::Error)]
#[error("cannot read the report document: {0}")]
pub struct ParseError(String);

/// Reads the report document in the PS3.10 file at `path`.
pub fn parse(path: &Path, kind: Kind) -> Result<Parsed, ParseError> {
    let obj = crate::dicom::bounds::open_file(path).map_err(|e| ParseError(e.to_string()))?;
    let declared = obj
        .get(tags::SPECIFIC_CHARACTER_SET)
        .and_then(|e| e.to_str().ok())
        .map(|s| charset::split_declared(s.as_bytes()))
        .unwrap_or_default();
    let d = Doc { declared };
    let mut parsed = Parsed {
        content_at: format!(
            "{}{}",
            d.text(&obj, tags::CONTENT_DATE),
            d.text(&obj, tags::CONTENT_TIME)
        ),
        completion: d.code(&obj, tags::COMPLETION_FLAG),
        verification: d.code(&obj, tags::VERIFICATION_FLAG),
        preliminary: d.code(&obj, tags::PRELIMINARY_FLAG),
        ..Parsed::default()
    };
    // The last verifier is the one who signed this version (PS3.3 C.17.2.1).
    if let Some(v) = items(&obj, tags::VERIFYING_OBSERVER_SEQUENCE).last() {
        parsed.observer = person_name(&d.text(v, tags::VERIFYING_OBSERVER_NAME));
        parsed.organization = d.text(v, tags::VERIFYING_ORGANIZATION);
        parsed.verified_at = d.text(v, tags::VERIFICATION_DATE_TIME);
    }
    match kind {
        Kind::Sr | Kind::KeyObjects => {
            parsed.title = d.concept_name(&obj);
            let mut out = Rendered::default();
            for item in items(&obj, tags::CONTENT_SEQUENCE) {
                d.render(item, 0, &mut out);
            }
            parsed.text = out.lines.join("\n").trim().to_string();
            parsed.key_images = out.images;
            // Not verified yet: the author named in the observer context wrote it.
            if parsed.observer.is_empty() {
                parsed.observer = out.author.unwrap_or_default();
            }
            parsed.is_final = parsed.completion == "COMPLETE"
                && parsed.verification == "VERIFIED"
                && parsed.preliminary != "PRELIMINARY";
        }
        Kind::Pdf => {
            parsed.title = d.text(&obj, tags::DOCUMENT_TITLE);
            if parsed.title.is_empty() {
                parsed.title = d.concept_name(&obj);
            }
            // A PDF carries no verification flags: the hub publishes it as the signed report
            // unless it says otherwise.
            parsed.is_final = parsed.preliminary != "PRELIMINARY";
        }
    }
    if kind == Kind::KeyObjects {
        for series in items(&obj, tags::CURRENT_REQUESTED_PROCEDURE_EVIDENCE_SEQUENCE)
            .iter()
            .flat_map(|s| items(s, tags::REFERENCED_SERIES_SEQUENCE))
        {
            for sop in items(series, tags::REFERENCED_SOP_SEQUENCE) {
                push_unique(
                    &mut parsed.key_images,
                    d.text(sop, tags::REFERENCED_SOP_INSTANCE_UID),
                );
            }
        }
    }
    Ok(parsed)
}

/// The bytes of an Encapsulated PDF's document, without the padding byte (its declared length
/// is the un-padded one, PS3.3 C.24.2.1).
pub fn pdf_bytes(path: &Path) -> Result<Vec<u8>, ParseError> {
    let obj = crate::dicom::bounds::open_file(path).map_err(|e| ParseError(e.to_string()))?;
    let doc = obj
        .get(tags::ENCAPSULATED_DOCUMENT)
        .ok_or_else(|| ParseError("no Encapsulated Document (0042,0011)".into()))?;
    let mut bytes = doc
        .to_bytes()
        .map_err(|e| ParseError(e.to_string()))?
        .into_owned();
    let declared = obj
        .get(tags::ENCAPSULATED_DOCUMENT_LENGTH)
        .and_then(|e| e.to_int::<u64>().ok());
    if let Some(len) = declared.filter(|&l| l <= bytes.len() as u64) {
        bytes.truncate(len as usize);
    }
    Ok(bytes)
}

/// The standard report headings (PS3.16 CID 7001/7002, DCM; the LOINC report sections) in the
/// words Chinese radiology reports use.
fn chinese_heading(scheme: &str, value: &str) -> Option<&'static str> {
    let heading = match (scheme, value) {
        ("DCM", "121060") | ("LN" | "LOINC", "11329-0") => "病史",
        ("DCM", "121062") | ("LN" | "LOINC", "55115-0") => "检查申请",
        ("DCM", "121064" | "121065") | ("LN" | "LOINC", "55111-9") => "检查方法",
        ("DCM", "121069") => "既往所见",
        ("DCM", "121070") | ("LN" | "LOINC", "18782-3") => "影像所见",
        ("DCM", "121071") | ("LN" | "LOINC", "59776-5") => "所见",
        ("DCM", "121072" | "121073") | ("LN" | "LOINC", "19005-8") => "诊断意见",
        ("DCM", "121074" | "121075") | ("LN" | "LOINC", "18783-1") => "建议",
        ("DCM", "121076" | "121077") => "结论",
        ("DCM", "121110") => "临床表现",
        ("DCM", "121111") | ("LN" | "LOINC", "55112-7") => "小结",
        ("LN" | "LOINC", "18834-2") => "对比检查",
        ("LN" | "LOINC", "11528-7") => "影像检查报告",
        _ => return None,
    };
    Some(heading)
}

/// A CJK ideograph: a name the hub already wrote in Chinese.
fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{9fff}' | '\u{f900}'..='\u{faff}')
}

/// What the content tree gives besides the document's own attributes.
#[derive(Default)]
struct Rendered {
    lines: Vec<String>,
    images: Vec<String>,
    /// The first Person Observer Name (DCM 121008) of the observer context.
    author: Option<String>,
}

/// One document being read, with its declared Specific Character Set.
struct Doc {
    declared: Vec<String>,
}

impl Doc {
    /// One content item and its children (PS3.3 C.17.3), as lines of text.
    fn render(&self, item: &InMemDicomObject, depth: usize, out: &mut Rendered) {
        let relationship = self.code(item, tags::RELATIONSHIP_TYPE);
        let value_type = self.code(item, tags::VALUE_TYPE);
        let name = self.concept_name(item);
        let indent = "  ".repeat(depth);
        let value = match value_type.as_str() {
            "CONTAINER" => {
                if !name.is_empty() {
                    if depth == 0 {
                        out.lines.push(String::new());
                    }
                    out.lines.push(format!("{indent}【{name}】"));
                }
                for child in items(item, tags::CONTENT_SEQUENCE) {
                    self.render(child, depth + 1, out);
                }
                return;
            }
            "TEXT" => self.text(item, tags::TEXT_VALUE),
            "CODE" => items(item, tags::CONCEPT_CODE_SEQUENCE)
                .first()
                .map(|c| self.text(c, tags::CODE_MEANING))
                .unwrap_or_default(),
            "NUM" => self.measurement(item),
            "PNAME" => person_name(&self.text(item, tags::PERSON_NAME)),
            "DATE" => self.text(item, tags::DATE),
            "TIME" => self.text(item, tags::TIME),
            "DATETIME" => self.text(item, tags::DATE_TIME),
            "UIDREF" => self.text(item, tags::UID),
            "IMAGE" | "COMPOSITE" | "WAVEFORM" => {
                let refs = items(item, tags::REFERENCED_SOP_SEQUENCE);
                for r in refs {
                    push_unique(
                        &mut out.images,
                        self.text(r, tags::REFERENCED_SOP_INSTANCE_UID),
                    );
                }
                // Shown as key images, not as text.
                return;
            }
            _ => String::new(),
        };
        // Who observed, and modifiers of a concept, are context rather than findings.
        let context = matches!(relationship.as_str(), "HAS OBS CONTEXT" | "HAS ACQ CONTEXT");
        let person_observer = items(item, tags::CONCEPT_NAME_CODE_SEQUENCE)
            .first()
            .is_some_and(|c| self.text(c, tags::CODE_VALUE) == "121008");
        if context && value_type == "PNAME" && person_observer && out.author.is_none() {
            out.author = Some(value.clone()).filter(|v| !v.is_empty());
        }
        if !value.is_empty() && !context {
            out.lines.push(match name.is_empty() {
                true => format!("{indent}{value}"),
                false => format!("{indent}{name}：{value}"),
            });
        }
        for child in items(item, tags::CONTENT_SEQUENCE) {
            self.render(child, depth + 1, out);
        }
    }

    /// A NUM item's value with its unit (PS3.3 C.18.1): UCUM code when it is a plain unit, else
    /// the unit's meaning; the dimensionless unit "1" is not shown.
    fn measurement(&self, item: &InMemDicomObject) -> String {
        let Some(measured) = items(item, tags::MEASURED_VALUE_SEQUENCE).first() else {
            return String::new();
        };
        let value = self.text(measured, tags::NUMERIC_VALUE);
        let unit = items(measured, tags::MEASUREMENT_UNITS_CODE_SEQUENCE)
            .first()
            .map(|u| {
                let value = self.text(u, tags::CODE_VALUE);
                match value.as_str() {
                    "1" => String::new(),
                    "" => self.text(u, tags::CODE_MEANING),
                    v => v.to_string(),
                }
            })
            .unwrap_or_default();
        match unit.is_empty() {
            true => value,
            false => format!("{value} {unit}"),
        }
    }

    /// An item's concept name as a Chinese report writes it: a standard report heading the hub
    /// named in English (DCM Findings, LOINC Impression…) in Chinese ([`chinese_heading`]);
    /// the hub's own words otherwise, its Chinese headings included.
    fn concept_name(&self, item: &InMemDicomObject) -> String {
        let Some(code) = items(item, tags::CONCEPT_NAME_CODE_SEQUENCE).first() else {
            return String::new();
        };
        let meaning = self.text(code, tags::CODE_MEANING);
        if meaning.chars().any(is_cjk) {
            return meaning;
        }
        let scheme = self.code(code, tags::CODING_SCHEME_DESIGNATOR);
        chinese_heading(&scheme, &self.text(code, tags::CODE_VALUE)).map_or(meaning, str::to_owned)
    }

    fn text(&self, obj: &InMemDicomObject, tag: dicom_core::Tag) -> String {
        let Some(value) = obj.get(tag).and_then(|e| e.to_str().ok()) else {
            return String::new();
        };
        self.redecode(&value).trim_matches(['\0', ' ']).to_string()
    }

    fn code(&self, obj: &InMemDicomObject, tag: dicom_core::Tag) -> String {
        self.text(obj, tag).to_ascii_uppercase()
    }

    /// dicom-rs decodes text by the first declared charset only, and decodes the default
    /// repertoire and Latin-1 (also what `\ISO 2022 IR 58` falls back to) byte for byte. Those
    /// bytes are recovered and decoded through `charset`, which handles ISO 2022 escapes and
    /// repairs a mislabelled declaration (UTF-8 or GB18030 text declared as Latin-1).
    fn redecode(&self, value: &str) -> String {
        let first = self.declared.first().map(String::as_str).unwrap_or("");
        let byte_for_byte = matches!(
            first,
            "" | "ISO_IR 6" | "ISO_IR 100" | "ISO 2022 IR 6" | "ISO 2022 IR 100"
        );
        let high = value.chars().any(|c| c as u32 >= 0x80 || c == '\x1b');
        if !byte_for_byte || !high || value.chars().any(|c| c as u32 > 0xFF) {
            return value.to_string();
        }
        let bytes: Vec<u8> = value.chars().map(|c| c as u32 as u8).collect();
        charset::decode(&self.declared, &bytes).text
    }
}

fn items(obj: &InMemDicomObject, tag: dicom_core::Tag) -> &[InMemDicomObject] {
    obj.get(tag).and_then(|e| e.items()).unwrap_or(&[])
}

fn push_unique(list: &mut Vec<String>, uid: String) {
    if !uid.is_empty() && !list.contains(&uid) {
        list.push(uid);
    }
}

/// A PN value for display: the ideographic group when there is one (Chinese names), its
/// components joined without spaces; otherwise the alphabetic components with spaces.
pub fn person_name(pn: &str) -> String {
    let groups: Vec<&str> = pn.split('=').collect();
    let ideographic = groups.get(1).map(|g| g.trim()).filter(|g| !g.is_empty());
    let (group, sep) = match ideographic {
        Some(g) => (g, ""),
        None => {
            let g = groups.first().copied().unwrap_or("");
            let cjk = g.chars().any(|c| c as u32 >= 0x2E80);
            (g, if cjk { "" } else { " " })
        }
    };
    group
        .split('^')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(sep)
}

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
