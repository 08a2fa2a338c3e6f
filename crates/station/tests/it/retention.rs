//! Retention (issue 13) end to end with a real Orthanc: delivered studies' files deleted after
//! their days or when the disk passes its high-water mark, never what the hub has not verified;
//! purged files fetched back over WADO-RS with the hashes they had; a purge killed midway
//! finished at the next start.

use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

use crate::harness::fixtures::study::{make_study_sized, Made};
use crate::harness::*;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// The local date `days` from now, as `--as-of` takes it.
fn days_ahead(days: i64) -> String {
    let when = chrono::Local::now() + chrono::Duration::milliseconds(days * DAY_MS);
    when.format("%Y-%m-%d").to_string()
}

/// `station purge` as of `days` from now.
fn purge_as_of(station: &Station, days: i64) -> ToolRun {
    station.cli(&["purge", &format!("--as-of={}", days_ahead(days))])
}

/// `station purge --dry-run --json` as of `days` from now: the plan.
fn plan_as_of(station: &Station, days: i64) -> Value {
    let out = Command::new(STATION_BIN)
        .args([
            "purge",
            "--dry-run",
            "--json",
            "--as-of",
            &days_ahead(days),
            "--config",
        ])
        .arg(&station.config)
        .output()
        .expect("station purge --dry-run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the plan as JSON")
}

/// The rows of one study's instances: (purged, file on disk) for each.
fn study_files(station: &Station, study_uid: &str) -> Vec<(bool, bool)> {
    station
        .instances()
        .into_iter()
        .filter(|r| r.study_uid == study_uid)
        .map(|r| {
            (
                r.purged_at.is_some(),
                station.data_dir.join(&r.path).exists(),
            )
        })
        .collect()
}

fn send_study(station: &Station, made: &[Made]) {
    let paths: Vec<&Path> = made.iter().map(|m| m.path.as_path()).collect();
    station.send(&paths);
}

fn row_of<'a>(
    rows: &'a [station::store::InstanceRow],
    sop: &str,
) -> &'a station::store::InstanceRow {
    rows.iter()
        .find(|r| r.sop_instance_uid == sop)
        .unwrap_or_else(|| panic!("no row for {sop}"))
}

#[test]
fn delivered_studies_go_after_their_days_and_come_back_from_the_hub_with_their_hashes() {
    let scratch = Scratch::new();
    let hub = Orthanc::start(&scratch.join("hub"));
    let mut options = Options::sending_to(hub.dicomweb_url());
    // Orthanc writes no reports: a study waits for none.
    options.poll_reports = Some(false);
    let station = Station::start(scratch.path(), &options);
    let (old_study, old) = make_study_sized(&scratch.join("old"), 1, 3, 64);
    let (kept_study, kept) = make_study_sized(&scratch.join("kept"), 1, 2, 64);
    send_study(&station, &old);
    send_study(&station, &kept);
    station.wait_delivered(2);
    let client = Client::new(&station);
    let admin = client.admin();
    client.ok(
        &admin,
        "study_keep",
        json!({ "study_uid": kept_study, "keep": true }),
    );

    // Before their days are up nothing goes; after, the study not kept does, and says why.
    let plan = plan_as_of(&station, 10);
    assert_eq!(plan["purge"].as_array().map(Vec::len), Some(0), "{plan}");
    let plan = plan_as_of(&station, 31);
    assert_eq!(plan["purge"][0]["study_uid"], old_study.as_str(), "{plan}");
    assert_eq!(plan["purge"][0]["purge"], "days_up");
    let kept_entry = plan["keep"]
        .as_array()
        .expect("kept")
        .iter()
        .find(|k| k["study_uid"] == kept_study.as_str())
        .cloned()
        .expect("the kept study is listed");
    assert_eq!(kept_entry["keep"], "kept_by_user");
    assert_eq!(
        study_files(&station, &old_study),
        vec![(false, true); 3],
        "a dry run deletes nothing"
    );

    let before = station.instances();
    purge_as_of(&station, 31);
    assert_eq!(study_files(&station, &old_study), vec![(true, false); 3]);
    assert_eq!(study_files(&station, &kept_study), vec![(false, true); 2]);
    assert_index_matches_files(&station.data_dir);
    let audit = client.ok(
        &admin,
        "audit_list",
        json!({ "action_prefix": "storage.purge" }),
    );
    let entry = &audit["entries"][0];
    assert_eq!(entry["actor"], "cli", "{audit}");
    assert!(
        entry["detail"].as_str().unwrap_or("").contains(&old_study),
        "{entry}"
    );

    // The study is still listed, as kept at the center, with its previews.
    let detail = client.ok(&admin, "study_get", json!({ "study_uid": old_study }));
    assert_eq!(detail["study"]["purged_instances"], 3, "{detail}");
    let (status, kind, png) =
        client.get_bytes(&format!("/api/preview/{}.png?token={admin}", old[0].sop));
    assert_eq!((status, kind.as_str()), (200, "image/png"));
    assert!(png.starts_with(b"\x89PNG"));

    // Reading an image over DICOMweb brings its file back from Orthanc, byte for byte.
    let (status, _, body) = client.get_bytes(&format!(
        "/dicom-web/studies/{old_study}/series/{}/instances/{}?token={admin}",
        old[1].series, old[1].sop
    ));
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let rows = station.instances();
    let back = row_of(&rows, &old[1].sop);
    assert_eq!(back.purged_at, None, "the instance is on disk again");
    assert_eq!(
        back.sha256,
        row_of(&before, &old[1].sop).sha256,
        "the row's hash is the one it had"
    );
    assert_eq!(sha256_file(&station.data_dir.join(&back.path)), back.sha256);

    // The rest of the study on request, with its progress.
    let progress = client.ok(&admin, "study_fetch", json!({ "study_uid": old_study }));
    assert!(progress["running"].as_bool().is_some(), "{progress}");
    wait_for("the study fetched back", WAIT_TIMEOUT, || {
        (study_files(&station, &old_study) == vec![(false, true); 3]).then_some(())
    });
    let done = wait_for("the fetch finished", WAIT_TIMEOUT, || {
        let d = client.ok(&admin, "study_get", json!({ "study_uid": old_study }));
        (d["fetch"]["running"] == false).then_some(d)
    });
    assert_eq!(done["fetch"]["done"], 2, "{done}");
    assert_eq!(done["fetch"]["error"], Value::Null);
    assert_index_matches_files(&station.data_dir);

    // Fetched back, it goes again once its days are up (the clock restarting at the fetch is
    // the policy's unit test: here delivery and fetch are the same minute). With the hub down,
    // asking for it back says so plainly.
    purge_as_of(&station, 31);
    assert_eq!(study_files(&station, &old_study), vec![(true, false); 3]);
    let _stopped = hub.stop();
    let reply = client.call(
        Some(&admin),
        "study_fetch",
        json!({ "study_uid": old_study }),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let failed = wait_for("the fetch failing", WAIT_TIMEOUT, || {
        let d = client.ok(&admin, "study_get", json!({ "study_uid": old_study }));
        (d["fetch"]["running"] == false && !d["fetch"]["error"].is_null()).then_some(d)
    });
    assert_eq!(failed["fetch"]["problem"], "refused", "{failed}");
    let (status, _, body) = client.get_bytes(&format!(
        "/dicom-web/studies/{old_study}/series/{}/instances/{}?token={admin}",
        old[2].series, old[2].sop
    ));
    let text = String::from_utf8_lossy(&body);
    assert_eq!(status, 409, "{text}");
    assert!(text.contains("连不上中心服务器"), "{text}");
    assert_eq!(study_files(&station, &old_study), vec![(true, false); 3]);
}
