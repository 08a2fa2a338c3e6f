//! The audit trail: one append-only table of who read or changed what, and when.
//!
//! Every change a person makes (assigning a study, correcting a patient, retrying a send, user
//! administration) and every read of patient data through the API is written here, in the same
//! transaction as the change where there is one, so a change never lands without its record.
//!
//! Reads are coalesced ([`read`]): a screen that refetches the same list on every live event
//! would otherwise grow the trail with nobody doing anything. The same person's same read
//! repeated within [`READ_GAP_MS`] counts on one entry (`repeats`, `last_at`), and each read
//! entry names the patients it showed (`audit_patients`, with when each was first shown), so
//! "who saw this patient's data, and when" stays one query ([`AuditFilter::patient_id`]).
//!
//! Must never: delete rows or change what an entry says happened. Corrections are new entries;
//! the only updates are a read's repeat count and last time, and patients added to it.

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

use super::{now_ms, StoreError};

/// One entry as an admin browses it.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct AuditEntry {
    /// Row id in `audit_log`; entries are numbered in the order written (page with
    /// `before_id`).
    pub id: i64,
    /// Unix milliseconds; for a repeated read, the first time.
    pub at: i64,
    /// Who: a username, `system` for the engine itself, or `token:NAME` for an API token.
    pub actor: String,
    /// What, as a dotted code (`study.retry`, `report.acknowledge`, `login.failed`…); the UI
    /// translates it.
    pub action: String,
    /// What it was done to: usually a Study Instance UID, a patient ID or a username; may be
    /// empty.
    pub subject: String,
    /// More about it, often JSON (old and new values, a count, the filter of a search); may be
    /// empty.
    pub detail: String,
    /// How many times this was done (a read refetched by a live screen counts here).
    pub repeats: i64,
    /// The last time it was done (equals `at` when done once).
    pub last_at: i64,
}

/// Repeats of a read closer together than this (10 min) count on one entry...
pub const READ_GAP_MS: i64 = 10 * 60 * 1000;
/// ...that spans at most this long (1 h), so its times still say when.
pub const READ_SPAN_MS: i64 = 60 * 60 * 1000;

/// Appends an entry. Takes a `Connection` so callers can pass a `Transaction` (it derefs) and
/// have the entry commit or roll back with their change.
pub fn record(
    conn: &Connection,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &str,
) -> Result<i64, StoreError> {
    conn.execute(
        "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![now_ms(), actor, action, subject, detail],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Records a read of patient data by `actor` that showed `patients` (patient IDs as shown), or
/// another act a client repeats without a person deciding to each time (a refused login
/// retried: no patients).
/// The same actor's same read (`action`, `subject`, `detail`) within [`READ_GAP_MS`] of its
/// last repeat, and within [`READ_SPAN_MS`] of its first, counts on that entry; patients it
/// shows for the first time are added to the entry with the time. Returns the entry's id.
pub fn read(
    conn: &Connection,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &str,
    patients: &[&str],
) -> Result<i64, StoreError> {
    // One savepoint: the entry and its patients land together, and with one sync, not 50.
    conn.execute_batch("SAVEPOINT audit_read")?;
    let result = read_in(conn, actor, action, subject, detail, patients);
    let end = if result.is_ok() {
        "RELEASE audit_read"
    } else {
        "ROLLBACK TO audit_read; RELEASE audit_read"
    };
    conn.execute_batch(end)?;
    result
}

fn read_in(
    conn: &Connection,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &str,
    patients: &[&str],
) -> Result<i64, StoreError> {
    let now = now_ms();
    let recent: Option<i64> = conn
        .query_row(
            "SELECT id FROM audit_log
             WHERE actor = ?1 AND action = ?2 AND subject = ?3 AND detail = ?4
               AND at >= ?5 AND COALESCE(last_at, at) >= ?6
             ORDER BY id DESC LIMIT 1",
            params![
                actor,
                action,
                subject,
                detail,
                now - READ_SPAN_MS,
                now - READ_GAP_MS
            ],
            |r| r.get(0),
        )
        .optional()?;
    let id = match recent {
        Some(id) => {
            conn.execute(
                "UPDATE audit_log SET repeats = repeats + 1, last_at = ?2 WHERE id = ?1",
                params![id, now],
            )?;
            id
        }
        None => record(conn, actor, action, subject, detail)?,
    };
    let mut add = conn.prepare_cached(
        "INSERT OR IGNORE INTO audit_patients (entry_ref, patient_id, at) VALUES (?1, ?2, ?3)",
    )?;
    for patient in patients {
        add.execute(params![id, patient, now])?;
    }
    Ok(id)
}

/// What to list; empty fields match everything.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this actor's entries (exact username).
    pub actor: Option<String>,
    /// Only actions starting with this text (`study.` matches every study action).
    pub action_prefix: Option<String>,
    /// Only entries whose subject is exactly this.
    pub subject: Option<String>,
    /// Entries about this patient ID: reads that showed the patient, or entries whose subject
    /// it is.
    pub patient_id: Option<String>,
    /// Entries done at or after this time (a repeated read: last done at or after it).
    pub since: Option<i64>,
    /// Entries first done before this time (Unix ms).
    pub until: Option<i64>,
    /// Entries with an id below this one (paging backwards from the newest).
    pub before_id: Option<i64>,
    /// Only [`SYSTEM_ACTIONS`]: what the maintenance role may see.
    pub system_only: bool,
    /// At most this many (0: 100; capped at 1000).
    pub limit: u32,
}

/// The actions about the station rather than a patient: logins and refusals, users, settings,
/// API tokens, sends held, released or retried (their subject is a Study Instance UID, their
/// detail empty or a count), and storage upkeep (a restore, unknown files moved to quarantine:
/// paths made of UIDs). Every other action names, searches or shows a patient's data.
pub const SYSTEM_ACTIONS: &[&str] = &[
    "login",
    "logout",
    "login.failed",
    "login.throttled",
    "access.denied",
    "user.create",
    "user.update",
    "settings.update",
    "destination.refusal_forget",
    "token.create",
    "token.revoke",
    "study.hold",
    "study.release",
    "study.retry",
    "audit.read",
    "diagnostics.read",
    "log.read",
    "storage.restore",
    "storage.quarantine_orphans",
];

/// Newest first.
pub fn list(conn: &Connection, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
    let limit = if filter.limit == 0 {
        100
    } else {
        filter.limit.min(1000)
    };
    let mut stmt = conn.prepare(
        "SELECT id, at, actor, action, subject, detail, repeats, COALESCE(last_at, at)
         FROM audit_log
         WHERE (?1 IS NULL OR actor = ?1)
           AND (?2 IS NULL OR substr(action, 1, length(?2)) = ?2)
           AND (?3 IS NULL OR subject = ?3)
           AND (?4 IS NULL OR COALESCE(last_at, at) >= ?4)
           AND (?5 IS NULL OR at < ?5)
           AND (?6 IS NULL OR id < ?6)
           AND (?8 IS NULL OR subject = ?8 OR id IN
                (SELECT entry_ref FROM audit_patients WHERE patient_id = ?8))
           AND (?9 IS NULL OR action IN (SELECT value FROM json_each(?9)))
         ORDER BY id DESC LIMIT ?7",
    )?;
    let rows = stmt.query_map(
        params![
            filter.actor,
            filter.action_prefix,
            filter.subject,
            filter.since,
            filter.until,
            filter.before_id,
            limit,
            filter.patient_id,
            filter
                .system_only
                .then(|| serde_json::json!(SYSTEM_ACTIONS).to_string())
        ],
        |r| {
            Ok(AuditEntry {
                id: r.get(0)?,
                at: r.get(1)?,
                actor: r.get(2)?,
                action: r.get(3)?,
                subject: r.get(4)?,
                detail: r.get(5)?,
                repeats: r.get(6)?,
                last_at: r.get(7)?,
            })
        },
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn entries_list_newest_first_and_filter() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("s.db")).expect("open");
        let mut conn = store.lock();
        record(&conn, "li", "study.assign", "1.2.3", "{}").expect("record");
        record(&conn, "wang", "patient.read", "P1", "").expect("record");
        // Rolled back with its transaction: a change that did not land leaves no entry.
        let tx = conn.transaction().expect("tx");
        record(&tx, "li", "study.hold", "1.2.3", "").expect("record");
        drop(tx);
        let all = list(&conn, &AuditFilter::default()).expect("list");
        let actions: Vec<_> = all.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["patient.read", "study.assign"]);
        let li = list(
            &conn,
            &AuditFilter {
                actor: Some("li".into()),
                action_prefix: Some("study.".into()),
                ..Default::default()
            },
        )
        .expect("list");
        assert_eq!(li.len(), 1);
        assert_eq!(li[0].subject, "1.2.3");
    }

    #[test]
    fn a_repeated_read_is_one_entry_that_names_every_patient_it_showed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("s.db")).expect("open");
        let conn = store.lock();
        let q = r#"{"query":{"text":"王"}}"#;
        let first = read(&conn, "li", "studies.list", "", q, &["P1"]).expect("read");
        let again = read(&conn, "li", "studies.list", "", q, &["P1", "P2"]).expect("read");
        assert_eq!(first, again, "a refetch counts on the same entry");
        let other_query = read(&conn, "li", "studies.list", "", "{}", &["P1"]).expect("read");
        let other_user = read(&conn, "wang", "studies.list", "", q, &["P1"]).expect("read");
        assert!(other_query != first && other_user != first && other_query != other_user);

        let all = list(&conn, &AuditFilter::default()).expect("list");
        assert_eq!(all.len(), 3, "{all:?}");
        let entry = all.iter().find(|e| e.id == first).expect("first");
        assert_eq!(entry.repeats, 2);
        assert!(entry.last_at >= entry.at);

        // P2 appeared only on the refetch, and is found through it.
        let p2 = |patient: &str| {
            let filter = AuditFilter {
                patient_id: Some(patient.into()),
                ..Default::default()
            };
            list(&conn, &filter)
                .expect("list")
                .iter()
                .map(|e| e.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(p2("P2"), [first]);
        assert_eq!(p2("P1").len(), 3);
        // A repeat is not hidden from a period that starts after the entry did.
        let since = AuditFilter {
            since: Some(entry.last_at),
            actor: Some("li".into()),
            ..Default::default()
        };
        assert_eq!(list(&conn, &since).expect("list").len(), 2);
    }
}
