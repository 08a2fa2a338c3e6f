//! The report tables without a hub: versions, turnaround, acknowledgement.

use super::*;
use crate::dicom::header::Header;
use crate::reports::view::{self, ReportFilter};
use crate::store::{insert_instance, NewInstance, Source, Store};

fn instance(store: &Store, sop: &str, source: &Source) -> i64 {
    let h = Header {
        transfer_syntax: "1.2.840.10008.1.2.1".into(),
        sop_class_uid: "1.2.840.10008.5.1.4.1.1.88.22".into(),
        sop_instance_uid: sop.into(),
        study_uid: "1.2.3".into(),
        series_uid: format!("{sop}.9"),
        modality: "DX".into(),
        patient_id: "P1".into(),
        patient_name: "王^小明".into(),
        ..Default::default()
    };
    let mut conn = store.lock();
    let tx = conn.transaction().expect("tx");
    let id = insert_instance(
        &tx,
        &NewInstance {
            header: &h,
            size: 1,
            sha256: sop,
            path: &format!("instances/{sop}.dcm"),
            source,
            review_reason: None,
        },
    )
    .expect("insert");
    tx.commit().expect("commit");
    id
}

fn sr(content_at: &str, is_final: bool, text: &str) -> Parsed {
    Parsed {
        title: "影像诊断报告".into(),
        text: text.into(),
        observer: "李医生".into(),
        content_at: content_at.into(),
        is_final,
        ..Parsed::default()
    }
}

#[test]
fn an_amendment_becomes_current_and_history_stays() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("s.db")).expect("open");
    instance(
        &store,
        "1.1",
        &Source::Dicom {
            calling_ae: "DR1".into(),
        },
    );
    {
        let conn = store.lock();
        conn.execute("UPDATE studies SET state = 'delivered'", [])
            .expect("delivered");
    }
    let hub = Source::Report {
        destination: "hub".into(),
    };
    let pre = instance(&store, "1.2", &hub);
    let fin = instance(&store, "1.3", &hub);
    let late_old = instance(&store, "1.4", &hub);
    let rec = |id, p: &Parsed| {
        record(&mut store.lock(), "1.2.3", id, "hub", Kind::Sr, p).expect("record")
    };
    let first = rec(pre, &sr("20261130080000", false, "初步意见"));
    assert!(first.is_current && first.study_reported);
    let second = rec(fin, &sr("20261130090000", true, "最终意见"));
    assert!(second.is_current && !second.study_reported);
    // An older version arriving late does not take over.
    let third = rec(late_old, &sr("20261130070000", false, "更早"));
    assert!(!third.is_current);

    {
        let conn = store.lock();
        let current = view::list(&conn, &ReportFilter::default()).expect("list");
        assert_eq!(current.len(), 1);
        assert_eq!(current[0].id, second.report_id);
        assert_eq!(current[0].status, "final", "a final after a preliminary");
        let shown = view::get(&conn, second.report_id, None).expect("get");
        assert_eq!(shown.text, "最终意见");
        assert_eq!(shown.versions.len(), 3, "history kept");
        assert_eq!(shown.versions[1].id, first.report_id);
    }
    // A correction after the final report is an amendment.
    let corrected = instance(&store, "1.5", &hub);
    let fourth = rec(corrected, &sr("20261130100000", true, "更正意见"));
    let conn = store.lock();
    let current = view::list(&conn, &ReportFilter::default()).expect("list");
    assert_eq!(current.len(), 1);
    assert_eq!(current[0].id, fourth.report_id);
    assert_eq!(current[0].status, "amended");
    let earlier = view::get(&conn, second.report_id, None).expect("the earlier final");
    assert!(!earlier.report.is_current);
    assert_eq!(earlier.versions.len(), 4);
    // Report instances are never queued to be sent back.
    let kinds: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM instances WHERE source_kind = 'report'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(kinds, 4);
    assert_eq!(
        crate::store::study_state(&conn, "1.2.3")
            .expect("state")
            .as_deref(),
        Some("reported")
    );
}

#[test]
fn acknowledgements_count_per_user() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("s.db")).expect("open");
    instance(
        &store,
        "2.1",
        &Source::Dicom {
            calling_ae: "DR1".into(),
        },
    );
    let id = instance(
        &store,
        "2.2",
        &Source::Report {
            destination: "hub".into(),
        },
    );
    let r = record(
        &mut store.lock(),
        "1.2.3",
        id,
        "hub",
        Kind::Sr,
        &sr("1", true, "x"),
    )
    .expect("record");
    let mut conn = store.lock();
    assert_eq!(view::unread_count(&conn, "li").expect("n"), 1);
    assert!(view::acknowledge(&mut conn, r.report_id, "li").expect("ack"));
    assert!(!view::acknowledge(&mut conn, r.report_id, "li").expect("again"));
    assert_eq!(view::unread_count(&conn, "li").expect("n"), 0);
    assert_eq!(view::unread_count(&conn, "wang").expect("n"), 1);
    let unread = ReportFilter {
        user: Some("li".into()),
        unread_only: true,
        ..ReportFilter::default()
    };
    assert!(view::list(&conn, &unread).expect("list").is_empty());
    assert!(view::acknowledge(&mut conn, 999, "li").is_err());
    let audit = crate::store::audit::list(&conn, &Default::default()).expect("audit");
    assert!(audit
        .iter()
        .any(|e| e.action == "report.acknowledge" && e.actor == "li"));
}

#[test]
fn a_study_past_its_target_is_flagged_once_and_a_final_report_stops_the_clock() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("s.db")).expect("open");
    instance(
        &store,
        "3.1",
        &Source::Dicom {
            calling_ae: "DR1".into(),
        },
    );
    let policy = crate::config::Config::defaults().reports;
    let conn = store.lock();
    conn.execute(
        "INSERT INTO send_queue (study_ref, destination, state, created_at, updated_at)
         SELECT id, 'hub', 'delivered', 0, ?1 FROM studies",
        [now_ms() - 2 * 86_400_000],
    )
    .expect("delivered two days ago");
    conn.execute("UPDATE studies SET state = 'delivered'", [])
        .expect("state");
    let due = due_studies(&conn, "hub", &policy, 10).expect("due");
    assert_eq!(due.len(), 1, "enrolled and due at once");
    // Routine target (a day) passed: flagged now, and only now.
    assert_eq!(
        flag_overdue(&conn).expect("flag"),
        vec!["1.2.3".to_string()]
    );
    assert!(flag_overdue(&conn).expect("again").is_empty());
    let t = turnaround(&conn, "1.2.3").expect("t").expect("row");
    assert!(t.overdue && t.first_report_ms.is_none());
    assert_eq!(t.due_at - t.sent_at, 1440 * 60_000);
    // An admin gives DX three days: the waiting study's due time follows; its flag stays.
    let mut longer = policy.clone();
    longer.targets.insert(
        0,
        crate::config::TurnaroundTarget {
            modality: "DX".into(),
            priority: "*".into(),
            minutes: 3 * 1440,
        },
    );
    assert_eq!(retarget(&conn, &longer).expect("retarget"), 1);
    let t = turnaround(&conn, "1.2.3").expect("t").expect("row");
    assert_eq!(t.due_at - t.sent_at, 3 * 1440 * 60_000);
    assert!(
        flag_overdue(&conn).expect("again").is_empty(),
        "never twice"
    );
    assert_eq!(retarget(&conn, &longer).expect("again"), 0);
    retarget(&conn, &policy).expect("back");
    // Looked at now: not due again before the idle period (older than `recent_hours`).
    mark_polled(&conn, &[due[0].queue_id], &policy).expect("polled");
    assert!(due_studies(&conn, "hub", &policy, 10)
        .expect("due")
        .is_empty());
}

#[test]
fn targets_match_modality_and_priority_in_order() {
    let mut policy = crate::config::Config::defaults().reports;
    policy.targets.insert(
        0,
        crate::config::TurnaroundTarget {
            modality: "ECG".into(),
            priority: "*".into(),
            minutes: 15,
        },
    );
    assert_eq!(target_minutes(&policy, &["ECG"], false), 15);
    assert_eq!(target_minutes(&policy, &["DX"], true), 30);
    assert_eq!(target_minutes(&policy, &["US"], false), 1440);
}
