//! DICOM as a protocol and a format, with no service behind it: reading the header of a stored
//! object, decoding text by Specific Character Set, data elements and the PS3.10 file header as
//! bytes, DIMSE messages, ECG waveforms, SOP classes and UIDs. The services that use them (the
//! listener, the worklist, previews) are in `scp`.
//!
//! Must never: use the station's store, configuration or any service module: everything here
//! works on bytes, files and values.

pub mod bounds;
pub mod charset;
pub(crate) mod compress;
pub mod dimse;
pub mod element;
pub mod header;
pub mod part10;
pub mod pixels;
#[cfg(test)]
pub(crate) mod properties;
pub mod sop_classes;
pub mod uid;
pub mod waveform;
