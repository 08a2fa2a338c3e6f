//! Retention (issue 13) end to end with a real Orthanc: delivered studies' files deleted after
//! their days or when the disk passes its high-water mark, never what the hub has not verified;
//! purged files fetched back over WADO-RS with the hashes they had; a purge killed midway
//! finished at the next start.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};

use crate::harness::fixtures::study::{make_study_sized, Made};
use crate::harness::*;

mod fetchback;

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
    // The hub keeps the file as sent, so what comes back is byte for byte the original: the
    // hash this test follows. (A copy in another syntax comes back by its pixels: see
    // `a_file_the_hub_returns_in_another_syntax_comes_back_only_with_the_same_pixels`.)
    options.destinations[0].transfer_syntax = station::config::WireSyntax::AsReceived;
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
        client.get_bytes_as(&admin, &format!("/api/preview/{}.png", old[0].sop));
    assert_eq!((status, kind.as_str()), (200, "image/png"));
    assert!(png.starts_with(b"\x89PNG"));

    // Reading an image over DICOMweb brings its file back from Orthanc, byte for byte.
    let (status, _, body) = client.get_bytes_as(
        &admin,
        &format!(
            "/dicom-web/studies/{old_study}/series/{}/instances/{}",
            old[1].series, old[1].sop
        ),
    );
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
    let (status, _, body) = client.get_bytes_as(
        &admin,
        &format!(
            "/dicom-web/studies/{old_study}/series/{}/instances/{}",
            old[2].series, old[2].sop
        ),
    );
    let text = String::from_utf8_lossy(&body);
    assert_eq!(status, 409, "{text}");
    assert!(text.contains("连不上中心服务器"), "{text}");
    assert_eq!(study_files(&station, &old_study), vec![(true, false); 3]);
}

/// A tmpfs of `mb` megabytes mounted at `dir` (the test runs as root, as CI does), unmounted
/// when dropped.
struct SmallDisk {
    dir: std::path::PathBuf,
}

impl SmallDisk {
    fn mount(dir: &Path, mb: u64) -> SmallDisk {
        std::fs::create_dir_all(dir).expect("mount point");
        let run = run_tool(
            Command::new("mount")
                .args([
                    "-t",
                    "tmpfs",
                    "-o",
                    &format!("size={mb}m,mode=0700"),
                    "tmpfs",
                ])
                .arg(dir),
        );
        run.assert_success("mounting a small tmpfs for the data directory (needs root)");
        SmallDisk {
            dir: dir.to_owned(),
        }
    }

    fn used_percent(&self) -> f64 {
        let total = fs4::total_space(&self.dir).expect("disk size") as f64;
        let free = fs4::available_space(&self.dir).expect("disk free") as f64;
        (total - free) * 100.0 / total
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

/// Whether every file of the study is purged (`Some(true)`), every one on disk (`Some(false)`),
/// or some of each (`None`: a half-purged study, which must never be seen).
fn purged_whole(station: &Station, study_uid: &str) -> Option<bool> {
    let files = study_files(station, study_uid);
    if files.iter().all(|&f| f == (true, false)) {
        Some(true)
    } else if files.iter().all(|&f| f == (false, true)) {
        Some(false)
    } else {
        None
    }
}

#[test]
fn a_full_disk_loses_the_oldest_delivered_studies_first_and_never_an_undelivered_one() {
    let scratch = Scratch::new();
    // 48 MB: early deletion above 60% (28.8 MB) down to 45%; images refused below 6 MB free.
    let disk = SmallDisk::mount(&scratch.join("data"), 48);
    let mut options = Options::sending_to(String::new());
    options.poll_reports = Some(false);
    let hub = Orthanc::start(&scratch.join("hub"));
    options.destinations = vec![destination("hub", hub.dicomweb_url())];
    options.min_free_mb = 6;
    let options = options.tweak(|c| {
        c.storage.keep_days_after_delivery = 3650;
        c.storage.high_water_percent = 60;
        c.storage.low_water_percent = 45;
    });
    let station = Station::start(scratch.path(), &options);

    // Studies of four 1 MB images, each delivered before the next is sent.
    let mut delivered = Vec::new();
    for n in 0..8 {
        let (uid, made) = make_study_sized(&scratch.join(format!("s{n}")), 1, 4, 1024);
        send_study(&station, &made);
        station.wait_delivered(n + 1);
        delivered.push(uid);
    }
    // Above the mark, retention runs within seconds and stops below the low mark.
    wait_for(
        "disk back under the high-water mark",
        Duration::from_secs(90),
        || (disk.used_percent() < 60.0).then_some(()),
    );
    let purged: Vec<bool> = delivered
        .iter()
        .map(|uid| purged_whole(&station, uid).expect("a study is purged whole or not at all"))
        .collect();
    let gone = purged.iter().filter(|&&p| p).count();
    assert!(gone > 0, "something was purged: {purged:?}");
    assert_eq!(
        purged[..gone],
        vec![true; gone][..],
        "oldest first: {purged:?}"
    );
    assert!(!purged[7], "the newest delivered study stays: {purged:?}");
    assert!(hub.instances().len() >= 32, "the hub holds what was purged");
    assert_index_matches_files(&station.data_dir);

    // With the hub down nothing new is delivered: those studies are never deleted, and once
    // only they are left the device is refused (A700) instead of anything being lost.
    let _down = hub.stop();
    let mut undelivered = Vec::new();
    let mut refused = false;
    for n in 0..12 {
        let (uid, made) = make_study_sized(&scratch.join(format!("u{n}")), 1, 4, 1024);
        let paths: Vec<&Path> = made.iter().map(|m| m.path.as_path()).collect();
        let run = station.storescu("DR1", &paths);
        let answers = run.store_responses();
        let stored = answers
            .iter()
            .filter(|(_, s)| s.as_deref() == Some("Success"))
            .count();
        let sent = made.len();
        if stored > 0 {
            undelivered.push((uid, made, stored));
        }
        // Retention has its chance before the next study comes: the device is refused only
        // when nothing deletable is left.
        wait_for("retention to catch up", Duration::from_secs(60), || {
            (disk.used_percent() < 60.0 || plan_as_of(&station, 0)["only_protected_left"] == true)
                .then_some(())
        });
        if stored < sent {
            assert!(
                answers
                    .iter()
                    .any(|(_, s)| s.as_deref().is_some_and(|s| s.contains("OutOfResources"))),
                "refused as out of resources:\n{}",
                run.log
            );
            refused = true;
            break;
        }
    }
    assert!(refused, "a full disk refuses new images");
    let rows = station.instances();
    for (uid, made, stored) in &undelivered {
        let on_disk: Vec<_> = rows
            .iter()
            .filter(|r| &r.study_uid == uid)
            .map(|r| (r.purged_at, station.data_dir.join(&r.path).exists()))
            .collect();
        assert_eq!(
            on_disk.len(),
            *stored,
            "every acknowledged image is indexed ({uid})"
        );
        assert!(
            on_disk
                .iter()
                .all(|&(purged, there)| purged.is_none() && there),
            "an undelivered study keeps its files: {on_disk:?} of {}",
            made.len()
        );
    }
    // Every delivered study that could go went; the dashboard says why the rest stays.
    let client = Client::new(&station);
    let admin = client.admin();
    let mut last = Value::Null;
    let board = try_poll(WAIT_TIMEOUT, Duration::from_millis(200), || {
        last = client.ok(&admin, "dashboard", json!({}));
        (last["storage"]["only_protected_left"] == true).then(|| last.clone())
    })
    .unwrap_or_else(|| {
        panic!(
            "the dashboard never said only protected studies remain ({:.1}% used): {}\n{}",
            disk.used_percent(),
            last["storage"],
            plan_as_of(&station, 0)
        )
    });
    assert!(
        board["storage"]["undelivered_bytes"].as_i64().unwrap_or(0) > 0,
        "{board}"
    );
    assert_index_matches_files(&station.data_dir);
    drop(station);
    drop(disk);
}

#[test]
fn a_purge_killed_midway_leaves_each_study_whole_or_purged_and_the_start_finishes_it() {
    let scratch = Scratch::new();
    let hub = Orthanc::start(&scratch.join("hub"));
    let mut options = Options::sending_to(hub.dicomweb_url());
    options.poll_reports = Some(false);
    let mut station = Station::start(scratch.path(), &options);
    let mut studies = Vec::new();
    let mut files = Vec::new();
    for n in 0..60 {
        let (uid, made) = make_study_sized(&scratch.join(format!("s{n}")), 1, 4, 128);
        studies.push(uid);
        files.extend(made.into_iter().map(|m| m.path));
    }
    station.send(&files);
    station.wait_delivered(studies.len());
    station.kill9();

    // The purge as a person runs it from a shell, killed once it has purged a study.
    let mut purge = Command::new(STATION_BIN)
        .args(["purge", "--as-of", &days_ahead(31), "--config"])
        .arg(&station.config)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("station purge");
    let purged_rows = |station: &Station| {
        station
            .instances()
            .iter()
            .filter(|r| r.purged_at.is_some())
            .count()
    };
    poll(
        "the purge under way",
        Duration::from_secs(60),
        Duration::from_millis(2),
        || (purged_rows(&station) > 0).then_some(()),
    );
    purge.kill().expect("kill -9 the purge");
    purge.wait().expect("reaping the purge");
    let at_kill = purged_rows(&station);
    assert!(
        at_kill < studies.len() * 4,
        "killed before the end ({at_kill} files purged)"
    );

    // The index says each study is whole or purged at any moment; the start deletes the files
    // a kill between the mark and the deletions left.
    for uid in &studies {
        let marks: Vec<bool> = study_files(&station, uid).iter().map(|f| f.0).collect();
        assert!(
            marks.iter().all(|&m| m) || marks.iter().all(|&m| !m),
            "study {uid} half marked in the index: {marks:?}"
        );
    }
    station.restart();
    let mut purged = 0;
    for uid in &studies {
        match purged_whole(&station, uid) {
            Some(true) => purged += 1,
            Some(false) => {}
            None => panic!(
                "study {uid} is half purged: {:?}",
                study_files(&station, uid)
            ),
        }
    }
    assert!(
        purged >= 1 && purged < studies.len(),
        "{purged} of {} purged",
        studies.len()
    );
    assert_index_matches_files(&station.data_dir);
    // The integrity check agrees: no row without its file, no file without its row.
    let verify = station.run_cli(&["verify", "--rehash"]);
    verify.assert_success("station verify --rehash after the restart");
    assert!(verify.log.contains("no problems found"), "{}", verify.log);
    // The next run takes the rest.
    purge_as_of(&station, 31);
    assert!(studies
        .iter()
        .all(|uid| purged_whole(&station, uid) == Some(true)));
    assert_index_matches_files(&station.data_dir);
}
