//! A station started in this process, so the test can listen on its event bus: a new report
//! sends `ReportArrived`, a study past its target sends `StudyOverdue`, and a Key Object
//! Selection's images resolve to the instances the clinic's device sent.

use std::time::Duration;

use station::events::Event;
use station::reports::{self, ReportFilter};
use station::store::queue::queue_rows;

use crate::harness::config::fast_report_polling;
use crate::harness::dcmtk;
use crate::harness::fixtures::documents::*;
use crate::harness::*;

#[test]
fn report_and_overdue_events_reach_the_bus_and_key_images_resolve_locally() {
    let scratch = Scratch::new();
    let hub = Orthanc::start(&scratch.join("hub"));
    let station = InProcess::start(
        scratch.path(),
        &Options::sending_to(hub.dicomweb_url()).tweak(fast_report_polling),
    );
    let mut bus = station.events.subscribe();

    let (reported, waiting) = (uid(), uid());
    let device = scratch.join("device");
    std::fs::create_dir_all(&device).expect("device dir");
    let image_sop = image(&device.join("a.dcm"), &reported);
    image(&device.join("b.dcm"), &waiting);
    run_tool(&mut dcmtk::storescu(
        station.dicom_port(),
        "DR1",
        &[],
        &[&device],
    ))
    .assert_success("storescu");
    wait_for("both studies delivered", Duration::from_secs(90), || {
        let rows = queue_rows(&station.store.lock()).ok()?;
        (rows.len() == 2 && rows.iter().all(|r| r.state == "delivered")).then_some(())
    });

    let docs = scratch.join("docs");
    std::fs::create_dir_all(&docs).expect("docs");
    key_objects(&docs.join("ko.dcm"), &reported, &[&image_sop, "2.25.42"]);
    hub.upload(&docs.join("ko.dcm"));
    sr(
        &docs.join("final.dcm"),
        &reported,
        &Sr {
            charset: "ISO_IR 192",
            findings: "未见异常。",
            conclusion: "正常胸片。",
            nodule_mm: "0",
            doctor: "赵^医生",
            is_final: true,
            content_time: "110000",
        },
    );
    hub.upload(&docs.join("final.dcm"));

    let mut seen = Vec::new();
    let mut wait_event = |what: &str, wanted: &dyn Fn(&Event) -> bool| {
        wait_for(what, Duration::from_secs(60), || {
            while let Ok(event) = bus.try_recv() {
                seen.push(event);
            }
            seen.iter().find(|e| wanted(e)).cloned()
        })
    };
    let arrived = wait_event(
        "ReportArrived",
        &|e| matches!(e, Event::ReportArrived { study_uid, is_final: true, .. } if *study_uid == reported),
    );
    let Event::ReportArrived { report_id, .. } = arrived else {
        unreachable!()
    };
    wait_event(
        "the study reported",
        &|e| matches!(e, Event::StudyChanged { study_uid, state } if *study_uid == reported && state == "reported"),
    );

    // Key images: the one the clinic holds resolves to its local instance, the other does not.
    let view = wait_for("the key images recorded", Duration::from_secs(60), || {
        let view = reports::get(&station.store.lock(), report_id, None).ok()?;
        (view.key_images.len() == 2).then_some(view)
    });
    let local = view
        .key_images
        .iter()
        .find(|k| k.sop_instance_uid == image_sop)
        .expect("the DX image is a key image");
    assert!(
        local.instance_id.is_some() && local.path.is_some(),
        "{local:?}"
    );
    let missing = view
        .key_images
        .iter()
        .find(|k| k.sop_instance_uid == "2.25.42")
        .expect("the unknown key image is listed");
    assert_eq!(missing.instance_id, None);
    // The Key Object Selection is not a report of its own in the lists.
    let listed = reports::list(&station.store.lock(), &ReportFilter::default()).expect("list");
    assert_eq!(listed.len(), 1, "{listed:?}");

    // Both targets pass (as if a day went by): only the study without a final report is overdue.
    station
        .store
        .lock()
        .execute("UPDATE report_turnaround SET due_at = 0", [])
        .expect("move the targets into the past");
    wait_event(
        "StudyOverdue",
        &|e| matches!(e, Event::StudyOverdue { study_uid } if *study_uid == waiting),
    );
    assert!(
        !seen
            .iter()
            .any(|e| matches!(e, Event::StudyOverdue { study_uid } if *study_uid == reported)),
        "a study with its final report is not overdue: {seen:?}"
    );
    let overdue = reports::store::turnaround(&station.store.lock(), &waiting)
        .expect("turnaround")
        .expect("row");
    assert!(overdue.overdue);
    station.shutdown();
}
