//! The DICOMweb client (`station::upstream`) against a real Orthanc with its DICOMweb plugin:
//! STOW-RS outcomes per instance, QIDO-RS verification, authentication, TLS, and how failures
//! are classified for retrying. What Orthanc will not do on demand (409, 429, stalls) comes
//! from a scripted fake hub (the harness's `fake_hub`, tests in [`protocol`]); TLS from a socat
//! terminator in front of Orthanc ([`tls`]).

mod protocol;
mod tls;

use std::collections::BTreeSet;
use std::time::Duration;

use station::upstream::oauth2::{ClientCredentials, TokenSource};
use station::upstream::stow::{InstanceOutcome, StowInstance, StowResult};
use station::upstream::{Auth, Hub, HubOptions, UpstreamError};

use crate::harness::fixtures::study::{make_study, sops, stows};
use crate::harness::fixtures::{uid, PATIENT};
use crate::harness::*;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn hub(url: &str) -> Hub {
    Hub::new(url, Auth::None, Duration::from_secs(30)).expect("hub")
}

#[test]
fn stow_stores_every_instance_with_its_chinese_name_and_qido_lists_exactly_them() {
    let scratch = Scratch::new();
    let orthanc = Orthanc::start(&scratch.join("orthanc"));
    let (study, made) = make_study(&scratch.join("study"), 2, 3);
    let hub = hub(&orthanc.dicomweb_url());
    let rt = runtime();

    let result = rt.block_on(hub.stow(&stows(&made))).expect("stow");
    assert_eq!(result.http_status, 200);
    assert_eq!(result.outcomes.len(), 6);
    assert!(
        result
            .outcomes
            .values()
            .all(|o| *o == InstanceOutcome::Stored),
        "{result:?}"
    );

    // Orthanc's own REST API: exactly these instances, the UTF-8 name intact.
    let held = orthanc.instances();
    assert_eq!(held.keys().cloned().collect::<BTreeSet<_>>(), sops(&made));
    assert!(held.values().all(|name| name == PATIENT), "{held:?}");

    assert_eq!(
        rt.block_on(hub.study_instances(&study)).expect("qido"),
        sops(&made)
    );
    let by_series = rt
        .block_on(hub.study_instances_by_series(&study))
        .expect("qido by series");
    assert_eq!(by_series.len(), 2);
    for chunk in made.chunks(3) {
        let series = &chunk[0].series;
        assert_eq!(by_series[series], sops(chunk));
        let listed = rt
            .block_on(hub.series_instances(&study, series))
            .expect("qido series");
        assert_eq!(listed, sops(chunk));
    }
    // Orthanc answers 200 [] for a study it does not have.
    let unknown = rt.block_on(hub.study_instances(&uid())).expect("qido");
    assert!(unknown.is_empty(), "{unknown:?}");
}

/// Orthanc (OverwriteInstances false) ignores a duplicate but lists it in the Referenced SOP
/// Sequence exactly like a new one: no warning, no Failed SOP item, no new `/changes` entry.
/// It counts as stored because the hub holds it, which QIDO-RS confirms.
#[test]
fn a_second_stow_of_the_same_instances_is_listed_as_stored_and_the_hub_holds_each_once() {
    let scratch = Scratch::new();
    let orthanc = Orthanc::start(&scratch.join("orthanc"));
    let (study, made) = make_study(&scratch.join("study"), 1, 3);
    let hub = hub(&orthanc.dicomweb_url());
    let rt = runtime();
    let first = rt.block_on(hub.stow(&stows(&made))).expect("stow");
    assert!(first.all_stored(), "{first:?}");
    assert_eq!(orthanc.new_instance_events(), 3);

    let again = rt.block_on(hub.stow(&stows(&made))).expect("stow again");
    assert_eq!(again.http_status, 200);
    assert!(
        again
            .outcomes
            .values()
            .all(|o| *o == InstanceOutcome::Stored),
        "Orthanc lists duplicates as plainly stored: {again:?}"
    );
    assert_eq!(orthanc.new_instance_events(), 3, "nothing new was stored");
    assert_eq!(orthanc.instances().len(), 3, "each instance held once");
    assert_eq!(
        rt.block_on(hub.study_instances(&study)).expect("qido"),
        sops(&made)
    );
}

/// The notes' Orthanc quirk: a gzip-encoded STOW-RS body gets HTTP 200 with empty Referenced
/// and Failed SOP sequences. Our client never compresses, so the request is made by hand; the
/// answer is read by the client's own response reader.
#[test]
fn a_gzip_encoded_body_is_answered_200_with_nothing_listed_so_nothing_counts_as_stored() {
    use std::io::Write;
    let scratch = Scratch::new();
    let orthanc = Orthanc::start(&scratch.join("orthanc"));
    let (study, made) = make_study(&scratch.join("study"), 1, 1);
    let mut body = b"--b0undary\r\nContent-Type: application/dicom\r\n\r\n".to_vec();
    body.extend(std::fs::read(&made[0].path).expect("read"));
    body.extend(b"\r\n--b0undary--\r\n");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&body).expect("gzip");
    let rt = runtime();
    let (status, text) = rt.block_on(async {
        let response = reqwest::Client::new()
            .post(format!("{}/studies", orthanc.dicomweb_url()))
            .header(
                "Content-Type",
                "multipart/related; type=\"application/dicom\"; boundary=b0undary",
            )
            .header("Content-Encoding", "gzip")
            .header("Accept", "application/dicom+json")
            .body(gz.finish().expect("gzip"))
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .expect("post");
        (
            response.status().as_u16(),
            response.text().await.expect("body"),
        )
    });
    assert_eq!(status, 200, "{text}");
    let result = StowResult::from_response(status, &text, &stows(&made));
    assert_eq!(
        result.outcomes[&made[0].sop],
        InstanceOutcome::NotMentioned,
        "{text}"
    );
    assert!(!result.all_stored());
    assert!(orthanc.instances().is_empty(), "Orthanc stored nothing");
    let held = rt.block_on(hub(&orthanc.dicomweb_url()).study_instances(&study));
    assert!(held.expect("qido").is_empty());
}

/// Orthanc answers 400 to a request with a part it cannot parse, yet stores the good parts and
/// names them in the Referenced SOP Sequence (the bad part, having no UID, is in no list). The
/// client keeps those outcomes; a request with nothing good in it is a permanent 400.
#[test]
fn a_part_that_is_not_dicom_is_rejected_and_the_good_parts_of_its_batch_still_count() {
    let scratch = Scratch::new();
    let orthanc = Orthanc::start(&scratch.join("orthanc"));
    let (_, made) = make_study(&scratch.join("study"), 1, 2);
    let bogus = scratch.join("report.pdf.dcm");
    std::fs::write(&bogus, b"%PDF-1.4 this is not a DICOM file").expect("bogus");
    let bogus = StowInstance {
        path: bogus,
        sop_instance_uid: uid(),
    };
    let hub = hub(&orthanc.dicomweb_url());
    let rt = runtime();

    let mut batch = stows(&made);
    batch.insert(1, bogus.clone());
    let result = rt
        .block_on(hub.stow(&batch))
        .expect("a batch naming stored instances");
    assert_eq!(result.http_status, 400, "{result:?}");
    for m in &made {
        assert_eq!(
            result.outcomes[&m.sop],
            InstanceOutcome::Stored,
            "{result:?}"
        );
    }
    assert_eq!(
        result.outcomes[&bogus.sop_instance_uid],
        InstanceOutcome::NotMentioned
    );
    assert!(!result.all_stored());

    let err = rt
        .block_on(hub.stow(&[bogus]))
        .expect_err("nothing good in it");
    assert!(
        matches!(err, UpstreamError::Permanent { status: 400, .. }),
        "a bad file needs a person, not retries: {err}"
    );
    assert_eq!(
        orthanc.instances().keys().cloned().collect::<BTreeSet<_>>(),
        sops(&made)
    );
}

#[test]
fn qido_pages_through_a_study_larger_than_a_page() {
    let scratch = Scratch::new();
    let orthanc = Orthanc::start(&scratch.join("orthanc"));
    let (study, made) = make_study(&scratch.join("study"), 1, 7);
    let rt = runtime();
    rt.block_on(hub(&orthanc.dicomweb_url()).stow(&stows(&made)))
        .expect("stow");
    let paged = Hub::with_options(
        &orthanc.dicomweb_url(),
        HubOptions {
            qido_page_size: 3,
            ..HubOptions::default()
        },
    )
    .expect("hub");
    assert_eq!(
        rt.block_on(paged.study_instances(&study)).expect("qido"),
        sops(&made)
    );
}

#[test]
fn an_unreachable_hub_is_transient() {
    let scratch = Scratch::new();
    let (study, made) = make_study(&scratch.join("study"), 1, 1);
    let hub = hub(&format!("http://127.0.0.1:{}/dicom-web", free_port()));
    let rt = runtime();
    let err = rt
        .block_on(hub.stow(&stows(&made)))
        .expect_err("nobody listens");
    assert!(err.is_transient(), "{err}");
    assert!(err.to_string().contains("cannot connect"), "{err}");
    let err = rt
        .block_on(hub.study_instances(&study))
        .expect_err("nobody listens");
    assert!(err.is_transient(), "{err}");
}

#[test]
fn a_wrong_base_path_is_permanent() {
    let scratch = Scratch::new();
    let orthanc = Orthanc::start(&scratch.join("orthanc"));
    let (study, made) = make_study(&scratch.join("study"), 1, 1);
    let hub = hub(&format!(
        "http://127.0.0.1:{}/no-such-root",
        orthanc.http_port
    ));
    let rt = runtime();
    let err = rt
        .block_on(hub.stow(&stows(&made)))
        .expect_err("wrong path");
    assert!(
        matches!(err, UpstreamError::Permanent { status: 404, .. }),
        "a wrong URL needs a person, not retries: {err}"
    );
    assert!(
        err.to_string().contains("Unknown resource"),
        "Orthanc's message kept: {err}"
    );
    let err = rt
        .block_on(hub.study_instances(&study))
        .expect_err("wrong path");
    assert!(
        matches!(err, UpstreamError::Permanent { status: 404, .. }),
        "{err}"
    );
}

#[test]
fn basic_auth_reaches_the_hub_and_a_wrong_password_is_permanent() {
    let scratch = Scratch::new();
    let orthanc = Orthanc::builder()
        .user("clinic", "s3cret-pass")
        .start(&scratch.join("orthanc"));
    let (study, made) = make_study(&scratch.join("study"), 1, 2);
    let rt = runtime();
    let with = |password: &str| {
        let auth = Auth::Basic {
            user: "clinic".into(),
            password: password.into(),
        };
        Hub::new(&orthanc.dicomweb_url(), auth, Duration::from_secs(30)).expect("hub")
    };
    let err = rt
        .block_on(with("wrong").stow(&stows(&made)))
        .expect_err("refused");
    assert!(
        matches!(err, UpstreamError::Permanent { status: 401, .. }),
        "{err}"
    );
    assert!(!err.to_string().contains("wrong"), "{err}");
    let err = rt.block_on(hub(&orthanc.dicomweb_url()).study_instances(&study));
    assert!(
        matches!(err, Err(UpstreamError::Permanent { status: 401, .. })),
        "{err:?}"
    );

    let good = with("s3cret-pass");
    assert!(rt
        .block_on(good.stow(&stows(&made)))
        .expect("stow")
        .all_stored());
    assert_eq!(
        rt.block_on(good.study_instances(&study)).expect("qido"),
        sops(&made)
    );
}
