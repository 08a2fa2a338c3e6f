//! Clinic Imaging Station engine.
//!
//! Receives images from clinic devices (DICOM listener, watched folders, manual import) into a
//! durable local store: every arrival goes through [`ingest`], which writes, fsyncs, indexes and
//! enqueues. This crate has no GUI dependency; the desktop shell and the `station` binary are thin
//! layers over it.

// `missing_docs` is enforced per module (`#[deny(missing_docs)]` on its line) until every
// module is documented; then it moves to the crate.
pub mod actions;
pub mod api;
#[deny(missing_docs)]
pub mod auth;
#[deny(missing_docs)]
pub mod changes;
#[deny(missing_docs)]
pub mod config;
#[deny(missing_docs)]
pub mod convert;
#[deny(missing_docs)]
pub mod demo;
#[deny(missing_docs)]
pub mod diagnose;
#[deny(missing_docs)]
pub mod dicom;
#[deny(missing_docs)]
pub mod disk;
#[deny(missing_docs)]
pub mod events;
#[deny(missing_docs)]
pub mod http;
#[deny(missing_docs)]
pub mod ingest;
#[deny(missing_docs)]
pub mod lifecycle;
#[deny(missing_docs)]
pub mod logfile;
#[deny(missing_docs)]
pub mod metrics;
#[deny(missing_docs)]
pub mod options;
#[deny(missing_docs)]
pub mod registry;
#[deny(missing_docs)]
pub mod reports;
#[deny(missing_docs)]
pub mod scp;
#[deny(missing_docs)]
pub mod serve;
#[deny(missing_docs)]
pub mod storage;
pub mod store;
pub mod upstream;
#[deny(missing_docs)]
pub mod watch;
