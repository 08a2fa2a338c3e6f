//! Settings an admin changes on a running station, over the real HTTP API: a new destination
//! URL takes the next study to another Orthanc, an added AE title lets a refused device in, a
//! removed destination's unsent study stays queued and shown, a bad value is refused with the
//! field named and the config file untouched, and a save into a config file broken by hand is
//! refused with the line named.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde_json::json;
use station::demo::{DemoFile, Scale};

use crate::harness::*;

/// A station whose only allowed device is DR1, so that allowing US2 is a visible change.
fn start_allowing_only_dr1(scratch: &Scratch) -> Station {
    Station::start(
        scratch.path(),
        &Options {
            allowed_callers: vec!["DR1".into()],
            ..Options::default()
        },
    )
}

/// The demo day's files, study by study.
fn studies(day: &[DemoFile]) -> Vec<Vec<&Path>> {
    let mut by_study: BTreeMap<&str, Vec<&Path>> = BTreeMap::new();
    for f in day {
        by_study.entry(&f.study_uid).or_default().push(&f.path);
    }
    by_study.into_values().collect()
}

/// How many of `files` (by SOP Instance UID) `hub` holds.
fn held(hub: &Orthanc, day: &[DemoFile], files: &[&Path]) -> usize {
    let at_hub = hub.instances();
    day.iter()
        .filter(|f| files.contains(&f.path.as_path()) && at_hub.contains_key(&f.sop_instance_uid))
        .count()
}

#[test]
fn a_new_destination_url_takes_the_next_study_and_a_removed_destination_keeps_its_queue() {
    let scratch = Scratch::new();
    let first = Orthanc::start(&scratch.join("first"));
    let second = Orthanc::start(&scratch.join("second"));
    let station = Station::start(scratch.path(), &Options::sending_to(first.dicomweb_url()));
    let client = Client::new(&station);
    let admin = client.admin();
    let day = demo_day(&scratch.join("day"), Scale::Small, 61);
    let studies = studies(&day);

    station.send(&studies[0]);
    wait_for("study 1 at the first hub", Duration::from_secs(90), || {
        (held(&first, &day, &studies[0]) == studies[0].len()).then_some(())
    });
    // Images go while a study arrives; it is delivered (verified) only once complete.
    station.wait_delivered(1);

    // The hub moved: the admin types its new address; no restart.
    let mut update = settings_as_shown(&client, &admin);
    update["destinations"][0]["url"] = json!(second.dicomweb_url());
    let applied = client.ok(&admin, "settings_update", update);
    assert_eq!(applied["changed"], json!(["destinations"]));
    station.send(&studies[1]);
    wait_for("study 2 at the second hub", Duration::from_secs(90), || {
        (held(&second, &day, &studies[1]) == studies[1].len()).then_some(())
    });
    assert_eq!(
        held(&first, &day, &studies[1]),
        0,
        "nothing more to the old address"
    );
    station.wait_delivered(2);
    let file = std::fs::read_to_string(&station.config).expect("config file");
    assert!(file.contains(&second.dicomweb_url()), "saved:\n{file}");

    // A hub that is down, then removed: its study stays queued, unsent, and is still shown.
    let mut update = settings_as_shown(&client, &admin);
    update["destinations"][0]["url"] = json!(format!("http://127.0.0.1:{}/dicom-web", free_port()));
    client.ok(&admin, "settings_update", update);
    station.send(&studies[2]);
    wait_for(
        "study 3 queued for the hub",
        Duration::from_secs(60),
        || {
            let rows = station.queue();
            (rows.len() == 3 && rows.iter().any(|r| r.state == "queued" && r.attempts > 0))
                .then_some(())
        },
    );
    let mut update = settings_as_shown(&client, &admin);
    update["destinations"] = json!([]);
    client.ok(&admin, "settings_update", update);
    let links = client.ok(&admin, "links_list", json!({}));
    let hub = &links["links"][0];
    assert_eq!(
        (&hub["destination"], &hub["removed"], &hub["backlog"]),
        (&json!("hub"), &json!(true), &json!(1)),
        "{links}"
    );
    let delivered = station
        .queue()
        .iter()
        .filter(|r| r.state == "delivered")
        .count();
    assert_eq!(
        delivered, 2,
        "the queued study is kept, not dropped or sent"
    );
    assert_eq!(held(&second, &day, &studies[2]), 0);
}

#[test]
fn an_added_ae_title_lets_a_refused_device_in_and_bad_values_are_refused_by_field() {
    let scratch = Scratch::new();
    let station = start_allowing_only_dr1(&scratch);
    let client = Client::new(&station);
    let admin = client.admin();
    assert!(
        !station.echoscu("US2").status.success(),
        "US2 is not allowed yet"
    );

    let mut update = settings_as_shown(&client, &admin);
    update["allowed_callers"] = json!(["DR1", "US2"]);
    let applied = client.ok(&admin, "settings_update", update);
    assert_eq!(applied["changed"], json!(["allowed_callers"]));
    station
        .echoscu("US2")
        .assert_success("echoscu as US2 once allowed");
    let day = demo_day(&scratch.join("day"), Scale::Small, 62);
    let one = studies(&day).swap_remove(0);
    station
        .storescu("US2", &one)
        .assert_success("storescu as US2");
    wait_for("US2's images indexed", Duration::from_secs(30), || {
        (station.instance_count() == one.len() as i64).then_some(())
    });

    // A bad URL: refused, the field named in the caller's language, nothing written.
    let before = std::fs::read_to_string(&station.config).expect("config file");
    let mut update = settings_as_shown(&client, &admin);
    update["destinations"] = json!([{ "name": "hub", "url": "hub.example/dicom-web" }]);
    for (lang, words) in [("zh-CN", "地址"), ("en", "destinations.url")] {
        let r = client.call_lang(Some(&admin), "settings_update", update.clone(), lang);
        assert_eq!((r.status, r.code()), (422, "invalid"), "{r:?}");
        assert_eq!(r.body["error"]["field"], "destinations[0].url", "{r:?}");
        assert!(r.message().contains(words), "{lang}: {r:?}");
    }
    assert_eq!(
        std::fs::read_to_string(&station.config).expect("file"),
        before
    );

    let technician = client.user(&admin, "tech1", "technician");
    let r = client.call(
        Some(&technician),
        "settings_update",
        settings_as_shown(&client, &admin),
    );
    assert_eq!((r.status, r.code()), (403, "forbidden"), "{r:?}");
}

/// A config file someone broke by hand while the station ran: saving from the Settings page is
/// refused with a sentence saying so (the parser's line behind it), the broken file is left as
/// it is and nothing is applied; once the file is corrected the same save goes through.
#[test]
fn a_config_file_broken_by_hand_refuses_the_save_with_the_line_and_applies_nothing() {
    let scratch = Scratch::new();
    let station = start_allowing_only_dr1(&scratch);
    let client = Client::new(&station);
    let admin = client.admin();
    let good = std::fs::read_to_string(&station.config).expect("config file");
    let broken = format!("{good}\n[dicom\n");
    std::fs::write(&station.config, &broken).expect("break the config file");

    let mut update = settings_as_shown(&client, &admin);
    update["allowed_callers"] = json!(["DR1", "US2"]);
    for (lang, words) in [("zh-CN", "手工改动"), ("en", "edited by hand")] {
        let r = client.call_lang(Some(&admin), "settings_update", update.clone(), lang);
        assert_eq!((r.status, r.code()), (409, "conflict"), "{r:?}");
        assert!(r.message().contains(words), "{lang}: {r:?}");
        let detail = r.body["error"]["detail"].as_str().unwrap_or("");
        assert!(detail.contains("line"), "{lang}: the parser's line: {r:?}");
    }
    assert_eq!(
        std::fs::read_to_string(&station.config).expect("file"),
        broken,
        "the hand edit is kept for its author to correct"
    );
    let shown = client.ok(&admin, "settings_get", json!({}));
    assert_eq!(shown["config"]["dicom"]["allowed_callers"], json!(["DR1"]));
    assert!(
        !station.echoscu("US2").status.success(),
        "US2 still refused: nothing was applied"
    );

    std::fs::write(&station.config, &good).expect("correct the config file");
    let applied = client.ok(&admin, "settings_update", update);
    assert_eq!(applied["changed"], json!(["allowed_callers"]));
    station
        .echoscu("US2")
        .assert_success("echoscu as US2 once the save went through");
}

/// The Register page's exam items: the built-in list until an admin changes it; the change is
/// tidied (modalities upper-cased, blank lines and repeats dropped, an emptied modality gone),
/// written to the config file, offered to technicians at once, and kept by an update that does
/// not name them. Too long a list is refused with its field.
#[test]
fn the_exam_items_an_admin_edits_are_what_registration_offers() {
    let scratch = Scratch::new();
    let station = Station::start(scratch.path(), &Options::default());
    let client = Client::new(&station);
    let admin = client.admin();
    let tech = client.user(&admin, "li.tech", "technician");
    let doctor = client.user(&admin, "dr.wang", "doctor");

    let offered = client.ok(&tech, "procedures", json!({}));
    assert_eq!(offered["procedures"]["DX"][0], "胸部正位", "{offered}");
    assert_eq!(
        client.call(Some(&doctor), "procedures", json!({})).status,
        403
    );

    let mut update = settings_as_shown(&client, &admin);
    update["procedures"] = json!({
        "dx": [" 胸部正位 ", "", "双膝负重正位", "胸部正位"],
        "US": ["腹部超声"],
        "ECG": [""],
    });
    let applied = client.ok(&admin, "settings_update", update);
    assert!(
        applied["changed"]
            .as_array()
            .expect("changed")
            .iter()
            .any(|c| c == "procedures"),
        "{applied}"
    );
    let offered = client.ok(&tech, "procedures", json!({}));
    assert_eq!(
        offered["procedures"],
        json!({ "DX": ["胸部正位", "双膝负重正位"], "US": ["腹部超声"] })
    );
    let file = std::fs::read_to_string(scratch.join("station.toml")).expect("config file");
    assert!(file.contains("双膝负重正位"), "{file}");

    // The page's older shape (no procedures) keeps them.
    client.ok(
        &admin,
        "settings_update",
        settings_as_shown(&client, &admin),
    );
    assert_eq!(
        client.ok(&tech, "procedures", json!({}))["procedures"]["DX"][1],
        "双膝负重正位"
    );

    let mut update = settings_as_shown(&client, &admin);
    update["procedures"] = json!({ "DX": ["很长的检查项目名称".repeat(10)] });
    let r = client.call(Some(&admin), "settings_update", update);
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (422, Some("procedures.DX")),
        "{r:?}"
    );
}

#[test]
fn studies_that_arrived_with_nowhere_to_go_are_listed_and_sent_once_a_destination_takes_them() {
    let scratch = Scratch::new();
    let hub = Orthanc::start(&scratch.join("hub"));
    let station = Station::start(
        scratch.path(),
        &Options {
            quiet_period_secs: Some(1),
            ..Options::default()
        },
    );
    let client = Client::new(&station);
    let admin = client.admin();
    let day = demo_day(&scratch.join("day"), Scale::Small, 63);
    let of_modality = |m: &str| {
        let f = day
            .iter()
            .find(|f| f.modality == m)
            .expect("a study of the modality");
        let files: Vec<&Path> = day
            .iter()
            .filter(|x| x.study_uid == f.study_uid)
            .map(|x| x.path.as_path())
            .collect();
        (f.study_uid.clone(), files)
    };
    let (dx, dx_files) = of_modality("DX");
    let (us, us_files) = of_modality("US");
    let unrouted = |uid: &str| {
        wait_for(
            "the study complete with nowhere to go",
            WAIT_TIMEOUT,
            || {
                let d = client.ok(&admin, "study_get", json!({ "study_uid": uid }));
                (d["study"]["unrouted"] == true).then_some(d)
            },
        )
    };

    // No destination: both studies complete and say they go nowhere.
    station.send(&dx_files);
    station.send(&us_files);
    assert_eq!(unrouted(&dx)["study"]["state"], "complete");
    unrouted(&us);
    let listed = client.ok(&admin, "studies_unrouted", json!({ "since_days": 1 }));
    assert_eq!(
        listed["studies"].as_array().map(Vec::len),
        Some(2),
        "{listed}"
    );
    assert_eq!(listed["routable"], 0);

    // The admin adds the hub for DX: that study is offered, and sent when asked; the
    // ultrasound still goes nowhere.
    let mut update = settings_as_shown(&client, &admin);
    let mut hub_dest = destination("hub", hub.dicomweb_url());
    hub_dest.modalities = vec!["DX".into()];
    update["destinations"] = json!([hub_dest]);
    client.ok(&admin, "settings_update", update);
    let listed = client.ok(&admin, "studies_unrouted", json!({ "since_days": 1 }));
    assert_eq!(listed["routable"], 1, "{listed}");
    let routed = client.ok(&admin, "studies_route", json!({ "since_days": 1 }));
    assert_eq!(routed["routed"], json!([dx]), "{routed}");
    assert_eq!(routed["still_unrouted"], 1, "{routed}");
    station.wait_delivered(1);
    assert_eq!(held(&hub, &day, &dx_files), dx_files.len());
    let audit = client.ok(
        &admin,
        "audit_list",
        json!({ "action_prefix": "study.route" }),
    );
    assert!(
        audit["entries"][0]["detail"]
            .as_str()
            .unwrap_or("")
            .contains(&dx),
        "{audit}"
    );
    unrouted(&us);

    // Once the route takes every modality, `station sync route` sends the ultrasound.
    let mut update = settings_as_shown(&client, &admin);
    update["destinations"][0]["modalities"] = json!([]);
    client.ok(&admin, "settings_update", update);
    let today = chrono::Local::now().format("%Y-%m-%d").to_string();
    let run = station.cli(&["sync", "route", &format!("--since={today}")]);
    assert!(
        run.log.contains("1 studies queued for sending"),
        "{}",
        run.log
    );
    station.wait_delivered(2);
    assert_eq!(held(&hub, &day, &us_files), us_files.len());
}
