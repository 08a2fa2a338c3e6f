//! Receiving from devices over DICOM: C-ECHO, one client sending a whole clinic day, four at once.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Stdio;

use station::demo::Scale;

use crate::harness::dcmtk;
use crate::harness::*;

#[test]
fn echo_then_one_client_sends_the_day_and_every_dataset_arrives_intact() {
    let scratch = Scratch::new();
    let station = Station::start(scratch.path(), &Options::default());

    let echo = station.echoscu("DR1");
    echo.assert_success("echoscu");
    assert!(
        echo.log.contains("Received Echo Response (Success)"),
        "echo response:\n{}",
        echo.log
    );

    let day = scratch.join("day");
    let files = demo_day(&day, Scale::Small, 1);
    let sent = station.storescu("DR1", &[&day]);
    sent.assert_success("storescu of the demo day");
    let responses = sent.store_responses();
    assert_eq!(
        responses.len(),
        40,
        "storescu sent every file:\n{}",
        sent.log
    );
    for (file, status) in &responses {
        assert_eq!(
            status.as_deref(),
            Some("Success"),
            "response for {}",
            file.display()
        );
    }

    // Success is only sent after the row is committed: no waiting needed.
    let rows = assert_index_matches_files(&station.data_dir);
    assert_eq!(rows.len(), 40, "index rows after one client sent the day");
    let demo = by_sop(&files);
    for row in &rows {
        let sent_file = demo
            .get(&row.sop_instance_uid)
            .unwrap_or_else(|| panic!("indexed an instance nobody sent: {}", row.sop_instance_uid));
        assert_same_dataset(&sent_file.path, &station.data_dir.join(&row.path));
        assert_eq!(
            row.patient_name, sent_file.patient_name,
            "patient name of {}",
            row.sop_instance_uid
        );
        assert_eq!(row.study_uid, sent_file.study_uid);
        assert_eq!(row.modality, sent_file.modality);
        assert_eq!(row.source_kind, "dicom");
        assert_eq!(row.source, "DR1", "calling AE recorded as the source");
        assert_eq!(row.review_reason, None, "nothing to review in a clean day");
        assert!(
            row.path
                .starts_with(&format!("instances/{}/{}/", row.study_uid, row.series_uid)),
            "stored at {}",
            row.path
        );
    }
    assert!(
        files_under(&station.data_dir.join("tmp")).is_empty(),
        "staging is empty once every store is acknowledged"
    );
}

#[test]
fn four_clients_at_once_deliver_every_instance_exactly_once() {
    let scratch = Scratch::new();
    let station = Station::start(scratch.path(), &Options::default());
    let files = demo_day(&scratch.join("day"), Scale::Small, 2);

    let mut clients = Vec::new();
    for (n, ae) in ["DR1", "US1", "ECG1", "DR2"].iter().enumerate() {
        let chunk: Vec<&Path> = files
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 4 == n)
            .map(|(_, f)| f.path.as_path())
            .collect();
        let log = scratch.join(format!("storescu-{n}.log"));
        let child = station
            .storescu_command(ae, &chunk)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("starting storescu");
        clients.push((ae, chunk.len(), child, log));
    }
    for (ae, count, mut child, log) in clients {
        let status = wait_child(&mut child, "storescu", WAIT_TIMEOUT);
        let log = std::fs::read_to_string(&log).unwrap();
        assert!(status.success(), "storescu {ae} failed ({status}):\n{log}");
        let responses = store_responses(&log);
        assert_eq!(
            responses.len(),
            count,
            "storescu {ae} sent its share:\n{log}"
        );
        assert!(
            responses
                .iter()
                .all(|(_, s)| s.as_deref() == Some("Success")),
            "storescu {ae} responses:\n{log}"
        );
    }

    let rows = assert_index_matches_files(&station.data_dir);
    assert_eq!(rows.len(), 40, "index rows after four clients");
    let indexed: BTreeSet<&str> = rows.iter().map(|r| r.sop_instance_uid.as_str()).collect();
    assert_eq!(indexed.len(), 40, "no instance is indexed twice");
    let demo = by_sop(&files);
    for row in &rows {
        let sent = demo
            .get(&row.sop_instance_uid)
            .unwrap_or_else(|| panic!("indexed an instance nobody sent: {}", row.sop_instance_uid));
        assert_same_dataset(&sent.path, &station.data_dir.join(&row.path));
        assert_eq!(row.review_reason, None);
    }
    let status = station.status_counts();
    assert_eq!(status.instances, 40);
    assert_eq!(status.instances_for_review, 0);
}

#[test]
fn every_common_transfer_syntax_is_accepted_and_stored_as_sent() {
    let scratch = Scratch::new();
    let station = Station::start(scratch.path(), &Options::default());
    let files = demo_day(&scratch.join("day"), Scale::Small, 9);
    let pick = |modality: &str, nth: usize| {
        files
            .iter()
            .filter(|f| f.modality == modality)
            .nth(nth)
            .unwrap_or_else(|| panic!("{modality} #{nth} in the demo day"))
    };
    let out = scratch.join("converted");
    std::fs::create_dir_all(&out).unwrap();
    // (tool, option, source, expected transfer syntax UID, storescu option proposing it)
    let conversions = [
        ("dcmconv", "+ti", pick("ECG", 0), "1.2.840.10008.1.2", "-xi"),
        (
            "dcmconv",
            "+tb",
            pick("DX", 0),
            "1.2.840.10008.1.2.2",
            "-xb",
        ),
        (
            "dcmconv",
            "+td",
            pick("US", 0),
            "1.2.840.10008.1.2.1.99",
            "-xd",
        ),
        (
            "dcmcjpeg",
            "+eb",
            pick("US", 1),
            "1.2.840.10008.1.2.4.50",
            "-xy",
        ),
        (
            "dcmcjpeg",
            "+ee",
            pick("DX", 1),
            "1.2.840.10008.1.2.4.51",
            "-xx",
        ),
        (
            "dcmcjpeg",
            "+e1",
            pick("DX", 2),
            "1.2.840.10008.1.2.4.70",
            "-xs",
        ),
        (
            "dcmcjpls",
            "+el",
            pick("US", 2),
            "1.2.840.10008.1.2.4.80",
            "-xt",
        ),
        ("dcmcrle", "", pick("US", 3), "1.2.840.10008.1.2.5", "-xr"),
    ];
    let mut converted = Vec::new();
    for (i, (tool, option, src, ts, propose)) in conversions.iter().enumerate() {
        let dest = out.join(format!("{i}-{tool}.dcm"));
        dcmtk::convert(tool, option, &src.path, &dest);
        assert_eq!(&read_part10(&dest).transfer_syntax, ts, "{tool} {option}");
        // The device proposes its file's transfer syntax first, as storescu does with -x…
        let run = run_tool(&mut station.storescu_command_with("DR1", &[propose], &[&dest]));
        run.assert_success(&format!("storescu {propose} of a {ts} file"));
        assert_eq!(
            run.store_responses().first().and_then(|r| r.1.as_deref()),
            Some("Success"),
            "{}",
            run.log
        );
        converted.push((dest, *src, *ts));
    }

    let rows = station.instances();
    assert_eq!(rows.len(), converted.len());
    for (dest, src, ts) in &converted {
        // Lossy JPEG gets a new SOP Instance UID from dcmcjpeg, as it should.
        let sop = read_part10(dest).sop_instance_uid;
        let row = rows
            .iter()
            .find(|r| r.sop_instance_uid == sop)
            .unwrap_or_else(|| panic!("{} was not indexed", dest.display()));
        assert_eq!(
            &row.transfer_syntax, ts,
            "index records the transfer syntax as sent"
        );
        assert_eq!(
            row.patient_name, src.patient_name,
            "name read from a {ts} dataset"
        );
        assert_same_dataset(dest, &station.data_dir.join(&row.path));
    }
}

/// Every file and folder a station made under its data directory is its user's only.
#[cfg(unix)]
#[test]
fn what_the_station_stores_is_readable_by_its_user_only() {
    use std::os::unix::fs::PermissionsExt;
    let scratch = Scratch::new();
    let station = Station::start(scratch.path(), &Options::default());
    let day = demo_day(&scratch.join("day"), Scale::Small, 31);
    let paths: Vec<&Path> = day.iter().map(|f| f.path.as_path()).collect();
    station.send(&paths);
    let rows = wait_for("the day indexed", WAIT_TIMEOUT, || {
        let rows = station.instances();
        (rows.len() == day.len()).then_some(rows)
    });
    // A preview, so `previews/` is written too.
    let client = Client::new(&station);
    let admin = client.admin();
    let image = rows
        .iter()
        .find(|r| r.modality == "DX")
        .expect("a radiograph");
    let (status, _, _) = client.get_bytes_as(
        &admin,
        &format!("/api/preview/{}.png", image.sop_instance_uid),
    );
    assert_eq!(status, 200);
    let mut seen = 0;
    for entry in walkdir::WalkDir::new(&station.data_dir) {
        let entry = entry.expect("walking the data directory");
        let mode = entry.metadata().expect("metadata").permissions().mode();
        assert_eq!(
            mode & 0o077,
            0,
            "{} is open to others ({:o})",
            entry.path().display(),
            mode & 0o777
        );
        seen += 1;
    }
    assert!(
        seen > day.len(),
        "the instances, the index and the previews were looked at"
    );
}
