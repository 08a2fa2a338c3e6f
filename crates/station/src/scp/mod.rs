//! The station as a DICOM service to the clinic: the upper-layer listener that takes devices'
//! C-ECHO and C-STORE into the one ingest path (PS3.7, PS3.8), the Modality Worklist that
//! serves registered orders to devices (PS3.4 Annex K), Query/Retrieve (C-FIND, C-MOVE, C-GET
//! of stored studies for the LAN's workstations, PS3.4 Annex C), and the previews of stored instances
//! (a PNG of an image, the leads of an ECG) that lists and the report view show.
//!
//! Must never: store an object by any way but `ingest`, or answer a device before the object is
//! on disk and in the index.

pub mod admission;
pub mod find;
pub mod listener;
mod move_out;
pub mod preview;
pub mod query;
pub mod refused;
pub mod renders;
pub mod retrieve;
mod session;
pub mod wire;
pub mod worklist;
