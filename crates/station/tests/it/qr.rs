//! Query/Retrieve end to end, the way a clinic's viewing workstation uses it: the demo day sent
//! with `storescu`, then DCMTK `findscu` (-S and -P) at every level, in UTF-8 and GB18030 with
//! Chinese names, `movescu` to a DCMTK `storescp` listed as a move destination, and `getscu`;
//! what arrives is compared with what was sent, element by element (pixel data included).

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use dicom_dictionary_std::tags;
use dicom_object::{DefaultDicomObject, InMemDicomObject};
use station::config::MoveDestination;
use station::demo::Scale;

use crate::harness::dataset::diff_objects;
use crate::harness::dcmtk::{self, AE_TITLE};
use crate::harness::*;

mod find;
mod retrieve;

/// The workstation's AE title, the one listed in `query_callers`.
const VIEWER: &str = "VIEWER";

/// One instance as the demo device sent it.
#[derive(Debug, Clone)]
struct Sent {
    path: PathBuf,
    patient_id: String,
    patient_name: String,
    study: String,
    series: String,
    sop: String,
}

fn text(obj: &InMemDicomObject, tag: dicom_core::Tag) -> String {
    obj.element(tag)
        .ok()
        .and_then(|e| e.to_str().ok())
        .map(|v| v.trim_end_matches([' ', '\0']).to_string())
        .unwrap_or_default()
}

/// A station answering Q/R to [`VIEWER`] (plus `tweak`), with the demo day stored.
fn station_with_day(scratch: &Scratch, options: Options) -> (Station, Vec<Sent>) {
    let options = options.tweak(|c| c.dicom.query_callers = vec![VIEWER.into()]);
    let station = Station::start(scratch.path(), &options);
    let day = scratch.join("day");
    let files = demo_day(&day, Scale::Small, 3);
    station
        .storescu("US1", &[&day])
        .assert_success("storescu of the demo day");
    let sent = files
        .iter()
        .map(|f| {
            let obj = dicom_object::open_file(&f.path).expect("a demo file");
            Sent {
                path: f.path.clone(),
                patient_id: text(&obj, tags::PATIENT_ID),
                patient_name: f.patient_name.clone(),
                study: f.study_uid.clone(),
                series: text(&obj, tags::SERIES_INSTANCE_UID),
                sop: f.sop_instance_uid.clone(),
            }
        })
        .collect();
    (station, sent)
}

/// One C-FIND answer as the workstation reads it.
struct Answer {
    obj: DefaultDicomObject,
    /// Patient's Name bytes as they came (absent: empty).
    raw_name: Vec<u8>,
}

impl Answer {
    fn get(&self, tag: dicom_core::Tag) -> String {
        text(&self.obj, tag)
    }
}

/// Patient's Name (0010,0010) bytes in an explicit VR little endian file, if present.
fn raw_patient_name(file: &[u8]) -> Vec<u8> {
    let Some(at) = file
        .windows(6)
        .position(|w| w == [0x10, 0x00, 0x10, 0x00, b'P', b'N'])
    else {
        return Vec::new();
    };
    let len = u16::from_le_bytes([file[at + 6], file[at + 7]]) as usize;
    file[at + 8..at + 8 + len].trim_ascii_end().to_vec()
}

fn keys(parts: &[&str]) -> Vec<OsString> {
    parts.iter().map(OsString::from).collect()
}

/// A key whose value is raw bytes (GB18030).
fn raw_key(name: &str, value: &[u8]) -> OsString {
    let mut k = OsString::from(format!("{name}="));
    k.push(OsStr::from_bytes(value));
    k
}

/// `findscu` from `caller` with `model` (-S or -P) and `keys`; its answers, read back.
fn find(
    station: &Station,
    dir: &Path,
    caller: &str,
    model: &str,
    keys: &[OsString],
) -> (ToolRun, Vec<Answer>) {
    std::fs::create_dir_all(dir).expect("answer dir");
    let options = [
        OsStr::new(model),
        OsStr::new("-X"),
        OsStr::new("-od"),
        dir.as_os_str(),
    ];
    let run = run_tool(&mut dcmtk::findscu(
        station.dicom_port,
        caller,
        &options,
        keys,
    ));
    let mut files = files_under(dir);
    files.sort();
    let answers = files
        .iter()
        .map(|f| Answer {
            obj: dicom_object::open_file(f).expect("an answer file"),
            raw_name: raw_patient_name(&std::fs::read(f).expect("read answer")),
        })
        .collect();
    (run, answers)
}

fn set<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> BTreeSet<String> {
    items.into_iter().map(|s| s.as_ref().to_string()).collect()
}

/// The audited reads of `action` by the workstation: (subject, patient shown) pairs.
fn audited_reads(station: &Station, action: &str) -> Vec<(String, String)> {
    let conn = station.reader();
    let mut stmt = conn
        .prepare(
            "SELECT l.subject, p.patient_id FROM audit_log l
             JOIN audit_patients p ON p.entry_ref = l.id
             WHERE l.actor = 'dicom:VIEWER' AND l.action = ?1",
        )
        .expect("audit query");
    stmt.query_map([action], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("audit rows")
        .collect::<Result<_, _>>()
        .expect("audit rows")
}

/// A DCMTK `storescp` as the workstation's receiver, killed when dropped.
struct Receiver {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Receiver {
    fn start(dir: &Path, ae: &str, extra: &[&str]) -> Receiver {
        std::fs::create_dir_all(dir).expect("receiver dir");
        let port = free_port();
        let child = Command::new(dcmtk::STORESCP)
            .args(extra)
            .args(["-aet", ae, "-od"])
            .arg(dir)
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting storescp");
        wait_for("storescp to listen", Duration::from_secs(20), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).ok()
        });
        Receiver {
            child,
            port,
            dir: dir.to_owned(),
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every file in `dir` is one of `study`'s sent instances, all of them arrived, and each holds
/// the dataset that was sent (pixel data included).
fn assert_received_study(dir: &Path, sent: &[Sent], study: &str) {
    let want: BTreeMap<&str, &Sent> = sent
        .iter()
        .filter(|s| s.study == study)
        .map(|s| (s.sop.as_str(), s))
        .collect();
    let files = files_under(dir);
    let mut got = BTreeSet::new();
    for f in &files {
        let obj = dicom_object::open_file(f).expect("a received file");
        let sop = text(&obj, tags::SOP_INSTANCE_UID);
        let original = want
            .get(sop.as_str())
            .unwrap_or_else(|| panic!("{sop} was not asked for"));
        let sent_obj = dicom_object::open_file(&original.path).expect("the sent file");
        let mut diffs = Vec::new();
        diff_objects(&sent_obj, &obj, "", &mut diffs);
        assert!(
            diffs.is_empty(),
            "{sop} differs from what was sent:\n{}",
            diffs.join("\n")
        );
        got.insert(sop);
    }
    assert_eq!(got, want.keys().map(|s| s.to_string()).collect());
}
