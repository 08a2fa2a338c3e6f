//! A hub that refuses the compressed form (HTTP 415, Failure Reason 0xC122), scripted: the
//! instance goes again as received and the destination remembers it.

use std::path::Path;

use dicom_dictionary_std::tags;
use station::config::WireSyntax;

use super::{compressing, image, make, JPEG_LS};
use crate::harness::fake_hub::{stow_response, FakeHub, Reply};
use crate::harness::*;

/// What a QIDO-RS search of a study's instances answers for `sop` in `series`.
fn held(sop: &str, series: &str) -> String {
    serde_json::json!([{
        "00080018": { "vr": "UI", "Value": [sop] },
        "0020000E": { "vr": "UI", "Value": [series] },
    }])
    .to_string()
}

/// A hub that answers a JPEG-LS instance with 415 gets it again as received at once, and the
/// next study goes to it as received without another refusal; the destination remembers it.
#[test]
fn a_hub_that_refuses_compression_with_415_gets_the_original_and_is_remembered() {
    refused_then_remembered(
        |_| Reply::Json("415 Unsupported Media Type", vec![], String::new()),
        "415",
    );
}

/// The same when the hub says it in the STOW-RS answer: Failure Reason 0xC122.
#[test]
fn a_hub_that_refuses_compression_with_c122_gets_the_original_and_is_remembered() {
    refused_then_remembered(
        |sop| Reply::Json("409 Conflict", vec![], stow_response(&[], &[(sop, 0xC122)])),
        "0xc122",
    );
}

fn refused_then_remembered(refusal: impl Fn(&str) -> Reply, reason: &str) {
    let scratch = Scratch::new();
    let dir = scratch.join("device");
    std::fs::create_dir_all(dir.join("a")).unwrap();
    std::fs::create_dir_all(dir.join("b")).unwrap();
    let gray = || image("gray16", "MONOCHROME2", (16, 12), false);
    let (first, first_sop) = make(&dir.join("a"), &fixtures::uid(), &gray());
    let (second, second_sop) = make(&dir.join("b"), &fixtures::uid(), &gray());
    let series = |path: &Path| {
        dicom_object::open_file(path)
            .unwrap()
            .element(tags::SERIES_INSTANCE_UID)
            .unwrap()
            .to_str()
            .unwrap()
            .trim_end_matches('\0')
            .to_string()
    };
    let json = |body: String| Reply::Json("200 OK", vec![], body);
    let fake = FakeHub::start(vec![
        refusal(&first_sop),
        json(stow_response(&[(first_sop.as_str(), None)], &[])),
        json(held(&first_sop, &series(&first))),
        json("[]".into()),
        json(stow_response(&[(second_sop.as_str(), None)], &[])),
        json(held(&second_sop, &series(&second))),
        json("[]".into()),
    ]);
    let mut options = compressing(fake.url(), WireSyntax::JpegLsLossless);
    options.destinations[0].poll_reports = false;
    let station = Station::start(scratch.path(), &options);
    station.send(&[&first]);
    station.wait_delivered(1);
    station.send(&[&second]);
    station.wait_delivered(2);

    let stows: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.request_line.starts_with("POST"))
        .collect();
    assert_eq!(stows.len(), 3, "refused, again as received, the next study");
    let carries = |body: &[u8], what: &str| body.windows(what.len()).any(|w| w == what.as_bytes());
    assert!(carries(&stows[0].body, JPEG_LS), "first try compressed");
    for (n, s) in stows.iter().enumerate().skip(1) {
        assert!(!carries(&s.body, JPEG_LS), "request {n} as received");
        assert!(carries(&s.body, "1.2.840.10008.1.2.1"), "request {n}");
    }
    // Remembered, and said where the admin looks: the destination's dialog reads it from the
    // settings.
    let client = Client::new(&station);
    let admin = client.admin();
    let shown = client.ok(&admin, "settings_get", serde_json::json!({}));
    let refusals = shown["wire_refusals"].as_array().expect("wire_refusals");
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    assert_eq!(refusals[0]["destination"], "hub");
    assert_eq!(refusals[0]["transfer_syntax"], "jpeg-ls-lossless");
    let remembered = refusals[0]["reason"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(remembered.contains(reason), "{remembered}");
}
