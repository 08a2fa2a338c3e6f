//! A fingerprint of an image's pixels that survives a new file meta group and a change between
//! native little-endian transfer syntaxes (implicit ↔ explicit VR, PS3.5 §A.1, §A.2): the
//! SHA-256 of the Pixel Data (7FE0,0010) value. Retention keeps it for each file it deletes, so
//! a file fetched back from a hub that stored it in another native syntax can still be proven
//! to carry the same pixels.
//!
//! Must never: decode compressed pixel data (an encapsulated value has no fingerprint here), or
//! parse a file without the bounds walk (`bounds::open_file`).

use std::path::Path;

use dicom_dictionary_std::tags;
use dicom_object::mem::InMemElement;
use sha2::{Digest, Sha256};

use super::bounds::{open_file, OpenError};

const NATIVE: &[&str] = &[
    "1.2.840.10008.1.2",
    "1.2.840.10008.1.2.1",
    "1.2.840.10008.1.2.1.99",
];

/// The SHA-256 (hex) of the native pixel data of the PS3.10 file at `path`; `None` when it has
/// none, or it is encapsulated or big endian.
pub fn native_sha256(path: &Path) -> Result<Option<String>, OpenError> {
    let obj = open_file(path)?;
    let ts = obj
        .meta()
        .transfer_syntax()
        .trim_end_matches('\0')
        .to_owned();
    if !NATIVE.contains(&ts.as_str()) {
        return Ok(None);
    }
    let Ok(element) = obj.element(tags::PIXEL_DATA) else {
        return Ok(None);
    };
    Ok(value_sha256(element))
}

fn value_sha256(element: &InMemElement) -> Option<String> {
    let bytes = element.value().primitive()?.to_bytes();
    Some(hex::encode(Sha256::digest(&bytes)))
}
