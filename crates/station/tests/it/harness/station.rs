//! A real `station serve` process: its configuration written from [`Options`], loopback ports
//! picked free, its own data directory; killed when its handle is dropped, with its log printed
//! when the test failed. The DCMTK devices and the `station` command line aimed at it, and
//! read-only looks at its index and send queue.
//!
//! Never stops a station without the end-of-test check first: when the handle is dropped at the
//! end of a passing test, the running station must come to rest with a clean data directory
//! (see [`super::data_dir::wait_clean`]), or the test fails.

use std::fs::File;
use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use station::store::queue::{queue_rows, QueueRow};
use station::store::{InstanceRow, StatusCounts};

use super::config::{self, Options};
use super::dcmtk::{self, run_tool, ToolRun};
use super::{data_dir, free_port, wait_for, POLL_STEP, START_TIMEOUT};

pub const STATION_BIN: &str = env!("CARGO_BIN_EXE_station");
/// The first-run `admin` password of every test station (`STATION_ADMIN_PASSWORD`).
pub const ADMIN_PASSWORD: &str = "admin-test-pw";
/// How long a station may take, at the end of a test, to bring what it is doing to rest.
pub const SETTLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Writes `root/station.toml` from `options`, for a data directory `root/data` and two free
/// loopback ports: the file, the DICOM port and the HTTP port.
pub fn configure(root: &Path, options: &Options) -> (PathBuf, u16, u16) {
    let config = root.join("station.toml");
    let dicom_port = free_port();
    // Two asks for a free port may get the same one (each is released before the next).
    let http_port = (0..100)
        .map(|_| free_port())
        .find(|p| *p != dicom_port)
        .expect("a second free port");
    config::write(
        &options.config(&root.join("data"), dicom_port, http_port),
        &config,
    );
    (config, dicom_port, http_port)
}

/// A running (or killed) `station serve` on its own ports and data directory.
pub struct Station {
    pub root: PathBuf,
    pub data_dir: PathBuf,
    pub config: PathBuf,
    pub dicom_port: u16,
    pub http_port: u16,
    /// How long the station may take, when the handle is dropped, to come to rest clean.
    pub settle_timeout: Duration,
    child: Option<Child>,
    logs: Vec<PathBuf>,
}

impl Station {
    /// Writes a configuration under `root` and starts the station; returns once its DICOM port
    /// accepts connections.
    pub fn start(root: &Path, options: &Options) -> Station {
        let data_dir = root.join("data");
        let (config, dicom_port, http_port) = configure(root, options);
        let mut station = Station {
            root: root.to_owned(),
            data_dir,
            config,
            dicom_port,
            http_port,
            settle_timeout: SETTLE_TIMEOUT,
            child: None,
            logs: Vec::new(),
        };
        station.spawn();
        station
    }

    /// The station process's resident memory (VmRSS), in MB.
    pub fn resident_mb(&self) -> u64 {
        let pid = self.child.as_ref().expect("the station is running").id();
        let status =
            std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/PID/status");
        let kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("a VmRSS line");
        kb / 1024
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
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().expect("polling the station"));
            if let Some(status) = exited {
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
        if let Some(status) = child.try_wait().expect("polling the station") {
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

    /// A read-only connection to the station's index.
    pub fn reader(&self) -> rusqlite::Connection {
        station::store::open_reader(&self.db_path()).expect("opening the index read-only")
    }

    /// Every index row (empty when the database does not exist yet).
    pub fn instances(&self) -> Vec<InstanceRow> {
        data_dir::read_instances(&self.data_dir)
    }

    pub fn instance_count(&self) -> i64 {
        if !self.db_path().exists() {
            return 0;
        }
        self.reader()
            .query_row("SELECT COUNT(*) FROM instances", [], |r| r.get(0))
            .unwrap_or(0)
    }

    /// The quarantined files as the screens list them, newest first.
    pub fn quarantined(&self) -> Vec<station::store::quarantine::QuarantineItem> {
        station::store::quarantine::page(&self.reader(), 0, 1000)
            .expect("quarantine list")
            .1
    }

    pub fn status_counts(&self) -> StatusCounts {
        station::store::status_counts(&self.reader()).expect("status counts")
    }

    /// The send queue, one row per study and destination.
    pub fn queue(&self) -> Vec<QueueRow> {
        queue_rows(&self.reader()).expect("queue rows")
    }

    /// Waits until `n` queue rows exist and all are delivered; returns them.
    pub fn wait_delivered(&self, n: usize) -> Vec<QueueRow> {
        wait_for("every study delivered", Duration::from_secs(90), || {
            let rows = self.queue();
            (rows.len() == n && rows.iter().all(|r| r.state == "delivered")).then_some(rows)
        })
    }

    pub fn echoscu(&self, calling_ae: &str) -> ToolRun {
        dcmtk::echoscu(self.dicom_port, calling_ae)
    }

    /// `storescu -v -R` of the given files or folders (folders scanned recursively).
    pub fn storescu_command(&self, calling_ae: &str, paths: &[&Path]) -> Command {
        dcmtk::storescu(self.dicom_port, calling_ae, &[], paths)
    }

    /// As [`Station::storescu_command`], with extra DCMTK options.
    pub fn storescu_command_with(
        &self,
        calling_ae: &str,
        extra: &[&str],
        paths: &[&Path],
    ) -> Command {
        dcmtk::storescu(self.dicom_port, calling_ae, extra, paths)
    }

    pub fn storescu(&self, calling_ae: &str, paths: &[&Path]) -> ToolRun {
        run_tool(&mut self.storescu_command(calling_ae, paths))
    }

    /// The DR ("DR1") sends `paths`, which must succeed.
    pub fn send(&self, paths: &[impl AsRef<Path>]) {
        let refs: Vec<&Path> = paths.iter().map(AsRef::as_ref).collect();
        self.storescu("DR1", &refs).assert_success("storescu");
    }

    /// `station <args>` on this station's configuration (`--config` after the subcommand).
    pub fn run_cli(&self, args: &[&str]) -> ToolRun {
        let (sub, rest) = args.split_at(args.len().min(2));
        run_tool(
            Command::new(STATION_BIN)
                .args(sub)
                .arg("--config")
                .arg(&self.config)
                .args(rest),
        )
    }

    /// As [`Station::run_cli`], which must succeed.
    pub fn cli(&self, args: &[&str]) -> ToolRun {
        let run = self.run_cli(args);
        run.assert_success(&format!("station {args:?}"));
        run
    }

    /// Registers a patient (unless known) and one order for them on `date`, by the CLI.
    pub fn register(
        &self,
        clinic_id: &str,
        name: &str,
        modality: &str,
        date: &str,
        accession: &str,
    ) {
        let known = self
            .cli(&["patient", "search", clinic_id, "--json"])
            .log
            .contains(&format!("\"clinic_id\": \"{clinic_id}\""));
        if !known {
            self.cli(&["patient", "add", "--name", name, "--clinic-id", clinic_id]);
        }
        self.cli(&[
            "order",
            "add",
            "--patient",
            clinic_id,
            "--modality",
            modality,
            "--date",
            date,
            "--accession",
            accession,
            "--procedure",
            "胸部正位",
        ]);
    }

    /// `station order list` shows an order of the demo day completed.
    pub fn assert_an_order_completed(&self) {
        let orders = self.cli(&[
            "order",
            "list",
            "--from",
            station::demo::STUDY_DATE,
            "--json",
        ]);
        assert!(
            orders.log.contains("\"state\": \"completed\""),
            "{}",
            orders.log
        );
    }
}

impl Drop for Station {
    fn drop(&mut self) {
        let running = self
            .child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)));
        // Checked while it runs (a kill could itself leave debris); a station a test left
        // killed is checked as it lies by the scratch directory.
        let check = if running && !std::thread::panicking() {
            data_dir::wait_clean(&self.data_dir, self.settle_timeout)
        } else {
            Ok(())
        };
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!("station logs:\n{}", self.logs_text());
        } else if let Err(message) = check {
            panic!("{message}\nstation logs:\n{}", self.logs_text());
        }
    }
}
