//! The database as a whole, for storage upkeep: a consistent copy taken while the station
//! writes (`VACUUM INTO`), SQLite's own integrity check, and what a copy holds (its schema
//! version and counts, for a backup's manifest).
//!
//! Must never: copy through the writing connection (a copy of a large index would hold up every
//! arrival): the copy reads its own snapshot on a connection of its own.

use std::path::Path;

use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use super::StoreError;

/// Writes a consistent copy of the database at `db` into `dest` (which must not exist), from a
/// read snapshot: writers go on while it is made, and the copy holds every transaction
/// committed before it started.
pub fn copy_database(db: &Path, dest: &Path) -> Result<(), StoreError> {
    let conn = super::open_reader(db)?;
    let dest = dest.to_string_lossy().into_owned();
    conn.execute("VACUUM INTO ?1", [dest])?;
    Ok(())
}

/// What a database holds, as a backup's manifest states it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contents {
    /// `PRAGMA user_version`: how many migrations it has.
    pub schema_version: i64,
    /// Rows in `studies`.
    pub studies: i64,
    /// Rows in `instances` (purged ones included).
    pub instances: i64,
    /// Rows in `reports` (every version).
    pub reports: i64,
}

/// What the database behind `conn` holds (for a backup: the copy, opened read-only).
pub fn contents(conn: &Connection) -> Result<Contents, StoreError> {
    let count = |table: &str| -> Result<i64, StoreError> {
        // The table names are this module's own constants, never outside input.
        Ok(conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?)
    };
    Ok(Contents {
        schema_version: conn.pragma_query_value(None, "user_version", |r| r.get(0))?,
        studies: count("studies")?,
        instances: count("instances")?,
        reports: count("reports")?,
    })
}

/// `PRAGMA integrity_check`: the problems SQLite finds, empty when the database is sound.
pub fn integrity_problems(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare("PRAGMA integrity_check")?;
    let lines = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(lines.into_iter().filter(|l| l != "ok").collect())
}
