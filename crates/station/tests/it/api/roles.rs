//! Every operation refuses every role that may not call it, over real HTTP: the permission
//! table written out here, independently of `api/roles.rs`, is the specification.

use std::collections::BTreeSet;

use serde_json::json;

use crate::harness::api::audit;
use crate::harness::*;

const T: &str = "technician";
const D: &str = "doctor";
const M: &str = "manager";
const A: &str = "admin";
/// The center's maintenance staff: the station's health and sending, never a patient.
const X: &str = "maintenance";
const ALL: &[&str] = &[T, D, M, A, X];
/// The clinic's own staff: those who see patients.
const CLINIC: &[&str] = &[T, D, M, A];

/// Operation → roles allowed; `None` = public (no session needed).
const TABLE: &[(&str, Option<&[&str]>)] = &[
    ("login", None),
    ("logout", Some(ALL)),
    ("me", Some(ALL)),
    ("file_key", Some(ALL)),
    ("password_change", Some(ALL)),
    ("status", Some(ALL)),
    ("dashboard", Some(CLINIC)),
    ("links_list", Some(ALL)),
    ("queue_list", Some(ALL)),
    ("studies_list", Some(CLINIC)),
    ("study_get", Some(CLINIC)),
    ("study_hold", Some(&[T, M, A, X])),
    ("study_release", Some(&[T, M, A, X])),
    ("study_retry", Some(&[T, M, A, X])),
    ("study_mark_urgent", Some(CLINIC)),
    ("study_keep", Some(CLINIC)),
    ("studies_unrouted", Some(CLINIC)),
    ("studies_route", Some(&[T, M, A, X])),
    ("study_fetch", Some(CLINIC)),
    // Retention's plan names studies by UID, date and modality: no patient.
    ("storage_plan", Some(&[M, A, X])),
    ("quarantine_list", Some(&[T, M, A])),
    ("users_list", Some(&[A])),
    ("user_create", Some(&[A])),
    ("user_update", Some(&[A])),
    ("audit_list", Some(&[A])),
    ("system_events", Some(&[A, X])),
    ("tokens_list", Some(&[A])),
    ("token_create", Some(&[A])),
    ("token_revoke", Some(&[A])),
    ("settings_get", Some(&[M, A, X])),
    ("settings_update", Some(&[A])),
    ("wire_refusal_forget", Some(&[A, X])),
    ("hub_test", Some(&[M, A, X])),
    ("patient_search", Some(&[T, M, A])),
    ("patient_add", Some(&[T, M, A])),
    ("patient_update", Some(&[T, M, A])),
    ("order_add", Some(&[T, M, A])),
    ("procedures", Some(&[T, M, A])),
    ("orders_list", Some(&[T, M, A])),
    ("order_cancel", Some(&[T, M, A])),
    ("studies_unassigned", Some(&[T, M, A])),
    ("study_assign", Some(&[T, M, A])),
    ("study_confirm_patient", Some(&[T, M, A])),
    ("reports_list", Some(CLINIC)),
    ("report_get", Some(CLINIC)),
    // Acknowledging says a doctor read it: not technicians.
    ("report_ack", Some(&[D, M, A])),
    ("waveform_get", Some(CLINIC)),
];

/// File routes (`GET`, token in the query) → roles allowed, and what an allowed caller gets:
/// nothing exists behind the preview and report keys (404); the diagnostics bundle is made
/// (200). A refused caller gets 403.
const FILES: &[(&str, &[&str], u16)] = &[
    ("/api/preview/1.2.3.png", CLINIC, 404),
    ("/api/report/1/pdf", CLINIC, 404),
    ("/api/report/1/print", CLINIC, 404),
    ("/api/diagnostics.tar.gz", &[A, X], 200),
    ("/api/log.txt", &[A, X], 200),
];

#[test]
fn every_operation_refuses_every_role_not_allowed_to_call_it() {
    let scratch = Scratch::new();
    let station = Station::start(scratch.path(), &Options::default());
    let client = Client::new(&station);

    // The table covers exactly the operations the station documents.
    let (status, doc) = client.get("/api/openapi.json");
    assert_eq!(status, 200);
    let doc: serde_json::Value = serde_json::from_str(&doc).expect("OpenAPI JSON");
    let documented: BTreeSet<String> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .filter(|(_, item)| item.get("post").is_some())
        .map(|(path, _)| path.trim_start_matches("/api/").to_owned())
        .collect();
    let tabled: BTreeSet<String> = TABLE.iter().map(|(op, _)| op.to_string()).collect();
    assert_eq!(
        documented, tabled,
        "every operation needs a row in this table"
    );

    let admin = client.admin();
    // (role, username, password, token)
    let mut users = vec![(
        A,
        "admin".to_owned(),
        ADMIN_PASSWORD.to_owned(),
        admin.clone(),
    )];
    for role in [T, D, M, X] {
        let name = format!("u-{role}");
        let token = client.user(&admin, &name, role);
        users.push((role, name.clone(), format!("{name}-pw-1"), token));
    }

    for (op, allowed) in TABLE {
        let Some(allowed) = allowed else { continue };
        // Nobody logged in: refused before anything else.
        let r = client.call(None, op, json!({}));
        assert_eq!(
            (r.status, r.code()),
            (401, "unauthenticated"),
            "{op} without a session: {r:?}"
        );
        for (role, name, password, token) in &users {
            // logout ends the session it is called with: a fresh one, so the table goes on.
            let token = if *op == "logout" {
                client.login(name, password)
            } else {
                token.clone()
            };
            let r = client.call(Some(&token), op, json!({}));
            if allowed.contains(role) {
                assert!(
                    ![401, 403].contains(&r.status),
                    "{role} may call {op} but was refused: {r:?}"
                );
            } else {
                assert_eq!(
                    (r.status, r.code()),
                    (403, "forbidden"),
                    "{role} calling {op}: {r:?}"
                );
                assert!(
                    r.message().contains("角色"),
                    "Chinese message by default: {r:?}"
                );
            }
            if *op == "logout" {
                let after = client.call(Some(&token), "me", json!({}));
                assert_eq!(after.status, 401, "a logged-out session is over: {after:?}");
            }
        }
    }

    for (path, allowed, ok) in FILES {
        let (status, body) = client.get(path);
        assert_eq!(status, 401, "{path} without a token: {body}");
        for (role, _, _, token) in &users {
            let (status, body) = client.get_as(token, path);
            let expected = if allowed.contains(role) { *ok } else { 403 };
            assert_eq!(status, expected, "{role} fetching {path}: {body}");
        }
    }

    // In English when asked.
    let doctor = &users[2].3;
    let r = client.call_lang(Some(doctor), "users_list", json!({}), "en-US,en;q=0.9");
    assert_eq!(r.status, 403);
    assert_eq!(r.message(), "your role may not do this");

    // A wrong operation name or API path is a JSON 404, never the UI's page.
    let r = client.call(Some(&admin), "study_delete", json!({}));
    assert_eq!((r.status, r.code()), (404, "not_found"), "{r:?}");
    let (status, body) = client.get("/api/no/such/path");
    assert_eq!(status, 404);
    assert!(body.contains("not_found"), "{body}");

    // Any other path is the web UI's page (its own router takes it from there), or says that
    // this build has no UI.
    let (root_status, root) = client.get("/");
    let (deep_status, deep) = client.get("/studies/1.2.3");
    assert_eq!(
        (deep_status, &deep),
        (root_status, &root),
        "SPA paths get index.html"
    );
    if root_status == 200 {
        assert!(
            root.contains("<html") || root.contains("<!doctype"),
            "{root}"
        );
    } else {
        assert_eq!(root_status, 404);
        assert!(root.contains("ui/dist"), "{root}");
    }

    // Refusals are in the audit trail.
    let denied = audit(&client, &admin, json!({ "action_prefix": "access.denied" }));
    assert!(
        denied
            .iter()
            .any(|e| e["actor"] == "u-doctor" && e["subject"] == "users_list"),
        "{denied:?}"
    );
}
