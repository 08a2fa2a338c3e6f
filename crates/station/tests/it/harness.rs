//! The harness: a real `station serve` process on loopback ports with its own data directory,
//! real DCMTK clients, and read-only looks at what the station wrote.
//!
//! Every wait is a poll with a bound in time and count; the station is killed when its handle is
//! dropped, and its log is printed when a test fails.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use station::demo::{DemoFile, Scale};
use station::store::{InstanceRow, StatusCounts};

pub use crate::dataset::*;

pub const STATION_BIN: &str = env!("CARGO_BIN_EXE_station");
pub const STORESCU: &str = "/usr/bin/storescu";
pub const ECHOSCU: &str = "/usr/bin/echoscu";
pub const AE_TITLE: &str = "STATION";
/// The first-run `admin` password of every test station (`STATION_ADMIN_PASSWORD`).
pub const ADMIN_PASSWORD: &str = "admin-test-pw";

/// Generous bounds: a debug build on a busy 2-core CI machine.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);
pub const WAIT_TIMEOUT: Duration = Duration::from_secs(60);
const POLL_STEP: Duration = Duration::from_millis(25);

/// A port nobody listens on right now (bound to 127.0.0.1:0 and released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("binding 127.0.0.1:0")
        .port()
}

/// Polls `check` until it returns `Some`, at most `timeout` and at most a bounded number of
/// times; panics naming `what` otherwise.
pub fn wait_for<T>(what: &str, timeout: Duration, check: impl FnMut() -> Option<T>) -> T {
    poll(what, timeout, POLL_STEP, check)
}

/// As [`wait_for`], polling every `step` (for catching short-lived states).
pub fn poll<T>(
    what: &str,
    timeout: Duration,
    step: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> T {
    let start = Instant::now();
    let max_polls = (timeout.as_micros() / step.as_micros().max(1)) as usize + 1;
    for _ in 0..max_polls {
        if let Some(v) = check() {
            return v;
        }
        if start.elapsed() >= timeout {
            break;
        }
        std::thread::sleep(step);
    }
    panic!("timed out after {timeout:?} waiting for {what}");
}

/// Waits for a child process to exit, killing it (and failing) if it does not within `timeout`.
pub fn wait_child(child: &mut Child, what: &str, timeout: Duration) -> ExitStatus {
    let start = Instant::now();
    let max_polls = (timeout.as_millis() / POLL_STEP.as_millis()) as usize + 1;
    for _ in 0..max_polls {
        if let Some(status) = child.try_wait().expect("polling a child process") {
            return status;
        }
        if start.elapsed() >= timeout {
            break;
        }
        std::thread::sleep(POLL_STEP);
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("{what} did not exit within {timeout:?}");
}

pub fn toml_str(s: impl AsRef<str>) -> String {
    toml::Value::String(s.as_ref().to_owned()).to_string()
}

pub fn toml_path(p: &Path) -> String {
    toml_str(p.to_str().expect("temp paths are UTF-8"))
}

/// A watched folder for the station's configuration.
#[derive(Clone, Debug)]
pub struct Watch {
    pub path: PathBuf,
    pub settle_ms: u64,
    pub rescan_secs: u64,
    /// A device profile as an inline TOML table, e.g. `{ modality = "ECG", writes = ["pdf"] }`.
    pub device: Option<String>,
}

/// What a test wants different from the defaults. `min_free_mb` defaults to 0 here: the
/// embedded default (1024) would refuse images on a nearly full CI disk.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub allowed_callers: Vec<String>,
    pub min_free_mb: u64,
    pub watch: Vec<Watch>,
    /// ARTIM timer; 10 s when not set.
    pub artim_timeout_secs: Option<u64>,
    /// One hour when not set, so studies stay `receiving` unless a test wants them sent.
    pub quiet_period_secs: Option<u64>,
    /// `[studies] hold_unmatched`: complete studies that match no order wait for a person.
    pub hold_unmatched: bool,
    /// `[studies] send_while_receiving`; unset: the station's default (on).
    pub send_while_receiving: Option<bool>,
    pub destinations: Vec<Dest>,
    /// `poll_reports` for every destination; unset: the station's default (on). Tests that count
    /// connections through a proxy turn it off, so report lookups do not take their faults.
    pub poll_reports: Option<bool>,
    /// Appended to the configuration as is, e.g. "[auth]\nsession_ttl_secs = 2\n".
    pub extra_toml: String,
    /// `[station] uid_root`.
    pub uid_root: Option<String>,
}

impl Options {
    /// Studies complete after 1 s and go to one destination named "hub" at `url`.
    pub fn sending_to(url: impl Into<String>) -> Options {
        Options {
            quiet_period_secs: Some(1),
            destinations: vec![Dest {
                name: "hub".into(),
                url: url.into(),
                modalities: vec![],
            }],
            ..Options::default()
        }
    }
}

/// A `[[destinations]]` entry; retries are capped at 2 s so tests see recovery quickly.
#[derive(Clone, Debug)]
pub struct Dest {
    pub name: String,
    pub url: String,
    pub modalities: Vec<String>,
}

/// A scratch directory for a test: the station's data dir, config, logs and test inputs live in
/// it, and it is removed when the test ends (kept, and its path printed, when the environment
/// variable `STATION_IT_KEEP` is set).
pub struct Scratch {
    dir: Option<tempfile::TempDir>,
}

impl Scratch {
    pub fn new() -> Scratch {
        Scratch {
            dir: Some(
                tempfile::Builder::new()
                    .prefix("station-it-")
                    .tempdir()
                    .expect("creating a temp dir"),
            ),
        }
    }
    pub fn path(&self) -> &Path {
        self.dir.as_ref().unwrap().path()
    }
    pub fn join(&self, p: impl AsRef<Path>) -> PathBuf {
        self.path().join(p)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::env::var_os("STATION_IT_KEEP").is_some() {
            if let Some(dir) = self.dir.take() {
                eprintln!("kept scratch directory {}", dir.keep().display());
            }
        }
    }
}

/// Writes the synthetic clinic day the station itself generates (`station demo`).
pub fn demo_day(out: &Path, scale: Scale, seed: u64) -> Vec<DemoFile> {
    let files = station::demo::write_clinic_day(out, scale, seed).expect("writing the demo day");
    assert_eq!(
        files.len(),
        40,
        "the synthetic clinic day is 5 patients x 8 instances"
    );
    for f in &files {
        assert!(f.path.is_file(), "demo file {} missing", f.path.display());
    }
    files
}

/// A running (or killed) `station serve` on its own ports and data directory.
pub struct Station {
    pub root: PathBuf,
    pub data_dir: PathBuf,
    pub config: PathBuf,
    pub dicom_port: u16,
    pub http_port: u16,
    child: Option<Child>,
    logs: Vec<PathBuf>,
}

impl Station {
    /// Writes a configuration under `root` and starts the station; returns once its DICOM port
    /// accepts connections.
    pub fn start(root: &Path, options: &Options) -> Station {
        let data_dir = root.join("data");
        let config = root.join("station.toml");
        let dicom_port = free_port();
        let http_port = free_port();
        let mut text = format!(
            "data_dir = {}\n\n[dicom]\nae_title = {}\nport = {dicom_port}\nbind = \"127.0.0.1\"\n\
             allowed_callers = [{}]\nidle_timeout_secs = 30\nartim_timeout_secs = {}\n\n\
             [http]\nport = {http_port}\nbind = \"127.0.0.1\"\n\n\
             [storage]\nmin_free_mb = {}\n\n[studies]\nquiet_period_secs = {}\nhold_unmatched = {}\n",
            toml_path(&data_dir),
            toml_str(AE_TITLE),
            options
                .allowed_callers
                .iter()
                .map(toml_str)
                .collect::<Vec<_>>()
                .join(", "),
            options.artim_timeout_secs.unwrap_or(10),
            options.min_free_mb,
            options.quiet_period_secs.unwrap_or(3600),
            options.hold_unmatched,
        );
        if let Some(early) = options.send_while_receiving {
            text.push_str(&format!("send_while_receiving = {early}\n"));
        }
        if let Some(root) = &options.uid_root {
            text.push_str(&format!("\n[station]\nuid_root = {}\n", toml_str(root)));
        }
        for d in &options.destinations {
            text.push_str(&format!(
                "\n[[destinations]]\nname = {}\nurl = {}\nmodalities = [{}]\nretry_max_secs = 2\ntimeout_secs = 30\n",
                toml_str(&d.name),
                toml_str(&d.url),
                d.modalities.iter().map(toml_str).collect::<Vec<_>>().join(", ")
            ));
            if let Some(poll) = options.poll_reports {
                text.push_str(&format!("poll_reports = {poll}\n"));
            }
        }
        for w in &options.watch {
            text.push_str(&format!(
                "\n[[watch]]\npath = {}\nsettle_ms = {}\nrescan_secs = {}\n",
                toml_path(&w.path),
                w.settle_ms,
                w.rescan_secs
            ));
            if let Some(device) = &w.device {
                text.push_str(&format!("device = {device}\n"));
            }
        }
        text.push_str(&options.extra_toml);
        std::fs::write(&config, text).expect("writing the station config");
        let mut station = Station {
            root: root.to_owned(),
            data_dir,
            config,
            dicom_port,
            http_port,
            child: None,
            logs: Vec::new(),
        };
        station.spawn();
        station
    }

    fn spawn(&mut self) {
        assert!(self.child.is_none(), "station already running");
        let log_path = self.root.join(format!("serve-{}.log", self.logs.len() + 1));
        let log = File::create(&log_path).expect("creating the station log");
        let child = Command::new(STATION_BIN)
            .arg("serve")
            .arg("--config")
            .arg(&self.config)
            .env("RUST_LOG", "info")
            .env("STATION_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env_remove("RUST_LOG_STYLE")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("cloning the log handle"))
            .stderr(log)
            .spawn()
            .expect("starting station serve");
        self.child = Some(child);
        self.logs.push(log_path);
        let addr = SocketAddr::from(([127, 0, 0, 1], self.dicom_port));
        let start = Instant::now();
        let max_polls = (START_TIMEOUT.as_millis() / POLL_STEP.as_millis()) as usize + 1;
        for _ in 0..max_polls {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                self.child = None;
                panic!(
                    "station serve exited with {status} before listening:\n{}",
                    self.logs_text()
                );
            }
            if start.elapsed() >= START_TIMEOUT {
                break;
            }
            std::thread::sleep(POLL_STEP);
        }
        panic!(
            "station did not listen on {addr} within {START_TIMEOUT:?}:\n{}",
            self.logs_text()
        );
    }

    /// SIGKILL, no chance to clean up: the power-cut case.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("kill -9 the station");
            child.wait().expect("reaping the station");
        }
    }

    /// Starts the station again on the same data directory and ports.
    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    /// Whether the process is still alive (it must survive everything a test throws at it).
    pub fn assert_running(&mut self) {
        let child = self.child.as_mut().expect("station was not started");
        if let Some(status) = child.try_wait().unwrap() {
            panic!("station exited with {status}:\n{}", self.logs_text());
        }
    }

    pub fn logs_text(&self) -> String {
        let mut out = String::new();
        for path in &self.logs {
            let mut text = String::new();
            let _ = File::open(path).and_then(|mut f| f.read_to_string(&mut text));
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(80)..];
            out.push_str(&format!(
                "----- {} (last {} lines) -----\n{}\n",
                path.display(),
                tail.len(),
                tail.join("\n")
            ));
        }
        out
    }

    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("station.db")
    }

    /// Every index row (empty when the database does not exist yet).
    pub fn instances(&self) -> Vec<InstanceRow> {
        read_instances(&self.data_dir)
    }

    pub fn instance_count(&self) -> i64 {
        let db = self.db_path();
        if !db.exists() {
            return 0;
        }
        let conn = station::store::open_reader(&db).expect("opening the index read-only");
        conn.query_row("SELECT COUNT(*) FROM instances", [], |r| r.get(0))
            .unwrap_or(0)
    }

    pub fn status_counts(&self) -> StatusCounts {
        let conn = station::store::open_reader(&self.db_path()).expect("opening the index");
        station::store::status_counts(&conn).expect("status counts")
    }

    pub fn echoscu(&self, calling_ae: &str) -> ToolRun {
        run_tool(
            Command::new(ECHOSCU)
                .args(["-v", "-to", "20", "-ta", "20", "-td", "20"])
                .args(["-aet", calling_ae, "-aec", AE_TITLE])
                .arg("127.0.0.1")
                .arg(self.dicom_port.to_string()),
        )
    }

    /// `storescu -v -R` of the given files or folders (folders scanned recursively).
    pub fn storescu_command(&self, calling_ae: &str, paths: &[&Path]) -> Command {
        self.storescu_command_with(calling_ae, &[], paths)
    }

    /// As [`Station::storescu_command`], with extra DCMTK options.
    pub fn storescu_command_with(
        &self,
        calling_ae: &str,
        extra: &[&str],
        paths: &[&Path],
    ) -> Command {
        let mut cmd = Command::new(STORESCU);
        cmd.args([
            "-v", "-R", "+sd", "+r", "-to", "20", "-ta", "20", "-td", "60",
        ])
        .args(extra)
        .args(["-aet", calling_ae, "-aec", AE_TITLE])
        .arg("127.0.0.1")
        .arg(self.dicom_port.to_string())
        .args(paths);
        cmd
    }

    pub fn storescu(&self, calling_ae: &str, paths: &[&Path]) -> ToolRun {
        run_tool(&mut self.storescu_command(calling_ae, paths))
    }
}

impl Drop for Station {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!("station logs:\n{}", self.logs_text());
        }
    }
}

pub fn read_instances(data_dir: &Path) -> Vec<InstanceRow> {
    let db = data_dir.join("station.db");
    if !db.exists() {
        return Vec::new();
    }
    let conn = station::store::open_reader(&db).expect("opening the index read-only");
    station::store::list_instances(&conn).expect("listing instances")
}

/// The exit status and the combined output of a DCMTK tool.
#[derive(Debug)]
pub struct ToolRun {
    pub status: ExitStatus,
    pub log: String,
}

impl ToolRun {
    /// Per file, in order: the file storescu sent and the status text of the response
    /// ("Success", "Refused: OutOfResources", …); `None` when no response came.
    pub fn store_responses(&self) -> Vec<(PathBuf, Option<String>)> {
        store_responses(&self.log)
    }
    pub fn assert_success(&self, what: &str) {
        assert!(
            self.status.success(),
            "{what} failed ({}):\n{}",
            self.status,
            self.log
        );
    }
}

pub fn run_tool(cmd: &mut Command) -> ToolRun {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e} (is DCMTK installed?)"));
    let mut log = String::from_utf8_lossy(&out.stderr).into_owned();
    log.push_str(&String::from_utf8_lossy(&out.stdout));
    ToolRun {
        status: out.status,
        log,
    }
}

/// Parses `storescu -v` output: "I: Sending file: X" followed by
/// "I: Received Store Response (STATUS)".
pub fn store_responses(log: &str) -> Vec<(PathBuf, Option<String>)> {
    let mut out: Vec<(PathBuf, Option<String>)> = Vec::new();
    for line in log.lines() {
        let line = line.trim();
        if let Some(file) = line.strip_prefix("I: Sending file: ") {
            out.push((PathBuf::from(file.trim()), None));
        } else if let Some(rest) = line.strip_prefix("I: Received Store Response") {
            let status = rest
                .trim()
                .trim_start_matches('(')
                .trim_end_matches(')')
                .to_string();
            if let Some(last) = out.last_mut() {
                last.1 = Some(status);
            }
        }
    }
    out
}

/// All regular files under `dir` (recursive), empty when it does not exist.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    if !dir.exists() {
        return Vec::new();
    }
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.expect("walking a directory"))
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect()
}

/// Demo files by SOP Instance UID.
pub fn by_sop(files: &[DemoFile]) -> BTreeMap<String, &DemoFile> {
    let map: BTreeMap<String, &DemoFile> = files
        .iter()
        .map(|f| (f.sop_instance_uid.clone(), f))
        .collect();
    assert_eq!(map.len(), files.len(), "demo SOP Instance UIDs are unique");
    map
}

/// Checks the index against the files: every row's file exists with its SHA-256 and size, and
/// every file under `instances/` has a row. Returns the rows.
pub fn assert_index_matches_files(data_dir: &Path) -> Vec<InstanceRow> {
    let rows = read_instances(data_dir);
    let mut row_paths = std::collections::BTreeSet::new();
    for row in &rows {
        let file = data_dir.join(&row.path);
        assert!(
            file.is_file(),
            "row #{} ({}) points at missing file {}",
            row.id,
            row.sop_instance_uid,
            row.path
        );
        assert_eq!(
            sha256_file(&file),
            row.sha256,
            "sha256 of {} does not match its row",
            row.path
        );
        assert_eq!(
            std::fs::metadata(&file).unwrap().len() as i64,
            row.size,
            "size of {}",
            row.path
        );
        row_paths.insert(file);
    }
    for file in files_under(&data_dir.join("instances")) {
        assert!(
            row_paths.contains(&file),
            "{} is under instances/ but has no index row",
            file.display()
        );
    }
    rows
}
