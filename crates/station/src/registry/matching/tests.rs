use super::*;
use crate::dicom::header::Header;
use crate::store::{insert_instance, NewInstance, Source, Store};

/// Indexes one instance of a study as a device sent it.
fn receive(conn: &mut Connection, study: &str, patient_id: &str, modality: &str, accession: &str) {
    let h = Header {
        transfer_syntax: "1.2.840.10008.1.2.1".into(),
        sop_class_uid: "1.2.840.10008.5.1.4.1.1.1.1".into(),
        sop_instance_uid: format!("{study}.1"),
        study_uid: study.into(),
        series_uid: format!("{study}.9"),
        modality: modality.into(),
        study_date: "20261130".into(),
        accession: accession.into(),
        patient_id: patient_id.into(),
        patient_name: "WRONG^NAME".into(),
        patient_birth_date: "19010101".into(),
        ..Default::default()
    };
    let tx = conn.transaction().expect("tx");
    insert_instance(
        &tx,
        &NewInstance {
            header: &h,
            size: 1,
            sha256: study,
            path: &format!("instances/{study}.dcm"),
            source: &Source::Dicom {
                calling_ae: "DR1".into(),
            },
            review_reason: None,
        },
    )
    .expect("insert");
    tx.commit().expect("commit");
}

fn complete_all(conn: &mut Connection, hold: bool, routes: &[Route]) {
    store::complete_quiet_studies_with(conn, 0, routes, |tx, id| {
        on_complete(
            tx,
            id,
            Holds {
                unmatched: hold,
                mismatch: false,
            },
        )
        .map_err(|e| match e {
            RegistryError::Store(e) => e,
            other => panic!("matching failed: {other}"),
        })
    })
    .expect("complete");
}

fn order(conn: &mut Connection, patient: &str, modality: &str, accession: &str) -> Order {
    orders::add(
        conn,
        "li",
        &NewOrder {
            patient: patient.into(),
            modality: modality.into(),
            scheduled_date: Some("20261130".into()),
            accession: Some(accession.into()),
            ..Default::default()
        },
    )
    .expect("order")
}

fn state_of(conn: &Connection, table: &str, key: &str, value: &str) -> String {
    conn.query_row(
        &format!("SELECT state FROM {table} WHERE {key} = ?1"),
        [value],
        |r| r.get(0),
    )
    .expect("state")
}

#[test]
fn studies_match_by_accession_then_by_patient_modality_and_date_and_the_rest_wait() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("s.db")).expect("open");
    let mut conn = store.lock();
    let wang = patients::add(
        &mut conn,
        "li",
        &NewPatient {
            name: "王^小明".into(),
            clinic_id: Some("P1".into()),
            birth_date: Some("19580312".into()),
            sex: Some("M".into()),
            ..Default::default()
        },
    )
    .expect("patient");
    order(&mut conn, "P1", "DX", "ACC1");
    order(&mut conn, "P1", "US", "ACC2");
    receive(&mut conn, "1.1", "SOMEONE", "DX", "ACC1"); // by accession
    receive(&mut conn, "1.2", "P1", "US", ""); // by patient ID + modality + date
    receive(&mut conn, "1.3", "P1", "ECG", ""); // no ECG order: unmatched
    assert_eq!(mark_started(&conn).expect("started"), 1);
    assert_eq!(
        state_of(&conn, "orders", "accession", "ACC1"),
        "in_progress"
    );
    // Registered without birth date or sex: the device's values stay.
    patients::add(
        &mut conn,
        "li",
        &NewPatient {
            name: "张^伟".into(),
            clinic_id: Some("P2".into()),
            ..Default::default()
        },
    )
    .expect("patient");
    order(&mut conn, "P2", "DX", "ACC3");
    receive(&mut conn, "1.4", "X", "DX", "ACC3");
    let routes = [Route {
        destination: "hub".into(),
        ..Default::default()
    }];
    complete_all(&mut conn, true, &routes);

    for (study, accession) in [("1.1", "ACC1"), ("1.2", "ACC2")] {
        let id: i64 = conn
            .query_row(
                "SELECT id FROM studies WHERE study_uid = ?1",
                [study],
                |r| r.get(0),
            )
            .expect("id");
        let sent = correction::current_values(&conn, id).expect("values");
        assert_eq!(sent["PatientName"], wang.name, "study {study}");
        assert_eq!(sent["PatientID"], "P1");
        assert_eq!(sent["AccessionNumber"], accession);
        assert_eq!(sent["PatientBirthDate"], "19580312");
        assert_eq!(state_of(&conn, "studies", "study_uid", study), "complete");
        assert_eq!(
            state_of(&conn, "orders", "accession", accession),
            "completed"
        );
    }
    let id: i64 = conn
        .query_row("SELECT id FROM studies WHERE study_uid = '1.4'", [], |r| {
            r.get(0)
        })
        .expect("id");
    let sent = correction::current_values(&conn, id).expect("values");
    assert_eq!(
        (
            sent["PatientName"].as_str(),
            sent["PatientBirthDate"].as_str()
        ),
        ("张^伟", "19010101")
    );
    assert_eq!(state_of(&conn, "studies", "study_uid", "1.3"), "unassigned");
    let queued: Vec<String> = conn
        .prepare(
            "SELECT s.study_uid FROM send_queue q JOIN studies s ON s.id = q.study_ref ORDER BY 1",
        )
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(
        queued,
        ["1.1", "1.2", "1.4"],
        "the unmatched study is not queued"
    );
    let waiting = unassigned(&conn).expect("unassigned");
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].study_uid, "1.3");

    // Made into a patient and an order from its own data, then queued.
    let (o, _) =
        assign(&mut conn, "li", "1.3", &Target::FromStudy, &routes, false).expect("assign");
    assert_eq!(o.modality, "ECG");
    let made = patients::by_id(&conn, o.patient_ref)
        .expect("read")
        .expect("patient");
    assert_eq!(made.name, "WRONG^NAME");
    // The study's Patient ID is already another patient's clinic ID: a new one is generated.
    assert_eq!(made.clinic_id, "P000003");
    assert_eq!(state_of(&conn, "studies", "study_uid", "1.3"), "complete");
    let n: i64 = conn
        .query_row("SELECT COUNT(*) FROM send_queue", [], |r| r.get(0))
        .expect("count");
    assert_eq!(n, 4);
    let actions: Vec<String> = audit::list(&conn, &audit::AuditFilter::default())
        .expect("audit")
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(actions.contains(&"study.assign".to_string()), "{actions:?}");
    assert!(actions.contains(&"study.match".to_string()), "{actions:?}");
}

#[test]
fn cr_and_dx_orders_are_interchangeable() {
    assert!(same_modality("DX", "CR"));
    assert!(same_modality("us", "US"));
    assert!(!same_modality("DX", "US"));
}

fn study_id(conn: &Connection, study: &str) -> i64 {
    conn.query_row(
        "SELECT id FROM studies WHERE study_uid = ?1",
        [study],
        |r| r.get(0),
    )
    .expect("study id")
}

fn arriving(conn: &mut Connection, study: &str, hold: bool) -> bool {
    let id = study_id(conn, study);
    let tx = conn.transaction().expect("tx");
    let early = on_arrival(
        &tx,
        id,
        Holds {
            unmatched: hold,
            mismatch: false,
        },
    )
    .expect("on_arrival");
    tx.commit().expect("commit");
    early
}

#[test]
fn an_arriving_study_goes_early_only_when_matching_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("s.db")).expect("open");
    let mut conn = store.lock();
    // Registered exactly as the device writes it (no birth date or sex: the device's stay).
    for (name, clinic_id) in [("WRONG^NAME", "P9"), ("王^小明", "P1")] {
        patients::add(
            &mut conn,
            "li",
            &NewPatient {
                name: name.into(),
                clinic_id: Some(clinic_id.into()),
                ..Default::default()
            },
        )
        .expect("patient");
    }
    order(&mut conn, "P9", "DX", "ACC9");
    order(&mut conn, "P1", "DX", "ACC1");
    receive(&mut conn, "2.1", "P9", "DX", "ACC9"); // its order changes nothing
    receive(&mut conn, "2.2", "P1", "DX", "ACC1"); // its order has another name
    receive(&mut conn, "2.3", "NOBODY", "ECG", ""); // no order

    assert!(arriving(&mut conn, "2.1", true));
    assert_eq!(
        state_of(&conn, "orders", "accession", "ACC9"),
        "in_progress"
    );
    let linked: Option<i64> = conn
        .query_row(
            "SELECT order_ref FROM studies WHERE study_uid = '2.1'",
            [],
            |r| r.get(0),
        )
        .expect("order_ref");
    assert!(linked.is_some(), "linked while arriving");
    assert!(!arriving(&mut conn, "2.2", false), "a correction waits");
    assert!(correction::list(&conn, study_id(&conn, "2.2"))
        .expect("corrections")
        .is_empty());
    assert_eq!(state_of(&conn, "orders", "accession", "ACC1"), "scheduled");
    assert!(!arriving(&mut conn, "2.3", true), "hold_unmatched holds it");
    assert!(arriving(&mut conn, "2.3", false));

    // The unmatched one was sent while arriving; an order for it is registered before it
    // completes, so completion matches it with a correction and it is sent again.
    let routes = [Route {
        destination: "hub".into(),
        ..Default::default()
    }];
    store::queue_study(&conn, study_id(&conn, "2.3"), &routes).expect("queue");
    conn.execute(
        "INSERT INTO send_instances (queue_ref, instance_ref, state, updated_at)
         SELECT q.id, i.id, 'stored', 0 FROM send_queue q, instances i WHERE i.sop_instance_uid = '2.3.1'",
        [],
    )
    .expect("sent");
    patients::add(
        &mut conn,
        "li",
        &NewPatient {
            name: "李^四".into(),
            clinic_id: Some("NOBODY".into()),
            ..Default::default()
        },
    )
    .expect("patient");
    order(&mut conn, "NOBODY", "ECG", "ACC3");
    complete_all(&mut conn, false, &routes);

    for accession in ["ACC9", "ACC1", "ACC3"] {
        assert_eq!(
            state_of(&conn, "orders", "accession", accession),
            "completed"
        );
    }
    let sent = correction::current_values(&conn, study_id(&conn, "2.2")).expect("values");
    assert_eq!(sent["PatientName"], "王^小明", "corrected at completion");
    assert!(correction::list(&conn, study_id(&conn, "2.1"))
        .expect("corrections")
        .is_empty());
    let resend: String = conn
        .query_row("SELECT state FROM send_instances", [], |r| r.get(0))
        .expect("send state");
    assert_eq!(resend, "pending", "the early copy is sent again, corrected");
}

/// Study 3.1 arrives exactly as patient P9's order ACC9 says: it is linked while arriving,
/// queued and one instance sent; then ACC9 is cancelled. Returns the routes it was queued by.
fn linked_early_then_cancelled(conn: &mut Connection) -> [Route; 1] {
    patients::add(
        conn,
        "li",
        &NewPatient {
            name: "WRONG^NAME".into(),
            clinic_id: Some("P9".into()),
            ..Default::default()
        },
    )
    .expect("patient");
    order(conn, "P9", "DX", "ACC9");
    receive(conn, "3.1", "P9", "DX", "ACC9");
    assert!(arriving(conn, "3.1", false), "sent while arriving");
    let routes = [Route {
        destination: "hub".into(),
        ..Default::default()
    }];
    store::queue_study(conn, study_id(conn, "3.1"), &routes).expect("queue");
    conn.execute(
        "INSERT INTO send_instances (queue_ref, instance_ref, state, updated_at)
         SELECT q.id, i.id, 'stored', 0 FROM send_queue q, instances i",
        [],
    )
    .expect("sent");
    orders::cancel(conn, "li", "ACC9").expect("cancel");
    routes
}

fn order_of(conn: &Connection, study: &str) -> Option<String> {
    conn.query_row(
        "SELECT o.accession FROM studies s LEFT JOIN orders o ON o.id = s.order_ref
         WHERE s.study_uid = ?1",
        [study],
        |r| r.get(0),
    )
    .expect("order")
}

fn audited(conn: &Connection, action: &str) -> Vec<String> {
    audit::list(
        conn,
        &audit::AuditFilter {
            action_prefix: Some(action.into()),
            limit: 100,
            ..Default::default()
        },
    )
    .expect("audit")
    .into_iter()
    .map(|e| e.detail)
    .collect()
}

/// The cancelled order is let go at completion, and the study is matched again: here to a
/// second order registered for the same patient, modality and day, whose accession number
/// corrects what was sent early, so it is sent again.
#[test]
fn a_study_linked_early_to_an_order_cancelled_since_is_matched_again_at_completion() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("s.db")).expect("open");
    let mut conn = store.lock();
    let routes = linked_early_then_cancelled(&mut conn);
    order(&mut conn, "P9", "DX", "ACC10");
    complete_all(&mut conn, true, &routes);

    assert_eq!(order_of(&conn, "3.1").as_deref(), Some("ACC10"));
    assert_eq!(state_of(&conn, "orders", "accession", "ACC9"), "cancelled");
    assert_eq!(state_of(&conn, "orders", "accession", "ACC10"), "completed");
    let sent = correction::current_values(&conn, study_id(&conn, "3.1")).expect("values");
    assert_eq!(sent["AccessionNumber"], "ACC10");
    let unlinked = audited(&conn, "study.unlink");
    assert_eq!(unlinked.len(), 1, "{unlinked:?}");
    assert!(unlinked[0].contains("ACC9") && unlinked[0].contains("cancelled"));
    assert_eq!(audited(&conn, "study.match").len(), 2, "early, then again");
    assert_eq!(state_of(&conn, "studies", "study_uid", "3.1"), "complete");
    let resend: String = conn
        .query_row("SELECT state FROM send_instances", [], |r| r.get(0))
        .expect("send state");
    assert_eq!(
        resend, "pending",
        "sent again with the new accession number"
    );
}

/// No other order fits: with `hold_unmatched` the study becomes unassigned like any unmatched
/// one, and nothing more of it goes until a technician assigns it.
#[test]
fn a_study_linked_early_to_an_order_cancelled_since_is_unassigned_when_nothing_else_fits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("s.db")).expect("open");
    let mut conn = store.lock();
    let routes = linked_early_then_cancelled(&mut conn);
    store::complete_quiet_studies_with(&mut conn, 0, &routes, |tx, id| {
        let queue_now = on_complete(
            tx,
            id,
            Holds {
                unmatched: true,
                mismatch: false,
            },
        )
        .expect("on_complete");
        store::queue::on_study_complete(tx, id)?;
        Ok(queue_now)
    })
    .expect("complete");

    assert_eq!(order_of(&conn, "3.1"), None);
    assert_eq!(state_of(&conn, "studies", "study_uid", "3.1"), "unassigned");
    assert_eq!(state_of(&conn, "send_queue", "destination", "hub"), "held");
    assert_eq!(audited(&conn, "study.unlink").len(), 1);
    let waiting = unassigned(&conn).expect("unassigned");
    assert_eq!(waiting.len(), 1);

    // The device sent WRONG^NAME: the technician confirms P9 is the patient all the same.
    let (o, _) = assign(
        &mut conn,
        "li",
        "3.1",
        &Target::NewOrderFor("P9".into()),
        &routes,
        true,
    )
    .expect("assign");
    assert_eq!(order_of(&conn, "3.1"), Some(o.accession));
    assert_eq!(
        state_of(&conn, "send_queue", "destination", "hub"),
        "queued"
    );
    let resend: String = conn
        .query_row("SELECT state FROM send_instances", [], |r| r.get(0))
        .expect("send state");
    assert_eq!(
        resend, "pending",
        "sent again, with the new order's accession"
    );
}
