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

#[test]
fn findscu_finds_patients_studies_series_and_images_in_both_models_and_charsets() {
    let scratch = Scratch::new();
    let (station, sent) = station_with_day(&scratch, Options::default());
    let li = sent
        .iter()
        .find(|s| s.patient_name == "李^秀英")
        .expect("the GB18030 patient")
        .clone();
    let study_of = |study: &str| sent.iter().filter(|s| s.study == study).collect::<Vec<_>>();
    let at = |name: &str| scratch.join(name);

    // PATIENT level (Patient Root): every patient once, with the instances each has.
    let (run, answers) = find(
        &station,
        &at("patients"),
        VIEWER,
        "-P",
        &keys(&[
            "SpecificCharacterSet=ISO_IR 192",
            "QueryRetrieveLevel=PATIENT",
            "PatientName",
            "PatientID",
            "NumberOfPatientRelatedInstances",
        ]),
    );
    run.assert_success("findscu -P PATIENT");
    let got: BTreeMap<String, (String, String)> = answers
        .iter()
        .map(|a| {
            (
                a.get(tags::PATIENT_ID),
                (
                    a.get(tags::PATIENT_NAME),
                    a.get(tags::NUMBER_OF_PATIENT_RELATED_INSTANCES),
                ),
            )
        })
        .collect();
    let mut want: BTreeMap<String, (String, String)> = BTreeMap::new();
    for s in &sent {
        let n = sent.iter().filter(|o| o.patient_id == s.patient_id).count();
        want.insert(
            s.patient_id.clone(),
            (s.patient_name.clone(), n.to_string()),
        );
    }
    assert_eq!(got, want);
    assert!(answers
        .iter()
        .all(|a| a.get(tags::SPECIFIC_CHARACTER_SET) == "ISO_IR 192"));

    // Patient Root down the levels for the GB18030 patient: studies, series, images.
    let (run, answers) = find(
        &station,
        &at("p-studies"),
        VIEWER,
        "-P",
        &keys(&[
            "QueryRetrieveLevel=STUDY",
            &format!("PatientID={}", li.patient_id),
            "StudyInstanceUID",
        ]),
    );
    run.assert_success("findscu -P STUDY");
    let studies = set(answers.iter().map(|a| a.get(tags::STUDY_INSTANCE_UID)));
    let want_studies = set(sent
        .iter()
        .filter(|s| s.patient_id == li.patient_id)
        .map(|s| s.study.as_str()));
    assert_eq!(studies, want_studies);
    let (run, answers) = find(
        &station,
        &at("p-series"),
        VIEWER,
        "-P",
        &keys(&[
            "QueryRetrieveLevel=SERIES",
            &format!("PatientID={}", li.patient_id),
            &format!("StudyInstanceUID={}", li.study),
            "SeriesInstanceUID",
        ]),
    );
    run.assert_success("findscu -P SERIES");
    let series: BTreeSet<String> = answers
        .iter()
        .map(|a| a.get(tags::SERIES_INSTANCE_UID))
        .collect();
    assert_eq!(
        series,
        study_of(&li.study)
            .iter()
            .map(|s| s.series.clone())
            .collect()
    );
    let (run, answers) = find(
        &station,
        &at("p-images"),
        VIEWER,
        "-P",
        &keys(&[
            "QueryRetrieveLevel=IMAGE",
            &format!("PatientID={}", li.patient_id),
            &format!("StudyInstanceUID={}", li.study),
            &format!("SeriesInstanceUID={}", li.series),
            "SOPInstanceUID",
        ]),
    );
    run.assert_success("findscu -P IMAGE");
    let sops: BTreeSet<String> = answers
        .iter()
        .map(|a| a.get(tags::SOP_INSTANCE_UID))
        .collect();
    let want_sops: BTreeSet<String> = sent
        .iter()
        .filter(|s| s.series == li.series)
        .map(|s| s.sop.clone())
        .collect();
    assert_eq!(sops, want_sops);

    // Study Root, asked in GB18030 with a wildcard name and a date range: answered in GB18030.
    let (gb_key, _, _) = encoding_rs::GB18030.encode("李*");
    let mut k = keys(&["SpecificCharacterSet=GB18030", "QueryRetrieveLevel=STUDY"]);
    k.push(raw_key("PatientName", &gb_key));
    k.extend(keys(&[
        "StudyDate=20261101-20261130",
        "StudyInstanceUID",
        "ModalitiesInStudy",
        "NumberOfStudyRelatedInstances",
    ]));
    let (run, answers) = find(&station, &at("s-gb"), VIEWER, "-S", &k);
    run.assert_success("findscu -S STUDY in GB18030");
    assert_eq!(
        set(answers.iter().map(|a| a.get(tags::STUDY_INSTANCE_UID))),
        want_studies
    );
    let (gb_name, _, _) = encoding_rs::GB18030.encode("李^秀英");
    for a in &answers {
        assert_eq!(a.get(tags::SPECIFIC_CHARACTER_SET), "GB18030");
        assert_eq!(a.get(tags::PATIENT_NAME), "李^秀英");
        assert_eq!(a.raw_name, gb_name.to_vec(), "GB18030 on the wire");
        assert_eq!(
            a.get(tags::NUMBER_OF_STUDY_RELATED_INSTANCES),
            study_of(&a.get(tags::STUDY_INSTANCE_UID)).len().to_string()
        );
    }

    // Study Root in UTF-8 with `?`: the UTF-8 patient, answered in UTF-8.
    let (run, answers) = find(
        &station,
        &at("s-utf8"),
        VIEWER,
        "-S",
        &keys(&[
            "SpecificCharacterSet=ISO_IR 192",
            "QueryRetrieveLevel=STUDY",
            "PatientName=王^??",
            "StudyInstanceUID",
        ]),
    );
    run.assert_success("findscu -S STUDY in UTF-8");
    assert!(!answers.is_empty());
    for a in &answers {
        assert_eq!(a.get(tags::PATIENT_NAME), "王^小明");
        assert_eq!(a.raw_name, "王^小明".as_bytes(), "UTF-8 on the wire");
    }

    // A date range holding no study, and a UID list of two studies.
    let (run, answers) = find(
        &station,
        &at("s-none"),
        VIEWER,
        "-S",
        &keys(&[
            "QueryRetrieveLevel=STUDY",
            "StudyDate=20261201-",
            "StudyInstanceUID",
        ]),
    );
    run.assert_success("findscu -S STUDY by date");
    assert_eq!(answers.len(), 0);
    let all_studies: Vec<String> = set(sent.iter().map(|s| s.study.as_str()))
        .into_iter()
        .collect();
    let two = format!("StudyInstanceUID={}\\{}", all_studies[0], all_studies[1]);
    let (run, answers) = find(
        &station,
        &at("s-list"),
        VIEWER,
        "-S",
        &keys(&["QueryRetrieveLevel=STUDY", &two]),
    );
    run.assert_success("findscu -S STUDY by UID list");
    assert_eq!(answers.len(), 2);

    // Study Root SERIES and IMAGE levels under one study.
    let (run, answers) = find(
        &station,
        &at("s-series"),
        VIEWER,
        "-S",
        &keys(&[
            "QueryRetrieveLevel=SERIES",
            &format!("StudyInstanceUID={}", li.study),
            "SeriesInstanceUID",
            "Modality",
            "NumberOfSeriesRelatedInstances",
        ]),
    );
    run.assert_success("findscu -S SERIES");
    for a in &answers {
        let uid = a.get(tags::SERIES_INSTANCE_UID);
        let n = sent.iter().filter(|s| s.series == uid).count();
        assert!(n > 0, "a series that was sent: {uid}");
        assert_eq!(
            a.get(tags::NUMBER_OF_SERIES_RELATED_INSTANCES),
            n.to_string()
        );
        assert!(!a.get(tags::MODALITY).is_empty());
    }
    assert_eq!(answers.len(), series.len());
    let (run, answers) = find(
        &station,
        &at("s-images"),
        VIEWER,
        "-S",
        &keys(&[
            "QueryRetrieveLevel=IMAGE",
            &format!("StudyInstanceUID={}", li.study),
            &format!("SeriesInstanceUID={}", li.series),
            "SOPInstanceUID",
            "SOPClassUID",
            "InstanceNumber",
        ]),
    );
    run.assert_success("findscu -S IMAGE");
    assert_eq!(
        answers
            .iter()
            .map(|a| a.get(tags::SOP_INSTANCE_UID))
            .collect::<BTreeSet<_>>(),
        want_sops
    );

    // Each query is audited with the calling AE title, its level and the patients it showed
    // (repeats of one read coalesce, as the station's other reads do).
    let audited = audited_reads(&station, "qr.find");
    let levels: BTreeSet<&str> = audited.iter().map(|(level, _)| level.as_str()).collect();
    assert_eq!(
        levels,
        set(["IMAGE", "PATIENT", "SERIES", "STUDY"])
            .iter()
            .map(String::as_str)
            .collect()
    );
    let shown: BTreeSet<String> = audited.into_iter().map(|(_, p)| p).collect();
    assert_eq!(shown, set(sent.iter().map(|s| s.patient_id.as_str())));
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

#[test]
fn a_caller_not_in_query_callers_is_refused_and_sees_nothing() {
    let scratch = Scratch::new();
    let (station, _sent) = station_with_day(&scratch, Options::default());
    let (run, answers) = find(
        &station,
        &scratch.join("refused"),
        "OTHER",
        "-S",
        &keys(&[
            "QueryRetrieveLevel=STUDY",
            "PatientName",
            "StudyInstanceUID",
        ]),
    );
    assert_eq!(answers.len(), 0, "{}", run.log);
    assert!(
        run.log
            .contains("Final Find Response (Unknown Status: 0x124)"),
        "findscu shows the refusal:\n{}",
        run.log
    );
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

#[test]
fn movescu_moves_a_study_to_listed_destinations_re_encoded_as_accepted_and_an_unknown_one_gets_a801(
) {
    let scratch = Scratch::new();
    let receiver = Receiver::start(&scratch.join("ws"), "WS1", &[]);
    // A receiver taking implicit VR only, writing files as received (+B).
    let implicit = Receiver::start(&scratch.join("ws2"), "WS2", &["+xi", "+B"]);
    let (port, port2) = (receiver.port, implicit.port);
    let (station, sent) = station_with_day(
        &scratch,
        Options::default().tweak(move |c| {
            let dest = |ae: &str, port| MoveDestination {
                ae_title: ae.into(),
                host: "127.0.0.1".into(),
                port,
            };
            c.dicom.move_destinations = vec![dest("WS1", port), dest("WS2", port2)]
        }),
    );
    let study = sent[0].study.clone();
    let movescu = |dest: &str| {
        run_tool(
            Command::new(dcmtk::MOVESCU)
                .args(["-v", "-S", "-to", "20", "-ta", "20", "-td", "60"])
                .args(["-aet", VIEWER, "-aec", AE_TITLE, "-aem", dest])
                .args(["-k", "QueryRetrieveLevel=STUDY"])
                .arg("-k")
                .arg(format!("StudyInstanceUID={study}"))
                .arg("127.0.0.1")
                .arg(station.dicom_port.to_string()),
        )
    };
    let run = movescu("WS1");
    run.assert_success("movescu to WS1");
    let n = sent.iter().filter(|s| s.study == study).count();
    wait_for("the moved files", Duration::from_secs(30), || {
        (files_under(&receiver.dir).len() >= n).then_some(())
    });
    assert_received_study(&receiver.dir, &sent, &study);
    assert!(
        run.log
            .contains(&format!("Completed Suboperations   : {n}"))
            || run.log.contains("Success"),
        "{}",
        run.log
    );

    // The stored explicit VR files re-encoded for a receiver that takes implicit VR only.
    movescu("WS2").assert_success("movescu to WS2");
    wait_for("the re-encoded files", Duration::from_secs(30), || {
        (files_under(&implicit.dir).len() >= n).then_some(())
    });
    assert_received_study(&implicit.dir, &sent, &study);
    for f in files_under(&implicit.dir) {
        assert_eq!(read_part10(&f).transfer_syntax, "1.2.840.10008.1.2");
    }

    let run = movescu("NOWHERE");
    assert!(
        run.log.contains("Refused: MoveDestinationUnknown"),
        "an unknown destination is answered A801:\n{}",
        run.log
    );
    assert_eq!(
        audited_reads(&station, "qr.move"),
        [("STUDY".to_string(), sent[0].patient_id.clone())],
        "the move is audited with its patient"
    );
}

#[test]
fn getscu_retrieves_a_study_with_identical_datasets() {
    let scratch = Scratch::new();
    let (station, sent) = station_with_day(&scratch, Options::default());
    let study = sent[0].study.clone();
    let getscu = |dir: &Path, extra: &[&str]| {
        std::fs::create_dir_all(dir).expect("get dir");
        run_tool(
            Command::new(dcmtk::GETSCU)
                .args(["-v", "-S", "-to", "20", "-ta", "20", "-td", "60"])
                .args(extra)
                .args(["-aet", VIEWER, "-aec", AE_TITLE, "-od"])
                .arg(dir)
                .args(["-k", "QueryRetrieveLevel=STUDY"])
                .arg("-k")
                .arg(format!("StudyInstanceUID={study}"))
                .arg("127.0.0.1")
                .arg(station.dicom_port.to_string()),
        )
    };
    let dir = scratch.join("get");
    getscu(&dir, &[]).assert_success("getscu");
    assert_received_study(&dir, &sent, &study);
    assert_eq!(
        audited_reads(&station, "qr.get"),
        [("STUDY".to_string(), sent[0].patient_id.clone())],
        "the retrieves are audited with their patient"
    );
}
