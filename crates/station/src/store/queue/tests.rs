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

/// Claims the row and records every pending instance stored; returns their SOP UIDs.
fn send_all(conn: &Connection) -> Option<(i64, Vec<String>)> {
    let claim = claim_next(conn, "hub").expect("claim")?;
    let pending = pending_instances(conn, claim.queue_id).expect("pending");
    for p in &pending {
        record_instance(conn, claim.queue_id, p.instance_id, Ok(())).expect("record");
    }
    let sops = pending.into_iter().map(|p| p.sop_instance_uid).collect();
    Some((claim.queue_id, sops))
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
    assert!(study_receiving(&conn, q).expect("state"));
    release(&conn, q).expect("release");
    assert!(
        claim_next(&conn, "hub").expect("claim").is_none(),
        "everything that arrived is at the hub: not due while the study arrives"
    );
    receive(&mut conn, "1.2.3.4.2");
    let (_, sent) = send_all(&conn).expect("due again: a new instance");
    assert_eq!(sent, ["1.2.3.4.2"]);
    release(&conn, q).expect("release");
    assert!(claim_next(&conn, "hub").expect("claim").is_none());

    // Complete: due, to be verified. An instance arriving after the claim keeps it due.
    conn.execute("UPDATE studies SET state = 'complete'", [])
        .expect("complete");
    let claim = claim_next(&conn, "hub")
        .expect("claim")
        .expect("due to verify");
    receive(&mut conn, "1.2.3.4.3");
    mark_delivered(&conn, claim.queue_id).expect("mark");
    assert_eq!(
        row_state(&conn),
        "queued",
        "the late instance is not delivered yet"
    );
    let (_, sent) = send_all(&conn).expect("due: the late instance");
    assert_eq!(sent, ["1.2.3.4.3"]);
    mark_delivered(&conn, claim.queue_id).expect("mark");
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
