//! What the station refuses: callers not on the allow list, images when the disk is low, and
//! other users of the PC reading its data directory.

use station::demo::Scale;

use crate::harness::*;

#[test]
fn unknown_caller_is_refused_when_an_allow_list_is_set() {
    let scratch = Scratch::new();
    let mut station = Station::start(
        scratch.path(),
        &Options {
            allowed_callers: vec!["DR1".into()],
            ..Options::default()
        },
    );
    let files = demo_day(&scratch.join("day"), Scale::Small, 4);
    let file = files[0].path.as_path();

    let echo = station.echoscu("INTRUDER");
    assert!(
        !echo.status.success(),
        "echoscu -aet INTRUDER must fail:\n{}",
        echo.log
    );
    assert!(
        echo.log.contains("Calling AE Title Not Recognized"),
        "rejected with the reason 'calling AE title not recognized':\n{}",
        echo.log
    );
    let store = station.storescu("INTRUDER", &[file]);
    assert!(
        !store.status.success(),
        "storescu -aet INTRUDER must fail:\n{}",
        store.log
    );
    assert!(
        store.store_responses().iter().all(|(_, s)| s.is_none()),
        "no store response for a refused caller:\n{}",
        store.log
    );
    assert_eq!(station.instance_count(), 0, "nothing stored from INTRUDER");
    assert!(files_under(&station.data_dir.join("instances")).is_empty());
    station.assert_running();

    station.echoscu("DR1").assert_success("echoscu -aet DR1");
    station
        .storescu("DR1", &[file])
        .assert_success("storescu -aet DR1");
    let rows = station.instances();
    assert_eq!(rows.len(), 1, "the allowed caller's image is stored");
    assert_eq!(rows[0].sop_instance_uid, files[0].sop_instance_uid);
    assert_eq!(rows[0].source, "DR1");
}

#[test]
fn images_are_refused_with_a700_below_the_disk_floor_and_nothing_is_left_behind() {
    let scratch = Scratch::new();
    let mut station = Station::start(
        scratch.path(),
        &Options {
            // About a million terabytes: no test machine has that free.
            min_free_mb: 1 << 40,
            ..Options::default()
        },
    );
    let files = demo_day(&scratch.join("day"), Scale::Small, 5);
    let some: Vec<&std::path::Path> = files.iter().take(3).map(|f| f.path.as_path()).collect();

    // --no-halt: keep trying the next file after a refusal, as a device's retry would.
    let run = run_tool(&mut station.storescu_command_with("DR1", &["--no-halt"], &some));
    let responses = run.store_responses();
    assert_eq!(
        responses.len(),
        3,
        "storescu tried every file:\n{}",
        run.log
    );
    for (file, status) in &responses {
        let status = status
            .as_deref()
            .unwrap_or_else(|| panic!("no response for {}:\n{}", file.display(), run.log));
        assert_ne!(status, "Success", "{} must be refused", file.display());
    }
    let lower = run.log.to_lowercase();
    assert!(
        lower.contains("a700")
            || lower.contains("outofresources")
            || lower.contains("out of resources"),
        "the refusal is status A700 (out of resources):\n{}",
        run.log
    );

    station.assert_running();
    assert_eq!(
        station.instance_count(),
        0,
        "nothing indexed below the floor"
    );
    assert!(
        files_under(&station.data_dir.join("instances")).is_empty(),
        "nothing stored below the floor"
    );
    assert!(
        files_under(&station.data_dir.join("tmp")).is_empty(),
        "nothing left in staging"
    );
    // The station still answers: a device can tell "full" from "down".
    station
        .echoscu("DR1")
        .assert_success("echoscu below the floor");
}

/// A peer that connects and never sends an association request must not hold a listener
/// thread forever: the ARTIM timer (PS3.8 §9.1.5) closes the connection, and others still work.
#[test]
fn a_silent_connection_is_closed_by_the_artim_timer() {
    use std::io::Read;
    use std::time::{Duration, Instant};

    let scratch = Scratch::new();
    let station = Station::start(
        scratch.path(),
        &Options {
            artim_timeout_secs: Some(1),
            ..Options::default()
        },
    );
    let mut silent =
        std::net::TcpStream::connect(("127.0.0.1", station.dicom_port)).expect("connect");
    silent
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("read timeout");
    let started = Instant::now();
    let mut buf = [0u8; 64];
    let closed = match silent.read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    };
    assert!(
        closed,
        "the station must close a connection that sends nothing (waited {:?})",
        started.elapsed()
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "closed after {:?}, long past the 1 s ARTIM timer",
        started.elapsed()
    );
    let echo = station.echoscu("DR1");
    assert!(
        echo.status.success(),
        "echo after the timeout:\n{}",
        echo.log
    );
}

#[cfg(unix)]
#[test]
fn other_users_of_the_pc_cannot_read_the_data_directory_even_one_made_open_before() {
    use std::os::unix::fs::PermissionsExt;
    let scratch = Scratch::new();
    let data = scratch.join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let station = Station::start(scratch.path(), &Options::default());
    assert_eq!(station.data_dir, data);
    let mode = std::fs::metadata(&data)
        .expect("data dir")
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "no access for group or others: {mode:o}");
}
