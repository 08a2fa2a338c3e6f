//! What the center's monitoring sees of a station: `GET /metrics` read by a real Prometheus and
//! checked by `promtool`, the alert rules we ship (`deploy/prometheus/`) with their promtool
//! unit tests, and the `/healthz` and `/readyz` checks a service manager asks without login.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use station::demo::Scale;

use crate::harness::metrics::SCRAPE_TOKEN;
use crate::harness::pki;
use crate::harness::*;

const PROMTOOL: &str = "/usr/bin/promtool";
const PROMETHEUS: &str = "/usr/bin/prometheus";

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/prometheus")
}

#[test]
fn the_alert_rules_we_ship_pass_their_promtool_unit_tests() {
    let dir = deploy_dir();
    let check = run_tool(
        Command::new(PROMTOOL)
            .arg("check")
            .arg("rules")
            .arg(dir.join("station-alerts.yml")),
    );
    assert!(
        check.status.success(),
        "promtool check rules:\n{}",
        check.log
    );
    let test = run_tool(Command::new(PROMTOOL).current_dir(&dir).args([
        "test",
        "rules",
        "station-alerts.test.yml",
    ]));
    assert!(test.status.success(), "promtool test rules:\n{}", test.log);
    assert!(test.log.contains("SUCCESS"), "{}", test.log);
}

#[test]
fn metrics_need_the_scrape_token_count_what_happened_and_pass_promtool() {
    let scratch = Scratch::new();
    let hub = Orthanc::start(&scratch.join("hub"));
    // The client certificate the station would present over TLS, valid for 10 days.
    let identity = pki::self_signed(&scratch.join("pki"), "station", "/CN=clinic-station", 10);
    let station = Station::start(
        scratch.path(),
        &with_scrape_token(Options::sending_to(hub.dicomweb_url())).tweak(move |c| {
            c.destinations[0].client_identity_file = Some(identity.clone());
        }),
    );
    let day = demo_day(&scratch.join("day"), Scale::Small, 14);
    let (paths, demo) = dx_study(&day, "GB18030", &scratch.join("send"));
    station.send(&paths);
    station.wait_delivered(1);

    let anonymous = Client::new(&station).get("/metrics");
    assert_eq!(anonymous.0, 401, "no token: {}", anonymous.1);
    let wrong = Client::from_address(
        station.http_port,
        None,
        &[("authorization", "Bearer scrape-token-of-the-centre-01")],
    )
    .get("/metrics");
    assert_eq!(wrong.0, 401, "wrong token: {}", wrong.1);

    let (status, text) = scrape(&station);
    assert_eq!(status, 200, "{text}");
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        sample(
            &text,
            &format!("station_build_info{{version=\"{version}\"}}")
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "station_instances_received_total{source=\"dicom\"}"),
        Some(paths.len() as f64),
        "{text}"
    );
    // As stored: the files on the station's disk (the devices' own files carry their own
    // Part 10 header, a few bytes different).
    let stored_bytes: u64 = files_under(&station.data_dir.join("instances"))
        .iter()
        .map(|p| std::fs::metadata(p).expect("size").len())
        .sum();
    assert_eq!(
        sample(&text, "station_bytes_received_total"),
        Some(stored_bytes as f64),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "station_queue_studies{destination=\"hub\",state=\"delivered\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "station_queue_studies{destination=\"hub\",state=\"queued\"}"
        ),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "station_link_up{destination=\"hub\"}"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "station_queue_oldest_undelivered_seconds{destination=\"hub\"}"
        ),
        Some(0.0),
        "nothing undelivered: {text}"
    );
    let delivered_at = sample(
        &text,
        "station_last_delivery_timestamp_seconds{destination=\"hub\"}",
    )
    .expect("a delivery time");
    let now = chrono::Utc::now().timestamp() as f64;
    assert!(
        (now - 300.0..=now + 1.0).contains(&delivered_at),
        "delivered just now: {delivered_at} vs {now}"
    );
    let uploaded =
        sample(&text, "station_upload_bytes_total{destination=\"hub\"}").expect("upload bytes");
    assert_eq!(
        uploaded, stored_bytes as f64,
        "every stored byte went up: {text}"
    );
    assert_eq!(sample(&text, "station_associations_active"), Some(0.0));
    let expires = sample(
        &text,
        "station_certificate_expiry_timestamp_seconds{destination=\"hub\"}",
    )
    .expect("the client certificate's expiry");
    let in_ten_days = now + 10.0 * 86400.0;
    assert!(
        (in_ten_days - 3600.0..=in_ten_days + 3600.0).contains(&expires),
        "expires in 10 days: {expires} vs {in_ten_days}"
    );
    let free = sample(&text, "station_disk_free_bytes").expect("free space");
    assert!(free > 0.0, "{text}");
    // Everything arrived just now, so the week's intake is today's: the time left is the space
    // above the floor over the bytes received.
    let floor = sample(&text, "station_disk_floor_bytes").expect("floor");
    let received = sample(&text, "station_bytes_received_total").expect("bytes received");
    let left = sample(&text, "station_disk_time_left_seconds").expect("time left");
    let expected = (free - floor) / received * 86_400.0;
    assert!(
        (left - expected).abs() <= expected * 1e-6,
        "time left {left} s vs {expected} s"
    );

    // Nothing about the patient, in any of the names' spellings.
    let name = demo.patient_name.replace('^', "");
    for part in demo
        .patient_name
        .split(['^', '='])
        .filter(|p| !p.is_empty())
    {
        assert!(!text.contains(part), "{part} in the metrics");
    }
    assert!(!text.contains(&name));
    assert!(!text.contains(&demo.study_uid), "no study UID");

    // promtool's lint: names, units, help and types as Prometheus expects.
    let mut promtool = Command::new(PROMTOOL)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool");
    std::io::Write::write_all(&mut promtool.stdin.take().expect("stdin"), text.as_bytes())
        .expect("feeding promtool");
    let out = promtool.wait_with_output().expect("promtool output");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool check metrics:\n{said}");
    assert!(said.trim().is_empty(), "promtool check metrics:\n{said}");
}

#[test]
fn without_a_scrape_token_the_metrics_are_off() {
    let scratch = Scratch::new();
    let station = Station::start(scratch.path(), &Options::default());
    let (status, body) = scrape(&station);
    assert_eq!(status, 404, "{body}");
    assert!(
        body.contains("[metrics] token"),
        "says how to turn on: {body}"
    );
}

#[test]
fn health_answers_without_login_and_readiness_follows_the_store_and_the_disk() {
    let scratch = Scratch::new();
    let mut station = Station::start(scratch.path(), &Options::default());
    let anyone = Client::new(&station);
    assert_eq!(anyone.get("/healthz"), (200, "ok\n".to_string()));
    assert_eq!(anyone.get("/readyz"), (200, "ready\n".to_string()));

    // Another program holds the database's write lock: the station could not index an image.
    let db = rusqlite::Connection::open(station.db_path()).expect("open the station's db");
    db.busy_timeout(Duration::from_secs(10)).expect("timeout");
    db.execute_batch("BEGIN IMMEDIATE")
        .expect("take the write lock");
    let (status, body) = anyone.get("/readyz");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("store"), "names the store: {body}");
    assert_eq!(anyone.get("/healthz").0, 200, "alive all the same");
    db.execute_batch("ROLLBACK").expect("release");
    assert_eq!(anyone.get("/readyz").0, 200);

    // A floor above the disk's free space (4 PiB): every image would be refused.
    let floor_above_the_disk = Options::default()
        .tweak(|c| c.storage.min_free_mb = u64::from(u32::MAX))
        .config(&station.data_dir, station.dicom_port, station.http_port);
    crate::harness::config::write(&floor_above_the_disk, &station.config);
    station.restart();
    // A new client: the old one's kept-alive connection went with the old process.
    let anyone = Client::new(&station);
    let (status, body) = anyone.get("/readyz");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("disk"), "names the disk: {body}");
    assert_eq!(anyone.get("/healthz").0, 200);
}

/// A real Prometheus on loopback scraping `stations` every second, with `rules`.
struct Prometheus {
    port: u16,
    child: Child,
    log: PathBuf,
}

impl Prometheus {
    fn start(dir: &Path, stations: &[&Station], rules: &str) -> Prometheus {
        std::fs::create_dir_all(dir).expect("dir");
        std::fs::write(dir.join("token"), SCRAPE_TOKEN).expect("token file");
        std::fs::write(dir.join("rules.yml"), rules).expect("rules");
        let targets: Vec<String> = stations
            .iter()
            .map(|s| format!("\"127.0.0.1:{}\"", s.http_port))
            .collect();
        let config = format!(
            "global: {{ scrape_interval: 1s, evaluation_interval: 1s }}\n\
             rule_files: [rules.yml]\n\
             scrape_configs:\n\
             \x20 - job_name: clinic-station\n\
             \x20   authorization: {{ type: Bearer, credentials_file: token }}\n\
             \x20   static_configs: [{{ targets: [{}] }}]\n",
            targets.join(", ")
        );
        std::fs::write(dir.join("prometheus.yml"), config).expect("config");
        let port = free_port();
        let log = dir.join("prometheus.log");
        let file = std::fs::File::create(&log).expect("log");
        let child = Command::new(PROMETHEUS)
            .current_dir(dir)
            .arg("--config.file=prometheus.yml")
            .arg("--storage.tsdb.path=data")
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log"))
            .stderr(file)
            .spawn()
            .expect("starting prometheus");
        let prometheus = Prometheus { port, child, log };
        wait_for("Prometheus ready", START_TIMEOUT, || {
            let listening = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
            (listening && Client::on_port(port).get("/-/ready").0 == 200).then_some(())
        });
        prometheus
    }

    /// `GET /api/v1/{path}`'s `data`.
    fn api(&self, path: &str) -> Value {
        let (status, body) = Client::on_port(self.port).get(&format!("/api/v1/{path}"));
        assert_eq!(status, 200, "{path}: {body}");
        let reply: Value = serde_json::from_str(&body).expect("json");
        reply["data"].clone()
    }

    /// Instant query: `instance label → value` of every series.
    fn query(&self, promql: &str) -> Vec<(String, f64)> {
        let url = reqwest::Url::parse_with_params("http://prometheus/", [("query", promql)])
            .expect("query url");
        let q = url.query().unwrap_or_default();
        self.api(&format!("query?{q}"))["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|r| {
                let instance = r["metric"]["instance"].as_str()?.to_string();
                let value = r["value"][1].as_str()?.parse().ok()?;
                Some((instance, value))
            })
            .collect()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "prometheus log:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
    }
}

/// The shipped rules with the test's durations: `for:` one second, and the backlog's two
/// hours cut to five seconds, so a test sees them fire without waiting hours.
fn rules_for_the_test() -> String {
    let shipped =
        std::fs::read_to_string(deploy_dir().join("station-alerts.yml")).expect("shipped rules");
    assert!(shipped.contains("station_queue_oldest_undelivered_seconds > 7200"));
    shipped
        .replace(
            "station_queue_oldest_undelivered_seconds > 7200",
            "station_queue_oldest_undelivered_seconds > 5",
        )
        .lines()
        .map(|l| match l.trim_start().strip_prefix("for: ") {
            Some(_) => format!("{}for: 1s", &l[..l.len() - l.trim_start().len()]),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn prometheus_scrapes_three_stations_and_alerts_only_for_the_one_whose_hub_is_down() {
    let scratch = Scratch::new();
    let hub = Orthanc::start(&scratch.join("hub"));
    let down = Orthanc::start(&scratch.join("hub-down"));
    let down_url = down.dicomweb_url();
    let _stopped = down.stop();
    let day = demo_day(&scratch.join("day"), Scale::Small, 15);
    let mut stations = Vec::new();
    for (i, (url, charset)) in [
        (hub.dicomweb_url(), "GB18030"),
        (hub.dicomweb_url(), "ISO_IR 192"),
        (down_url, "GBK"),
    ]
    .into_iter()
    .enumerate()
    {
        let root = scratch.join(format!("station-{i}"));
        std::fs::create_dir_all(&root).expect("station root");
        let station = Station::start(&root, &with_scrape_token(Options::sending_to(url)));
        let (paths, _) = dx_study(&day, charset, &scratch.join(format!("send-{i}")));
        station.send(&paths);
        stations.push(station);
    }
    stations[0].wait_delivered(1);
    stations[1].wait_delivered(1);
    let troubled = format!("127.0.0.1:{}", stations[2].http_port);
    wait_for("the third station's link down", WAIT_TIMEOUT, || {
        let (_, text) = scrape(&stations[2]);
        (sample(&text, "station_link_up{destination=\"hub\"}") == Some(0.0)).then_some(())
    });

    let prometheus = Prometheus::start(
        &scratch.join("prometheus"),
        &stations.iter().collect::<Vec<_>>(),
        &rules_for_the_test(),
    );
    let up = wait_for("all three stations scraped", WAIT_TIMEOUT, || {
        let up = prometheus.query("up");
        (up.len() == 3).then_some(up)
    });
    assert!(
        up.iter().all(|(_, v)| *v == 1.0),
        "every scrape works: {up:?}"
    );

    let links = wait_for("link state of all three", WAIT_TIMEOUT, || {
        let l = prometheus.query("station_link_up");
        (l.len() == 3).then_some(l)
    });
    for (instance, value) in &links {
        let expected = if *instance == troubled { 0.0 } else { 1.0 };
        assert_eq!(*value, expected, "{instance}: {links:?}");
    }

    let alerts = wait_for(
        "the backlog alert for the troubled station",
        WAIT_TIMEOUT,
        || {
            let alerts = prometheus.api("alerts")["alerts"].as_array().cloned()?;
            alerts
                .iter()
                .any(|a| a["labels"]["alertname"] == "StationBacklogOld")
                .then_some(alerts)
        },
    );
    let backlog: Vec<&Value> = alerts
        .iter()
        .filter(|a| a["labels"]["alertname"] == "StationBacklogOld")
        .collect();
    assert_eq!(backlog.len(), 1, "{alerts:?}");
    assert_eq!(backlog[0]["labels"]["instance"], troubled.as_str());
    assert!(
        matches!(backlog[0]["state"].as_str(), Some("pending" | "firing")),
        "{backlog:?}"
    );
    let link_down: Vec<&Value> = alerts
        .iter()
        .filter(|a| a["labels"]["alertname"] == "StationLinkDown")
        .collect();
    assert!(
        link_down
            .iter()
            .all(|a| a["labels"]["instance"] == troubled.as_str()),
        "only the troubled station's link is down: {alerts:?}"
    );
}
