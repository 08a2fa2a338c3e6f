//! The station's own DICOMweb (PS3.18), as the image viewer and a LAN workstation read it: a
//! day's studies received from DCMTK are found by QIDO-RS, their metadata and frames come back
//! over WADO-RS with exactly the pixels the device sent, behind the login, audited.

mod rendered;

use std::time::Duration;

use dicom_dictionary_std::tags;
use serde_json::{json, Value};
use station::demo::Scale;

use crate::harness::*;

pub(crate) const BOUNDARY: &str = "--station-dicomweb-part-0a8f3c";

/// The body of the one part of a multipart/related answer, and its Content-Type.
pub(crate) fn single_part(body: &[u8]) -> (String, Vec<u8>) {
    let text_end = body
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("part headers");
    let headers = String::from_utf8_lossy(&body[..text_end]).into_owned();
    assert!(headers.starts_with(BOUNDARY), "{headers}");
    let kind = headers
        .lines()
        .find_map(|l| l.strip_prefix("Content-Type: "))
        .expect("part type")
        .to_owned();
    let rest = &body[text_end + 4..];
    let close = format!("\r\n{BOUNDARY}--\r\n");
    let end = rest.len() - close.len();
    assert_eq!(&rest[end..], close.as_bytes(), "one part, then the close");
    (kind, rest[..end].to_vec())
}

/// The pixel bytes of frame `n` (1-based) of a native little-endian file the device sent.
pub(crate) fn sent_frame(path: &std::path::Path, n: usize) -> Vec<u8> {
    let obj = dicom_object::open_file(path).expect("the sent file");
    let int = |tag| {
        obj.element(tag)
            .expect("attribute")
            .to_int::<usize>()
            .expect("int")
    };
    let size = int(tags::ROWS)
        * int(tags::COLUMNS)
        * int(tags::SAMPLES_PER_PIXEL)
        * int(tags::BITS_ALLOCATED)
        / 8;
    let all = obj
        .element(tags::PIXEL_DATA)
        .expect("pixels")
        .to_bytes()
        .expect("bytes")
        .into_owned();
    all[(n - 1) * size..n * size].to_vec()
}

/// A station that has received a small demo day (seed `seed`) from DCMTK, every file indexed.
pub(crate) fn station_with_a_day(
    scratch: &Scratch,
    seed: u64,
) -> (Station, Vec<station::demo::DemoFile>) {
    let station = Station::start(scratch.path(), &Options::default());
    let day = demo_day(&scratch.join("day"), Scale::Small, seed);
    let paths: Vec<&std::path::Path> = day.iter().map(|f| f.path.as_path()).collect();
    station.send(&paths);
    wait_for("the day indexed", Duration::from_secs(60), || {
        (station.instances().len() == day.len()).then_some(())
    });
    (station, day)
}

#[test]
fn a_received_study_is_read_over_the_stations_own_dicomweb() {
    let scratch = Scratch::new();
    let (station, day) = station_with_a_day(&scratch, 52);
    let client = Client::new(&station);
    let admin = client.admin();
    let get = |path: &str, token: &str| client.get_bytes_as(token, &format!("/dicom-web{path}"));
    let json_of = |path: &str, token: &str| -> Value {
        let (status, kind, body) = get(path, token);
        assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
        assert_eq!(kind, "application/dicom+json");
        serde_json::from_slice(&body).expect("DICOM JSON")
    };

    // The patient's cine: a multi-frame ultrasound.
    let cine = day
        .iter()
        .find(|f| f.modality == "US" && sent_frames(&f.path) > 1)
        .expect("a cine in the day");
    let study = cine.study_uid.as_str();
    let studies = json_of(&format!("/studies?StudyInstanceUID={study}"), &admin);
    let found = &studies[0];
    assert_eq!(found["0020000D"]["Value"][0], study);
    assert_eq!(
        found["00100010"]["Value"][0]["Alphabetic"],
        cine.patient_name.as_str(),
        "the patient's name as the index decoded it: {found}"
    );
    let patient_id = found["00100020"]["Value"][0]
        .as_str()
        .expect("patient ID")
        .to_owned();
    let of_patient = json_of(&format!("/studies?PatientID={patient_id}"), &admin);
    assert!(of_patient
        .as_array()
        .expect("list")
        .iter()
        .any(|s| s["0020000D"]["Value"][0] == study));

    // The usual QIDO-RS keys: a name with a wildcard, a date range, a modality; no key lists
    // the latest studies.
    let uids = |list: &Value| -> Vec<String> {
        list.as_array()
            .expect("list")
            .iter()
            .map(|s| s["0020000D"]["Value"][0].as_str().expect("uid").to_owned())
            .collect()
    };
    let family = cine
        .patient_name
        .split(['^', '='])
        .next()
        .expect("family name");
    let by_name = json_of(&format!("/studies?PatientName={family}*"), &admin);
    assert!(
        uids(&by_name).contains(&study.to_owned()),
        "{family}*: {by_name}"
    );
    let date = found["00080020"]["Value"][0]
        .as_str()
        .expect("study date")
        .to_owned();
    let by_date = json_of(
        &format!("/studies?StudyDate={date}-&ModalitiesInStudy=US"),
        &admin,
    );
    assert!(uids(&by_date).contains(&study.to_owned()));
    let before = json_of("/studies?StudyDate=-19000101", &admin);
    assert!(uids(&before).is_empty(), "{before}");
    let latest = json_of("/studies?limit=2", &admin);
    assert_eq!(uids(&latest).len(), 2);
    assert_eq!(get("/studies?StudyDate=yesterday", &admin).0, 400);

    let series = json_of(&format!("/studies/{study}/series"), &admin);
    let sent_series: std::collections::BTreeSet<String> = station
        .instances()
        .into_iter()
        .filter(|i| i.study_uid == study)
        .map(|i| i.series_uid)
        .collect();
    let listed: std::collections::BTreeSet<String> = series
        .as_array()
        .expect("series")
        .iter()
        .map(|s| s["0020000E"]["Value"][0].as_str().expect("uid").to_owned())
        .collect();
    assert_eq!(listed, sent_series);

    let cine_series = station
        .instances()
        .into_iter()
        .find(|i| i.sop_instance_uid == cine.sop_instance_uid)
        .expect("indexed")
        .series_uid;
    let instances = json_of(
        &format!("/studies/{study}/series/{cine_series}/instances"),
        &admin,
    );
    assert!(
        instances
            .as_array()
            .expect("instances")
            .iter()
            .any(|i| i["00080018"]["Value"][0] == cine.sop_instance_uid.as_str()),
        "{instances}"
    );
    let metadata = json_of(
        &format!("/studies/{study}/series/{cine_series}/metadata"),
        &admin,
    );
    let meta = metadata
        .as_array()
        .expect("metadata")
        .iter()
        .find(|m| m["00080018"]["Value"][0] == cine.sop_instance_uid.as_str())
        .expect("the cine's metadata");
    assert!(
        meta.get("7FE00010").is_none(),
        "no pixel data in the metadata"
    );
    let frames = sent_frames(&cine.path);
    assert_eq!(
        meta["00280008"]["Value"][0]
            .as_str()
            .map(|s| s.parse::<usize>().ok()),
        Some(Some(frames)),
        "{}",
        meta["00280008"]
    );

    // Frames 1 and the last, byte for byte what the device sent.
    for n in [1, frames] {
        let (status, kind, body) = get(
            &format!(
                "/studies/{study}/series/{cine_series}/instances/{}/frames/{n}",
                cine.sop_instance_uid
            ),
            &admin,
        );
        assert_eq!(status, 200);
        assert!(
            kind.starts_with("multipart/related; type=\"application/octet-stream\""),
            "{kind}"
        );
        let (part, bytes) = single_part(&body);
        assert!(
            part.contains("transfer-syntax=1.2.840.10008.1.2.1"),
            "{part}"
        );
        assert!(
            bytes == sent_frame(&cine.path, n),
            "frame {n} differs from what was sent"
        );
    }
    let (status, _, _) = get(
        &format!(
            "/studies/{study}/series/{cine_series}/instances/{}/frames/{}",
            cine.sop_instance_uid,
            frames + 1
        ),
        &admin,
    );
    assert_eq!(status, 404, "no frame past the last");

    // The whole instance (the viewer reads an ECG so): the stored file.
    let ecg = day.iter().find(|f| f.modality == "ECG").expect("an ECG");
    let ecg_row = station
        .instances()
        .into_iter()
        .find(|i| i.sop_instance_uid == ecg.sop_instance_uid)
        .expect("indexed");
    let (status, kind, body) = get(
        &format!(
            "/studies/{}/series/{}/instances/{}",
            ecg.study_uid, ecg_row.series_uid, ecg.sop_instance_uid
        ),
        &admin,
    );
    assert_eq!(status, 200);
    assert!(
        kind.starts_with("multipart/related; type=\"application/dicom\""),
        "{kind}"
    );
    let (part, bytes) = single_part(&body);
    assert_eq!(part, "application/dicom");
    assert!(
        bytes == std::fs::read(station.data_dir.join(&ecg_row.path)).expect("stored"),
        "the stored file"
    );

    // Behind the login, for those who see patients; unknown studies are a JSON 404.
    let (status, _, _) = client.get_bytes(&format!("/dicom-web/studies/{study}/series"));
    assert_eq!(status, 401);
    let upkeep = client.user(&admin, "center.ops", "maintenance");
    assert_eq!(get(&format!("/studies/{study}/series"), &upkeep).0, 403);
    let doctor = client.user(&admin, "dr.wang", "doctor");
    assert_eq!(get(&format!("/studies/{study}/series"), &doctor).0, 200);
    let (status, _, body) = get("/studies/1.2.3.404/series", &admin);
    assert_eq!(status, 404);
    assert!(String::from_utf8_lossy(&body).contains("not_found"));
    let (status, _, body) = get("/studies/1.2/series/3/rendered", &admin);
    assert_eq!(status, 404, "{}", String::from_utf8_lossy(&body));
    assert!(
        String::from_utf8_lossy(&body).contains("not_found"),
        "a JSON 404, not the UI's page"
    );

    // Who read the patient's images is in the audit trail.
    let reads = crate::harness::api::audit(&client, &admin, json!({ "patient_id": patient_id }));
    assert!(
        reads.iter().any(|e| e["actor"] == "dr.wang"
            && e["action"]
                .as_str()
                .is_some_and(|a| a.starts_with("dicomweb."))),
        "{reads:?}"
    );
}

pub(crate) fn sent_frames(path: &std::path::Path) -> usize {
    dicom_object::open_file(path)
        .expect("the sent file")
        .element(tags::NUMBER_OF_FRAMES)
        .ok()
        .and_then(|e| e.to_int::<usize>().ok())
        .unwrap_or(1)
}

/// The desktop window's viewer runs at `tauri://localhost` and reads the station's HTTP server
/// with a bearer token: the browser asks first (a CORS preflight), and only that origin (and
/// Windows' `http://tauri.localhost`) is let in; any other web page gets no CORS answer.
#[test]
fn the_desktop_windows_origin_may_read_dicomweb_and_no_other() {
    let scratch = Scratch::new();
    let station = Station::start(scratch.path(), &Options::default());
    let admin = Client::new(&station).admin();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let http = reqwest::Client::new();
    let url = format!(
        "http://127.0.0.1:{}/dicom-web/studies?PatientID=P1",
        station.http_port
    );
    let allowed = |r: &reqwest::Response| {
        r.headers()
            .get("access-control-allow-origin")
            .map(|v| v.to_str().unwrap_or("").to_owned())
    };
    for origin in ["tauri://localhost", "http://tauri.localhost"] {
        let preflight = rt
            .block_on(
                http.request(reqwest::Method::OPTIONS, &url)
                    .header("Origin", origin)
                    .header("Access-Control-Request-Method", "GET")
                    .header("Access-Control-Request-Headers", "authorization,accept")
                    .send(),
            )
            .expect("preflight");
        assert!(
            preflight.status().is_success(),
            "{origin}: {}",
            preflight.status()
        );
        assert_eq!(allowed(&preflight).as_deref(), Some(origin));
        let headers = preflight
            .headers()
            .get("access-control-allow-headers")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        assert!(headers.contains("authorization"), "{headers}");
        let read = rt
            .block_on(
                http.get(&url)
                    .header("Origin", origin)
                    .bearer_auth(&admin)
                    .send(),
            )
            .expect("read");
        assert_eq!(read.status(), 200);
        assert_eq!(allowed(&read).as_deref(), Some(origin));
    }
    let elsewhere = rt
        .block_on(
            http.request(reqwest::Method::OPTIONS, &url)
                .header("Origin", "http://some-page.example")
                .header("Access-Control-Request-Method", "GET")
                .header("Access-Control-Request-Headers", "authorization")
                .send(),
        )
        .expect("preflight");
    assert_eq!(allowed(&elsewhere), None, "no other origin");
}

/// A workstation's DICOMweb client that is not ours (Python's dicomweb-client, from PyPI, in
/// the venv scripts/test.sh makes, `STATION_TEST_PYTHON`) searches and retrieves a cine with
/// its token, gets what the device sent, and is refused without one.
#[test]
fn a_third_party_dicomweb_client_reads_the_station_with_a_token_and_not_without() {
    use sha2::{Digest, Sha256};
    let scratch = Scratch::new();
    let (station, day) = station_with_a_day(&scratch, 54);
    let cine = day
        .iter()
        .find(|f| f.modality == "US" && sent_frames(&f.path) > 1)
        .expect("a cine in the day");
    let row = station
        .instances()
        .into_iter()
        .find(|i| i.sop_instance_uid == cine.sop_instance_uid)
        .expect("indexed");
    let client = Client::new(&station);
    let admin = client.admin();
    let python = std::env::var_os("STATION_TEST_PYTHON").unwrap_or_else(|| "python3".into());
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/dicomweb/client.py");
    let output = std::process::Command::new(&python)
        .arg(&script)
        .args([
            format!("http://127.0.0.1:{}", station.http_port).as_str(),
            admin.as_str(),
            cine.study_uid.as_str(),
            row.series_uid.as_str(),
            cine.sop_instance_uid.as_str(),
        ])
        .output()
        .expect("run python (scripts/test.sh makes the venv with dicomweb-client)");
    assert!(
        output.status.success(),
        "dicomweb-client failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let got: Value = serde_json::from_slice(&output.stdout).expect("the client's JSON");
    let sha = |bytes: &[u8]| format!("{:x}", Sha256::digest(bytes));
    assert_eq!(got["studies"], json!([cine.study_uid]));
    assert_eq!(got["patient_name"], cine.patient_name.as_str());
    assert!(got["series"]
        .as_array()
        .expect("series")
        .contains(&json!(row.series_uid)));
    assert!(got["instances"]
        .as_array()
        .expect("instances")
        .contains(&json!(cine.sop_instance_uid)));
    assert!(got["metadata_sops"]
        .as_array()
        .expect("metadata")
        .contains(&json!(cine.sop_instance_uid)));
    assert_eq!(got["metadata_has_pixels"], false);
    assert_eq!(got["instance_sop"], cine.sop_instance_uid.as_str());
    let sent = dicom_object::open_file(&cine.path).expect("sent");
    let sent_pixels = sent
        .element(tags::PIXEL_DATA)
        .expect("pixels")
        .to_bytes()
        .expect("bytes");
    assert_eq!(got["instance_pixels_sha256"], sha(&sent_pixels));
    assert_eq!(
        got["frames_sha256"],
        json!([
            sha(&sent_frame(&cine.path, 1)),
            sha(&sent_frame(&cine.path, 2))
        ])
    );
    assert_eq!(got["rendered_png"], true);
    assert_eq!(got["without_token"], 401);
}
