//! What a person reads of the reports: lists (all or unread, by study), one report with its
//! versions, PDFs and key images, and acknowledgements (`report_acks`).
//!
//! Must never: show a superseded version as current, or show a study's patient other than as
//! sent (the registered patient's once matched).

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;

use super::{turnaround, Turnaround};
use crate::store::{audit, now_ms, StoreError};

/// One report document in a list.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct ReportSummary {
    /// Report id (row in `reports`): what `/reports/{id}` and acknowledging take.
    pub id: i64,
    /// Study Instance UID of the study reported on.
    pub study_uid: String,
    /// Patient ID as sent: the registered patient's clinic ID once the study matched an
    /// order, else the device's.
    pub patient_id: String,
    /// Patient's name as sent (registered or device's, like `patient_id`), DICOM PN form.
    pub patient_name: String,
    /// Patient's Sex as sent: `M`, `F`, `O` or empty.
    pub patient_sex: String,
    /// Patient's Birth Date as sent, `YYYYMMDD` or empty.
    pub patient_birth_date: String,
    /// Accession Number as sent (the order's once matched); may be empty.
    pub accession: String,
    /// Study Date (0008,0020) as the device sent it, `YYYYMMDD` (device local time).
    pub study_date: String,
    /// Study Description (0008,1030); may be empty.
    pub study_description: String,
    /// Modalities of the study's images, comma-separated, e.g. `CT,MR` (report documents
    /// left out).
    pub modalities: String,
    /// "sr", "pdf" or "ko".
    pub kind: String,
    /// Document title (the PDF's Document Title, or the SR's root concept name).
    pub title: String,
    /// "preliminary", "final", or "amended" (a final that replaced an earlier version).
    pub status: String,
    /// The signed report (complete and verified, not preliminary).
    pub is_final: bool,
    /// The newest version of this study's report of this kind; older ones are superseded.
    pub is_current: bool,
    /// The reading doctor (verifying observer, else the SR's author), as a display name.
    pub observer: String,
    /// The verifying observer's organization (e.g. the reading hospital); may be empty.
    pub organization: String,
    /// Verification DateTime as the hub gave it (DICOM DT, the hub's local time); may be empty.
    pub verified_at: String,
    /// Content Date and Time, `YYYYMMDDHHMMSS…` (the hub's local time): orders versions.
    pub content_at: String,
    /// When the station fetched it (Unix ms).
    pub received_at: i64,
    /// The destination (hub) it was fetched from, by its configured name.
    pub destination: String,
    /// When the asking user acknowledged it (`None`: unread, or no user asked).
    pub acknowledged_at: Option<i64>,
}

/// A report document with everything shown alongside it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReportView {
    /// The report asked for.
    pub report: ReportSummary,
    /// The SR content as readable text (empty for a PDF).
    pub text: String,
    /// Completion Flag (0040,A491): `PARTIAL` or `COMPLETE`; empty for a PDF.
    pub completion: String,
    /// Verification Flag (0040,A493): `UNVERIFIED` or `VERIFIED`; empty for a PDF.
    pub verification: String,
    /// Every version of this study's report of the same kind, newest first (this one included).
    pub versions: Vec<ReportSummary>,
    /// The study's PDF reports, newest first.
    pub pdfs: Vec<ReportSummary>,
    /// Images the hub marked (Key Object Selection), resolved to local instances.
    pub key_images: Vec<KeyImage>,
    /// The study's turnaround against its target; `None` if it was never timed.
    pub turnaround: Option<Turnaround>,
    /// Who acknowledged this version, and when.
    pub acknowledgements: Vec<(String, i64)>,
}

/// An image the reader marked as significant (referenced by a Key Object Selection or the SR).
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct KeyImage {
    /// SOP Instance UID of the marked image.
    pub sop_instance_uid: String,
    /// The local instance, when the station holds it.
    pub instance_id: Option<i64>,
    /// Relative to the data directory.
    pub path: Option<String>,
}

/// Which reports to list. By default: current versions of SR and PDF reports, newest first.
#[derive(Debug, Clone, Default)]
pub struct ReportFilter {
    /// Whose acknowledgements count (and, with `unread_only`, whose unread reports).
    pub user: Option<String>,
    /// Only reports `user` has not acknowledged (ignored without a user).
    pub unread_only: bool,
    /// Only this study's reports.
    pub study_uid: Option<String>,
    /// Superseded versions too.
    pub all_versions: bool,
    /// At most this many (0: 200; capped at 5000).
    pub limit: u32,
}

/// The patient and accession as sent (the registered patient's once the study matched an order,
/// as studies are listed): the doctor must see the name the technician registered.
const SUMMARY_SELECT: &str = "
    SELECT r.id, s.study_uid, COALESCE(rp.clinic_id, p.patient_id), COALESCE(rp.name, p.name),
           COALESCE(NULLIF(rp.sex, ''), p.sex), COALESCE(NULLIF(rp.birth_date, ''), p.birth_date),
           COALESCE(o.accession, s.accession), s.study_date,
           s.description,
           (SELECT group_concat(DISTINCT se.modality) FROM series se JOIN instances i ON i.series_ref = se.id
             WHERE se.study_ref = s.id AND i.source_kind <> 'report'),
           r.kind, r.title,
           CASE WHEN NOT r.is_final THEN 'preliminary'
                WHEN EXISTS (SELECT 1 FROM reports o WHERE o.study_ref = r.study_ref AND o.kind = r.kind
                             AND o.id <> r.id AND o.is_final AND o.content_at <= r.content_at) THEN 'amended'
                ELSE 'final' END,
           r.is_final, r.is_current, r.observer, r.organization, r.verified_at, r.content_at,
           r.received_at, r.destination,
           (SELECT a.at FROM report_acks a WHERE a.report_ref = r.id AND a.user = ?1)
    FROM reports r JOIN studies s ON s.id = r.study_ref JOIN patients p ON p.id = s.patient_ref
         LEFT JOIN orders o ON o.id = s.order_ref LEFT JOIN reg_patients rp ON rp.id = o.patient_ref";

fn summary(r: &rusqlite::Row<'_>) -> rusqlite::Result<ReportSummary> {
    Ok(ReportSummary {
        id: r.get(0)?,
        study_uid: r.get(1)?,
        patient_id: r.get(2)?,
        patient_name: r.get(3)?,
        patient_sex: r.get(4)?,
        patient_birth_date: r.get(5)?,
        accession: r.get(6)?,
        study_date: r.get(7)?,
        study_description: r.get(8)?,
        modalities: r.get::<_, Option<String>>(9)?.unwrap_or_default(),
        kind: r.get(10)?,
        title: r.get(11)?,
        status: r.get(12)?,
        is_final: r.get(13)?,
        is_current: r.get(14)?,
        observer: r.get(15)?,
        organization: r.get(16)?,
        verified_at: r.get(17)?,
        content_at: r.get(18)?,
        received_at: r.get(19)?,
        destination: r.get(20)?,
        acknowledged_at: r.get(21)?,
    })
}

/// Summaries of the reports `where_` selects (`?1` is the user whose acknowledgement shows).
fn summaries<P: rusqlite::Params>(
    conn: &Connection,
    where_: &str,
    p: P,
) -> Result<Vec<ReportSummary>, StoreError> {
    let mut stmt = conn.prepare(&format!("{SUMMARY_SELECT} {where_}"))?;
    let rows = stmt.query_map(p, summary)?.collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Reports matching `filter`, newest first.
pub fn list(conn: &Connection, filter: &ReportFilter) -> Result<Vec<ReportSummary>, StoreError> {
    let limit = if filter.limit == 0 {
        200
    } else {
        filter.limit.min(5000)
    };
    summaries(
        conn,
        "WHERE r.kind <> 'ko' AND (?2 OR r.is_current) AND (?3 IS NULL OR s.study_uid = ?3)
           AND (NOT ?4 OR NOT EXISTS (SELECT 1 FROM report_acks a WHERE a.report_ref = r.id AND a.user = ?1))
         ORDER BY r.received_at DESC, r.id DESC LIMIT ?5",
        params![
            filter.user,
            filter.all_versions,
            filter.study_uid,
            filter.unread_only && filter.user.is_some(),
            limit
        ],
    )
}

/// Current SR and PDF reports `user` has not acknowledged.
pub fn unread_count(conn: &Connection, user: &str) -> Result<i64, StoreError> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM reports r WHERE r.kind <> 'ko' AND r.is_current
           AND NOT EXISTS (SELECT 1 FROM report_acks a WHERE a.report_ref = r.id AND a.user = ?1)",
        [user],
        |r| r.get(0),
    )?)
}

/// Current SR and PDF reports no one has acknowledged yet.
pub fn unacknowledged_count(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM reports r WHERE r.kind <> 'ko' AND r.is_current
           AND NOT EXISTS (SELECT 1 FROM report_acks a WHERE a.report_ref = r.id)",
        [],
        |r| r.get(0),
    )?)
}

/// One report document with its versions, the study's PDFs and key images (`None`: no such
/// report). `user` decides whose acknowledgement `acknowledged_at` shows.
pub fn get(
    conn: &Connection,
    id: i64,
    user: Option<&str>,
) -> Result<Option<ReportView>, StoreError> {
    let Some(report) = summaries(conn, "WHERE r.id = ?2", params![user, id])?.pop() else {
        return Ok(None);
    };
    let (text, completion, verification, study_ref): (String, String, String, i64) = conn
        .query_row(
            "SELECT text, completion, verification, study_ref FROM reports WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
    let order = "ORDER BY r.content_at DESC, r.received_at DESC, r.id DESC";
    let versions = summaries(
        conn,
        &format!("WHERE r.study_ref = ?2 AND r.kind = ?3 {order}"),
        params![user, study_ref, report.kind],
    )?;
    let pdfs = summaries(
        conn,
        &format!("WHERE r.study_ref = ?2 AND r.kind = 'pdf' {order}"),
        params![user, study_ref],
    )?;
    let mut stmt = conn.prepare(
        "SELECT DISTINCT k.sop_instance_uid,
                (SELECT i.id FROM instances i WHERE i.sop_instance_uid = k.sop_instance_uid ORDER BY i.id LIMIT 1),
                (SELECT i.path FROM instances i WHERE i.sop_instance_uid = k.sop_instance_uid ORDER BY i.id LIMIT 1)
         FROM report_key_images k JOIN reports r ON r.id = k.report_ref
         WHERE r.study_ref = ?1 AND (r.kind = 'ko' OR r.id = ?2) ORDER BY k.rowid",
    )?;
    let key_images = stmt
        .query_map(params![study_ref, id], |r| {
            Ok(KeyImage {
                sop_instance_uid: r.get(0)?,
                instance_id: r.get(1)?,
                path: r.get(2)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(ReportView {
        turnaround: turnaround(conn, &report.study_uid)?,
        acknowledgements: acknowledgements(conn, id)?,
        report,
        text,
        completion,
        verification,
        versions,
        pdfs,
        key_images,
    }))
}

/// Who acknowledged report `id`, and when, earliest first.
pub fn acknowledgements(conn: &Connection, id: i64) -> Result<Vec<(String, i64)>, StoreError> {
    let mut stmt =
        conn.prepare("SELECT user, at FROM report_acks WHERE report_ref = ?1 ORDER BY at")?;
    let acks = stmt
        .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(acks)
}

/// The kind of report `id` and its file (relative to the data directory), if it exists.
pub fn pdf_instance(conn: &Connection, id: i64) -> Result<Option<(String, String)>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT r.kind, i.path FROM reports r JOIN instances i ON i.id = r.instance_ref WHERE r.id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// `user` has read report `id`, audited in the same transaction. Acknowledging twice keeps
/// the first time. Returns whether this was the first acknowledgement by this user, or `None`
/// when there is no such report.
pub fn acknowledge(conn: &mut Connection, id: i64, user: &str) -> Result<Option<bool>, StoreError> {
    // Immediate: a deferred transaction that reads, then writes after another process (CLI,
    // server) committed, gets SQLITE_BUSY at once instead of waiting for the lock.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let Some(study_uid): Option<String> = tx
        .query_row(
            "SELECT s.study_uid FROM reports r JOIN studies s ON s.id = r.study_ref WHERE r.id = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()?
    else {
        return Ok(None);
    };
    let first = tx.execute(
        "INSERT OR IGNORE INTO report_acks (report_ref, user, at) VALUES (?1, ?2, ?3)",
        params![id, user, now_ms()],
    )? > 0;
    if first {
        let detail = serde_json::json!({ "report_id": id }).to_string();
        audit::record(&tx, user, "report.acknowledge", &study_uid, &detail)?;
    }
    tx.commit()?;
    Ok(Some(first))
}
