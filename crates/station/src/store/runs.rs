//! The `storage_runs` table: when each backup and integrity check ran, whether it went well and
//! how many problems it found, for the dashboard and for the service's schedule.
//!
//! Must never: rewrite a past run (each run is a new row; the newest of a kind is the answer).

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::{StorageRunKind, StoreError};

/// One finished run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StorageRun {
    /// Backup or integrity check.
    pub kind: StorageRunKind,
    /// Unix milliseconds.
    pub started_at: i64,
    /// When it ended (Unix ms), whether it went well or not.
    pub finished_at: i64,
    /// Done, and nothing found wrong.
    pub ok: bool,
    /// What a person must look at: files missing or changed, unknown files, index damage; 1
    /// for a backup that failed.
    pub problems: i64,
    /// Where the backup went, or what was found or went wrong (English, as the CLI says it).
    pub detail: String,
}

/// Records a finished run.
pub fn record(conn: &Connection, run: &StorageRun) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO storage_runs (kind, started_at, finished_at, ok, problems, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            run.kind,
            run.started_at,
            run.finished_at,
            run.ok,
            run.problems,
            run.detail
        ],
    )?;
    Ok(())
}

/// The newest run of `kind`, if any ran.
pub fn last(conn: &Connection, kind: StorageRunKind) -> Result<Option<StorageRun>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT kind, started_at, finished_at, ok, problems, detail FROM storage_runs
             WHERE kind = ?1 ORDER BY finished_at DESC, id DESC LIMIT 1",
            [kind],
            |r| {
                Ok(StorageRun {
                    kind: r.get(0)?,
                    started_at: r.get(1)?,
                    finished_at: r.get(2)?,
                    ok: r.get(3)?,
                    problems: r.get(4)?,
                    detail: r.get(5)?,
                })
            },
        )
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_run_of_each_kind_is_the_answer() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = super::super::Store::open(&dir.path().join("s.db")).expect("open");
        let conn = store.lock();
        assert_eq!(last(&conn, StorageRunKind::Backup).expect("none"), None);
        let run = |kind, at, problems| StorageRun {
            kind,
            started_at: at - 5,
            finished_at: at,
            ok: problems == 0,
            problems,
            detail: format!("run at {at}"),
        };
        record(&conn, &run(StorageRunKind::Backup, 100, 0)).expect("record");
        record(&conn, &run(StorageRunKind::Backup, 200, 1)).expect("record");
        record(&conn, &run(StorageRunKind::Verify, 150, 3)).expect("record");
        assert_eq!(
            last(&conn, StorageRunKind::Backup).expect("backup"),
            Some(run(StorageRunKind::Backup, 200, 1))
        );
        assert_eq!(
            last(&conn, StorageRunKind::Verify).expect("verify"),
            Some(run(StorageRunKind::Verify, 150, 3))
        );
    }
}
