//! The DICOMweb client against a real Orthanc: STOW-RS outcomes per instance, QIDO-RS
//! verification, and how failures are classified for retrying.

use std::time::Duration;

use station::demo::Scale;
use station::upstream::stow::{InstanceOutcome, StowInstance};
use station::upstream::{Auth, Hub, UpstreamError};

use crate::harness::*;
use crate::orthanc::Orthanc;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn stow_stores_every_instance_and_qido_lists_exactly_them() {
    let scratch = Scratch::new();
    let hub_side = Orthanc::start(&scratch.join("orthanc"));
    let day = demo_day(&scratch.join("day"), Scale::Small, 11);
    // Patient 1 (UTF-8), all three of their studies.
    let patient = day[0].patient_name.clone();
    let sent: Vec<_> = day.iter().filter(|f| f.patient_name == patient).collect();
    assert_eq!(sent.len(), 8);
    let instances: Vec<StowInstance> = sent
        .iter()
        .map(|f| StowInstance {
            path: f.path.clone(),
            sop_instance_uid: f.sop_instance_uid.clone(),
        })
        .collect();
    let hub = Hub::new(
        &hub_side.dicomweb_url(),
        Auth::None,
        Duration::from_secs(30),
    )
    .expect("hub");
    let rt = runtime();

    let result = rt.block_on(hub.stow(&instances)).expect("stow");
    assert!(
        result.all_stored(),
        "every instance reported stored: {result:?}"
    );
    assert_eq!(result.outcomes.len(), 8);

    let held = hub_side.instances();
    for f in &sent {
        assert_eq!(
            held.get(&f.sop_instance_uid).map(String::as_str),
            Some(patient.as_str()),
            "Orthanc holds {} with the patient's name",
            f.sop_instance_uid
        );
    }
    for f in &sent {
        let listed = rt
            .block_on(hub.study_instances(&f.study_uid))
            .expect("qido");
        let expected: std::collections::BTreeSet<String> = sent
            .iter()
            .filter(|g| g.study_uid == f.study_uid)
            .map(|g| g.sop_instance_uid.clone())
            .collect();
        assert_eq!(listed, expected, "QIDO lists exactly the study's instances");
    }
    let unknown = rt
        .block_on(hub.study_instances("1.2.3.4.5.6.7.8.9"))
        .expect("qido");
    assert!(
        unknown.is_empty(),
        "a study the hub never got has no instances: {unknown:?}"
    );

    // Sending the same instances again is harmless and still reported as stored.
    let again = rt.block_on(hub.stow(&instances)).expect("stow again");
    assert!(
        again.all_stored(),
        "re-sent instances reported stored: {again:?}"
    );
    assert_eq!(hub_side.instances().len(), 8, "no instance stored twice");
}

#[test]
fn a_body_that_is_not_dicom_is_answered_but_nothing_counts_as_stored() {
    let scratch = Scratch::new();
    let hub_side = Orthanc::start(&scratch.join("orthanc"));
    let bogus = scratch.join("not-dicom.dcm");
    std::fs::write(&bogus, b"%PDF-1.4 this is not a DICOM file").expect("bogus");
    let hub = Hub::new(
        &hub_side.dicomweb_url(),
        Auth::None,
        Duration::from_secs(30),
    )
    .expect("hub");
    let result = runtime().block_on(hub.stow(&[StowInstance {
        path: bogus,
        sop_instance_uid: "1.2.3.999".into(),
    }]));
    match result {
        Ok(r) => {
            assert!(!r.all_stored(), "{r:?}");
            assert_ne!(r.outcomes["1.2.3.999"], InstanceOutcome::Stored);
        }
        // Orthanc may also refuse the whole request; then it must not be retried blindly.
        Err(e) => assert!(!e.is_transient(), "a bad body is not a link problem: {e}"),
    }
    assert!(hub_side.instances().is_empty(), "Orthanc stored nothing");
}

#[test]
fn an_unreachable_hub_is_transient_and_a_wrong_path_is_permanent() {
    let scratch = Scratch::new();
    let day = demo_day(&scratch.join("day"), Scale::Small, 12);
    let one = [StowInstance {
        path: day[0].path.clone(),
        sop_instance_uid: day[0].sop_instance_uid.clone(),
    }];
    let rt = runtime();

    let nobody = format!("http://127.0.0.1:{}/dicom-web", free_port());
    let hub = Hub::new(&nobody, Auth::None, Duration::from_secs(10)).expect("hub");
    let err = rt.block_on(hub.stow(&one)).expect_err("nobody listens");
    assert!(err.is_transient(), "{err}");
    let err = rt
        .block_on(hub.study_instances("1.2.3"))
        .expect_err("nobody listens");
    assert!(err.is_transient(), "{err}");

    let hub_side = Orthanc::start(&scratch.join("orthanc"));
    let wrong = format!("http://127.0.0.1:{}/no-such-root", hub_side.http_port);
    let hub = Hub::new(&wrong, Auth::None, Duration::from_secs(10)).expect("hub");
    let err = rt.block_on(hub.stow(&one)).expect_err("wrong path");
    assert!(
        matches!(err, UpstreamError::Permanent { status: 404, .. }),
        "a wrong URL needs a person, not retries: {err}"
    );
}

#[test]
fn credentials_never_appear_in_debug_output() {
    let auth = Auth::Basic {
        user: "clinic".into(),
        password: "s3cret-pass".into(),
    };
    let hub = Hub::new("http://127.0.0.1:1/dicom-web", auth, Duration::from_secs(1)).expect("hub");
    let shown = format!("{hub:?}");
    assert!(!shown.contains("s3cret-pass"), "{shown}");
    let bearer = format!("{:?}", Auth::Bearer("tok-123456".into()));
    assert!(!bearer.contains("tok-123456"), "{bearer}");
}
