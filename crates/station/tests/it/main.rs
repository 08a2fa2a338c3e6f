//! End-to-end tests of the receiving station: a real `station serve` process, real DCMTK clients
//! (`/usr/bin/echoscu`, `/usr/bin/storescu`), a real Orthanc as the hub, loopback ports, a
//! temporary data directory each. One test binary, so the station binary and the harness
//! ([`harness`], shared by every test module; test modules borrow nothing from each other) are
//! built once.

// Test code may unwrap (the workspace denies it in library and program code).
#![allow(clippy::unwrap_used)]

mod harness;

mod admission;
mod api;
mod backup;
mod charset;
mod cli;
mod diagnose;
mod dicomweb;
mod duplicates;
mod durability;
mod exports;
mod folders;
mod hostile;
mod https;
mod hubcheck;
mod hubtest;
mod logs;
mod matching;
mod mixup;
mod monitor;
mod qr;
mod queuerace;
mod receive;
mod refusal;
mod reports;
mod retention;
mod selftest;
mod sendearly;
mod settings;
mod sync;
mod upstream;
mod wire;
mod worklist;
