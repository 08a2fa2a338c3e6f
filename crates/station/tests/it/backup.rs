//! Storage upkeep from the command line: `station backup` while devices send, `station restore`
//! into a new data directory (and refused over a running station), `station verify` finding
//! what a person would (a deleted file, a changed byte, a stray file), and the dashboard's card.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, SystemTime};

use serde_json::{json, Value};
use station::demo::Scale;

use crate::harness::config;
use crate::harness::*;

/// `station <sub> --config <config> <args>`: exit status, stdout, stderr.
fn station_cli(
    config: &Path,
    sub: &str,
    args: &[&dyn AsRef<std::ffi::OsStr>],
) -> (ExitStatus, String, String) {
    let out = Command::new(STATION_BIN)
        .arg(sub)
        .arg("--config")
        .arg(config)
        .args(args.iter().map(|a| a.as_ref()))
        .stdin(Stdio::null())
        .output()
        .expect("running station");
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The Study Instance UIDs the index holds now.
fn study_uids(station: &Station) -> BTreeSet<String> {
    let conn = station.reader();
    let mut stmt = conn.prepare("SELECT study_uid FROM studies").unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Every study the station lists to a technician, page by page.
fn listed_studies(client: &Client, token: &str) -> BTreeSet<String> {
    let mut uids = BTreeSet::new();
    for page in 0..100u32 {
        let reply = client.ok(
            token,
            "studies_list",
            json!({ "offset": page * 500, "limit": 500 }),
        );
        let items = reply["items"].as_array().unwrap().clone();
        uids.extend(
            items
                .iter()
                .map(|s| s["study_uid"].as_str().unwrap().to_string()),
        );
        if uids.len() as i64 >= reply["total"].as_i64().unwrap() || items.is_empty() {
            break;
        }
    }
    uids
}

#[test]
fn a_backup_taken_while_four_devices_send_restores_every_study_committed_before_it() {
    let scratch = Scratch::new();
    let source = Station::start(scratch.path(), &Options::default());
    // Four devices, each with five clinic days of its own (200 instances each).
    let mut folders = Vec::new();
    for device in 0..4u64 {
        let folder = scratch.join(format!("device{device}"));
        for day in 0..5u64 {
            demo_day(
                &folder.join(format!("day{day}")),
                Scale::Small,
                100 + device * 10 + day,
            );
        }
        folders.push(folder);
    }
    let senders: Vec<_> = folders
        .iter()
        .enumerate()
        .map(|(i, folder)| {
            let mut cmd = source.storescu_command(&format!("DR{}", i + 1), &[folder.as_path()]);
            std::thread::spawn(move || run_tool(&mut cmd))
        })
        .collect();
    wait_for("the first studies stored", WAIT_TIMEOUT, || {
        (source.instance_count() >= 40).then_some(())
    });
    // What a restore must bring back: every study committed before the backup starts.
    let committed = study_uids(&source);
    assert!(
        senders.iter().any(|s| !s.is_finished()),
        "the devices must still be sending while the backup is taken"
    );
    let backup = scratch.join("usb-stick").join("backup-1");
    let (status, stdout, stderr) = station_cli(&source.config, "backup", &[&"--out", &backup]);
    assert!(status.success(), "backup failed:\n{stdout}\n{stderr}");
    for sender in senders {
        sender.join().unwrap().assert_success("storescu");
    }
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(backup.join("manifest.json")).unwrap())
            .unwrap();
    assert!(manifest["studies"].as_i64().unwrap() >= committed.len() as i64);
    assert!(manifest["files"]["station.db"]["sha256"].is_string());
    let settings = std::fs::read_to_string(backup.join("station.toml")).unwrap();
    assert!(settings.contains("[storage]"), "{settings}");

    // A new PC: the backup restored into an empty data directory, then the station started.
    let root = scratch.join("b");
    std::fs::create_dir_all(&root).unwrap();
    let config_b = root.join("station.toml");
    config::write(
        &Options::default().config(&root.join("data"), 0, 0),
        &config_b,
    );
    let (status, stdout, stderr) = station_cli(&config_b, "restore", &[&backup]);
    assert!(status.success(), "restore failed:\n{stdout}\n{stderr}");
    let restored = Station::start(&root, &Options::default());
    let client = Client::new(&restored);
    let token = client.login("admin", ADMIN_PASSWORD);
    let listed = listed_studies(&client, &token);
    let lost: Vec<_> = committed.difference(&listed).collect();
    assert!(
        lost.is_empty(),
        "studies committed before the backup but not restored: {lost:?}"
    );

    // Restoring over the running station is refused, even with --force; it goes on unchanged.
    let (status, stdout, stderr) = station_cli(&restored.config, "restore", &[&backup, &"--force"]);
    assert!(
        !status.success(),
        "restore over a running station succeeded:\n{stdout}"
    );
    assert!(stderr.contains("is running"), "{stderr}");
    assert_eq!(listed_studies(&client, &token), listed);
    // Without --force an existing index is never replaced.
    drop(restored);
    let (status, _, stderr) = station_cli(&config_b, "restore", &[&backup]);
    assert!(!status.success() && stderr.contains("--force"), "{stderr}");
}

/// Makes `path` as old as a crash's leftover: the check leaves files younger than its grace
/// period alone, since another process may be committing them.
fn as_if_left_by_an_earlier_crash(path: &Path) {
    let old = SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(old))
        .unwrap();
}

fn verify(station: &Station, rehash: bool) -> (ExitStatus, Value) {
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"--json"];
    if rehash {
        args.push(&"--rehash");
    }
    let (status, stdout, stderr) = station_cli(&station.config, "verify", &args);
    let report = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("verify --json printed no report ({e}):\n{stdout}\n{stderr}"));
    (status, report)
}

/// (instance id, problem) of each file the report names.
fn file_problems(report: &Value) -> Vec<(i64, String)> {
    report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["instance_id"].as_i64().unwrap(),
                f["problem"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn verify_finds_a_deleted_file_a_changed_byte_and_a_stray_file_and_quarantines_the_stray() {
    let scratch = Scratch::new();
    let station = Station::start(scratch.path(), &Options::default());
    let day = demo_day(&scratch.join("day"), Scale::Small, 7);
    station.send(&[scratch.join("day")]);
    wait_for("the day stored", WAIT_TIMEOUT, || {
        (station.instance_count() == day.len() as i64).then_some(())
    });

    let (status, clean) = verify(&station, true);
    assert!(status.success(), "{clean}");
    assert_eq!(file_problems(&clean), vec![]);
    assert_eq!(clean["orphans"], json!([]));
    assert_eq!(clean["database"], json!([]));
    assert_eq!(clean["checked"], json!(day.len()));

    let rows = station.instances();
    let deleted = &rows[0];
    std::fs::remove_file(station.data_dir.join(&deleted.path)).unwrap();
    let changed = &rows[1];
    let changed_path = station.data_dir.join(&changed.path);
    let mut bytes = std::fs::read(&changed_path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&changed_path, &bytes).unwrap();
    let stray: PathBuf = station
        .data_dir
        .join(&rows[2].path)
        .with_file_name("9.9.9.dcm");
    let stray_bytes = std::fs::read(station.data_dir.join(&rows[2].path)).unwrap();
    std::fs::write(&stray, &stray_bytes).unwrap();
    as_if_left_by_an_earlier_crash(&stray);

    let (status, found) = verify(&station, true);
    assert_eq!(status.code(), Some(1), "{found}");
    assert_eq!(
        file_problems(&found),
        vec![
            (deleted.id, "missing".to_string()),
            (changed.id, "hash_differs".to_string())
        ]
    );
    let orphans = found["orphans"].as_array().unwrap();
    assert_eq!(orphans.len(), 1, "{found}");
    let stray_rel = stray.strip_prefix(&station.data_dir).unwrap();
    assert_eq!(orphans[0]["path"], json!(stray_rel.to_str().unwrap()));
    assert!(!stray.exists(), "the stray file is moved out of instances/");
    // In quarantine with its reason, byte for byte.
    let item = station
        .quarantined()
        .into_iter()
        .find(|q| q.reason_code == Some(station::store::QuarantineReason::Orphan))
        .expect("the stray file in quarantine");
    assert_eq!(std::fs::read(&item.stored_path).unwrap(), stray_bytes);
    assert_eq!(
        PathBuf::from(&item.stored_path),
        PathBuf::from(orphans[0]["quarantined_to"].as_str().unwrap())
    );

    // Without --rehash only the size is compared: the changed byte goes unseen.
    let (status, quick) = verify(&station, false);
    assert_eq!(status.code(), Some(1));
    assert_eq!(
        file_problems(&quick),
        vec![(deleted.id, "missing".to_string())]
    );

    // The dashboard shows the last check with its problems, and that no backup ran yet.
    let client = Client::new(&station);
    let token = client.login("admin", ADMIN_PASSWORD);
    let board = client.ok(&token, "dashboard", json!({}));
    assert_eq!(board["last_verify"]["problems"], json!(1), "{board}");
    assert_eq!(board["last_verify"]["ok"], json!(false));
    assert_eq!(board["last_backup"], Value::Null);
}

#[test]
fn the_service_backs_up_at_the_set_time_keeps_the_newest_and_checks_after_it() {
    let scratch = Scratch::new();
    // The next whole minute at least 20 s away (the station must be up before it comes).
    let now = chrono::Local::now();
    let second = i64::from(chrono::Timelike::second(&now));
    let ahead = if second <= 40 {
        60 - second
    } else {
        120 - second
    };
    let at = now + chrono::Duration::seconds(ahead);
    let backup_time = at.format("%H:%M").to_string();
    let backups = scratch.join("backups");
    // An older nightly backup: with backup_keep = 1 the new one replaces it.
    let older = backups.join("station-20000101-023000");
    std::fs::create_dir_all(&older).unwrap();
    std::fs::write(older.join("manifest.json"), "{}").unwrap();
    let (dir, time) = (backups.clone(), backup_time.clone());
    let station = Station::start(
        scratch.path(),
        &Options::default().tweak(move |c| {
            c.storage.backup_dir = Some(dir.clone());
            c.storage.backup_time = time.clone();
            c.storage.backup_keep = 1;
        }),
    );
    station.send(&[demo_day(&scratch.join("day"), Scale::Small, 11)
        .into_iter()
        .next()
        .unwrap()
        .path]);

    let client = Client::new(&station);
    let token = client.login("admin", ADMIN_PASSWORD);
    let board = wait_for(
        &format!("the {backup_time} backup and the check after it"),
        Duration::from_secs(150),
        || {
            let board = client.ok(&token, "dashboard", json!({}));
            (board["last_backup"].is_object() && board["last_verify"].is_object()).then_some(board)
        },
    );
    assert_eq!(board["last_backup"]["ok"], json!(true), "{board}");
    assert_eq!(board["last_verify"]["ok"], json!(true), "{board}");
    let folders: Vec<PathBuf> = std::fs::read_dir(&backups)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(folders.len(), 1, "{folders:?}");
    assert!(!older.exists());
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(folders[0].join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["instances"], json!(1));
}
