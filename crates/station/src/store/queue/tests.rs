use super::*;
use crate::store::tests::header;
use crate::store::{insert_instance, queue_study, NewInstance, Route, Source, Store};

/// Indexes instance `sop` of study 1.2.3 as a device sent it; returns its id.
fn receive(conn: &mut Connection, sop: &str) -> i64 {
    let h = header(sop);
    let tx = conn.transaction().expect("tx");
    let id = insert_instance(
        &tx,
        &NewInstance {
            header: &h,
            size: 10,
            sha256: sop,
            path: &format!("instances/{sop}.dcm"),
            source: &Source::Dicom {
                calling_ae: "DR1".into(),
            },
            review_reason: None,
        },
    )
    .expect("insert");
    tx.commit().expect("commit");
    id
}

/// A store holding study 1.2.3 (one instance, #1, still receiving) queued for "hub".
fn store_with_a_queued_study() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("s.db")).expect("open");
    {
        let mut conn = store.lock();
        receive(&mut conn, "1.2.3.4.1");
        let routes = [Route {
            destination: "hub".into(),
            ..Default::default()
        }];
        queue_study(&conn, 1, &routes).expect("queue while receiving");
    }
    (dir, store)
}

/// Claims the row and records every pending instance stored; returns the claim and their SOP
/// UIDs.
fn send_all(conn: &Connection) -> Option<(Claim, Vec<String>)> {
    let claim = claim_next(conn, "hub").expect("claim")?;
    let sops = record_all(conn, &claim);
    Some((claim, sops))
}

/// Records every pending instance of the claim's row stored (as the hub's answer to a send of
/// them would); returns their SOP UIDs.
fn record_all(conn: &Connection, claim: &Claim) -> Vec<String> {
    let pending = pending_instances(conn, claim.queue_id).expect("pending");
    for p in &pending {
        record_instance(conn, claim, p.instance_id, Ok(())).expect("record");
    }
    pending.into_iter().map(|p| p.sop_instance_uid).collect()
}

fn row_state(conn: &Connection) -> String {
    conn.query_row("SELECT state FROM send_queue", [], |r| r.get(0))
        .expect("row")
}

#[test]
fn a_study_sent_while_arriving_is_due_only_with_new_instances_and_delivered_only_complete() {
    let (_dir, store) = store_with_a_queued_study();
    let mut conn = store.lock();

    let (q, sent) = send_all(&conn).expect("due: one instance not sent");
    assert_eq!(sent, ["1.2.3.4.1"]);
    assert!(study_receiving(&conn, q.queue_id).expect("state"));
    release(&conn, &q).expect("release");
    assert!(
        claim_next(&conn, "hub").expect("claim").is_none(),
        "everything that arrived is at the hub: not due while the study arrives"
    );
    receive(&mut conn, "1.2.3.4.2");
    let (q, sent) = send_all(&conn).expect("due again: a new instance");
    assert_eq!(sent, ["1.2.3.4.2"]);
    release(&conn, &q).expect("release");
    assert!(claim_next(&conn, "hub").expect("claim").is_none());

    // Complete: due, to be verified. An instance arriving after the claim keeps it due.
    conn.execute("UPDATE studies SET state = 'complete'", [])
        .expect("complete");
    let claim = claim_next(&conn, "hub")
        .expect("claim")
        .expect("due to verify");
    receive(&mut conn, "1.2.3.4.3");
    mark_delivered(&conn, &claim).expect("mark");
    assert_eq!(
        row_state(&conn),
        "queued",
        "the late instance is not delivered yet"
    );
    let (claim, sent) = send_all(&conn).expect("due: the late instance");
    assert_eq!(sent, ["1.2.3.4.3"]);
    mark_delivered(&conn, &claim).expect("mark");
    assert_eq!(row_state(&conn), "delivered");
    let study: String = conn
        .query_row("SELECT state FROM studies", [], |r| r.get(0))
        .expect("study");
    assert_eq!(study, "delivered");
}

#[test]
fn a_hold_while_arriving_keeps_receiving_and_shows_once_complete() {
    let (_dir, store) = store_with_a_queued_study();
    let conn = store.lock();
    assert_eq!(act(&conn, "1.2.3", Action::Hold).expect("hold"), 1);
    assert_eq!(row_state(&conn), "held");
    let study = |conn: &Connection| -> String {
        conn.query_row("SELECT state FROM studies", [], |r| r.get(0))
            .expect("study")
    };
    assert_eq!(study(&conn), "receiving", "it still completes by itself");
    assert!(claim_next(&conn, "hub").expect("claim").is_none());
    conn.execute("UPDATE studies SET state = 'complete'", [])
        .expect("complete");
    on_study_complete(&conn, 1).expect("complete");
    assert_eq!(study(&conn), "held");
}

#[test]
fn an_instance_of_a_corrected_study_waits_for_its_corrected_copy() {
    let (_dir, store) = store_with_a_queued_study();
    let conn = store.lock();
    let id = 1;
    let q: i64 = conn
        .query_row("SELECT id FROM send_queue", [], |r| r.get(0))
        .expect("row");
    conn.execute(
        "INSERT INTO study_corrections (study_ref, at, actor, reason, attributes)
         VALUES (1, 0, 'li', 'CORRECT', '{\"PatientName\":\"王^大明\"}')",
        [],
    )
    .expect("correction");
    assert!(
        pending_instances(&conn, q).expect("pending").is_empty(),
        "the received file is not sent for a corrected study"
    );
    conn.execute(
        "UPDATE instances SET send_path = 'derived/x.dcm', send_size = 11,
                send_correction = (SELECT MAX(id) FROM study_corrections) WHERE id = ?1",
        [id],
    )
    .expect("copy made");
    let pending = pending_instances(&conn, q).expect("pending");
    assert_eq!(pending.len(), 1);
    assert_eq!(
        (pending[0].path.as_str(), pending[0].size),
        ("derived/x.dcm", 11)
    );
}

fn study_state(conn: &Connection) -> String {
    conn.query_row("SELECT state FROM studies", [], |r| r.get(0))
        .expect("study")
}

fn instance_states(conn: &Connection) -> Vec<String> {
    conn.prepare("SELECT state FROM send_instances ORDER BY instance_ref")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

/// A technician corrects the patient's name of study 1.2.3 (what `registry::matching` does on
/// a patient edit): a correction row, and the study queued again.
fn correct(conn: &Connection) {
    conn.execute(
        "INSERT INTO study_corrections (study_ref, at, actor, reason, attributes)
         VALUES (1, 0, 'li', 'CORRECT', '{\"PatientName\":\"王^大明\"}')",
        [],
    )
    .expect("correction");
    requeue_corrected(conn, 1).expect("requeue");
}

/// The corrected copies are written (what `registry::correction::prepare` records).
fn copies_made(conn: &Connection) {
    conn.execute(
        "UPDATE instances SET send_path = 'derived/' || sop_instance_uid || '.dcm',
                send_correction = (SELECT MAX(id) FROM study_corrections)",
        [],
    )
    .expect("copies");
}

/// Study 1.2.3 completes and a worker claims it: returns the claim and what it sends.
fn complete_and_claim(conn: &Connection) -> (Claim, Vec<PendingInstance>) {
    conn.execute("UPDATE studies SET state = 'complete'", [])
        .expect("complete");
    let claim = claim_next(conn, "hub").expect("claim").expect("due");
    let pending = pending_instances(conn, claim.queue_id).expect("pending");
    (claim, pending)
}

/// Claim, then a correction, then the stale claim's answer: the row is not claimable while the
/// uncorrected send is in flight, the stale answer records nothing and delivers nothing, and
/// once it ended the row is due at once and the next claim sends the corrected copy.
#[test]
fn a_correction_during_a_send_supersedes_the_claim_and_the_corrected_copy_goes_after() {
    let (_dir, store) = store_with_a_queued_study();
    let conn = store.lock();
    let (stale, in_flight) = complete_and_claim(&conn);
    assert_eq!(
        in_flight[0].path, "instances/1.2.3.4.1.dcm",
        "the received file"
    );

    correct(&conn);
    assert_eq!(row_state(&conn), "sending", "still the stale worker's");
    assert!(
        claim_next(&conn, "hub").expect("claim").is_none(),
        "no second worker while the uncorrected copy is in flight"
    );
    assert!(!claim_current(&conn, &stale).expect("current"));
    // The hub answers the uncorrected send: nothing recorded, nothing delivered.
    assert!(!record_instance(&conn, &stale, in_flight[0].instance_id, Ok(())).expect("record"));
    assert_eq!(instance_states(&conn), ["pending"]);
    mark_missing(&conn, &stale, &BTreeSet::new()).expect("missing");
    mark_delivered(&conn, &stale).expect("delivered");
    assert_eq!(
        row_state(&conn),
        "queued",
        "due at once for the corrected copy"
    );
    assert_ne!(study_state(&conn), "delivered");

    let next = claim_next(&conn, "hub").expect("claim").expect("due again");
    assert!(next.token > stale.token);
    assert!(
        pending_instances(&conn, next.queue_id)
            .expect("pending")
            .is_empty(),
        "not the received file again"
    );
    copies_made(&conn);
    // The stale worker's other outcomes cannot end the new claim either.
    mark_failed(&conn, &stale, "late failure").expect("failed");
    mark_retry(&conn, &stale, "late retry", 0).expect("retry");
    release(&conn, &stale).expect("release");
    assert_eq!(row_state(&conn), "sending", "the new claim's");
    let sent = record_all(&conn, &next);
    assert_eq!(sent, ["1.2.3.4.1"]);
    let path: String = conn
        .query_row("SELECT send_path FROM instances", [], |r| r.get(0))
        .expect("path");
    assert_eq!(path, "derived/1.2.3.4.1.dcm");
    mark_delivered(&conn, &next).expect("delivered");
    assert_eq!(row_state(&conn), "delivered");
    assert_eq!(study_state(&conn), "delivered");
}

/// Each stale outcome after a correction leaves the row due at once, without a failure or an
/// attempt counted against it.
#[test]
fn a_superseded_failure_or_retry_makes_the_row_due_not_failed() {
    for outcome in ["failed", "retry"] {
        let (_dir, store) = store_with_a_queued_study();
        let conn = store.lock();
        let (stale, _) = complete_and_claim(&conn);
        correct(&conn);
        match outcome {
            "failed" => mark_failed(&conn, &stale, "refused").expect("failed"),
            _ => mark_retry(&conn, &stale, "timeout", i64::MAX).expect("retry"),
        }
        let (state, attempts, error, next): (String, i64, Option<String>, Option<i64>) = conn
            .query_row(
                "SELECT state, attempts, last_error, next_attempt_at FROM send_queue",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .expect("row");
        assert_eq!(
            (state.as_str(), attempts, error, next),
            ("queued", 0, None, None),
            "after a stale {outcome}"
        );
        assert_ne!(study_state(&conn), "failed");
    }
}

/// A person holds a study while it is sent: the instances the hub acknowledged count as
/// stored, and neither a failure nor a delivery undoes the hold; once released it is
/// verified and delivered without sending them again.
#[test]
fn a_hold_during_a_send_survives_its_outcome_and_keeps_what_the_hub_stored() {
    let (_dir, store) = store_with_a_queued_study();
    let mut conn = store.lock();
    receive(&mut conn, "1.2.3.4.2");
    let (claim, pending) = complete_and_claim(&conn);
    assert_eq!(act(&conn, "1.2.3", Action::Hold).expect("hold"), 1);
    assert!(record_instance(&conn, &claim, pending[0].instance_id, Ok(())).expect("record"));
    assert!(record_instance(
        &conn,
        &claim,
        pending[1].instance_id,
        Err("hub refused the instance")
    )
    .expect("record"));
    mark_failed(&conn, &claim, "1 instance(s) refused by the hub").expect("failed");
    assert_eq!(row_state(&conn), "held", "the hold survives the failure");
    assert_eq!(study_state(&conn), "held");
    assert_eq!(instance_states(&conn), ["stored", "failed"]);
    mark_delivered(&conn, &claim).expect("delivered");
    assert_eq!(row_state(&conn), "held", "the hold survives a delivery");

    assert_eq!(act(&conn, "1.2.3", Action::Release).expect("release"), 1);
    let next = claim_next(&conn, "hub").expect("claim").expect("due");
    assert!(
        pending_instances(&conn, next.queue_id)
            .expect("pending")
            .is_empty(),
        "what the hub stored is not sent again"
    );
}

/// Held during a send, corrected, released before the send is answered: the row is not
/// claimed again until that (uncorrected) send ended, then the corrected copy goes.
#[test]
fn a_row_held_and_released_during_a_send_waits_for_that_send_to_end() {
    let (_dir, store) = store_with_a_queued_study();
    let conn = store.lock();
    let (first, in_flight) = complete_and_claim(&conn);
    act(&conn, "1.2.3", Action::Hold).expect("hold");
    correct(&conn);
    act(&conn, "1.2.3", Action::Release).expect("release");
    assert_eq!(row_state(&conn), "queued");
    assert!(
        claim_next(&conn, "hub").expect("claim").is_none(),
        "the first send is still in flight"
    );
    assert!(!record_instance(&conn, &first, in_flight[0].instance_id, Ok(())).expect("record"));
    mark_delivered(&conn, &first).expect("delivered");
    assert_eq!(
        row_state(&conn),
        "queued",
        "still due for the corrected copy"
    );
    let next = claim_next(&conn, "hub").expect("claim").expect("due now");
    copies_made(&conn);
    assert_eq!(record_all(&conn, &next), ["1.2.3.4.1"]);
    mark_delivered(&conn, &next).expect("delivered");
    assert_eq!(row_state(&conn), "delivered");
}

/// Study 1.2.3 with three instances (10 bytes each as stored), complete, queued for `routes`.
fn store_with_three_instances(routes: &[&str]) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("s.db")).expect("open");
    {
        let mut conn = store.lock();
        for sop in ["1.2.3.4.1", "1.2.3.4.2", "1.2.3.4.3"] {
            receive(&mut conn, sop);
        }
        conn.execute("UPDATE studies SET state = 'complete'", [])
            .expect("complete");
        let routes: Vec<Route> = routes
            .iter()
            .map(|d| Route {
                destination: (*d).into(),
                ..Default::default()
            })
            .collect();
        queue_study(&conn, 1, &routes).expect("queue");
    }
    (dir, store)
}

fn bytes(original: i64, sent: i64) -> SentBytes {
    SentBytes { original, sent }
}

#[test]
fn sizes_sent_are_summed_per_destination_leaving_out_rows_without_them() {
    use crate::store::wire::{bytes_of_row, WireBytes};
    let (_dir, store) = store_with_three_instances(&["hub"]);
    let conn = store.lock();
    let claim = claim_next(&conn, "hub").expect("claim").expect("due");
    let pending = pending_instances(&conn, claim.queue_id).expect("pending");
    assert_eq!(
        bytes_of_row(&conn, claim.queue_id).expect("sum"),
        None,
        "nothing stored yet: no figure, not a zero"
    );
    let [a, b, c] = &pending[..] else {
        panic!("three pending: {pending:?}")
    };
    assert!(record_stored(&conn, &claim, a.instance_id, bytes(10, 4)).expect("record"));
    assert!(record_stored(&conn, &claim, b.instance_id, bytes(10, 3)).expect("record"));
    // As a station before this one recorded it: stored, no sizes.
    assert!(record_instance(&conn, &claim, c.instance_id, Ok(())).expect("record"));
    assert_eq!(
        bytes_of_row(&conn, claim.queue_id).expect("sum"),
        Some(WireBytes {
            instances: 2,
            original_bytes: 20,
            sent_bytes: 7,
            saved_bytes: 13,
            ratio: 0.35,
        })
    );
    // Refused when sent again: its earlier sizes are no longer counted.
    let refused = Err("hub refused the instance");
    assert!(record_instance(&conn, &claim, b.instance_id, refused).expect("record"));
    let row = bytes_of_row(&conn, claim.queue_id)
        .expect("sum")
        .expect("one");
    assert_eq!((row.instances, row.sent_bytes), (1, 4));
    // A claim a correction superseded records no sizes either.
    correct(&conn);
    assert!(!record_stored(&conn, &claim, b.instance_id, bytes(10, 1)).expect("record"));
    assert_eq!(
        bytes_of_row(&conn, claim.queue_id).expect("sum"),
        None,
        "every instance goes again after the correction: none counts until it is stored again"
    );
}

#[test]
fn bytes_saved_count_what_was_stored_since_the_clinic_month_began() {
    use crate::store::wire::bytes_since;
    use chrono::{FixedOffset, TimeZone};
    let (_dir, store) = store_with_three_instances(&["hub", "center"]);
    let conn = store.lock();
    for destination in ["hub", "center"] {
        let claim = claim_next(&conn, destination).expect("claim").expect("due");
        for p in pending_instances(&conn, claim.queue_id).expect("pending") {
            let sent = if destination == "hub" { 4 } else { 10 };
            record_stored(&conn, &claim, p.instance_id, bytes(10, sent)).expect("record");
        }
    }
    // December in Beijing begins on 30 November, 16:00 UTC.
    let beijing = FixedOffset::east_opt(8 * 3600).expect("offset");
    let december = beijing
        .with_ymd_and_hms(2026, 12, 1, 0, 0, 0)
        .single()
        .expect("time")
        .timestamp_millis();
    let at = |destination: &str, sop: &str, ms: i64| {
        conn.execute(
            "UPDATE send_instances SET updated_at = ?3
             WHERE queue_ref = (SELECT id FROM send_queue WHERE destination = ?1)
               AND instance_ref = (SELECT id FROM instances WHERE sop_instance_uid = ?2)",
            params![destination, sop, ms],
        )
        .expect("backdate");
    };
    // The hub's: the last moment of November, the first of December (still 30 November in
    // UTC), and an hour later. The center's (sent as received, nothing saved): in December.
    at("hub", "1.2.3.4.1", december - 1);
    at("hub", "1.2.3.4.2", december);
    at("hub", "1.2.3.4.3", december + 3_600_000);
    for sop in ["1.2.3.4.1", "1.2.3.4.2", "1.2.3.4.3"] {
        at("center", sop, december + 60_000);
    }
    // One of the center's as an older station recorded it, without sizes.
    conn.execute(
        "UPDATE send_instances SET original_bytes = NULL, sent_bytes = NULL
         WHERE queue_ref = (SELECT id FROM send_queue WHERE destination = 'center')
           AND instance_ref = (SELECT id FROM instances WHERE sop_instance_uid = '1.2.3.4.3')",
        [],
    )
    .expect("older row");
    let month = bytes_since(&conn, december).expect("sum").expect("some");
    assert_eq!(month.instances, 4, "two of the hub's, two of the center's");
    assert_eq!(month.original_bytes, 40);
    assert_eq!(month.sent_bytes, 4 + 4 + 10 + 10);
    assert_eq!(month.saved_bytes, 12);
    assert_eq!(
        bytes_since(&conn, december + 2 * 3_600_000).expect("sum"),
        None
    );
}
