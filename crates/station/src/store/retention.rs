//! The index's side of retention (issue 13): the studies that still hold files retention may
//! delete, with everything that decides whether they may go (deliveries, holds, flags, reports,
//! a person's "keep"); marking a study's files purged in one transaction; an instance's file
//! brought back; the disk used by each kind of file.
//!
//! Must never: touch a file (`storage::purge` deletes them once the mark has committed), or
//! mark purged a file retention keeps: reports (SR, Encapsulated PDF, Key Object Selection, and
//! everything the report poller fetched) and ECG waveforms are small and stay on disk.

use std::collections::HashMap;

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::{now_ms, StoreError, StudyState};

/// The instances retention may delete, as a condition on `instances i`.
const PURGEABLE: &str = "i.source_kind <> 'report'
    AND i.sop_class_uid NOT LIKE '1.2.840.10008.5.1.4.1.1.88.%'
    AND i.sop_class_uid <> '1.2.840.10008.5.1.4.1.1.104.1'
    AND i.sop_class_uid NOT LIKE '1.2.840.10008.5.1.4.1.1.9.%'";

/// A study with files retention could delete, and what decides whether it may.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyOnDisk {
    /// Row id in `studies`.
    pub study_id: i64,
    /// Study Instance UID (0020,000D).
    pub study_uid: String,
    /// Study Date (0008,0020), YYYYMMDD as the device wrote it; may be empty.
    pub study_date: String,
    /// Its series' modalities, e.g. `DX` or `US,SR`.
    pub modalities: String,
    /// The study's state (a held or unassigned one is never deleted).
    pub state: StudyState,
    /// Its order is urgent (kept until its final report).
    pub urgent: bool,
    /// A person marked it to be kept.
    pub keep: bool,
    /// An instance of it is flagged for a person's review.
    pub flagged: bool,
    /// The destinations it is queued for (every destination whose route took it).
    pub destinations: Vec<String>,
    /// How many of those verified it (QIDO-RS) and have nothing left to send.
    pub delivered: usize,
    /// When the last of its sends changed; its delivery time once all are delivered.
    pub last_send_change: Option<i64>,
    /// A final report arrived.
    pub final_report: bool,
    /// When its last instance arrived, Unix ms.
    pub last_received_at: i64,
    /// When its files last came back from a hub (the retention clock starts again).
    pub fetched_at: Option<i64>,
    /// Files retention may delete, and their bytes.
    pub files: i64,
    /// The bytes of those files.
    pub bytes: i64,
}

/// Every study with at least one file retention may delete, oldest delivery first.
pub fn studies_on_disk(conn: &Connection) -> Result<Vec<StudyOnDisk>, StoreError> {
    on_disk(conn, None)
}

/// The one study `study_id`, if it still holds files retention may delete: what a purge checks
/// again in its transaction when the study's turn comes (reading only that study's rows).
pub fn study_on_disk(conn: &Connection, study_id: i64) -> Result<Option<StudyOnDisk>, StoreError> {
    Ok(on_disk(conn, Some(study_id))?.into_iter().next())
}

fn on_disk(conn: &Connection, study_id: Option<i64>) -> Result<Vec<StudyOnDisk>, StoreError> {
    let only = if study_id.is_some() {
        "AND se.study_ref = ?1"
    } else {
        ""
    };
    let sql = format!(
        "SELECT st.id, st.study_uid, st.study_date, st.state, st.priority, st.keep,
                st.last_received_at, st.fetched_at,
                (SELECT group_concat(DISTINCT se.modality) FROM series se WHERE se.study_ref = st.id),
                EXISTS (SELECT 1 FROM series se JOIN instances i ON i.series_ref = se.id
                        WHERE se.study_ref = st.id AND i.review_reason IS NOT NULL),
                (SELECT group_concat(q.destination, char(31)) FROM send_queue q WHERE q.study_ref = st.id),
                (SELECT count(*) FROM send_queue q WHERE q.study_ref = st.id AND q.state = 'delivered'),
                (SELECT max(q.updated_at) FROM send_queue q WHERE q.study_ref = st.id),
                EXISTS (SELECT 1 FROM reports r WHERE r.study_ref = st.id AND r.is_final = 1),
                f.files, f.bytes
         FROM studies st
         JOIN (SELECT se.study_ref AS study_ref, count(*) AS files, sum(i.size) AS bytes
               FROM instances i JOIN series se ON se.id = i.series_ref
               WHERE i.purged_at IS NULL AND {PURGEABLE} {only}
               GROUP BY se.study_ref) f ON f.study_ref = st.id
         ORDER BY (SELECT max(q.updated_at) FROM send_queue q WHERE q.study_ref = st.id), st.id"
    );
    let mut stmt = conn.prepare(&sql)?;
    let params = rusqlite::params_from_iter(study_id);
    let rows = stmt
        .query_map(params, |r| {
            let destinations: Option<String> = r.get(10)?;
            Ok(StudyOnDisk {
                study_id: r.get(0)?,
                study_uid: r.get(1)?,
                study_date: r.get(2)?,
                state: r.get(3)?,
                urgent: r.get::<_, i64>(4)? > 0,
                keep: r.get(5)?,
                last_received_at: r.get(6)?,
                fetched_at: r.get(7)?,
                modalities: r.get::<_, Option<String>>(8)?.unwrap_or_default(),
                flagged: r.get(9)?,
                destinations: destinations
                    .map(|d| d.split('\u{1f}').map(str::to_owned).collect())
                    .unwrap_or_default(),
                delivered: r.get::<_, i64>(11)?.try_into().unwrap_or(0),
                last_send_change: r.get(12)?,
                final_report: r.get(13)?,
                files: r.get(14)?,
                bytes: r.get(15)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// A file marked purged, to be deleted once the mark has committed.
#[derive(Debug, Clone, PartialEq)]
pub struct MarkedFile {
    /// Row id in `instances`.
    pub instance_id: i64,
    /// SOP Instance UID (0008,0018), for the log.
    pub sop_instance_uid: String,
    /// Relative to the data directory.
    pub path: String,
    /// Its size in bytes (what deleting it frees).
    pub size: i64,
    /// Its corrected copy, if one was made for sending.
    pub send_path: Option<String>,
}

/// The files of the study retention may delete that are still on disk, with their previews to
/// keep: what [`mark_purged`] would mark.
pub fn purgeable_files(conn: &Connection, study_id: i64) -> Result<Vec<MarkedFile>, StoreError> {
    let sql = format!(
        "SELECT i.id, i.sop_instance_uid, i.path, i.size, i.send_path
         FROM instances i JOIN series se ON se.id = i.series_ref
         WHERE se.study_ref = ?1 AND i.purged_at IS NULL AND {PURGEABLE}
         ORDER BY i.id"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt
        .query_map([study_id], |r| {
            Ok(MarkedFile {
                instance_id: r.get(0)?,
                sop_instance_uid: r.get(1)?,
                path: r.get(2)?,
                size: r.get(3)?,
                send_path: r.get(4)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Marks the study's deletable files purged at `now`, in the caller's transaction, and returns
/// them. Once this commits the study counts as purged: its files are deleted after, and a
/// restart deletes any a crash left ([`purged_paths`]).
///
/// `pixels` holds the native pixel fingerprint (`dicom::pixels`) of the files that have one.
pub fn mark_purged(
    tx: &Transaction<'_>,
    study_id: i64,
    now: i64,
    pixels: &HashMap<i64, String>,
) -> Result<Vec<MarkedFile>, StoreError> {
    let files = purgeable_files(tx, study_id)?;
    let mut stmt =
        tx.prepare_cached("UPDATE instances SET purged_at = ?2, pixel_sha256 = ?3 WHERE id = ?1")?;
    for f in &files {
        stmt.execute(params![f.instance_id, now, pixels.get(&f.instance_id)])?;
    }
    // A corrected copy is made again from the original should the study be sent again.
    let mut copies = tx.prepare_cached(
        "UPDATE instances SET send_path = NULL, send_size = NULL, send_correction = NULL WHERE id = ?1",
    )?;
    for f in files.iter().filter(|f| f.send_path.is_some()) {
        copies.execute([f.instance_id])?;
    }
    Ok(files)
}

/// The files of every purged instance (relative paths): after a crash during a purge some may
/// still be on disk, and are deleted before the station receives again.
pub fn purged_paths(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare("SELECT path FROM instances WHERE purged_at IS NOT NULL")?;
    let rows = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// A purged instance, as fetch-back needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct PurgedInstance {
    /// Row id in `instances`.
    pub instance_id: i64,
    /// Study Instance UID: the WADO-RS path names it.
    pub study_uid: String,
    /// Series Instance UID: the WADO-RS path names it.
    pub series_uid: String,
    /// SOP Instance UID: the WADO-RS path names it.
    pub sop_instance_uid: String,
    /// The transfer syntax UID the deleted file had.
    pub transfer_syntax: String,
    /// The deleted file's SHA-256, which the fetched bytes must have (or its pixels').
    pub sha256: String,
    /// The deleted file's size in bytes.
    pub size: i64,
    /// Where the file was and goes back to, relative to the data directory.
    pub path: String,
}

/// The purged instances of a study (all of them, or only `sop_instance_uid`).
pub fn purged_instances(
    conn: &Connection,
    study_uid: &str,
    sop_instance_uid: Option<&str>,
) -> Result<Vec<PurgedInstance>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT i.id, st.study_uid, se.series_uid, i.sop_instance_uid, i.transfer_syntax,
                i.sha256, i.size, i.path
         FROM instances i JOIN series se ON se.id = i.series_ref JOIN studies st ON st.id = se.study_ref
         WHERE st.study_uid = ?1 AND i.purged_at IS NOT NULL
           AND (?2 IS NULL OR i.sop_instance_uid = ?2)
         ORDER BY i.id",
    )?;
    let rows = stmt
        .query_map(params![study_uid, sop_instance_uid], |r| {
            Ok(PurgedInstance {
                instance_id: r.get(0)?,
                study_uid: r.get(1)?,
                series_uid: r.get(2)?,
                sop_instance_uid: r.get(3)?,
                transfer_syntax: r.get(4)?,
                sha256: r.get(5)?,
                size: r.get(6)?,
                path: r.get(7)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The study of a SOP Instance UID, if that instance's file is purged.
pub fn purged_study_of(
    conn: &Connection,
    sop_instance_uid: &str,
) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT st.study_uid FROM instances i JOIN series se ON se.id = i.series_ref
             JOIN studies st ON st.id = se.study_ref
             WHERE i.sop_instance_uid = ?1 AND i.purged_at IS NOT NULL LIMIT 1",
            [sop_instance_uid],
            |r| r.get(0),
        )
        .optional()?)
}

/// The file of a purged instance is on disk again (fetched back, or sent again by a device):
/// the study's retention clock starts again.
pub fn mark_restored(conn: &Connection, instance_id: i64) -> Result<(), StoreError> {
    let now = now_ms();
    conn.execute(
        "UPDATE instances SET purged_at = NULL WHERE id = ?1",
        [instance_id],
    )?;
    conn.execute(
        "UPDATE studies SET fetched_at = ?2
         WHERE id = (SELECT se.study_ref FROM instances i JOIN series se ON se.id = i.series_ref WHERE i.id = ?1)",
        params![instance_id, now],
    )?;
    Ok(())
}

/// Sets or clears a person's "keep" on a study; how many rows changed (0: no such study, or
/// already so).
pub fn set_keep(conn: &Connection, study_uid: &str, keep: bool) -> Result<usize, StoreError> {
    Ok(conn.execute(
        "UPDATE studies SET keep = ?2 WHERE study_uid = ?1 AND keep <> ?2",
        params![study_uid, keep],
    )?)
}

/// How many of a study's instances are purged, and how many it has.
pub fn purged_count(conn: &Connection, study_id: i64) -> Result<(i64, i64), StoreError> {
    Ok(conn.query_row(
        "SELECT count(i.purged_at), count(*) FROM instances i JOIN series se ON se.id = i.series_ref
         WHERE se.study_ref = ?1",
        [study_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?)
}

/// Bytes on disk by kind, for the dashboard.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct DiskUse {
    /// Files of studies every destination verified (retention may delete them).
    pub delivered_bytes: i64,
    /// Files of studies not yet delivered everywhere (never deleted).
    pub undelivered_bytes: i64,
    /// Reports and ECG waveforms (kept).
    pub reports_bytes: i64,
    /// Files deleted after delivery, kept at the center.
    pub purged_bytes: i64,
}

/// The bytes of every indexed file by kind, counted from the rows now (dashboard's disk card).
pub fn disk_use(conn: &Connection) -> Result<DiskUse, StoreError> {
    let sql = format!(
        "SELECT
           coalesce(sum(CASE WHEN i.purged_at IS NULL AND ({PURGEABLE}) AND d.study_ref IS NOT NULL THEN i.size END), 0),
           coalesce(sum(CASE WHEN i.purged_at IS NULL AND ({PURGEABLE}) AND d.study_ref IS NULL THEN i.size END), 0),
           coalesce(sum(CASE WHEN NOT ({PURGEABLE}) THEN i.size END), 0),
           coalesce(sum(CASE WHEN i.purged_at IS NOT NULL THEN i.size END), 0)
         FROM instances i JOIN series se ON se.id = i.series_ref
         LEFT JOIN (SELECT q.study_ref FROM send_queue q GROUP BY q.study_ref
                    HAVING count(*) = sum(q.state = 'delivered')) d ON d.study_ref = se.study_ref"
    );
    Ok(conn.query_row(&sql, [], |r| {
        Ok(DiskUse {
            delivered_bytes: r.get(0)?,
            undelivered_bytes: r.get(1)?,
            reports_bytes: r.get(2)?,
            purged_bytes: r.get(3)?,
        })
    })?)
}

/// What was kept of a purged instance's file, to check bytes that would put it back.
#[derive(Debug, Clone, PartialEq)]
pub struct PurgedFile {
    /// The deleted file's SHA-256.
    pub sha256: String,
    /// Relative to the data directory.
    pub path: String,
    /// SOP Instance UID (0008,0018): bytes for another instance are refused.
    pub sop_instance_uid: String,
    /// Its native pixel data's fingerprint, when it had one.
    pub pixel_sha256: Option<String>,
}

/// What was kept of instance `id`'s file while it is purged (`None`: not purged).
pub fn purged_file(conn: &Connection, instance_id: i64) -> Result<Option<PurgedFile>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT sha256, path, sop_instance_uid, pixel_sha256 FROM instances
             WHERE id = ?1 AND purged_at IS NOT NULL",
            [instance_id],
            |r| {
                Ok(PurgedFile {
                    sha256: r.get(0)?,
                    path: r.get(1)?,
                    sop_instance_uid: r.get(2)?,
                    pixel_sha256: r.get(3)?,
                })
            },
        )
        .optional()?)
}

/// Instance `id`'s file is back as other bytes with the same pixels (another native transfer
/// syntax): the row takes the new file's size, SHA-256 and syntax; its retention clock starts
/// again.
pub fn mark_restored_as(
    conn: &Connection,
    instance_id: i64,
    size: u64,
    sha256: &str,
    transfer_syntax: &str,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE instances SET size = ?2, sha256 = ?3, transfer_syntax = ?4 WHERE id = ?1",
        params![instance_id, size as i64, sha256, transfer_syntax],
    )?;
    mark_restored(conn, instance_id)
}

/// The destinations that verified the study (their hubs hold its files), in name order.
pub fn holders(conn: &Connection, study_uid: &str) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT q.destination FROM send_queue q JOIN studies st ON st.id = q.study_ref
         WHERE st.study_uid = ?1 AND q.state = 'delivered' ORDER BY q.destination",
    )?;
    let rows = stmt
        .query_map([study_uid], |r| r.get(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
