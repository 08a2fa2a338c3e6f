//! The audit trail: one append-only table of who read or changed what, and when.
//!
//! Every change a person makes (assigning a study, correcting a patient, retrying a send, user
//! administration) and every read of patient data through the API is written here, in the same
//! transaction as the change where there is one, so a change never lands without its record.
//!
//! Must never: update or delete rows. Corrections are new entries.

use rusqlite::{params, Connection};
use serde::Serialize;

use super::{now_ms, StoreError};

/// One entry as an admin browses it.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub detail: String,
}

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

/// What to list; empty fields match everything.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action_prefix: Option<String>,
    pub subject: Option<String>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    /// Entries with an id below this one (paging backwards from the newest).
    pub before_id: Option<i64>,
    pub limit: u32,
}

/// Newest first.
pub fn list(conn: &Connection, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
    let limit = if filter.limit == 0 {
        100
    } else {
        filter.limit.min(1000)
    };
    let mut stmt = conn.prepare(
        "SELECT id, at, actor, action, subject, detail FROM audit_log
         WHERE (?1 IS NULL OR actor = ?1)
           AND (?2 IS NULL OR substr(action, 1, length(?2)) = ?2)
           AND (?3 IS NULL OR subject = ?3)
           AND (?4 IS NULL OR at >= ?4)
           AND (?5 IS NULL OR at < ?5)
           AND (?6 IS NULL OR id < ?6)
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
            limit
        ],
        |r| {
            Ok(AuditEntry {
                id: r.get(0)?,
                at: r.get(1)?,
                actor: r.get(2)?,
                action: r.get(3)?,
                subject: r.get(4)?,
                detail: r.get(5)?,
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
}
