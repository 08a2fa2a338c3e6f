//! Bytes on the wire as the study page and the dashboard show them (issue 15 item 6), against
//! two real Orthancs: one destination sent JPEG-LS, one as received.

use std::path::Path;

use serde_json::{json, Value};
use station::config::{Destination, WireSyntax};

use super::{compressing, hub_copies, image, make, Image, JPEG_LS};
use crate::harness::*;

/// Bytes of the files `hub` holds (what it was sent: Orthanc keeps a STOW-RS part as it came).
fn held_bytes(hub: &Orthanc, dir: &Path, expected_syntax: &str) -> i64 {
    hub_copies(hub, dir)
        .values()
        .map(|(path, ts)| {
            assert_eq!(ts, expected_syntax, "{}", path.display());
            std::fs::metadata(path).expect("held file").len() as i64
        })
        .sum()
}

/// After delivery the study page reports, per destination, the bytes sent and the originals':
/// for the JPEG-LS one, fewer bytes sent than the originals and exactly the bytes its hub holds;
/// for the as-received one, the originals' bytes. The dashboard's month saved the difference,
/// and the center's Prometheus reads the same two sums per destination.
#[test]
fn the_study_page_and_the_dashboard_report_the_bytes_sent_beside_the_originals() {
    let scratch = Scratch::new();
    let compressed_hub = Orthanc::start(&scratch.join("hub"));
    let plain_hub = Orthanc::start(&scratch.join("plain"));
    let mut options = with_scrape_token(compressing(
        compressed_hub.dicomweb_url(),
        WireSyntax::JpegLsLossless,
    ));
    options.destinations.push(Destination {
        transfer_syntax: WireSyntax::AsReceived,
        ..destination("plain", plain_hub.dicomweb_url())
    });
    let station = Station::start(scratch.path(), &options);
    let dir = scratch.join("device");
    std::fs::create_dir_all(&dir).unwrap();
    let study = fixtures::uid();
    let cine = Image {
        frames: 12,
        ..image("cine", "MONOCHROME2", (8, 8), false)
    };
    let paths: Vec<_> = [
        image("gray16", "MONOCHROME2", (16, 12), false),
        image("rgb", "RGB", (8, 8), false),
        cine,
    ]
    .iter()
    .map(|i| make(&dir, &study, i).0)
    .collect();
    station.send(&paths);
    station.wait_delivered(2);

    let originals: i64 = station
        .instances()
        .iter()
        .filter(|r| r.study_uid == study)
        .map(|r| r.size)
        .sum();
    let client = Client::new(&station);
    let admin = client.admin();
    let detail = client.ok(&admin, "study_get", json!({ "study_uid": study }));
    let wire = |name: &str| -> Value {
        let sends = detail["sends"].as_array().expect("sends");
        let send = sends.iter().find(|s| s["destination"] == name);
        send.expect("a send per destination")["wire"].clone()
    };
    let (compressed, plain) = (wire("hub"), wire("plain"));

    let sent = held_bytes(&compressed_hub, &scratch.join("held"), JPEG_LS);
    assert_eq!(compressed["instances"], 3, "{compressed}");
    assert_eq!(compressed["original_bytes"], originals, "{compressed}");
    assert_eq!(compressed["sent_bytes"], sent, "what the hub holds");
    assert!(sent < originals, "compressed: {sent} of {originals} bytes");
    assert_eq!(compressed["saved_bytes"], originals - sent);
    let ratio = compressed["ratio"].as_f64().expect("ratio");
    assert!(
        (ratio - sent as f64 / originals as f64).abs() < 1e-9,
        "{ratio}"
    );

    let plain_held = held_bytes(
        &plain_hub,
        &scratch.join("held-plain"),
        "1.2.840.10008.1.2.1",
    );
    assert_eq!(plain_held, originals, "as received: the station's files");
    assert_eq!(plain["original_bytes"], originals, "{plain}");
    assert_eq!(plain["sent_bytes"], originals, "{plain}");
    assert_eq!(plain["ratio"], 1.0);

    let board = client.ok(&admin, "dashboard", json!({}));
    let month = &board["wire_month"];
    assert_eq!(month["instances"], 6, "{month}");
    assert_eq!(month["original_bytes"], 2 * originals, "{month}");
    assert_eq!(month["sent_bytes"], sent + originals, "{month}");
    assert_eq!(month["saved_bytes"], originals - sent, "{month}");

    let (status, text) = scrape(&station);
    assert_eq!(status, 200, "{text}");
    let series = |name: &str, destination: &str| {
        sample(&text, &format!("{name}{{destination=\"{destination}\"}}"))
    };
    let original = "station_wire_original_bytes_total";
    let sent_total = "station_wire_sent_bytes_total";
    assert_eq!(series(original, "hub"), Some(originals as f64), "{text}");
    assert_eq!(series(sent_total, "hub"), Some(sent as f64), "{text}");
    assert_eq!(series(original, "plain"), Some(originals as f64), "{text}");
    assert_eq!(
        series(sent_total, "plain"),
        Some(originals as f64),
        "{text}"
    );
}
