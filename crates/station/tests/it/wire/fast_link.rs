//! The fast-link rule on a real link faster than the encoder: a hub on this computer. With the
//! engine's defaults (`transfer_syntax = "jpeg-ls-lossless"`, `compression = "auto"`) the first
//! images go compressed (nothing is measured yet), and once the link is measured faster than
//! the encoders the rest go as received, so the station is not slower than without compression.

use std::path::Path;

use serde_json::Value;
use station::config::{WireCompression, WireSyntax};

use super::{compare_pixels, hub_copies, image, make, Image, JPEG_LS};
use crate::harness::*;

/// Radiograph-sized images (2 MB each), one per request: the first request is compressed, the
/// last ones are held by the hub exactly as the device sent them, every one with the device's
/// pixels, and the log says why.
#[test]
fn on_a_fast_link_the_station_stops_compressing_after_the_first_requests() {
    let scratch = Scratch::new();
    let hub = Orthanc::start(&scratch.join("hub"));
    let mut options = Options::sending_to(hub.dicomweb_url());
    let dest = &mut options.destinations[0];
    // The engine's defaults, which this test is about.
    assert_eq!(
        (dest.transfer_syntax, dest.compression),
        (WireSyntax::JpegLsLossless, WireCompression::Auto)
    );
    dest.batch_instances = 1;
    dest.poll_reports = false;
    let station = Station::start(scratch.path(), &options);
    let dir = scratch.join("device");
    std::fs::create_dir_all(&dir).unwrap();
    let study = fixtures::uid();
    let names = ["dx1", "dx2", "dx3", "dx4", "dx5", "dx6", "dx7", "dx8"];
    let sent: Vec<_> = names
        .iter()
        .map(|name| {
            let radiograph = Image {
                rows: 1024,
                columns: 1024,
                ..image(name, "MONOCHROME2", (16, 12), false)
            };
            make(&dir, &study, &radiograph)
        })
        .collect();
    let paths: Vec<&Path> = sent.iter().map(|(p, _)| p.as_path()).collect();
    station.send(&paths);
    station.wait_delivered(1);

    let held = hub_copies(&hub, &scratch.join("held"));
    assert_eq!(held.len(), sent.len(), "every instance at the hub once");
    let syntaxes: Vec<&str> = sent.iter().map(|(_, sop)| held[sop].1.as_str()).collect();
    assert_eq!(syntaxes[0], JPEG_LS, "before any measurement: {syntaxes:?}");
    for (i, (path, sop)) in sent.iter().enumerate().skip(sent.len() - 3) {
        assert_eq!(syntaxes[i], "1.2.840.10008.1.2.1", "{i}: {syntaxes:?}");
        assert_same_dataset(path, &held[sop].0);
    }
    let compressed: Vec<(&Path, &Path)> = sent
        .iter()
        .filter(|(_, sop)| held[sop].1 == JPEG_LS)
        .map(|(path, sop)| (path.as_path(), held[sop].0.as_path()))
        .collect();
    for (original, got) in compare_pixels(&compressed) {
        assert_eq!(got["equal"], Value::Bool(true), "{original}: {got}");
    }
    // What the operator reads in the station's log (`serve-1.log` is its first run's).
    let log = std::fs::read_to_string(scratch.path().join("serve-1.log")).expect("the log");
    assert!(
        log.contains("the link outruns the encoders: images go as received"),
        "{}",
        station.logs_text()
    );
}
