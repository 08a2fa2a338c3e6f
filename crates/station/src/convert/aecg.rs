//! HL7 v3 annotated ECG (FDA aECG XML) → 12-lead ECG Waveform Storage (PS3.3 A.34.3): the
//! rhythm series' leads, with the file's sampling interval and each lead's origin and scale,
//! and the patient the file names.
//!
//! Must never: rescale or resample samples (the digits are stored as they are, with the file's
//! scale as Channel Sensitivity), or invent a lead the file does not have.

use chrono::NaiveDateTime;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use roxmltree::{Document, Node};

use super::modules::{self, Context};
use super::patient::Patient;
use crate::dicom::waveform::LEADS;

/// PS3.3 A.34.3.4: a 12-lead ECG multiplex group has at most 16384 samples and 13 channels,
/// sampled at 200 to 1000 Hz. Files beyond that are General ECG (A.34.4).
const TWELVE_LEAD_MAX_SAMPLES: usize = 16384;
pub const GENERAL_ECG: &str = "1.2.840.10008.5.1.4.1.1.9.1.2";

/// One lead as the file gives it: value = origin + scale × digit, in `unit`.
#[derive(Debug, Clone, PartialEq)]
pub struct AecgLead {
    /// Index into [`LEADS`].
    pub lead: usize,
    pub origin: f64,
    pub scale: f64,
    /// "uV" or "mV".
    pub unit: String,
    pub digits: Vec<i16>,
}

/// What the conversion takes from an aECG file.
#[derive(Debug, Clone, PartialEq)]
pub struct Ecg {
    pub patient: Option<Patient>,
    pub acquired: Option<NaiveDateTime>,
    pub sampling_hz: f64,
    pub leads: Vec<AecgLead>,
}

fn child<'a, 'i>(n: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    n.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

fn children<'a, 'i>(n: Node<'a, 'i>, name: &'static str) -> impl Iterator<Item = Node<'a, 'i>> {
    n.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

/// Follows a path of child element names.
fn path<'a, 'i>(n: Node<'a, 'i>, names: &[&str]) -> Option<Node<'a, 'i>> {
    names.iter().try_fold(n, |n, name| child(n, name))
}

fn attr<'a>(n: Option<Node<'a, '_>>, name: &str) -> Option<&'a str> {
    n?.attribute(name)
}

/// HL7 TS "YYYYMMDDHHMMSS[.fff][+zzzz]" (at least the date).
fn hl7_time(ts: &str) -> Option<NaiveDateTime> {
    let digits: String = ts.chars().take_while(|c| c.is_ascii_digit()).collect();
    if digits.len() < 8 {
        return None;
    }
    let full = format!("{digits:0<14}");
    NaiveDateTime::parse_from_str(&full[..14], "%Y%m%d%H%M%S").ok()
}

/// The trial subject (PID) of the aECG: componentOf/timepointEvent/componentOf/
/// subjectAssignment/subject/trialSubject.
fn patient(root: Node) -> Option<Patient> {
    let subject = path(
        root,
        &[
            "componentOf",
            "timepointEvent",
            "componentOf",
            "subjectAssignment",
            "subject",
            "trialSubject",
        ],
    )?;
    let id = child(subject, "id")
        .and_then(|i| i.attribute("extension").or(i.attribute("root")))
        .unwrap_or("")
        .trim()
        .to_string();
    let person = child(subject, "subjectDemographicPerson");
    let name = person
        .and_then(|p| child(p, "name"))
        .map(|n| {
            let part = |k| {
                child(n, k)
                    .and_then(|c| c.text())
                    .unwrap_or("")
                    .trim()
                    .to_string()
            };
            let (family, given) = (part("family"), part("given"));
            if family.is_empty() && given.is_empty() {
                n.text().unwrap_or("").trim().to_string()
            } else if given.is_empty() {
                family
            } else {
                format!("{family}^{given}")
            }
        })
        .unwrap_or_default();
    let sex = match attr(
        person.and_then(|p| child(p, "administrativeGenderCode")),
        "code",
    ) {
        Some("M") => "M",
        Some("F") => "F",
        Some(_) => "O",
        None => "",
    };
    let birth_date = attr(person.and_then(|p| child(p, "birthTime")), "value")
        .and_then(hl7_time)
        .map(|t| t.format("%Y%m%d").to_string())
        .unwrap_or_default();
    (!id.is_empty() || !name.is_empty()).then(|| Patient {
        id,
        name,
        birth_date,
        sex: sex.into(),
    })
}

/// "MDC_ECG_LEAD_AVR" → index of aVR in [`LEADS`].
fn lead_index(code: &str) -> Option<usize> {
    let name = code.strip_prefix("MDC_ECG_LEAD_")?;
    LEADS.iter().position(|l| l.0.eq_ignore_ascii_case(name))
}

fn quantity(n: Option<Node>) -> Result<(f64, String), String> {
    let n = n.ok_or("a lead has no origin or scale")?;
    let value = n
        .attribute("value")
        .and_then(|v| v.trim().parse::<f64>().ok())
        .ok_or("a lead's origin or scale has no numeric value")?;
    Ok((value, n.attribute("unit").unwrap_or("").to_string()))
}

fn to_unit(value: f64, from: &str, to: &str) -> Result<f64, String> {
    let uv = |u: &str| match u {
        "uV" => Ok(1.0),
        "mV" => Ok(1000.0),
        "V" => Ok(1e6),
        other => Err(format!(
            "the voltage unit {other:?} is not supported (uV, mV, V)"
        )),
    };
    Ok(value * uv(from)? / uv(to)?)
}

/// Reads the rhythm waveforms of an aECG document; `Err` is the reason for quarantine.
pub fn parse(bytes: &[u8]) -> Result<Ecg, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "the XML is not UTF-8 text".to_string())?;
    let doc = Document::parse(text.trim_start_matches('\u{feff}'))
        .map_err(|e| format!("the aECG XML is malformed: {e}"))?;
    let root = doc.root_element();
    if root.tag_name().name() != "AnnotatedECG" {
        return Err("not an HL7 aECG document: the root element is not AnnotatedECG".into());
    }
    let acquired = attr(path(root, &["effectiveTime", "low"]), "value").and_then(hl7_time);
    // The first rhythm series' first sequence set (derived series, e.g. median beats, ignored).
    let set = children(root, "component")
        .filter_map(|c| child(c, "series"))
        .flat_map(|s| children(s, "component").filter_map(|c| child(c, "sequenceSet")))
        .next()
        .ok_or("the aECG holds no series with a sequence set")?;
    let mut sampling_hz = None;
    let mut leads: Vec<AecgLead> = Vec::new();
    for seq in children(set, "component").filter_map(|c| child(c, "sequence")) {
        let code = attr(child(seq, "code"), "code").unwrap_or("");
        let Some(value) = child(seq, "value") else {
            continue;
        };
        if code.starts_with("TIME_") {
            let (inc, unit) = quantity(child(value, "increment"))?;
            let secs = match unit.as_str() {
                "s" => inc,
                "ms" => inc / 1000.0,
                other => return Err(format!("time increment unit {other:?} is not supported")),
            };
            if secs <= 0.0 {
                return Err("the time increment is not positive".into());
            }
            sampling_hz = Some(1.0 / secs);
            continue;
        }
        let Some(lead) = lead_index(code) else {
            tracing::warn!(
                code,
                "aECG lead not among the 12 standard leads; not converted"
            );
            continue;
        };
        let (origin, origin_unit) = quantity(child(value, "origin"))?;
        let (scale, unit) = quantity(child(value, "scale"))?;
        if scale <= 0.0 {
            return Err(format!("lead {}: the scale is not positive", LEADS[lead].0));
        }
        let origin = to_unit(origin, &origin_unit, &unit)?;
        to_unit(1.0, &unit, "uV")?;
        let digits = child(value, "digits").and_then(|d| d.text()).unwrap_or("");
        let digits = digits
            .split_ascii_whitespace()
            .map(|d| {
                d.parse::<i64>()
                    .ok()
                    .and_then(|v| i16::try_from(v).ok())
                    .ok_or_else(|| {
                        format!(
                            "lead {}: sample {d:?} is not a 16-bit integer",
                            LEADS[lead].0
                        )
                    })
            })
            .collect::<Result<Vec<i16>, String>>()?;
        if leads.iter().any(|l| l.lead == lead) {
            return Err(format!("lead {} appears twice", LEADS[lead].0));
        }
        leads.push(AecgLead {
            lead,
            origin,
            scale,
            unit,
            digits,
        });
    }
    let sampling_hz = sampling_hz.ok_or("the aECG has no time sequence (sampling interval)")?;
    let n = leads
        .first()
        .map(|l| l.digits.len())
        .ok_or("the aECG has no standard ECG leads")?;
    if n == 0 || leads.iter().any(|l| l.digits.len() != n) {
        return Err("the aECG leads are empty or of different lengths".into());
    }
    leads.sort_by_key(|l| l.lead);
    Ok(Ecg {
        patient: patient(root),
        acquired,
        sampling_hz,
        leads,
    })
}

/// Decimal String (PS3.5 §6.2: at most 16 characters).
fn ds(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        return format!("{}", v.round() as i64);
    }
    let mut s = format!("{v:.8}");
    while s.ends_with('0') {
        s.pop();
    }
    s.truncate(16);
    s
}

/// The SOP class the file fits: 12-lead when within its limits, else General ECG.
pub fn sop_class(ecg: &Ecg) -> &'static str {
    let n = ecg.leads.first().map_or(0, |l| l.digits.len());
    if n <= TWELVE_LEAD_MAX_SAMPLES && (200.0..=1000.0).contains(&ecg.sampling_hz) {
        modules::TWELVE_LEAD_ECG
    } else {
        GENERAL_ECG
    }
}

/// The waveform object.
pub fn build(ctx: &Context, ecg: &Ecg) -> InMemDicomObject {
    let mut o = modules::base(ctx, None);
    // Acquisition Context (C.7.6.14): nothing known.
    modules::put_empty_sequence(&mut o, tags::ACQUISITION_CONTEXT_SEQUENCE);
    let samples = ecg.leads[0].digits.len();
    let mut data = Vec::with_capacity(samples * ecg.leads.len() * 2);
    for s in 0..samples {
        for l in &ecg.leads {
            data.extend_from_slice(&l.digits[s].to_le_bytes());
        }
    }
    let us = |o: &mut InMemDicomObject, tag, v: u16| {
        o.put(DataElement::new(tag, VR::US, PrimitiveValue::from(v)));
    };
    let channels = ecg
        .leads
        .iter()
        .map(|l| {
            let (label, code, meaning) = LEADS[l.lead];
            let mut ch = InMemDicomObject::new_empty();
            modules::put(&mut ch, tags::CHANNEL_LABEL, VR::SH, label);
            modules::put_sequence(
                &mut ch,
                tags::CHANNEL_SOURCE_SEQUENCE,
                vec![modules::code_item(code, "SCPECG", Some("1.3"), meaning)],
            );
            modules::put(&mut ch, tags::CHANNEL_SENSITIVITY, VR::DS, ds(l.scale));
            let unit_meaning = if l.unit == "mV" {
                "millivolt"
            } else {
                "microvolt"
            };
            modules::put_sequence(
                &mut ch,
                tags::CHANNEL_SENSITIVITY_UNITS_SEQUENCE,
                vec![modules::code_item(
                    &l.unit,
                    "UCUM",
                    Some("1.4"),
                    unit_meaning,
                )],
            );
            modules::put(
                &mut ch,
                tags::CHANNEL_SENSITIVITY_CORRECTION_FACTOR,
                VR::DS,
                "1",
            );
            modules::put(&mut ch, tags::CHANNEL_BASELINE, VR::DS, ds(l.origin));
            modules::put(&mut ch, tags::CHANNEL_TIME_SKEW, VR::DS, "0");
            us(&mut ch, tags::WAVEFORM_BITS_STORED, 16);
            ch
        })
        .collect();
    let mut group = InMemDicomObject::new_empty();
    // No Multiplex Group Time Offset: it is for objects without Acquisition DateTime (1C).
    modules::put(&mut group, tags::WAVEFORM_ORIGINALITY, VR::CS, "ORIGINAL");
    us(
        &mut group,
        tags::NUMBER_OF_WAVEFORM_CHANNELS,
        ecg.leads.len() as u16,
    );
    group.put(DataElement::new(
        tags::NUMBER_OF_WAVEFORM_SAMPLES,
        VR::UL,
        PrimitiveValue::from(samples as u32),
    ));
    modules::put(
        &mut group,
        tags::SAMPLING_FREQUENCY,
        VR::DS,
        ds(ecg.sampling_hz),
    );
    modules::put(&mut group, tags::MULTIPLEX_GROUP_LABEL, VR::SH, "RHYTHM");
    modules::put_sequence(&mut group, tags::CHANNEL_DEFINITION_SEQUENCE, channels);
    us(&mut group, tags::WAVEFORM_BITS_ALLOCATED, 16);
    modules::put(
        &mut group,
        tags::WAVEFORM_SAMPLE_INTERPRETATION,
        VR::CS,
        "SS",
    );
    modules::put_bytes(&mut group, tags::WAVEFORM_DATA, VR::OW, data);
    modules::put_sequence(&mut o, tags::WAVEFORM_SEQUENCE, vec![group]);
    o
}

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
