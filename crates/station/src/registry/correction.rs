//! Corrected copies: the one way what is sent differs from what was received. A study's
//! corrections (matching it to an order, a technician's assignment, a later edit of the
//! patient) are rows of `study_corrections`; before a study is sent, [`prepare`] writes for each
//! instance a copy under `derived/` with the corrected values and one Original Attributes
//! Sequence (0400,0561) item per correction holding the values it replaced (PS3.3 C.12.1.1.9),
//! and the send queue sends that copy (`instances.send_path`) instead of the received file.
//!
//! The copy is made from the received file's bytes: top-level elements before (0400,0562) are
//! read (they are small), the replaced ones swapped, and everything from there on (pixel data)
//! streamed unchanged. New text is encoded in the file's own character set (or the one it was
//! detected to use, which is then declared), so the other text in the file stays readable.
//!
//! Must never: modify or move a received file, or decode pixel data.

mod copy;

use std::io;
use std::path::{Path, PathBuf};

use rusqlite::Connection;

pub use crate::store::corrections::{received_values, Correction, Values};
use crate::store::{self, audit, Store, StoreError};

/// Attributes a correction may replace: keyword, tag, VR.
pub const ATTRIBUTES: [(&str, u32, [u8; 2]); 5] = [
    ("AccessionNumber", 0x0008_0050, *b"SH"),
    ("PatientName", 0x0010_0010, *b"PN"),
    ("PatientID", 0x0010_0020, *b"LO"),
    ("PatientBirthDate", 0x0010_0030, *b"DA"),
    ("PatientSex", 0x0010_0040, *b"CS"),
];

/// Why a corrected copy could not be written (the received file is never changed).
#[derive(Debug, thiserror::Error)]
pub enum CorrectionError {
    /// The index could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Reading the original or writing the copy failed.
    #[error("I/O: {0}")]
    Io(#[from] io::Error),
    /// The file's structure is one the copier does not rewrite.
    #[error("{path}: {reason}")]
    Unsupported {
        /// The original file.
        path: String,
        /// What it cannot handle.
        reason: String,
    },
    /// This corrected value has characters the file's declared character set cannot hold.
    #[error("{0:?} cannot be written in the file's character set")]
    Encoding(String),
}

impl From<rusqlite::Error> for CorrectionError {
    fn from(e: rusqlite::Error) -> Self {
        CorrectionError::Store(StoreError::Sqlite(e))
    }
}

/// The corrections made to study `study_id`, in the order they were made.
pub fn list(conn: &Connection, study_id: i64) -> Result<Vec<Correction>, StoreError> {
    store::corrections::list(conn, study_id)
}

/// The values that are sent now: received, then each correction in turn.
pub fn current_values(conn: &Connection, study_id: i64) -> Result<Values, StoreError> {
    let mut values = received_values(conn, study_id)?;
    for c in list(conn, study_id)? {
        values.extend(c.attributes);
    }
    Ok(values)
}

/// The Patient's Name and Patient ID a queue row's corrected copies carry, when a correction
/// changed either: what the hub must show once they are delivered (a hub that keeps the first
/// copy of an instance answers a re-send with success and still shows the old patient).
/// None: no correction touched them.
pub fn corrected_patient(
    conn: &Connection,
    queue_id: i64,
) -> Result<Option<(String, String)>, StoreError> {
    let Some((study_id, _)) = store::corrections::study_of_queue_row(conn, queue_id)? else {
        return Ok(None);
    };
    let touched = list(conn, study_id)?.iter().any(|c| {
        c.attributes.contains_key("PatientName") || c.attributes.contains_key("PatientID")
    });
    if !touched {
        return Ok(None);
    }
    let values = current_values(conn, study_id)?;
    let get = |k: &str| values.get(k).cloned().unwrap_or_default();
    Ok(Some((get("PatientName"), get("PatientID"))))
}

/// The attributes of `wanted` that differ from `current` (what is sent now): what a correction
/// to `wanted` would change. Empty: nothing to correct.
pub fn changes(current: &Values, wanted: &Values) -> Values {
    wanted
        .iter()
        .filter(|(k, v)| ATTRIBUTES.iter().any(|(kw, _, _)| kw == k) && current.get(*k) != Some(v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Records the attributes of `wanted` that differ from what is sent now, audited as
/// `study.correct` with old and new values; returns the new correction's id (None: nothing
/// changes). The caller re-queues the study if it was already queued or sent.
pub fn record(
    conn: &Connection,
    study_id: i64,
    actor: &str,
    reason: &str,
    wanted: &Values,
) -> Result<Option<i64>, StoreError> {
    let current = current_values(conn, study_id)?;
    let changed = changes(&current, wanted);
    if changed.is_empty() {
        return Ok(None);
    }
    let id = store::corrections::insert(conn, study_id, actor, reason, &changed)?;
    let old: Values = changed
        .keys()
        .map(|k| (k.clone(), current.get(k).cloned().unwrap_or_default()))
        .collect();
    let study_uid = store::studies::uid_of(conn, study_id)?;
    audit::record(
        conn,
        actor,
        "study.correct",
        &study_uid,
        &serde_json::json!({ "reason": reason, "old": old, "new": changed }).to_string(),
    )?;
    Ok(Some(id))
}

/// After a correction of a study already queued or sent: every destination sends every
/// instance again, corrected (`store::queue::requeue_corrected`). Returns how many rows are
/// due again now.
pub fn requeue(conn: &Connection, study_id: i64) -> Result<usize, StoreError> {
    store::queue::requeue_corrected(conn, study_id)
}

/// Writes the corrected copies a queue row's study needs before it is sent (none when the
/// study has no corrections). Called by the sync worker before each round of sending.
pub fn prepare(store: &Store, data_dir: &Path, queue_id: i64) -> Result<(), CorrectionError> {
    let (study_id, study_uid, corrections, received, stale) = {
        let conn = store.lock();
        let Some((study_id, study_uid)) = store::corrections::study_of_queue_row(&conn, queue_id)?
        else {
            return Ok(());
        };
        let corrections = list(&conn, study_id)?;
        let Some(latest) = corrections.last().map(|c| c.id) else {
            return Ok(());
        };
        let stale = store::corrections::stale_copies(&conn, study_id, latest)?;
        let received = received_values(&conn, study_id)?;
        (study_id, study_uid, corrections, received, stale)
    };
    let latest = corrections.last().map(|c| c.id).unwrap_or_default();
    let dir = data_dir.join("derived").join(safe_name(&study_uid));
    std::fs::create_dir_all(&dir)?;
    for s in stale {
        let rel = PathBuf::from("derived")
            .join(safe_name(&study_uid))
            .join(format!("{}.c{latest}.dcm", safe_name(&s.sop)));
        let dest = data_dir.join(&rel);
        // One temporary file per queue row: each destination's worker prepares the same study
        // and may write the same copy at the same time.
        let tmp = dest.with_extension(format!("q{queue_id}.tmp"));
        let size = copy::write_copy(
            &data_dir.join(&s.path),
            &tmp,
            &s.transfer_syntax,
            &s.charset,
            s.repaired.as_deref(),
            &corrections,
            &received,
        )?;
        std::fs::rename(&tmp, &dest)?;
        crate::disk::sync_dir(&dir)?;
        let rel = rel.to_string_lossy().into_owned();
        store::corrections::set_copy(&store.lock(), s.id, &rel, size, latest)?;
        if let Some(old) = s.old_copy.filter(|o| *o != rel) {
            let _ = std::fs::remove_file(data_dir.join(old));
        }
    }
    tracing::debug!(study = study_id, "corrected copies ready");
    Ok(())
}

fn safe_name(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
