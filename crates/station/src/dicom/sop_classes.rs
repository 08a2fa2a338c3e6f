//! Names of the SOP classes devices send us (PS3.4 Annex B, PS3.6 Annex A), for logs and
//! conformance. The listener accepts every storage class, named here or not.

/// Verification SOP Class (PS3.4 Annex A).
pub const VERIFICATION: &str = "1.2.840.10008.1.1";

/// Storage SOP classes a clinic's DR, ultrasound and ECG devices and the hub's reports use.
pub const STORAGE: &[(&str, &str)] = &[
    ("1.2.840.10008.5.1.4.1.1.1", "CR Image"),
    (
        "1.2.840.10008.5.1.4.1.1.1.1",
        "Digital X-Ray Image - For Presentation",
    ),
    (
        "1.2.840.10008.5.1.4.1.1.1.1.1",
        "Digital X-Ray Image - For Processing",
    ),
    ("1.2.840.10008.5.1.4.1.1.6.1", "Ultrasound Image"),
    (
        "1.2.840.10008.5.1.4.1.1.3.1",
        "Ultrasound Multi-frame Image",
    ),
    ("1.2.840.10008.5.1.4.1.1.7", "Secondary Capture Image"),
    ("1.2.840.10008.5.1.4.1.1.9.1.1", "12-lead ECG Waveform"),
    ("1.2.840.10008.5.1.4.1.1.9.1.2", "General ECG Waveform"),
    ("1.2.840.10008.5.1.4.1.1.104.1", "Encapsulated PDF"),
    ("1.2.840.10008.5.1.4.1.1.88.11", "Basic Text SR"),
    ("1.2.840.10008.5.1.4.1.1.88.22", "Enhanced SR"),
    ("1.2.840.10008.5.1.4.1.1.88.33", "Comprehensive SR"),
    (
        "1.2.840.10008.5.1.4.1.1.88.59",
        "Key Object Selection Document",
    ),
];

/// A storage SOP class's name, or the UID itself for classes we have no name for.
pub fn name(uid: &str) -> &str {
    STORAGE
        .iter()
        .find(|(u, _)| *u == uid)
        .map(|(_, n)| *n)
        .unwrap_or(uid)
}
