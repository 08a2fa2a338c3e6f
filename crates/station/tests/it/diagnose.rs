//! `station diagnose`: the bundle a clinic sends to the center's maintenance staff. It must
//! hold what they need (settings, log, queue, connection test) and nothing of a patient's or
//! a secret.

use std::collections::BTreeMap;
use std::io::Read;

use station::config::Secret;
use station::demo::Scale;

use crate::harness::*;

const HUB_PASSWORD: &str = "hub-secret-pw-4711";
const SCRAPE_TOKEN: &str = "scrape-token-for-the-bundle-01";

/// The files of a `.tar.gz`, by name.
fn untar(gz: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(gz));
    let mut files = BTreeMap::new();
    for entry in archive.entries().expect("tar entries") {
        let mut entry = entry.expect("tar entry");
        let name = entry.path().expect("name").display().to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).expect("read entry");
        files.insert(name, bytes);
    }
    files
}

#[test]
fn the_bundle_has_what_maintenance_needs_and_no_patient_or_secret() {
    let scratch = Scratch::new();
    let hub = Orthanc::builder()
        .user("clinic", HUB_PASSWORD)
        .start(&scratch.join("hub"));
    let station = Station::start(
        scratch.path(),
        &Options::sending_to(hub.dicomweb_url()).tweak(|c| {
            c.destinations[0].username = Some("clinic".into());
            c.destinations[0].password = Some(Secret(HUB_PASSWORD.into()));
            c.metrics.token = Some(Secret(SCRAPE_TOKEN.into()));
        }),
    );
    // Registered at the front desk, and received from a device (GB18030).
    let registered = [("C20261203", "张伟"), ("C20261204", "欧阳秀英")];
    for (id, name) in registered {
        station.register(id, name, "DX", "20261203", &format!("ACC{id}"));
    }
    let day = demo_day(&scratch.join("day"), Scale::Small, 21);
    let (paths, demo) = dx_study(&day, "GB18030", &scratch.join("send"));
    station.send(&paths);
    station.wait_delivered(1);

    let out = scratch.join("bundle.tar.gz");
    station.cli(&["diagnose", &format!("--out={}", out.display())]);
    let files = untar(&std::fs::read(&out).expect("bundle"));

    // The same bundle from the Settings page's link, for an admin.
    let client = Client::new(&station);
    let admin = client.admin();
    let (status, content_type, downloaded) = client.get_bytes_as(&admin, "/api/diagnostics.tar.gz");
    assert_eq!(status, 200);
    assert_eq!(content_type, "application/gzip");
    let downloaded = untar(&downloaded);
    assert_eq!(
        downloaded.keys().collect::<Vec<_>>(),
        files.keys().collect::<Vec<_>>()
    );
    let audited = crate::harness::api::audit(&client, &admin, serde_json::json!({}));
    assert!(
        audited.iter().any(|e| e["action"] == "diagnostics.read"),
        "the download is audited: {audited:?}"
    );
    let text = |name: &str| {
        String::from_utf8(
            files
                .get(&format!("station-diagnostics/{name}"))
                .unwrap_or_else(|| panic!("{name} in the bundle: {:?}", files.keys()))
                .clone(),
        )
        .expect("utf-8")
    };

    let config = text("station.toml");
    assert!(
        config.contains("[[destinations]]") && config.contains("clinic"),
        "{config}"
    );
    assert!(config.contains("***"), "secrets shown as hidden: {config}");
    let log = text("station.log");
    assert!(log.contains("study verified"), "the log's tail: {log}");
    let hub_test: serde_json::Value = serde_json::from_str(&text("hub-test.json")).expect("json");
    let steps = hub_test["hub"].as_array().expect("the hub's steps");
    assert_eq!(steps.last().expect("a step")["step"], "qido");
    assert_eq!(
        steps.last().expect("a step")["verdict"],
        "passed",
        "{hub_test}"
    );
    let queue: serde_json::Value = serde_json::from_str(&text("sync-status.json")).expect("json");
    assert_eq!(queue[0]["state"], "delivered", "{queue}");
    let index: serde_json::Value = serde_json::from_str(&text("index-check.json")).expect("json");
    assert_eq!(index["instances_indexed"], paths.len(), "{index}");
    assert_eq!(index["files_missing"], 0, "{index}");
    let system: serde_json::Value = serde_json::from_str(&text("system.json")).expect("json");
    assert_eq!(system["station_version"], env!("CARGO_PKG_VERSION"));

    // Nothing identifying, in any file, in UTF-8 or in the device's GB18030.
    let received_name = demo.patient_name.replace('^', "");
    let mut forbidden: Vec<String> = vec![HUB_PASSWORD.into(), SCRAPE_TOKEN.into(), received_name];
    for (id, name) in registered {
        forbidden.push(id.into());
        forbidden.push(name.into());
    }
    for (name, bytes) in &files {
        for f in &forbidden {
            let (gb, _, _) = encoding_rs::GB18030.encode(f);
            assert!(
                !bytes.windows(f.len()).any(|w| w == f.as_bytes())
                    && !bytes.windows(gb.len()).any(|w| w == &gb[..]),
                "{f:?} in {name}"
            );
        }
    }
}
