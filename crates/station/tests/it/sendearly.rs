//! Sending while a study still arrives (`[studies] send_while_receiving`, on by default): DCMTK
//! → station → a real Orthanc. A study that needs no correction is at the hub before it
//! completes, yet delivered only after; one whose order corrects it, or one `hold_unmatched`
//! holds, reaches the hub only after completion (and with the corrected tags).

use std::path::{Path, PathBuf};
use std::time::Duration;

use station::demo::{DemoFile, Scale};

use crate::harness::dcmtk;
use crate::harness::*;

fn station_with(scratch: &Scratch, hub: &Orthanc, quiet_secs: u64, hold: bool) -> Station {
    Station::start(
        scratch.path(),
        &Options {
            quiet_period_secs: Some(quiet_secs),
            hold_unmatched: hold,
            poll_reports: Some(false),
            ..Options::sending_to(hub.dicomweb_url())
        },
    )
}

fn study_state(station: &Station, study_uid: &str) -> Option<String> {
    let conn = station.reader();
    station::store::study_state(&conn, study_uid).expect("study state")
}

/// Whether the station has decided if the study goes while it arrives (`Some(true)`: it does).
fn sent_early(station: &Station, study_uid: &str) -> Option<bool> {
    let conn = station.reader();
    conn.query_row(
        "SELECT send_early FROM studies WHERE study_uid = ?1",
        [study_uid],
        |r| r.get(0),
    )
    .ok()
    .flatten()
}

/// How many times the hub answered for each instance (outcomes recorded per instance): a
/// second answer means it was sent again.
fn send_attempts(station: &Station) -> Vec<i64> {
    let conn = station.reader();
    let mut stmt = conn
        .prepare("SELECT attempts FROM send_instances")
        .expect("prepare");
    let rows = stmt
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<Vec<i64>, _>>()
        .expect("rows");
    rows
}

fn send(station: &Station, files: &[&DemoFile]) {
    let paths: Vec<&Path> = files.iter().map(|f| f.path.as_path()).collect();
    station.storescu("US1", &paths).assert_success("storescu");
}

/// A study whose registered order says exactly what the device sent: with a 30 s quiet period,
/// its instances are at the hub while it is still receiving (and not delivered), including
/// those sent after the first ones were uploaded; once complete it is delivered, and the hub
/// holds each instance once.
#[test]
fn a_study_needing_no_correction_is_at_the_hub_before_it_completes_and_delivered_after() {
    let scratch = Scratch::new();
    let hub = Orthanc::builder()
        .overwrite(true)
        .start(&scratch.join("hub"));
    let station = station_with(&scratch, &hub, 30, false);
    let day = demo_day(&scratch.join("day"), Scale::Small, 61);
    let study: Vec<&DemoFile> = day
        .iter()
        .filter(|f| f.modality == "US" && f.charset == "ISO_IR 192")
        .collect();
    assert_eq!(study.len(), 5, "4 images and a cine");
    let study_uid = study[0].study_uid.clone();
    let header = station::dicom::header::read_part10(&study[0].path).expect("header");
    station.register(
        &header.patient_id,
        &header.patient_name,
        "US",
        station::demo::STUDY_DATE,
        &header.accession,
    );

    let at_hub_while_receiving = |files: &[&DemoFile]| {
        wait_for("the instances at the hub", WAIT_TIMEOUT, || {
            let held = hub.instances();
            files
                .iter()
                .all(|f| held.contains_key(&f.sop_instance_uid))
                .then_some(())
        });
        assert_eq!(
            study_state(&station, &study_uid).as_deref(),
            Some("receiving"),
            "at the hub before the study completes"
        );
        let rows = station.queue();
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_ne!(rows[0].state, "delivered", "not delivered while receiving");
    };
    send(&station, &study[..3]);
    at_hub_while_receiving(&study[..3]);
    // More of the study after the first ones were uploaded: they go too.
    send(&station, &study[3..]);
    at_hub_while_receiving(&study);
    assert_eq!(sent_early(&station, &study_uid), Some(true));

    let rows = station.wait_delivered(1);
    assert_eq!((rows[0].stored, rows[0].instances), (5, 5), "{rows:?}");
    assert_eq!(
        study_state(&station, &study_uid).as_deref(),
        Some("delivered")
    );
    let held = hub.instances();
    assert_eq!(held.len(), 5, "the study, and nothing else");
    for f in &study {
        assert_eq!(
            held.get(&f.sop_instance_uid).map(String::as_str),
            Some(f.patient_name.as_str()),
            "{} at the hub with its name",
            f.sop_instance_uid
        );
    }
    assert_eq!(
        hub.new_instance_events(),
        5,
        "five instances new to the hub"
    );
    assert_eq!(
        send_attempts(&station),
        vec![1; 5],
        "each instance acknowledged once, never sent again"
    );
    // The order is completed with the study.
    station.assert_an_order_completed();
}

/// With `hold_unmatched`: a study whose order corrects the patient's data, and a study that
/// matches no order. Neither reaches the hub while receiving; once complete, the first goes
/// with the corrected tags and the second waits for a person.
#[test]
fn a_study_to_correct_or_to_hold_reaches_the_hub_only_after_completion() {
    let scratch = Scratch::new();
    let hub = Orthanc::builder()
        .overwrite(true)
        .start(&scratch.join("hub"));
    let station = station_with(&scratch, &hub, 6, true);
    station.register("P700", "孙^丽", "DX", station::demo::STUDY_DATE, "ACC700");
    let day = demo_day(&scratch.join("day"), Scale::Small, 62);
    let (to_correct, corrected) = dx_study(&day, "GB18030", &scratch.join("send"));
    for p in &to_correct {
        dcmtk::dcmodify(p, "(0008,0050)=ACC700");
    }
    let (unmatched, held) = dx_study(&day, "ISO_IR 192", &scratch.join("send-unmatched"));
    let both: Vec<PathBuf> = to_correct.iter().chain(&unmatched).cloned().collect();
    let refs: Vec<&Path> = both.iter().map(PathBuf::as_path).collect();
    station.storescu("DR1", &refs).assert_success("storescu");

    // The station looked at both while they arrived, and sends neither yet.
    wait_for("the early decision", WAIT_TIMEOUT, || {
        (sent_early(&station, &corrected.study_uid).is_some()
            && sent_early(&station, &held.study_uid).is_some())
        .then_some(())
    });
    assert_eq!(sent_early(&station, &corrected.study_uid), Some(false));
    assert_eq!(sent_early(&station, &held.study_uid), Some(false));
    wait_for(
        "the corrected study delivered",
        Duration::from_secs(90),
        || {
            // Snapshot first, state after (see the switch-off test): no race with completion.
            let (queued, at_hub) = (station.queue(), hub.instances());
            let receiving =
                study_state(&station, &corrected.study_uid).as_deref() == Some("receiving");
            if receiving {
                assert!(queued.is_empty(), "queued while receiving");
                assert!(at_hub.is_empty(), "at the hub while receiving");
            }
            (study_state(&station, &corrected.study_uid).as_deref() == Some("delivered"))
                .then_some(())
        },
    );
    let at_hub = hub.tags();
    assert_eq!(at_hub.len(), 2, "the corrected study only: {at_hub:?}");
    for tags in &at_hub {
        assert_eq!(tags["StudyInstanceUID"], corrected.study_uid.as_str());
        assert_eq!(tags["PatientName"], "孙^丽", "{tags}");
        assert_eq!(tags["PatientID"], "P700");
    }
    wait_for("the unmatched study held", WAIT_TIMEOUT, || {
        (study_state(&station, &held.study_uid).as_deref() == Some("unassigned")).then_some(())
    });
    assert_eq!(station.queue().len(), 1, "{:?}", station.queue());
    assert_eq!(hub.instances().len(), 2, "nothing of the held study sent");
}

/// `send_while_receiving = false`: back to completion-only sending.
#[test]
fn with_the_switch_off_nothing_goes_before_completion() {
    let scratch = Scratch::new();
    let hub = Orthanc::start(&scratch.join("hub"));
    let station = Station::start(
        scratch.path(),
        &Options {
            quiet_period_secs: Some(5),
            poll_reports: Some(false),
            send_while_receiving: Some(false),
            ..Options::sending_to(hub.dicomweb_url())
        },
    );
    let day = demo_day(&scratch.join("day"), Scale::Small, 63);
    let study: Vec<&DemoFile> = day
        .iter()
        .filter(|f| f.modality == "US" && f.charset == "GB18030")
        .collect();
    assert_eq!(study.len(), 5, "4 images and a cine");
    let study_uid = study[0].study_uid.clone();
    send(&station, &study);
    wait_for("the study delivered", Duration::from_secs(90), || {
        // Queue and hub first, state after: a study still receiving after both reads was
        // receiving during them (it never goes back), so the check cannot race completion.
        let (queued, at_hub) = (station.queue(), hub.instances());
        if study_state(&station, &study_uid).as_deref() == Some("receiving") {
            assert!(queued.is_empty(), "queued while receiving");
            assert!(at_hub.is_empty(), "at the hub while receiving");
        }
        (study_state(&station, &study_uid).as_deref() == Some("delivered")).then_some(())
    });
    assert_eq!(
        sent_early(&station, &study_uid),
        None,
        "never looked at early"
    );
    assert_eq!(hub.instances().len(), 5);
}

/// kill -9 after part of a study was sent while it arrived, then restart and the rest of the
/// study: it completes, is delivered, and the hub holds each instance once.
#[test]
fn kill_9_while_a_study_is_sent_as_it_arrives_then_the_rest_ends_with_each_instance_once() {
    let scratch = Scratch::new();
    let hub = Orthanc::builder()
        .overwrite(true)
        .start(&scratch.join("hub"));
    let mut station = station_with(&scratch, &hub, 8, false);
    let day = demo_day(&scratch.join("day"), Scale::Small, 64);
    let study: Vec<&DemoFile> = day
        .iter()
        .filter(|f| f.modality == "US" && f.charset == "GB18030")
        .collect();
    assert_eq!(study.len(), 5, "4 images and a cine");
    send(&station, &study[..2]);
    // Killed once the station has recorded the first part stored (not between the hub's
    // answer and the record, where a resend is expected and the hub ignores it).
    wait_for("the first part at the hub", WAIT_TIMEOUT, || {
        let held = hub.instances();
        let recorded = station.queue().first().map(|r| r.stored) == Some(2);
        (recorded
            && study[..2]
                .iter()
                .all(|f| held.contains_key(&f.sop_instance_uid)))
        .then_some(())
    });
    assert_eq!(
        study_state(&station, &study[0].study_uid).as_deref(),
        Some("receiving")
    );
    station.kill9();
    station.restart();
    send(&station, &study[2..]);
    let rows = station.wait_delivered(1);
    assert_eq!((rows[0].stored, rows[0].instances), (5, 5), "{rows:?}");
    let held = hub.instances();
    assert_eq!(held.len(), 5);
    assert!(study.iter().all(|f| held.contains_key(&f.sop_instance_uid)));
    assert_eq!(
        hub.new_instance_events(),
        5,
        "five instances new to the hub"
    );
    assert_eq!(
        send_attempts(&station),
        vec![1; 5],
        "each instance acknowledged once, never sent again"
    );
}
