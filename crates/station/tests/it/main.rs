//! End-to-end tests of the receiving station: a real `station serve` process, real DCMTK clients
//! (`/usr/bin/echoscu`, `/usr/bin/storescu`), loopback ports, a temporary data directory each.
//! One test binary, so the station binary and the harness are built once.

// Test code may unwrap (the workspace denies it in library and program code).
#![allow(clippy::unwrap_used)]

mod harness;
mod orthanc;

mod api;
mod chaosproxy;
mod charset;
mod cli;
mod dataset;
mod duplicates;
mod durability;
mod exports;
mod folders;
mod hubcheck;
mod matching;
mod queuerace;
mod receive;
mod refusal;
mod reports;
mod selftest;
mod sendearly;
mod settings;
mod sync;
mod upstream;
mod worklist;
