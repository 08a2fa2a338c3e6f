//! `station hub test NAME`: the connection test a maintainer runs when a clinic's link is down.
//! Each step's line says what a person needs: which step failed, in Chinese (or English), and
//! the raw detail; the exit status says whether the link works.

use std::path::{Path, PathBuf};
use std::process::Command;

use station::config::Secret;

use crate::harness::fake_hub::{FakeHub, Reply};
use crate::harness::*;

/// A configuration file with one destination `hub` at `url`, changed by `change`.
fn config_with(
    dir: &Path,
    url: &str,
    change: impl Fn(&mut station::config::Destination),
) -> PathBuf {
    std::fs::create_dir_all(dir).expect("dir");
    let mut config = Options::sending_to(url).config(&dir.join("data"), 0, 0);
    change(&mut config.destinations[0]);
    let path = dir.join("station.toml");
    config::write(&config, &path);
    path
}

/// `station hub test` of the destination `hub` (or another name in `extra`).
fn hub_test(config: &Path, extra: &[&str]) -> ToolRun {
    let name = if extra.iter().any(|a| !a.starts_with("--")) {
        &[][..]
    } else {
        &["hub"][..]
    };
    run_tool(
        Command::new(STATION_BIN)
            .args(["hub", "test", "--config"])
            .arg(config)
            .args(name)
            .args(extra),
    )
}

/// The line of the step whose name contains `step`.
fn line<'a>(run: &'a ToolRun, step: &str) -> &'a str {
    run.log
        .lines()
        .find(|l| l.contains(step))
        .unwrap_or_else(|| panic!("no line for {step}:\n{}", run.log))
}

#[test]
fn a_reachable_hub_passes_every_step_it_needs() {
    let scratch = Scratch::new();
    let hub = Orthanc::start(&scratch.join("hub"));
    let config = config_with(&scratch.join("station"), &hub.dicomweb_url(), |_| {});
    let run = hub_test(&config, &[]);
    assert!(run.status.success(), "{}", run.log);
    assert!(
        line(&run, "(DNS)").starts_with("✓ 域名解析 (DNS) 通过"),
        "{}",
        run.log
    );
    assert!(line(&run, "(DNS)").contains("127.0.0.1:"), "{}", run.log);
    assert!(
        line(&run, "(TCP)").starts_with("✓ 网络连接 (TCP) 通过"),
        "{}",
        run.log
    );
    assert!(
        line(&run, "(TLS)").starts_with("- 加密握手 (TLS) 跳过"),
        "plain HTTP: {}",
        run.log
    );
    assert!(
        line(&run, "(QIDO-RS)").starts_with("✓ 影像查询 (QIDO-RS) 通过"),
        "{}",
        run.log
    );
}

#[test]
fn a_stopped_hub_fails_at_the_connection_and_says_so_in_english_on_request() {
    let scratch = Scratch::new();
    let hub = Orthanc::start(&scratch.join("hub"));
    let url = hub.dicomweb_url();
    let _stopped = hub.stop();
    let config = config_with(&scratch.join("station"), &url, |_| {});
    let run = hub_test(&config, &[]);
    assert!(
        !run.status.success(),
        "exit status says the link is down: {}",
        run.log
    );
    assert!(line(&run, "(DNS)").starts_with("✓"), "{}", run.log);
    let tcp = line(&run, "(TCP)");
    assert!(tcp.starts_with("✗ 网络连接 (TCP) 失败"), "{}", run.log);
    assert!(
        tcp.to_lowercase().contains("refused"),
        "the raw detail: {tcp}"
    );
    assert!(
        line(&run, "(QIDO-RS)").starts_with("- 影像查询 (QIDO-RS) 跳过"),
        "{}",
        run.log
    );

    let english = hub_test(&config, &["--english"]);
    assert!(!english.status.success());
    assert!(
        line(&english, "(TCP)").starts_with("✗ connection (TCP) failed"),
        "{}",
        english.log
    );
}

#[test]
fn wrong_credentials_fail_the_search_and_the_password_is_not_shown() {
    let scratch = Scratch::new();
    let hub = Orthanc::builder()
        .user("clinic", "right-password")
        .start(&scratch.join("hub"));
    let config = config_with(&scratch.join("station"), &hub.dicomweb_url(), |d| {
        d.username = Some("clinic".into());
        d.password = Some(Secret("wrong-password".into()));
    });
    let run = hub_test(&config, &[]);
    assert!(!run.status.success(), "{}", run.log);
    assert!(line(&run, "(TCP)").starts_with("✓"), "{}", run.log);
    let qido = line(&run, "(QIDO-RS)");
    assert!(qido.starts_with("✗ 影像查询 (QIDO-RS) 失败"), "{}", run.log);
    assert!(qido.contains("401"), "the hub's answer: {qido}");
    assert!(!run.log.contains("wrong-password"), "{}", run.log);

    let right = config_with(&scratch.join("station-2"), &hub.dicomweb_url(), |d| {
        d.username = Some("clinic".into());
        d.password = Some(Secret("right-password".into()));
    });
    let run = hub_test(&right, &[]);
    assert!(run.status.success(), "{}", run.log);
}

#[test]
fn an_unknown_destination_names_the_configured_ones() {
    let scratch = Scratch::new();
    let config = config_with(
        &scratch.join("station"),
        "http://127.0.0.1:9/dicom-web",
        |_| {},
    );
    let run = hub_test(&config, &["center"]);
    assert!(!run.status.success());
    assert!(
        run.log.contains("\"center\"") && run.log.contains("hub"),
        "{}",
        run.log
    );
}

#[test]
fn the_settings_dialog_tests_the_destination_as_typed_with_the_saved_password() {
    let scratch = Scratch::new();
    let hub = Orthanc::builder()
        .user("clinic", "right-password")
        .start(&scratch.join("hub"));
    let station = Station::start(
        scratch.path(),
        &Options::sending_to(hub.dicomweb_url()).tweak(|c| {
            c.destinations[0].username = Some("clinic".into());
            c.destinations[0].password = Some(Secret("right-password".into()));
        }),
    );
    let client = Client::new(&station);
    let manager = client.user(&client.admin(), "manager1", "manager");
    // What the dialog holds: the saved destination, its password shown as ***.
    let settings = client.ok(&manager, "settings_get", serde_json::json!({}));
    let mut dest = settings["config"]["destinations"][0].clone();
    assert_eq!(dest["password"], "***");
    let tested = client.ok(
        &manager,
        "hub_test",
        serde_json::json!({ "destination": dest }),
    );
    assert_eq!(tested["ok"], true, "{tested}");
    let steps = tested["steps"].as_array().expect("steps");
    let qido = steps
        .iter()
        .find(|s| s["step"] == "qido")
        .expect("qido step");
    assert_eq!(qido["verdict"], "passed", "{tested}");

    // A port typed wrong: the TCP step fails, nothing after it runs.
    let stopped = free_port();
    dest["url"] = format!("http://127.0.0.1:{stopped}/dicom-web").into();
    let tested = client.ok(
        &manager,
        "hub_test",
        serde_json::json!({ "destination": dest }),
    );
    assert_eq!(tested["ok"], false, "{tested}");
    let tcp = tested["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["step"] == "tcp").cloned())
        .expect("tcp step");
    assert_eq!(tcp["verdict"], "failed", "{tested}");
}

/// A destination that logs in with OAuth 2.0 client credentials: the test asks the token server
/// for a token (client id and secret in HTTP Basic) and searches the hub with it; a token server
/// that refuses the station fails the login step, in its own words, and the search is not tried.
/// The hub is a real Orthanc; the token server is scripted (no OAuth server is packaged here).
#[test]
fn an_oauth2_login_is_its_own_step_and_a_refused_one_stops_the_test() {
    let scratch = Scratch::new();
    let hub = Orthanc::start(&scratch.join("hub"));
    let token_server = FakeHub::start(vec![Reply::Json(
        "200 OK",
        vec![],
        r#"{"access_token":"tok-probe","token_type":"Bearer","expires_in":3600}"#.into(),
    )]);
    let oauth = |port: u16| {
        move |d: &mut station::config::Destination| {
            d.oauth2 = Some(station::config::OAuth2Config {
                token_url: format!("http://127.0.0.1:{port}/oauth/token"),
                client_id: "clinic01".into(),
                client_secret: Secret("s3cret-client".into()),
                scope: None,
            });
        }
    };
    let config = config_with(
        &scratch.join("station"),
        &hub.dicomweb_url(),
        oauth(token_server.port),
    );
    let run = hub_test(&config, &[]);
    assert!(run.status.success(), "{}", run.log);
    assert!(
        line(&run, "(OAuth2)").starts_with("✓ 登录认证 (OAuth2) 通过"),
        "{}",
        run.log
    );
    assert!(line(&run, "(QIDO-RS)").starts_with("✓"), "{}", run.log);
    let asked = token_server.requests();
    assert_eq!(asked.len(), 1, "one token request");
    use base64::Engine;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("clinic01:s3cret-client")
    );
    assert_eq!(asked[0].header("authorization"), Some(basic.as_str()));

    let refusing = FakeHub::start(vec![Reply::Json(
        "401 Unauthorized",
        vec![],
        r#"{"error":"invalid_client"}"#.into(),
    )]);
    let config = config_with(
        &scratch.join("refused"),
        &hub.dicomweb_url(),
        oauth(refusing.port),
    );
    let run = hub_test(&config, &[]);
    assert!(!run.status.success(), "{}", run.log);
    let login = line(&run, "(OAuth2)");
    assert!(login.starts_with("✗ 登录认证 (OAuth2) 失败"), "{}", run.log);
    assert!(login.contains("401"), "the token server's answer: {login}");
    assert!(
        line(&run, "(QIDO-RS)").starts_with("- 影像查询 (QIDO-RS) 跳过"),
        "{}",
        run.log
    );
    assert!(!run.log.contains("s3cret-client"), "{}", run.log);
}
