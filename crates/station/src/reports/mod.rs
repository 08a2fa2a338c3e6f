//! Reports coming back from the diagnostic center (issue 5): DICOM SR, Key Object Selection and
//! Encapsulated PDF documents the hub stores in a study the station delivered.
//!
//! - [`poller`]: per destination, finds (QIDO-RS, batched), fetches (WADO-RS), stores (the one
//!   ingest path), parses and records new report documents; flags overdue studies.
//! - [`sr`]: reading an SR into text, verifying observer and flags; PDF bytes; key images.
//! - [`store`]: the report tables: poll schedule, versions, turnaround.
//! - [`view`]: the library operations a person uses: list, get, PDF, acknowledge.
//! - [`print`]: the printable HTML page of a report.
//!
//! Must never: send a report back to the hub, or show an older version as the current report.

pub mod poller;
pub mod print;
pub mod sr;
pub mod store;
pub mod view;

pub use print::{print_html, Lang};
pub use view::{
    acknowledge, get, list, pdf, unread_count, KeyImage, ReportError, ReportFilter, ReportSummary,
    ReportView,
};
