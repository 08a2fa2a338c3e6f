//! The Modality Worklist end to end: patients and orders registered with `station patient add`
//! and `station order add`, queried by DCMTK `findscu -W` the way a DR or ultrasound asks, in
//! UTF-8, in GB18030 and in `\ISO 2022 IR 58`; the responses are decoded and compared with what
//! was registered.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use dicom_dictionary_std::tags;

use crate::harness::dcmtk;
use crate::harness::*;

/// One worklist response as a device reads it.
#[derive(Debug)]
struct Item {
    charset: String,
    name: String,
    /// Patient's Name bytes exactly as sent.
    raw_name: Vec<u8>,
    accession: String,
    modality: String,
    date: String,
}

/// Runs `findscu -W -X` with the keys (each `-k` value as raw bytes) and reads the responses.
fn query(station: &Station, dir: &Path, keys: &[OsString]) -> (ToolRun, Vec<Item>) {
    std::fs::create_dir_all(dir).expect("response dir");
    let options = [
        OsStr::new("-W"),
        OsStr::new("-X"),
        OsStr::new("-od"),
        dir.as_os_str(),
    ];
    let run = run_tool(&mut dcmtk::findscu(
        station.dicom_port,
        "DR1",
        &options,
        keys,
    ));
    run.assert_success("findscu");
    let mut files: Vec<PathBuf> = files_under(dir);
    files.sort();
    let items = files
        .iter()
        .map(|f| {
            let obj = dicom_object::OpenFileOptions::new()
                .open_file(f)
                .expect("a response file");
            let s = |o: &dicom_object::InMemDicomObject, t| {
                o.element(t)
                    .ok()
                    .and_then(|e| e.to_str().ok())
                    .map(|v| v.trim_end_matches([' ', '\0']).to_string())
                    .unwrap_or_default()
            };
            let sps = obj
                .element(tags::SCHEDULED_PROCEDURE_STEP_SEQUENCE)
                .ok()
                .and_then(|e| e.items())
                .and_then(|i| i.first().cloned())
                .unwrap_or_else(dicom_object::InMemDicomObject::new_empty);
            Item {
                charset: s(&obj, tags::SPECIFIC_CHARACTER_SET),
                name: s(&obj, tags::PATIENT_NAME),
                raw_name: raw_patient_name(&std::fs::read(f).expect("read response")),
                accession: s(&obj, tags::ACCESSION_NUMBER),
                modality: s(&sps, tags::MODALITY),
                date: s(&sps, tags::SCHEDULED_PROCEDURE_STEP_START_DATE),
            }
        })
        .collect();
    (run, items)
}

/// Patient's Name (0010,0010) bytes as written in an explicit VR little endian response file.
fn raw_patient_name(file: &[u8]) -> Vec<u8> {
    let at = file
        .windows(6)
        .position(|w| w == [0x10, 0x00, 0x10, 0x00, b'P', b'N'])
        .expect("a Patient's Name element");
    let len = u16::from_le_bytes([file[at + 6], file[at + 7]]) as usize;
    file[at + 8..at + 8 + len].to_vec()
}

fn keys(parts: &[&str]) -> Vec<OsString> {
    parts.iter().map(OsString::from).collect()
}

const COMMON: [&str; 4] = [
    "PatientName",
    "AccessionNumber",
    "(0040,0100)[0].Modality",
    "(0040,0100)[0].ScheduledProcedureStepStartDate",
];

#[test]
fn findscu_gets_registered_orders_with_their_chinese_names_in_the_asked_charset() {
    let scratch = Scratch::new();
    let station = Station::start(
        scratch.path(),
        &Options::default().worklist_for(&["DR1", "US1"]),
    );
    station.register("P100", "王^小明", "DX", "20261130", "ACC100");
    station.register("P100", "王^小明", "US", "20261130", "ACC101");
    station.register("P200", "张^伟", "DX", "20261201", "ACC200");
    station.register("P300", "李^秀英", "ECG", "20261125", "ACC300");
    station.cli(&["order", "cancel", "ACC101"]);

    // By modality, in UTF-8: both DX orders, not the ECG, not the cancelled US.
    let mut k = keys(&["SpecificCharacterSet=ISO_IR 192"]);
    k.extend(keys(&COMMON[..3]));
    k.push("(0040,0100)[0].Modality=DX".into());
    let (_, items) = query(&station, &scratch.join("dx"), &k);
    let mut got: Vec<(String, String)> = items
        .iter()
        .map(|i| (i.accession.clone(), i.name.clone()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("ACC100".to_string(), "王^小明".to_string()),
            ("ACC200".to_string(), "张^伟".to_string())
        ]
    );
    for i in &items {
        assert_eq!(i.charset, "ISO_IR 192");
        assert_eq!(i.modality, "DX");
        assert_eq!(
            i.raw_name.trim_ascii_end(),
            i.name.as_bytes(),
            "UTF-8 on the wire"
        );
    }

    // By date range: 25th to 30th November holds ACC100 and ACC300 (ACC101 is cancelled).
    let mut k = keys(&COMMON[..3]);
    k.push("(0040,0100)[0].ScheduledProcedureStepStartDate=20261125-20261130".into());
    let (_, items) = query(&station, &scratch.join("range"), &k);
    let mut acc: Vec<&str> = items.iter().map(|i| i.accession.as_str()).collect();
    acc.sort();
    assert_eq!(acc, ["ACC100", "ACC300"]);
    assert!(items
        .iter()
        .all(|i| ("20261125".."20261131").contains(&i.date.as_str())));

    // By name with a wildcard, asked in GB18030: the key itself is GB18030 bytes.
    let (gb_key, _, _) = encoding_rs::GB18030.encode("王*");
    let mut name_key = OsString::from("PatientName=");
    name_key.push(OsStr::from_bytes(&gb_key));
    let mut k = keys(&["SpecificCharacterSet=GB18030"]);
    k.push(name_key);
    k.extend(keys(&COMMON[1..]));
    let (_, items) = query(&station, &scratch.join("gb"), &k);
    assert_eq!(items.len(), 1, "{items:?}");
    let wang = &items[0];
    assert_eq!(wang.charset, "GB18030");
    assert_eq!(wang.name, "王^小明");
    let (gb_name, _, _) = encoding_rs::GB18030.encode("王^小明");
    assert_eq!(
        wang.raw_name.trim_ascii_end(),
        &gb_name[..],
        "GB18030 on the wire"
    );
    assert_eq!(wang.accession, "ACC100");

    // The same name asked in UTF-8 with `?`: answered in UTF-8.
    let k = keys(&[
        "SpecificCharacterSet=ISO_IR 192",
        "PatientName=李^??",
        "AccessionNumber",
    ]);
    let (_, items) = query(&station, &scratch.join("utf8"), &k);
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0].name, "李^秀英");
    assert_eq!(items[0].raw_name.trim_ascii_end(), "李^秀英".as_bytes());

    // Asked in `\ISO 2022 IR 58` as older Chinese devices do: GB2312 bytes after the escape
    // ESC $ ) A (PS3.5 Annex J). Matched, and answered in the same character set.
    let gb2312 = |s: &str| encoding_rs::GBK.encode(s).0.into_owned();
    let ir58 = |s: &str| [b"\x1b$)A".to_vec(), gb2312(s)].concat();
    let mut name_key = OsString::from("PatientName=");
    name_key.push(OsStr::from_bytes(&[ir58("王"), b"*".to_vec()].concat()));
    let mut k = keys(&["SpecificCharacterSet=\\ISO 2022 IR 58"]);
    k.push(name_key);
    k.extend(keys(&COMMON[1..]));
    let (_, items) = query(&station, &scratch.join("ir58"), &k);
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0].charset, "\\ISO 2022 IR 58");
    assert_eq!(
        items[0].raw_name.trim_ascii_end(),
        &[ir58("王"), b"^".to_vec(), ir58("小明")].concat()[..],
        "ISO 2022 IR 58 on the wire"
    );
    assert_eq!(items[0].accession, "ACC100");
}

#[test]
fn a_cancelled_query_stops_sending_matches() {
    let scratch = Scratch::new();
    let station = Station::start(
        scratch.path(),
        &Options::default().worklist_for(&["DR1", "US1"]),
    );
    // Many matches (so many that answering them all takes far longer than the cancel takes to
    // arrive), placed through the library on the station's own database.
    const ORDERS: usize = 1500;
    {
        let store = station::store::Store::open(&station.db_path()).expect("open the store");
        let mut conn = store.lock();
        station::registry::patients::add(
            &mut conn,
            "test",
            &station::registry::patients::NewPatient {
                name: "王^小明".into(),
                clinic_id: Some("P1".into()),
                ..Default::default()
            },
        )
        .expect("patient");
        for n in 0..ORDERS {
            station::registry::orders::add(
                &mut conn,
                "test",
                &station::registry::orders::NewOrder {
                    patient: "P1".into(),
                    modality: "US".into(),
                    scheduled_date: Some("20261130".into()),
                    accession: Some(format!("C{n:04}")),
                    ..Default::default()
                },
            )
            .expect("order");
        }
    }
    let options = [OsStr::new("-W"), OsStr::new("--cancel"), OsStr::new("1")];
    let k = keys(&[
        "PatientName",
        "AccessionNumber",
        "PatientID",
        "StudyInstanceUID",
        "(0040,0100)[0].Modality",
    ]);
    let run = run_tool(&mut dcmtk::findscu(station.dicom_port, "US1", &options, &k));
    run.assert_success("findscu --cancel 1");
    let pending = run.log.matches("(Pending)").count();
    assert!(
        run.log.contains(
            "Received Final Find Response (Cancel: MatchingTerminatedDueToCancelRequest)"
        ),
        "the final response says cancelled:\n{}",
        &run.log[run.log.len().saturating_sub(2000)..]
    );
    assert!(
        pending < ORDERS,
        "{pending} pending responses: the cancel stopped them"
    );
}

#[test]
fn an_unlisted_device_is_refused_the_worklist_until_an_admin_allows_it_in_settings() {
    let scratch = Scratch::new();
    // The defaults: no device may read the worklist.
    let mut station = Station::start(scratch.path(), &Options::default());
    station.register("P100", "王^小明", "US", "20261130", "ACC100");
    let k = keys(&COMMON);
    let port = station.dicom_port;
    let ask = |dir: &str| {
        run_tool(&mut dcmtk::findscu(
            port,
            "US1",
            &[
                OsStr::new("-W"),
                OsStr::new("-X"),
                OsStr::new("-od"),
                scratch.join(dir).as_os_str(),
            ],
            &k,
        ))
    };
    std::fs::create_dir_all(scratch.join("refused")).expect("dir");
    let refused = ask("refused");
    assert!(
        refused
            .log
            .contains("Final Find Response (Unknown Status: 0x124)"),
        "Refused: Not Authorized (0124H, which DCMTK names no further):\n{}",
        refused.log
    );
    assert!(
        files_under(&scratch.join("refused")).is_empty(),
        "no patient data to an unlisted device"
    );

    // The Settings page lists it, and its one click adds it to worklist_callers.
    let client = Client::new(&station);
    let admin = client.admin();
    let shown = client.ok(&admin, "settings_get", serde_json::json!({}));
    let listed = &shown["worklist_refused"][0];
    assert_eq!(
        (listed["calling_ae"].as_str(), listed["address"].as_str()),
        (Some("US1"), Some("127.0.0.1")),
        "{shown}"
    );
    let mut update = settings_as_shown(&client, &admin);
    update["worklist_callers"] = serde_json::json!(["US1"]);
    let applied = client.ok(&admin, "settings_update", update);
    assert_eq!(applied["changed"], serde_json::json!(["worklist_callers"]));
    assert_eq!(
        applied["settings"]["worklist_refused"],
        serde_json::json!([])
    );

    std::fs::create_dir_all(scratch.join("allowed")).expect("dir");
    ask("allowed").assert_success("findscu once allowed");
    assert_eq!(
        files_under(&scratch.join("allowed")).len(),
        1,
        "the order, once allowed"
    );
    // Written to the config file: still allowed after a restart.
    station.restart();
    std::fs::create_dir_all(scratch.join("restarted")).expect("dir");
    ask("restarted").assert_success("findscu after a restart");
    assert_eq!(files_under(&scratch.join("restarted")).len(), 1);
}
