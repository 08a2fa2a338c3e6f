//! DCMTK's clients and tools (Debian package `dcmtk`), always by full path: the devices of the
//! tests (`storescu`, `echoscu`, `findscu`), a workstation's (`movescu`, `getscu`, `storescp`),
//! and `dcmdump`/`dcmodify` to read and change files
//! the way a site engineer would.
//!
//! Never decides what a run means: callers assert on the [`ToolRun`] they get back.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

pub const STORESCU: &str = "/usr/bin/storescu";
pub const ECHOSCU: &str = "/usr/bin/echoscu";
pub const FINDSCU: &str = "/usr/bin/findscu";
pub const MOVESCU: &str = "/usr/bin/movescu";
pub const GETSCU: &str = "/usr/bin/getscu";
pub const STORESCP: &str = "/usr/bin/storescp";
pub const DCMDUMP: &str = "/usr/bin/dcmdump";
pub const DCMODIFY: &str = "/usr/bin/dcmodify";
pub const PDF2DCM: &str = "/usr/bin/pdf2dcm";

/// The called AE title of every test station.
pub const AE_TITLE: &str = "STATION";

/// The exit status and the combined output of a tool.
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

/// Runs `cmd` to its end with no input; stderr then stdout in the log.
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

/// `echoscu` (C-ECHO) from `calling_ae` to the station on loopback `port`.
pub fn echoscu(port: u16, calling_ae: &str) -> ToolRun {
    run_tool(
        Command::new(ECHOSCU)
            .args(["-v", "-to", "20", "-ta", "20", "-td", "20"])
            .args(["-aet", calling_ae, "-aec", AE_TITLE])
            .arg("127.0.0.1")
            .arg(port.to_string()),
    )
}

/// `storescu -v -R` of the given files or folders (folders scanned recursively) from
/// `calling_ae` to the station on loopback `port`, with `extra` DCMTK options.
pub fn storescu(port: u16, calling_ae: &str, extra: &[&str], paths: &[&Path]) -> Command {
    let mut cmd = Command::new(STORESCU);
    cmd.args([
        "-v", "-R", "+sd", "+r", "-to", "20", "-ta", "20", "-td", "60",
    ])
    .args(extra)
    .args(["-aet", calling_ae, "-aec", AE_TITLE])
    .arg("127.0.0.1")
    .arg(port.to_string())
    .args(paths);
    cmd
}

/// `findscu -v` to the station on loopback `port` with `options` (e.g. `-W` for the worklist,
/// `-X -od DIR` to keep the responses) and each `-k` key as raw bytes (a key may be GB18030).
pub fn findscu(
    port: u16,
    calling_ae: &str,
    options: &[&std::ffi::OsStr],
    keys: &[std::ffi::OsString],
) -> Command {
    let mut cmd = Command::new(FINDSCU);
    cmd.args(["-v", "-to", "20", "-ta", "20", "-td", "20"])
        .args(options)
        .args(["-aet", calling_ae, "-aec", AE_TITLE]);
    for k in keys {
        cmd.arg("-k").arg(k);
    }
    cmd.arg("127.0.0.1").arg(port.to_string());
    cmd
}

/// `dcmdump +U8 +P tag`: one element as DCMTK reads it, converted to UTF-8 from the file's
/// declared character set (it fails when the bytes do not fit the declaration).
pub fn dcmdump(file: &Path, tag: &str) -> ToolRun {
    run_tool(
        Command::new(DCMDUMP)
            .args(["-q", "+U8", "+P", tag])
            .arg(file),
    )
}

/// The value of one element as DCMTK reads it (see [`dcmdump`]), which must succeed: an
/// independent reading of what a file says.
pub fn dcmdump_value(file: &Path, tag: &str) -> String {
    let run = dcmdump(file, tag);
    run.assert_success(&format!("dcmdump +P {tag} {}", file.display()));
    // `(0010,0010) PN [王^小明]  #  10, 1 PatientName`
    let line = run
        .log
        .lines()
        .find(|l| l.starts_with('('))
        .unwrap_or_default();
    match (line.find('['), line.rfind(']')) {
        (Some(s), Some(e)) if s < e => line[s + 1..e].to_string(),
        _ => panic!("dcmdump printed no value for {tag}:\n{}", run.log),
    }
}

/// Converts `src` into the transfer syntax `option` selects (e.g. `+tb`, `+eb`), with the DCMTK
/// converter `tool` (`dcmconv`, `dcmcjpeg`, `dcmcjpls`, `dcmcrle`), which must succeed.
pub fn convert(tool: &str, option: &str, src: &Path, out: &Path) {
    let mut cmd = Command::new(format!("/usr/bin/{tool}"));
    if !option.is_empty() {
        cmd.arg(option);
    }
    run_tool(cmd.arg(src).arg(out)).assert_success(&format!("{tool} {option}"));
}

/// `dcmodify -nb -m "(gggg,eeee)=value"` in place: a device that writes a value the tests need.
pub fn dcmodify(file: &Path, assignment: &str) {
    run_tool(
        Command::new(DCMODIFY)
            .args(["-nb", "-m", assignment])
            .arg(file),
    )
    .assert_success(&format!("dcmodify -m {assignment}"));
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
