//! The `studies` table as people and the lifecycle read and change it: search and detail with
//! series, instances and sends (the Studies screens), what matching needs of a study and the
//! links it makes to orders (in `matching`), the lifecycle's looks at arriving studies, and
//! priority.
//!
//! Patient and accession are shown as sent: the registered patient's once the study is
//! matched to an order (`registry::correction` applies them to what is sent).
//!
//! Must never: show a study with the device's patient once it is matched to an order.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::{like_escaped, now_ms, HubProblem, SendState, StoreError, StudyState};

mod matching;
pub use matching::{
    facts, hold_unassigned, id_of, link_order, of_patient, release_assigned, uid_of,
    unassigned_ids, unlink_order, StudyFacts,
};

/// A study with its patient as received (`p`) and, once matched, its order (`o`) and the
/// registered patient (`rp`) whose data is what is sent.
pub(super) const STUDY_FROM: &str = "FROM studies s JOIN patients p ON p.id = s.patient_ref
     LEFT JOIN orders o ON o.id = s.order_ref LEFT JOIN reg_patients rp ON rp.id = o.patient_ref";

/// Patient ID, name, sex, birth date and accession as sent: the registration's when matched.
pub(super) const SENT_PATIENT: &str =
    "COALESCE(rp.clinic_id, p.patient_id), COALESCE(rp.name, p.name),
        COALESCE(NULLIF(rp.sex, ''), p.sex), COALESCE(NULLIF(rp.birth_date, ''), p.birth_date),
        COALESCE(o.accession, s.accession)";

/// A study as lists show it. Patient and accession are as sent: the registered patient's once
/// the study is matched to an order.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct StudySummary {
    /// Study Instance UID (0020,000D).
    pub study_uid: String,
    /// Patient ID as sent: the registered clinic ID once matched, else the device's.
    pub patient_id: String,
    /// Patient's Name as sent (`family^given`, Unicode): the registered name once matched.
    pub patient_name: String,
    /// The name as the device sent it (differs from `patient_name` when the order corrected it).
    pub received_patient_name: String,
    /// The accession of the order the study is matched to; `null` while unmatched.
    pub order_accession: Option<String>,
    /// "M", "F", "O" or empty, as sent.
    pub patient_sex: String,
    /// YYYYMMDD or empty, as sent.
    pub patient_birth_date: String,
    /// Accession Number as sent: the order's once matched, else the device's (may be empty).
    pub accession: String,
    /// Study Date (0008,0020), YYYYMMDD as the device wrote it (its local date); may be empty.
    pub study_date: String,
    /// Study Time (0008,0030), HHMMSS[.frac] as the device wrote it; may be empty.
    pub study_time: String,
    /// Study Description (0008,1030); may be empty.
    pub description: String,
    /// The modalities of its series (DX, US, ECG, SR, …), each once.
    pub modalities: Vec<String>,
    /// Instances received.
    pub instances: i64,
    /// Where the study stands (receiving, complete, held, unassigned, …).
    pub state: StudyState,
    /// Urgent (its order, or a person, said so): sent and polled for reports first.
    pub urgent: bool,
    /// When its first instance arrived, Unix ms (show in local time).
    pub first_received_at: i64,
    /// When its latest instance arrived, Unix ms; lists are newest first by it.
    pub last_received_at: i64,
    /// When `state` last changed, Unix ms.
    pub state_changed_at: i64,
    /// Instances whose files were deleted after delivery (kept at the center, 中心存档).
    pub purged_instances: i64,
    /// A person marked it to be kept on this station (never purged).
    pub keep: bool,
    /// Complete, and no destination took it (未发送（无目的地）): it stays here until a
    /// destination that accepts it is added and it is routed (`studies_route`).
    pub unrouted: bool,
}

/// One instance of a series, as the study page lists it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InstanceInfo {
    /// SOP Instance UID (0008,0018).
    pub sop_instance_uid: String,
    /// SOP Class UID (0008,0016): what kind of object (image, SR report, ECG waveform, …).
    pub sop_class_uid: String,
    /// Instance Number (0020,0013); `null` when the device sent none.
    pub instance_number: Option<i64>,
    /// The file's size in bytes as received.
    pub size: i64,
    /// When it arrived, Unix ms (show in local time).
    pub received_at: i64,
    /// `dicom`, `folder`, `import`, `recovery` or `report`.
    pub source_kind: String,
    /// The device's AE title, the original file path, or the destination, by `source_kind`.
    pub source: String,
    /// Specific Character Set (0008,0005) as declared, values joined by `\`; empty when absent.
    pub charset: String,
    /// The charset its text was read with when the declared one did not fit; `null`: as declared.
    pub charset_repaired: Option<String>,
    /// Why a person should look at it (e.g. a name undecodable in its charset); `null`: fine.
    pub review_reason: Option<String>,
    /// Its file was deleted after delivery; the hub holds it (fetched back on demand).
    pub purged: bool,
}

/// One series of a study with its instances, as the study page lists it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SeriesInfo {
    /// Series Instance UID (0020,000E).
    pub series_uid: String,
    /// Modality (0008,0060).
    pub modality: String,
    /// Series Number (0020,0011); `null` when the device sent none.
    pub number: Option<i64>,
    /// Series Description (0008,103E); may be empty.
    pub description: String,
    /// Its instances.
    pub instances: Vec<InstanceInfo>,
}

/// An instance the hub refused, with its reason.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InstanceFailure {
    /// SOP Instance UID (0008,0018).
    pub sop_instance_uid: String,
    /// What the hub said (STOW-RS Failure Reason and its words), raw.
    pub error: String,
    /// Times it was sent.
    pub attempts: i64,
}

/// The study's sending to one destination.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SendInfo {
    /// The destination's configured name.
    pub destination: String,
    /// Where this send stands (queued, sending, sent, delivered, failed, held).
    pub state: SendState,
    /// 1 urgent, 0 routine: the queue takes higher first.
    pub priority: i64,
    /// Attempts so far.
    pub attempts: i64,
    /// The last failure as the station recorded it (raw detail); `null` when none.
    pub last_error: Option<String>,
    /// What `last_error` means, for the sentence a person reads.
    pub last_error_kind: Option<HubProblem>,
    /// When the next attempt is due, Unix ms; `null`: not waiting to retry.
    pub next_attempt_at: Option<i64>,
    /// When the study was queued for this destination, Unix ms.
    pub created_at: i64,
    /// When this send last changed, Unix ms.
    pub updated_at: i64,
    /// Instances this send carries.
    pub instances: i64,
    /// Of those, how many the hub named as stored.
    pub stored: i64,
    /// Of those, how many the hub refused.
    pub failed: i64,
    /// The refused instances, each with the hub's reason.
    pub failures: Vec<InstanceFailure>,
    /// Bytes sent of the instances stored there, beside their originals' (`null` when none
    /// had its size recorded: stored before the station recorded sizes).
    pub wire: Option<super::wire::WireBytes>,
}

/// Which studies to list; `None` and empty fields match everything. Dates are DICOM DA.
#[derive(Debug, Clone, Default)]
pub struct StudyFilter {
    /// Part of the patient's name (with or without `^`), patient ID or accession, taken
    /// literally.
    pub text: Option<String>,
    /// Patient ID as sent, exactly.
    pub patient_id: Option<String>,
    /// Earliest Study Date, YYYYMMDD, inclusive.
    pub date_from: Option<String>,
    /// Latest Study Date, YYYYMMDD, inclusive.
    pub date_to: Option<String>,
    /// A series of this modality.
    pub modality: Option<String>,
    /// In this state.
    pub state: Option<StudyState>,
    /// Only urgent studies.
    pub urgent_only: bool,
    /// Rows to skip (paging).
    pub offset: u32,
    /// Rows to return at most.
    pub limit: u32,
}

fn summary_select() -> String {
    format!(
        "SELECT s.study_uid, {SENT_PATIENT},
        s.study_date, s.study_time, s.description,
        (SELECT group_concat(DISTINCT se.modality) FROM series se WHERE se.study_ref = s.id),
        (SELECT COUNT(*) FROM instances i JOIN series se ON se.id = i.series_ref WHERE se.study_ref = s.id),
        s.state, s.priority, s.first_received_at, s.last_received_at, s.state_changed_at,
        p.name, o.accession,
        (SELECT COUNT(i.purged_at) FROM instances i JOIN series se ON se.id = i.series_ref WHERE se.study_ref = s.id),
        s.keep,
        s.state = 'complete' AND NOT EXISTS (SELECT 1 FROM send_queue q WHERE q.study_ref = s.id)
     {STUDY_FROM}"
    )
}

fn summary(r: &rusqlite::Row<'_>) -> rusqlite::Result<StudySummary> {
    let modalities: Option<String> = r.get(9)?;
    Ok(StudySummary {
        study_uid: r.get(0)?,
        patient_id: r.get(1)?,
        patient_name: r.get(2)?,
        patient_sex: r.get(3)?,
        patient_birth_date: r.get(4)?,
        accession: r.get(5)?,
        study_date: r.get(6)?,
        study_time: r.get(7)?,
        description: r.get(8)?,
        modalities: modalities
            .map(|m| {
                m.split(',')
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default(),
        instances: r.get(10)?,
        state: r.get(11)?,
        urgent: r.get::<_, i64>(12)? > 0,
        first_received_at: r.get(13)?,
        last_received_at: r.get(14)?,
        state_changed_at: r.get(15)?,
        received_patient_name: r.get(16)?,
        order_accession: r.get(17)?,
        purged_instances: r.get(18)?,
        keep: r.get(19)?,
        unrouted: r.get(20)?,
    })
}

/// Studies matching `f`, most recently received first: how many in all, and one page.
pub fn search(conn: &Connection, f: &StudyFilter) -> Result<(i64, Vec<StudySummary>), StoreError> {
    // LIKE with the caller's text taken literally.
    let text = f
        .text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| format!("%{}%", like_escaped(t).replace('^', "")));
    let filter = "WHERE (?1 IS NULL OR REPLACE(p.name, '^', '') LIKE ?1 ESCAPE '\\'
                         OR REPLACE(rp.name, '^', '') LIKE ?1 ESCAPE '\\' OR rp.clinic_id LIKE ?1 ESCAPE '\\'
                         OR p.patient_id LIKE ?1 ESCAPE '\\' OR s.accession LIKE ?1 ESCAPE '\\'
                         OR o.accession LIKE ?1 ESCAPE '\\')
          AND (?2 IS NULL OR COALESCE(rp.clinic_id, p.patient_id) = ?2)
          AND (?3 IS NULL OR s.study_date >= ?3)
          AND (?4 IS NULL OR s.study_date <= ?4)
          AND (?5 IS NULL OR EXISTS (SELECT 1 FROM series se WHERE se.study_ref = s.id AND se.modality = ?5))
          AND (?6 IS NULL OR s.state = ?6)
          AND (?7 = 0 OR s.priority > 0)";
    let args = params![
        text,
        f.patient_id,
        f.date_from,
        f.date_to,
        f.modality,
        f.state,
        f.urgent_only
    ];
    let total = conn.query_row(
        &format!("SELECT COUNT(*) {STUDY_FROM} {filter}"),
        args,
        |r| r.get(0),
    )?;
    let mut stmt = conn.prepare(&format!(
        "{} {filter} ORDER BY s.last_received_at DESC, s.id DESC LIMIT {} OFFSET {}",
        summary_select(),
        f.limit,
        f.offset
    ))?;
    let items = stmt
        .query_map(args, summary)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok((total, items))
}

/// One study as lists show it.
pub fn summary_of(conn: &Connection, study_uid: &str) -> Result<Option<StudySummary>, StoreError> {
    Ok(conn
        .query_row(
            &format!("{} WHERE s.study_uid = ?1", summary_select()),
            [study_uid],
            summary,
        )
        .optional()?)
}

/// The study's series with their instances, in series and instance number order.
pub fn series_of(conn: &Connection, study_uid: &str) -> Result<Vec<SeriesInfo>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT se.id, se.series_uid, se.modality, se.number, se.description FROM series se
         JOIN studies s ON s.id = se.study_ref WHERE s.study_uid = ?1 ORDER BY se.number, se.id",
    )?;
    let mut series = stmt
        .query_map([study_uid], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                SeriesInfo {
                    series_uid: r.get(1)?,
                    modality: r.get(2)?,
                    number: r.get(3)?,
                    description: r.get(4)?,
                    instances: Vec::new(),
                },
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut stmt = conn.prepare(
        "SELECT sop_instance_uid, sop_class_uid, instance_number, size, received_at, source_kind,
                source, charset, charset_repaired, review_reason, purged_at IS NOT NULL
         FROM instances WHERE series_ref = ?1 ORDER BY instance_number, id",
    )?;
    for (id, s) in &mut series {
        s.instances = stmt
            .query_map([*id], |r| {
                Ok(InstanceInfo {
                    sop_instance_uid: r.get(0)?,
                    sop_class_uid: r.get(1)?,
                    instance_number: r.get(2)?,
                    size: r.get(3)?,
                    received_at: r.get(4)?,
                    source_kind: r.get(5)?,
                    source: r.get(6)?,
                    charset: r.get(7)?,
                    charset_repaired: r.get(8)?,
                    review_reason: r.get(9)?,
                    purged: r.get(10)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
    }
    Ok(series.into_iter().map(|(_, s)| s).collect())
}

/// The study's sending to each destination, with the instances the hub refused.
pub fn sends_of(conn: &Connection, study_uid: &str) -> Result<Vec<SendInfo>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT q.id, q.destination, q.state, q.priority, q.attempts, q.last_error, q.next_attempt_at,
                q.created_at, q.updated_at,
                (SELECT COUNT(*) FROM send_instances si WHERE si.queue_ref = q.id),
                (SELECT COUNT(*) FROM send_instances si WHERE si.queue_ref = q.id AND si.state = 'stored'),
                (SELECT COUNT(*) FROM send_instances si WHERE si.queue_ref = q.id AND si.state = 'failed')
         FROM send_queue q JOIN studies s ON s.id = q.study_ref WHERE s.study_uid = ?1 ORDER BY q.destination",
    )?;
    let mut sends = stmt
        .query_map([study_uid], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                SendInfo {
                    destination: r.get(1)?,
                    state: r.get(2)?,
                    priority: r.get(3)?,
                    attempts: r.get(4)?,
                    last_error_kind: r
                        .get::<_, Option<String>>(5)?
                        .as_deref()
                        .map(HubProblem::of),
                    last_error: r.get(5)?,
                    next_attempt_at: r.get(6)?,
                    created_at: r.get(7)?,
                    updated_at: r.get(8)?,
                    instances: r.get(9)?,
                    stored: r.get(10)?,
                    failed: r.get(11)?,
                    failures: Vec::new(),
                    wire: None,
                },
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut stmt = conn.prepare(
        "SELECT i.sop_instance_uid, COALESCE(si.last_error, ''), si.attempts FROM send_instances si
         JOIN instances i ON i.id = si.instance_ref
         WHERE si.queue_ref = ?1 AND si.last_error IS NOT NULL ORDER BY i.id",
    )?;
    for (id, send) in &mut sends {
        send.failures = stmt
            .query_map([*id], |r| {
                Ok(InstanceFailure {
                    sop_instance_uid: r.get(0)?,
                    error: r.get(1)?,
                    attempts: r.get(2)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        send.wire = super::wire::bytes_of_row(conn, *id)?;
    }
    Ok(sends.into_iter().map(|(_, s)| s).collect())
}

/// The study's patient name as the screens show it: the registered patient's once matched,
/// else the name the device sent (for the desktop's notifications).
pub fn patient_name(conn: &Connection, study_uid: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row(
            &format!("SELECT COALESCE(rp.name, p.name) {STUDY_FROM} WHERE s.study_uid = ?1"),
            [study_uid],
            |r| r.get(0),
        )
        .optional()?)
}

/// The study's state, if the study is known.
pub fn state_of(conn: &Connection, study_uid: &str) -> Result<Option<StudyState>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT state FROM studies WHERE study_uid = ?1",
            [study_uid],
            |r| r.get(0),
        )
        .optional()?)
}

/// The study's current state as the database holds it, if the study is known (for tests and
/// diagnostics, which compare it with the word they expect).
pub fn study_state(conn: &Connection, study_uid: &str) -> Result<Option<String>, StoreError> {
    Ok(state_of(conn, study_uid)?.map(|s| s.to_string()))
}

/// Marks a study urgent (claimed first by every destination's worker) or not; returns how many
/// of its send rows changed.
pub fn set_priority(conn: &Connection, study_uid: &str, urgent: bool) -> Result<usize, StoreError> {
    let priority = i64::from(urgent);
    conn.execute(
        "UPDATE studies SET priority = ?2 WHERE study_uid = ?1",
        params![study_uid, priority],
    )?;
    Ok(conn.execute(
        "UPDATE send_queue SET priority = ?2, updated_at = ?3
         WHERE study_ref = (SELECT id FROM studies WHERE study_uid = ?1)",
        params![study_uid, priority, now_ms()],
    )?)
}

/// When the next study still receiving becomes quiet (Unix ms), if any.
pub fn next_quiet(conn: &Connection, quiet_ms: i64) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT MIN(last_received_at) FROM studies WHERE state = 'receiving'")?
        .query_row([], |r| r.get::<_, Option<i64>>(0))?
        .map(|t| t + quiet_ms))
}

/// Studies still arriving for which it is not yet decided whether they go as they arrive.
pub fn arriving_undecided(conn: &Connection) -> Result<Vec<i64>, StoreError> {
    let ids = conn
        .prepare_cached("SELECT id FROM studies WHERE state = 'receiving' AND send_early IS NULL")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(ids)
}

/// Records whether the arriving study goes as it arrives.
pub fn set_send_early(conn: &Connection, study_id: i64, early: bool) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE studies SET send_early = ?2 WHERE id = ?1",
        params![study_id, early],
    )?;
    Ok(())
}
