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

/// The first value of a numeric attribute (US).
pub fn number(object: &Value, tag: &str) -> Option<u64> {
    let v = object.get(tag)?.get("Value")?.as_array()?.first()?;
    v.as_u64().or_else(|| v.as_str()?.trim().parse().ok())
}
