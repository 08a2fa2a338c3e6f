//! The center's maintenance staff and a clinic's scripts: the `maintenance` role and long-lived
//! API tokens, over real HTTP and the `station token` command.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use station::demo::Scale;

use crate::harness::*;

fn token_of(cli_output: &str) -> String {
    cli_output
        .lines()
        .find_map(|l| l.strip_prefix("token: "))
        .unwrap_or_else(|| panic!("the token is printed once:\n{cli_output}"))
        .trim()
        .to_owned()
}

/// A token made by the admin for the center's maintenance staff sees the send queue, retries a
/// study the hub refused and reads the station's system events and log, but no patient: their
/// searches, studies, reports and the dashboard are refused, and nothing it reads names one.
/// Revoked, it stops at once.
#[test]
fn a_maintenance_token_retries_a_failed_study_but_reads_no_patient() {
    let scratch = Scratch::new();
    let hub = Orthanc::start(&scratch.join("hub"));
    let station = Station::start(
        scratch.path(),
        &Options::sending_to(format!("http://127.0.0.1:{}/no-such-root", hub.http_port)),
    );
    let client = Client::new(&station);
    let admin = client.admin();
    let day = demo_day(&scratch.join("day"), Scale::Small, 41);
    let study = day[0].study_uid.clone();
    let files: Vec<_> = day.iter().filter(|f| f.study_uid == study).collect();
    let paths: Vec<&std::path::Path> = files.iter().map(|f| f.path.as_path()).collect();
    station.send(&paths);
    let name = day[0].patient_name.replace('^', "");
    wait_for(
        "the study failed at the hub",
        Duration::from_secs(60),
        || {
            station
                .queue()
                .into_iter()
                .find(|r| r.study_uid == study && r.state.as_str() == "failed")
        },
    );
    // The admin looks at the study: a patient read, which the maintenance view must not show.
    client.ok(&admin, "studies_list", json!({}));

    let created = client.ok(
        &admin,
        "token_create",
        json!({ "name": "center-ops", "role": "maintenance", "expires_days": 90 }),
    );
    let token = created["token"].as_str().expect("token").to_owned();
    assert!(token.starts_with("cst_"), "{created}");
    assert_eq!(created["record"]["role"], "maintenance");
    let listed = client.ok(&admin, "tokens_list", json!({}));
    assert_eq!(listed["tokens"][0]["name"], "center-ops", "{listed}");
    assert!(
        !listed.to_string().contains(&token),
        "never listed: {listed}"
    );

    let me = client.ok(&token, "me", json!({}));
    assert_eq!(me["user"]["username"], "token:center-ops", "{me}");

    // The queue, by study UID, with the hub's reason.
    let queue = client.ok(&token, "queue_list", json!({}));
    let row = queue["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["study_uid"] == study.as_str())
        .unwrap_or_else(|| panic!("the failed study is in the queue: {queue}"))
        .clone();
    assert_eq!(row["state"], "failed", "{row}");
    assert!(
        row["last_error"].as_str().unwrap_or("").contains("404"),
        "{row}"
    );
    assert!(!queue.to_string().contains(&name), "{queue}");

    // No patient data.
    for op in [
        "studies_list",
        "study_get",
        "patient_search",
        "orders_list",
        "reports_list",
        "report_get",
        "dashboard",
        "quarantine_list",
        "audit_list",
        "settings_update",
        "token_create",
    ] {
        let r = client.call(Some(&token), op, json!({}));
        assert_eq!((r.status, r.code()), (403, "forbidden"), "{op}: {r:?}");
    }
    let (status, _) = client.get_as(
        &token,
        &format!("/api/preview/{}.png", files[0].sop_instance_uid),
    );
    assert_eq!(status, 403, "an image is patient data");

    // The retry works as a technician's does, audited under the token's name.
    let retried = client.ok(&token, "study_retry", json!({ "study_uid": study }));
    assert_eq!(retried["changed"], 1, "{retried}");
    wait_for(
        "the retried study tried again",
        Duration::from_secs(30),
        || {
            station
                .queue()
                .into_iter()
                .find(|r| r.study_uid == study && r.state.as_str() == "failed" && r.attempts >= 2)
        },
    );

    let events = client.ok(&token, "system_events", json!({}));
    let entries = events["entries"].as_array().expect("entries");
    let has = |actor: &str, action: &str| {
        entries
            .iter()
            .any(|e| e["actor"] == actor && e["action"] == action)
    };
    assert!(has("token:center-ops", "study.retry"), "{events}");
    assert!(has("admin", "token.create"), "{events}");
    assert!(
        entries.iter().all(|e| e["action"] != "studies.list"),
        "no patient reads among system events: {events}"
    );
    let r = client.call(Some(&token), "system_events", json!({ "patient_id": "P1" }));
    assert_eq!(r.status, 422, "{r:?}");

    let (status, log) = client.get_as(&token, "/api/log.txt");
    assert_eq!(status, 200, "{log}");
    assert!(
        !log.contains(&name),
        "the log as the maintenance role reads it"
    );

    client.ok(&admin, "token_revoke", json!({ "name": "center-ops" }));
    let r = client.call(Some(&token), "status", json!({}));
    assert_eq!((r.status, r.code()), (401, "unauthenticated"), "{r:?}");
    let listed = client.ok(&admin, "tokens_list", json!({}));
    assert!(listed["tokens"][0]["revoked_at"].is_i64(), "{listed}");
}

/// `station token create|list|revoke`, as the center's staff use it when setting a station up:
/// the printed token works over HTTP with its role, is listed without the token, stops at once
/// when revoked; one made for a few seconds is refused once they pass; an admin token is never
/// made.
#[test]
fn cli_tokens_work_until_revoked_and_an_expired_one_is_refused() {
    let scratch = Scratch::new();
    let station = Station::start(scratch.path(), &Options::default());
    let client = Client::new(&station);
    let cli = |args: &[&str]| {
        let run = station.run_cli(args);
        (run.status.success(), run.log)
    };

    let (ok, out) = cli(&[
        "token",
        "create",
        "--role",
        "maintenance",
        "--name",
        "center-ops",
        "--expires",
        "90d",
    ]);
    assert!(ok, "{out}");
    let token = token_of(&out);
    let me: Value = client.ok(&token, "me", json!({}));
    assert_eq!(me["user"]["role"], "maintenance", "{me}");
    assert!(client.call(Some(&token), "status", json!({})).status == 200);

    let (ok, out) = cli(&["token", "list"]);
    assert!(
        ok && out.contains("center-ops") && out.contains("maintenance"),
        "{out}"
    );
    assert!(!out.contains(&token), "{out}");

    let (ok, out) = cli(&["token", "create", "--role", "admin", "--name", "root"]);
    assert!(!ok && out.contains("admin"), "{out}");

    let made = Instant::now();
    let (ok, out) = cli(&[
        "token",
        "create",
        "--role",
        "technician",
        "--name",
        "his",
        "--expires",
        "3s",
    ]);
    assert!(ok, "{out}");
    let brief = token_of(&out);
    let answer = client.call(Some(&brief), "status", json!({})).status;
    if made.elapsed() < Duration::from_secs(3) {
        assert_eq!(answer, 200, "a token works until its end");
    }
    wait_for("the token's end passed", Duration::from_secs(30), || {
        (made.elapsed() > Duration::from_secs(4)).then_some(())
    });
    let r = client.call(Some(&brief), "status", json!({}));
    assert_eq!(r.status, 401, "an expired token is refused: {r:?}");

    let (ok, out) = cli(&["token", "revoke", "center-ops"]);
    assert!(ok, "{out}");
    let r = client.call(Some(&token), "status", json!({}));
    assert_eq!(r.status, 401, "a revoked token stops at once: {r:?}");
    let admin = client.admin();
    let trail = crate::harness::api::audit(&client, &admin, json!({ "action_prefix": "token." }));
    assert!(
        trail
            .iter()
            .any(|e| e["actor"] == "cli" && e["action"] == "token.revoke"),
        "{trail:?}"
    );
}
