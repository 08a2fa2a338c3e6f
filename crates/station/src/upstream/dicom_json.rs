//! Reading the few attributes we need from DICOM JSON (PS3.18 Annex F) responses.
//!
//! Must never: panic on a malformed body; whatever cannot be read is simply absent.

use serde_json::Value;

/// The items of a sequence attribute, e.g. `"00081199"`.
pub fn sequence<'a>(object: &'a Value, tag: &str) -> impl Iterator<Item = &'a Value> {
    object
        .get(tag)
        .and_then(|a| a.get("Value"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// The first value of a string attribute (UI, CS…).
pub fn string(object: &Value, tag: &str) -> Option<String> {
    object
        .get(tag)?
        .get("Value")?
        .as_array()?
        .first()?
        .as_str()
        .map(|s| s.trim_end_matches(['\0', ' ']).to_string())
}

/// The first value of a person name attribute (PN) as DICOM text: the Alphabetic, Ideographic
/// and Phonetic groups (PS3.18 F.2.2) joined with `=`, trailing empty groups dropped. A hub
/// that answers a plain string is taken as it is. Absent or empty: "".
pub fn person_name(object: &Value, tag: &str) -> String {
    let Some(first) = object
        .get(tag)
        .and_then(|a| a.get("Value"))
        .and_then(Value::as_array)
        .and_then(|v| v.first())
    else {
        return String::new();
    };
    if let Some(text) = first.as_str() {
        return text.to_string();
    }
    let group = |g: &str| first.get(g).and_then(Value::as_str).unwrap_or_default();
    let joined = [group("Alphabetic"), group("Ideographic"), group("Phonetic")].join("=");
    joined.trim_end_matches('=').to_string()
}

/// The first value of a numeric attribute (US).
pub fn number(object: &Value, tag: &str) -> Option<u64> {
    let v = object.get(tag)?.get("Value")?.as_array()?.first()?;
    v.as_u64().or_else(|| v.as_str()?.trim().parse().ok())
}
