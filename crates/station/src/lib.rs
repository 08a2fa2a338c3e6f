//! Clinic Imaging Station engine.
//!
//! Receives images from clinic devices (DICOM listener, watched folders, manual import) into a
//! durable local store: every arrival goes through [`ingest`], which writes, fsyncs, indexes and
//! enqueues. This crate has no GUI dependency; the desktop shell and the `station` binary are thin
//! layers over it.

pub mod actions;
pub mod api;
pub mod auth;
pub mod changes;
pub mod config;
pub mod convert;
pub mod demo;
pub mod diagnose;
pub mod dicom;
pub mod disk;
pub mod events;
pub mod http;
pub mod ingest;
pub mod lifecycle;
pub mod logfile;
pub mod metrics;
pub mod options;
pub mod registry;
pub mod reports;
pub mod scp;
pub mod serve;
pub mod storage;
pub mod store;
pub mod upstream;
pub mod watch;
