//! The command line: `station import`, `station status`, and configuration errors.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use station::demo::Scale;

use crate::harness::config;
use crate::harness::*;

fn station_cmd(args: &[&std::ffi::OsStr]) -> Output {
    let mut cmd = Command::new(STATION_BIN);
    cmd.args(args).stdin(Stdio::null());
    // Bounded: a command that hangs fails the test instead of hanging it.
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running station");
    // Drain pipes on threads so a chatty command cannot block on a full pipe.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut out, &mut v).ok();
        v
    });
    let err_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut err, &mut v).ok();
        v
    });
    let status = wait_child(&mut child, &format!("station {args:?}"), WAIT_TIMEOUT);
    Output {
        status,
        stdout: out_t.join().unwrap(),
        stderr: err_t.join().unwrap(),
    }
}

fn os<'a>(parts: &'a [&'a dyn AsRef<std::ffi::OsStr>]) -> Vec<&'a std::ffi::OsStr> {
    parts.iter().map(|p| p.as_ref()).collect()
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A config file with `body` as written, which the engine's types cannot express (a misspelt
/// key, a value of the wrong type).
fn write_config(dir: &Path, body: &str) -> std::path::PathBuf {
    let path = dir.join("station.toml");
    let data_dir = toml::Value::String(dir.join("data").to_str().expect("UTF-8 path").into());
    std::fs::write(&path, format!("data_dir = {data_dir}\n{body}")).unwrap();
    path
}

#[test]
fn import_prints_a_summary_and_status_json_counts_what_came_in() {
    let scratch = Scratch::new();
    let data_dir = scratch.join("data");
    let config = scratch.join("station.toml");
    config::write(&Options::default().config(&data_dir, 0, 0), &config);
    let day = scratch.join("day");
    let files = demo_day(&day, Scale::Small, 8);
    let bad = scratch.join("usb-stick").join("not-dicom.dcm");
    std::fs::create_dir_all(bad.parent().unwrap()).unwrap();
    std::fs::write(
        &bad,
        b"PDF export of an ECG, misnamed .dcm, not DICOM at all\n",
    )
    .unwrap();

    let out = station_cmd(&os(&[&"import", &"--config", &config, &day, &bad]));
    let (stdout, stderr) = text(&out);
    assert!(
        out.status.success(),
        "import failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(
        stdout.contains("imported 40"),
        "summary counts 40 imported:\n{stdout}"
    );
    assert!(
        stdout.contains("duplicates 0"),
        "summary counts no duplicates:\n{stdout}"
    );
    assert!(
        stdout.contains("quarantined 1"),
        "summary counts 1 quarantined:\n{stdout}"
    );
    let quarantine_line = stdout
        .lines()
        .find(|l| l.contains("not-dicom.dcm"))
        .unwrap_or_else(|| panic!("the summary names the quarantined file:\n{stdout}"));
    assert!(
        quarantine_line.contains(':') && quarantine_line.len() > "not-dicom.dcm".len() + 10,
        "with a reason: {quarantine_line}"
    );
    assert!(bad.is_file(), "import leaves the user's file where it was");

    let rows = assert_index_matches_files(&data_dir);
    assert_eq!(rows.len(), 40);
    let demo = by_sop(&files);
    for row in &rows {
        let sent = demo[&row.sop_instance_uid];
        assert_eq!(row.source_kind, "import");
        assert_eq!(row.patient_name, sent.patient_name);
        assert_same_dataset(&sent.path, &data_dir.join(&row.path));
    }

    // Importing the same day again only finds duplicates.
    let out = station_cmd(&os(&[&"import", &"--config", &config, &day]));
    let (stdout, stderr) = text(&out);
    assert!(
        out.status.success(),
        "second import failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("imported 0") && stdout.contains("duplicates 40"),
        "second import finds 40 duplicates:\n{stdout}"
    );

    let out = station_cmd(&os(&[&"status", &"--config", &config, &"--json"]));
    let (stdout, stderr) = text(&out);
    assert!(
        out.status.success(),
        "status --json failed:\n{stdout}\n{stderr}"
    );
    let json: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("status --json is JSON ({e}):\n{stdout}"));
    assert_eq!(json["instances"], 40, "{json}");
    assert_eq!(json["quarantined"], 1, "{json}");
    assert_eq!(json["instances_for_review"], 0, "{json}");
    let undeclared = files.iter().filter(|f| f.charset.is_empty()).count();
    assert_eq!(
        json["instances_charset_repaired"], undeclared as u64,
        "{json}"
    );
    let studies: i64 = json["studies_by_state"]
        .as_object()
        .expect("studies_by_state is an object")
        .values()
        .map(|v| v.as_i64().unwrap())
        .sum();
    let distinct_studies: std::collections::BTreeSet<_> =
        files.iter().map(|f| &f.study_uid).collect();
    assert_eq!(studies as usize, distinct_studies.len(), "{json}");

    let out = station_cmd(&os(&[&"status", &"--data-dir", &data_dir]));
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "status failed:\n{stdout}\n{stderr}");
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("instances") && l.contains("40")),
        "plain status shows 40 instances:\n{stdout}"
    );
}

#[test]
fn a_misspelt_config_key_or_bad_value_stops_the_station_with_a_message_naming_it() {
    let scratch = Scratch::new();
    let port = free_port().to_string();

    let config = write_config(scratch.path(), "[dicom]\nae_titel = \"CLINIC01\"\n");
    let out = station_cmd(&os(&[
        &"serve",
        &"--config",
        &config,
        &"--dicom-port",
        &port,
    ]));
    let (stdout, stderr) = text(&out);
    assert!(
        !out.status.success(),
        "serve with a misspelt key must not run:\n{stdout}\n{stderr}"
    );
    assert!(
        stderr.contains("ae_titel") || stdout.contains("ae_titel"),
        "the message names the key:\n{stdout}\n{stderr}"
    );
    assert!(
        !scratch.join("data").join("station.db").exists(),
        "nothing is created with a bad config"
    );

    let out = station_cmd(&os(&[&"status", &"--config", &config]));
    let (stdout, stderr) = text(&out);
    assert!(
        !out.status.success(),
        "status with a misspelt key fails too"
    );
    assert!(
        stderr.contains("ae_titel"),
        "status names the key:\n{stdout}\n{stderr}"
    );

    let config = write_config(scratch.path(), "[dicom]\nport = \"eleven\"\n");
    let out = station_cmd(&os(&[&"serve", &"--config", &config]));
    let (stdout, stderr) = text(&out);
    assert!(
        !out.status.success(),
        "serve with a bad value must not run:\n{stdout}\n{stderr}"
    );
    assert!(
        stderr.contains("port"),
        "the message names the key with the bad value:\n{stderr}"
    );
}

#[test]
fn output_cut_short_by_a_closed_pipe_ends_the_command_quietly() {
    // `station openapi | head -1`: the document is far larger than a pipe's buffer, so the
    // command is still writing when the reader goes away.
    let mut child = Command::new(STATION_BIN)
        .arg("openapi")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running station openapi");
    let mut out = child.stdout.take().expect("stdout");
    let mut first = [0u8; 1];
    std::io::Read::read_exact(&mut out, &mut first).expect("the document starts");
    assert_eq!(&first, b"{");
    drop(out);
    let mut err = child.stderr.take().expect("stderr");
    let err_t = std::thread::spawn(move || {
        let mut v = String::new();
        std::io::Read::read_to_string(&mut err, &mut v).ok();
        v
    });
    let status = wait_child(&mut child, "station openapi", WAIT_TIMEOUT);
    let stderr = err_t.join().expect("stderr reader");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(status.success(), "{status:?}: {stderr}");
}
