//! DICOM on the device side: the upper-layer listener, DIMSE messages, reading the header of a
//! stored object, decoding its text by Specific Character Set, and the Modality Worklist.

pub mod charset;
pub mod dimse;
pub mod header;
pub mod listener;
pub mod preview;
pub mod sop_classes;
pub mod waveform;
pub mod worklist;
