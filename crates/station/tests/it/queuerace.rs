//! Send-queue races end to end: DCMTK → station → a stalling link → a real Orthanc. A patient
//! corrected while the station's upload of their study is in flight: the hub ends with the
//! corrected instances, even though the uncorrected upload reaches it late.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Duration;

use station::demo::Scale;

use crate::harness::*;

/// The study matches its order without a correction and, once complete, goes in one upload
/// that stalls 8 s on the link; the technician corrects the patient's name during it. The stalled upload (the received name) lands after the correction: the station must
/// not count it, nor let anything overtake it, and must send the corrected copies after it.
#[test]
fn a_patient_corrected_while_their_study_is_uploaded_ends_corrected_at_the_hub() {
    let scratch = Scratch::new();
    let hub = Orthanc::builder()
        .overwrite(true)
        .start(&scratch.join("hub"));
    let proxy = ChaosProxy::start(hub.http_port, vec![Fault::Stall(Duration::from_secs(8))]);
    let station = Station::start(
        scratch.path(),
        &Options {
            poll_reports: Some(false),
            // One upload of the complete study, so exactly one request is in flight.
            send_while_receiving: Some(false),
            ..Options::sending_to(format!("http://127.0.0.1:{}/dicom-web", proxy.port))
        },
    );
    let day = demo_day(&scratch.join("day"), Scale::Small, 71);
    let (paths, demo) = dx_study(&day, "ISO_IR 192", &scratch.join("send"));
    let header = station::dicom::header::read_part10(&demo.path).expect("header");
    station.register(
        &header.patient_id,
        &header.patient_name,
        "DX",
        station::demo::STUDY_DATE,
        &header.accession,
    );
    let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    station.storescu("DR1", &refs).assert_success("storescu");

    wait_for("the first upload stalled on the link", WAIT_TIMEOUT, || {
        let stalled = proxy.faults_used.lock().expect("lock").len() == 1;
        (stalled && station.queue().iter().any(|r| r.state == "sending")).then_some(())
    });
    station.cli(&["patient", "edit", &header.patient_id, "--name", "周^正名"]);
    assert_eq!(
        proxy.finished.load(Ordering::SeqCst),
        0,
        "the correction was made while the upload was in flight"
    );
    let rows = station.queue();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        rows[0].state, "sending",
        "not claimable again while the uncorrected upload is in flight"
    );

    wait_for(
        "the stalled upload answered and the study delivered",
        Duration::from_secs(120),
        || {
            let answered = proxy.finished.load(Ordering::SeqCst) >= 1;
            (answered && wait_delivered_now(&station)).then_some(())
        },
    );
    let rows = station.wait_delivered(1);
    assert_eq!((rows[0].stored, rows[0].instances), (2, 2), "{rows:?}");
    let at_hub = hub.tags();
    assert_eq!(at_hub.len(), 2, "the study, each instance once: {at_hub:?}");
    for tags in &at_hub {
        assert_eq!(tags["StudyInstanceUID"], demo.study_uid.as_str());
        assert_eq!(tags["PatientName"], "周^正名", "the corrected copy: {tags}");
        let items = tags["OriginalAttributesSequence"]
            .as_array()
            .expect("Original Attributes Sequence");
        assert_eq!(items[0]["ReasonForTheAttributeModification"], "CORRECT");
    }
}

/// Whether the station's only queue row is delivered now.
fn wait_delivered_now(station: &Station) -> bool {
    let rows = station.queue();
    rows.len() == 1 && rows[0].state == "delivered"
}
