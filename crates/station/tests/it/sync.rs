//! Sending to the hub end to end: DCMTK → station → a real Orthanc over DICOMweb, with routing,
//! verification, and a hub that is down for a while.

use std::collections::BTreeMap;
use std::time::Duration;

use station::config::Destination;
use station::demo::Scale;
use station::store::queue::QueueRow;

use crate::harness::*;

fn send_day(station: &Station, files: &[station::demo::DemoFile]) {
    let paths: Vec<&std::path::Path> = files.iter().map(|f| f.path.as_path()).collect();
    station.send(&paths);
}

#[test]
fn a_clinic_day_from_dcmtk_reaches_orthanc_and_is_delivered_only_when_verified() {
    let scratch = Scratch::new();
    let hub = Orthanc::start(&scratch.join("hub"));
    let station = Station::start(scratch.path(), &Options::sending_to(hub.dicomweb_url()));
    let day = demo_day(&scratch.join("day"), Scale::Small, 21);
    send_day(&station, &day);

    let rows = station.wait_delivered(15);
    for r in &rows {
        assert_eq!(r.stored, r.instances, "every instance confirmed: {r:?}");
        assert_eq!(r.failed, 0);
    }
    assert_eq!(rows.iter().map(|r| r.instances).sum::<i64>(), 40);
    let held = hub.instances();
    assert_eq!(held.len(), 40, "Orthanc holds the whole day, once");
    for f in &day {
        let name = held.get(&f.sop_instance_uid);
        assert!(name.is_some(), "{} missing at the hub", f.sop_instance_uid);
        if f.charset == "ISO_IR 192" || f.charset == "GB18030" {
            assert_eq!(
                name.map(String::as_str),
                Some(f.patient_name.as_str()),
                "name at the hub"
            );
        }
    }
    let counts = station.status_counts();
    assert_eq!(
        counts.studies_by_state.get("delivered"),
        Some(&15),
        "{counts:?}"
    );
}

#[test]
fn studies_are_routed_by_modality_to_two_hubs() {
    let scratch = Scratch::new();
    let radiology = Orthanc::start(&scratch.join("radiology"));
    let ecg_room = Orthanc::start(&scratch.join("ecg"));
    let station = Station::start(
        scratch.path(),
        &Options {
            quiet_period_secs: Some(1),
            destinations: vec![
                Destination {
                    modalities: vec!["DX".into(), "US".into()],
                    ..destination("radiology", radiology.dicomweb_url())
                },
                Destination {
                    modalities: vec!["ECG".into()],
                    ..destination("ecg", ecg_room.dicomweb_url())
                },
            ],
            ..Options::default()
        },
    );
    let day = demo_day(&scratch.join("day"), Scale::Small, 22);
    send_day(&station, &day);
    let rows = station.wait_delivered(15);
    let per_dest: BTreeMap<&str, i64> = rows.iter().fold(BTreeMap::new(), |mut m, r| {
        *m.entry(r.destination.as_str()).or_default() += r.instances;
        m
    });
    assert_eq!(per_dest.get("radiology"), Some(&35), "{per_dest:?}");
    assert_eq!(per_dest.get("ecg"), Some(&5), "{per_dest:?}");
    let at_radiology = radiology.instances();
    let at_ecg = ecg_room.instances();
    for f in &day {
        let (here, not_there) = if f.modality == "ECG" {
            (&at_ecg, &at_radiology)
        } else {
            (&at_radiology, &at_ecg)
        };
        assert!(
            here.contains_key(&f.sop_instance_uid),
            "{} {} at its hub",
            f.modality,
            f.sop_instance_uid
        );
        assert!(
            !not_there.contains_key(&f.sop_instance_uid),
            "{} {} not at the other hub",
            f.modality,
            f.sop_instance_uid
        );
    }
}

#[test]
fn a_hub_down_for_a_while_gets_everything_once_it_is_back() {
    let scratch = Scratch::new();
    let hub_port = free_port();
    let station = Station::start(
        scratch.path(),
        &Options::sending_to(format!("http://127.0.0.1:{hub_port}/dicom-web")),
    );
    let day = demo_day(&scratch.join("day"), Scale::Small, 23);
    send_day(&station, &day);

    // While the hub is down the failure is visible and nothing is called delivered.
    let failing = wait_for("a visible retry", Duration::from_secs(60), || {
        station
            .queue()
            .into_iter()
            .find(|r| r.attempts >= 2 && r.last_error.is_some())
    });
    assert!(
        failing
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("connect"),
        "{failing:?}"
    );
    assert!(station.queue().iter().all(|r| r.state != "delivered"));

    let hub = Orthanc::builder()
        .port(hub_port)
        .start(&scratch.join("hub"));
    station.wait_delivered(15);
    assert_eq!(hub.instances().len(), 40, "every instance at the hub, once");
}

/// Through a proxy that drops a connection mid-body, answers 503 with Retry-After, stalls, and
/// answers 200 with an empty body: every instance still ends up at the hub once, and no study
/// is called delivered before the hub lists all of its instances.
#[test]
fn a_bad_link_loses_nothing_and_delivered_is_never_premature() {
    let scratch = Scratch::new();
    let hub = Orthanc::start(&scratch.join("hub"));
    let proxy = ChaosProxy::start(
        hub.http_port,
        // Faults that close the connection come first; the stall ends in a kept-alive
        // pass-through connection that later requests reuse.
        vec![
            Fault::EmptyOk,
            Fault::DropAfter(20_000),
            Fault::Unavailable,
            Fault::EmptyOk,
            Fault::DropAfter(700),
            Fault::Stall(Duration::from_secs(2)),
        ],
    );
    let station = Station::start(
        scratch.path(),
        &Options {
            poll_reports: Some(false),
            ..Options::sending_to(format!("http://127.0.0.1:{}/dicom-web", proxy.port))
        },
    );
    let day = demo_day(&scratch.join("day"), Scale::Small, 24);
    send_day(&station, &day);

    // Every time a study shows as delivered, the hub must already hold all of its instances.
    let rows = wait_for("every study delivered", Duration::from_secs(120), || {
        let rows = station.queue();
        let delivered: Vec<&QueueRow> = rows.iter().filter(|r| r.state == "delivered").collect();
        if !delivered.is_empty() {
            let held = hub.instances();
            for r in &delivered {
                let expected = day.iter().filter(|f| f.study_uid == r.study_uid);
                for f in expected {
                    assert!(
                        held.contains_key(&f.sop_instance_uid),
                        "study {} shown delivered but the hub lacks {}",
                        r.study_uid,
                        f.sop_instance_uid
                    );
                }
            }
        }
        (rows.len() == 15 && delivered.len() == 15).then_some(rows)
    });
    assert_eq!(
        proxy.faults_used.lock().expect("lock").len(),
        6,
        "every fault was exercised"
    );
    assert!(
        rows.iter().any(|r| r.attempts > 0),
        "the faults caused visible retries: {rows:?}"
    );
    assert_eq!(hub.instances().len(), 40, "every instance at the hub, once");
}

/// kill -9 while a STOW-RS request is in flight (held by a stalled link), then restart: the
/// study is sent again and verified, and the hub ends with every instance exactly once.
#[test]
fn kill_9_mid_upload_then_restart_ends_with_every_instance_once() {
    let scratch = Scratch::new();
    let hub = Orthanc::start(&scratch.join("hub"));
    // Every worker's first request stalls (one per parallel request), so the kill lands while
    // uploads are in flight and before anything was delivered.
    let stall = Fault::Stall(Duration::from_secs(5));
    let proxy = ChaosProxy::start(hub.http_port, vec![stall.clone(), stall]);
    let mut station = Station::start(
        scratch.path(),
        &Options {
            poll_reports: Some(false),
            ..Options::sending_to(format!("http://127.0.0.1:{}/dicom-web", proxy.port))
        },
    );
    let day = demo_day(&scratch.join("day"), Scale::Small, 25);
    send_day(&station, &day);

    wait_for("an upload in flight", Duration::from_secs(30), || {
        let stalled = proxy.faults_used.lock().expect("lock").len() == 2;
        (stalled && station.queue().iter().any(|r| r.state == "sending")).then_some(())
    });
    station.kill9();
    assert!(
        station.queue().iter().all(|r| r.state != "delivered"),
        "nothing was delivered before the kill"
    );
    station.restart();

    let rows = station.wait_delivered(15);
    assert_eq!(rows.iter().map(|r| r.stored).sum::<i64>(), 40);
    let held = hub.instances();
    assert_eq!(held.len(), 40, "every instance at the hub, once");
    for f in &day {
        assert!(
            held.contains_key(&f.sop_instance_uid),
            "{} at the hub",
            f.sop_instance_uid
        );
    }
}

/// `station <args>` on the station's configuration: whether it succeeded, and its output.
fn station_cli(station: &Station, args: &[&str]) -> (bool, String) {
    let run = station.run_cli(args);
    (run.status.success(), run.log)
}

/// A technician holds one study while the hub is down; when the hub is back everything else
/// is delivered and the held study is not sent until released.
#[test]
fn a_held_study_waits_until_released() {
    let scratch = Scratch::new();
    let hub_port = free_port();
    let station = Station::start(
        scratch.path(),
        &Options::sending_to(format!("http://127.0.0.1:{hub_port}/dicom-web")),
    );
    let day = demo_day(&scratch.join("day"), Scale::Small, 26);
    send_day(&station, &day);
    wait_for("all studies queued", Duration::from_secs(30), || {
        (station.queue().len() == 15).then_some(())
    });
    let held_study = day[0].study_uid.clone();
    let (ok, out) = station_cli(&station, &["sync", "hold", &held_study]);
    assert!(ok, "{out}");

    let hub = Orthanc::builder()
        .port(hub_port)
        .start(&scratch.join("hub"));
    let rows = wait_for(
        "all but the held study delivered",
        Duration::from_secs(90),
        || {
            let rows = station.queue();
            (rows.iter().filter(|r| r.state == "delivered").count() == 14).then_some(rows)
        },
    );
    let held_row = rows
        .iter()
        .find(|r| r.study_uid == held_study)
        .expect("held row");
    assert_eq!(held_row.state, "held");
    let at_hub = hub.instances();
    for f in day.iter().filter(|f| f.study_uid == held_study) {
        assert!(
            !at_hub.contains_key(&f.sop_instance_uid),
            "held instance {} was sent",
            f.sop_instance_uid
        );
    }
    let (ok, out) = station_cli(&station, &["sync", "status"]);
    assert!(ok && out.contains("held"), "{out}");

    let (ok, out) = station_cli(&station, &["sync", "release", &held_study]);
    assert!(ok, "{out}");
    station.wait_delivered(15);
    assert_eq!(hub.instances().len(), 40);
}

/// A hub that refuses the request (wrong URL) marks studies failed with its reason shown, and
/// `station sync retry` queues a failed study again.
#[test]
fn a_refusing_hub_shows_its_reason_and_retry_requeues() {
    let scratch = Scratch::new();
    let hub = Orthanc::start(&scratch.join("hub"));
    let station = Station::start(
        scratch.path(),
        &Options::sending_to(format!("http://127.0.0.1:{}/no-such-root", hub.http_port)),
    );
    let day = demo_day(&scratch.join("day"), Scale::Small, 27);
    send_day(&station, &day);
    let rows = wait_for("every study failed", Duration::from_secs(60), || {
        let rows = station.queue();
        (rows.len() == 15 && rows.iter().all(|r| r.state == "failed")).then_some(rows)
    });
    assert!(
        rows.iter()
            .all(|r| r.last_error.as_deref().unwrap_or("").contains("404")),
        "the hub's answer is shown: {rows:?}"
    );
    // Sent while arriving, a study shows its failure once it is complete (the quiet period).
    wait_for("every study shown failed", Duration::from_secs(30), || {
        let counts = station.status_counts();
        (counts.studies_by_state.get("failed") == Some(&15)).then_some(())
    });
    assert!(hub.instances().is_empty());

    let study = &rows[0].study_uid;
    let (ok, out) = station_cli(&station, &["sync", "retry", study]);
    assert!(ok, "{out}");
    let (ok, out) = station_cli(&station, &["sync", "retry", "1.2.3.404"]);
    assert!(!ok && out.contains("no destination"), "{out}");
    // Retried, it fails again the same way (the URL is still wrong), with one more attempt.
    wait_for(
        "the retried study tried again",
        Duration::from_secs(30),
        || {
            station
                .queue()
                .into_iter()
                .find(|r| &r.study_uid == study && r.state == "failed" && r.attempts >= 2)
        },
    );
}

/// One instance whose stored file went bad on disk (the device sent it fine): the hub refuses
/// it, and only it. Its neighbours are delivered in the same request, the bad one is sent
/// alone so its refusal is its own, and `station sync status` shows that instance with the
/// hub's reason. Nothing is marked delivered.
#[test]
fn a_refused_instance_is_isolated_and_shown_with_the_hubs_reason() {
    let scratch = Scratch::new();
    let hub_port = free_port();
    let station = Station::start(
        scratch.path(),
        &Options::sending_to(format!("http://127.0.0.1:{hub_port}/dicom-web")),
    );
    let day = demo_day(&scratch.join("day"), Scale::Small, 28);
    let study_uid = day[0].study_uid.clone();
    let study: Vec<_> = day.iter().filter(|f| f.study_uid == study_uid).collect();
    assert!(study.len() >= 2, "a study of several instances");
    let paths: Vec<&std::path::Path> = study.iter().map(|f| f.path.as_path()).collect();
    station.storescu("DR1", &paths).assert_success("storescu");
    // Queued while the hub is still down, so the file can go bad before anything is sent.
    wait_for("the study queued", Duration::from_secs(30), || {
        (station.queue().len() == 1).then_some(())
    });
    let bad = station
        .instances()
        .into_iter()
        .find(|i| i.sop_instance_uid == study[1].sop_instance_uid)
        .expect("indexed");
    let bad_file = station.data_dir.join(&bad.path);
    let size = std::fs::metadata(&bad_file).expect("stored file").len() as usize;
    std::fs::write(&bad_file, vec![b'x'; size]).expect("spoil the stored file");

    let hub = Orthanc::builder()
        .port(hub_port)
        .start(&scratch.join("hub"));
    let row = wait_for("the study failed", Duration::from_secs(90), || {
        station.queue().into_iter().find(|r| r.state == "failed")
    });
    assert_eq!(
        row.failed, 1,
        "only the spoiled instance is refused: {row:?}"
    );
    assert_eq!(row.stored, row.instances - 1, "{row:?}");
    let at_hub = hub.instances();
    for f in &study {
        assert_eq!(
            at_hub.contains_key(&f.sop_instance_uid),
            f.sop_instance_uid != bad.sop_instance_uid,
            "{} at the hub",
            f.sop_instance_uid
        );
    }
    let (ok, out) = station_cli(&station, &["sync", "status"]);
    let line = out
        .lines()
        .find(|l| l.contains("refused") && l.contains(&bad.sop_instance_uid))
        .unwrap_or_else(|| panic!("the refused instance is listed:\n{out}"));
    assert!(ok && line.contains("HTTP 400"), "the hub's answer: {line}");
}

/// `station sync hold|release|retry` are the operation layer's actions, as the API's are:
/// each lands in the audit trail with its actor (`cli`, or `--actor`), the screens of the
/// running station hear of it, and a command that changes nothing leaves no entry.
#[test]
fn cli_hold_release_and_retry_are_audited_and_announced() {
    let scratch = Scratch::new();
    let hub = Orthanc::start(&scratch.join("hub"));
    let station = Station::start(
        scratch.path(),
        &Options::sending_to(format!("http://127.0.0.1:{}/no-such-root", hub.http_port)),
    );
    let client = Client::new(&station);
    let admin = client.admin();
    let mut events = client.events(&admin);
    let day = demo_day(&scratch.join("day"), Scale::Small, 33);
    let study = day[0].study_uid.clone();
    let files: Vec<_> = day
        .iter()
        .filter(|f| f.study_uid == study)
        .cloned()
        .collect();
    send_day(&station, &files);
    let failed = |station: &Station| {
        station
            .queue()
            .into_iter()
            .any(|r| r.study_uid == study && r.state == "failed")
            .then_some(())
    };
    wait_for(
        "the study failed at the hub",
        Duration::from_secs(60),
        || failed(&station),
    );
    let subject = |study: &str| {
        crate::harness::api::audit(&client, &admin, serde_json::json!({ "subject": study }))
    };
    let entries = |study: &str| -> Vec<(String, String)> {
        subject(study)
            .iter()
            .filter(|e| {
                e["action"]
                    .as_str()
                    .is_some_and(|a| a.starts_with("study."))
            })
            .map(|e| {
                (
                    e["actor"].as_str().unwrap_or("").to_owned(),
                    e["action"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect()
    };
    assert!(entries(&study).is_empty(), "nothing done by a person yet");

    let (ok, out) = station_cli(&station, &["sync", "hold", &study]);
    assert!(ok, "{out}");
    client.next_event(&mut events, Duration::from_secs(20), |e| {
        e["type"] == "study_changed" && e["study_uid"] == study.as_str() && e["state"] == "held"
    });
    assert_eq!(
        entries(&study),
        [("cli".to_owned(), "study.hold".to_owned())]
    );

    let (ok, out) = station_cli(&station, &["sync", "release", &study, "--actor", "li"]);
    assert!(ok, "{out}");
    wait_for(
        "the released study failed again",
        Duration::from_secs(60),
        || failed(&station),
    );
    let (ok, out) = station_cli(&station, &["sync", "retry", &study]);
    assert!(ok, "{out}");
    // Newest first.
    assert_eq!(
        entries(&study),
        [
            ("cli".to_owned(), "study.retry".to_owned()),
            ("li".to_owned(), "study.release".to_owned()),
            ("cli".to_owned(), "study.hold".to_owned()),
        ]
    );

    // Nothing to release, and no such study: refused, and not in the trail.
    let (ok, out) = station_cli(&station, &["sync", "release", &study]);
    assert!(!ok && out.contains("no destination"), "{out}");
    let (ok, out) = station_cli(&station, &["sync", "hold", "1.2.3.404"]);
    assert!(!ok && out.contains("no destination"), "{out}");
    assert_eq!(entries(&study).len(), 3);
    assert!(subject("1.2.3.404").is_empty());
}
