//! What a person reads of the reports: lists (all or unread, by study), one report with its
//! versions, PDF and key images, and acknowledging one. The API helper wraps these operations;
//! `station report list|show|ack` calls them directly.
//!
//! Must never: change anything but acknowledgements (and their audit entries), or show a
//! superseded version as current.

use std::path::Path;

use rusqlite::Connection;

use super::sr;
pub use crate::store::reports::{KeyImage, ReportFilter, ReportSummary, ReportView};
use crate::store::{self, StoreError};

/// Why a report operation could not be done.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// No report has this id.
    #[error("no report #{0}")]
    NotFound(i64),
    /// The report (this id) is an SR or a key object selection, not a PDF.
    #[error("report #{0} is not a PDF document")]
    NotPdf(i64),
    /// Acknowledging needs a user name; an empty one was given.
    #[error("a user name is needed to acknowledge a report")]
    NoUser,
    /// The index could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored report document could not be read.
    #[error("report file {path}: {message}")]
    File {
        /// Its path, relative to the data directory.
        path: String,
        /// What went wrong.
        message: String,
    },
}

/// Reports matching `filter`, newest first.
pub fn list(conn: &Connection, filter: &ReportFilter) -> Result<Vec<ReportSummary>, ReportError> {
    Ok(store::reports::list(conn, filter)?)
}

/// Current SR and PDF reports `user` has not acknowledged.
pub fn unread_count(conn: &Connection, user: &str) -> Result<i64, ReportError> {
    Ok(store::reports::unread_count(conn, user)?)
}

/// One report document with its versions, the study's PDFs and key images. `user` decides
/// whose acknowledgement `acknowledged_at` shows.
pub fn get(conn: &Connection, id: i64, user: Option<&str>) -> Result<ReportView, ReportError> {
    store::reports::get(conn, id, user)?.ok_or(ReportError::NotFound(id))
}

/// The PDF document of a PDF report, for display or download (from a shell: the caller holds
/// the connection only for this).
pub fn pdf(conn: &Connection, data_dir: &Path, id: i64) -> Result<Vec<u8>, ReportError> {
    pdf_read(data_dir, pdf_path(conn, id)?)
}

/// Where the PDF report `id` is stored (relative to the data directory). A running station
/// locks its store for this only, then reads the document with [`pdf_read`]: a PDF of many
/// megabytes never holds up the listener or the sync workers.
pub fn pdf_path(conn: &Connection, id: i64) -> Result<String, ReportError> {
    let (kind, path) = store::reports::pdf_instance(conn, id)?.ok_or(ReportError::NotFound(id))?;
    if kind != "pdf" {
        return Err(ReportError::NotPdf(id));
    }
    Ok(path)
}

/// The PDF bytes of the stored Encapsulated PDF at `path` ([`pdf_path`]).
pub fn pdf_read(data_dir: &Path, path: String) -> Result<Vec<u8>, ReportError> {
    sr::pdf_bytes(&data_dir.join(&path)).map_err(|e| ReportError::File {
        path,
        message: e.to_string(),
    })
}

/// `user` has read report `id`. Acknowledging twice keeps the first time. Returns whether this
/// was the first acknowledgement by this user.
pub fn acknowledge(conn: &mut Connection, id: i64, user: &str) -> Result<bool, ReportError> {
    let user = user.trim();
    if user.is_empty() {
        return Err(ReportError::NoUser);
    }
    store::reports::acknowledge(conn, id, user)?.ok_or(ReportError::NotFound(id))
}
