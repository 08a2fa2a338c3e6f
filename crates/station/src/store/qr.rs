//! The index as the Query/Retrieve SCP reads it (PS3.4 Annex C): patients, studies, series and
//! instances as flat rows, each with the attributes of the levels above it and the counts of
//! what lies below, narrowed by the unique keys a query gives (the rest of the matching, on
//! wildcards and ranges, is `scp::query`'s).
//!
//! Must never: write, or return an instance twice (a SOP Instance UID stored in two versions
//! answers with its first copy, as DICOMweb does).

use rusqlite::{params, Connection, Row};

use super::StoreError;

/// What narrows a Q/R read: empty lists and `None` narrow nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QrFilter {
    /// Patient ID (0010,0020), matched exactly.
    pub patient_id: Option<String>,
    /// Study Instance UIDs (0020,000D): a UID list key, any of them.
    pub study_uids: Vec<String>,
    /// Series Instance UIDs (0020,000E): any of them.
    pub series_uids: Vec<String>,
    /// SOP Instance UIDs (0008,0018): any of them.
    pub sop_uids: Vec<String>,
}

impl QrFilter {
    /// The filter as the SQL below binds it: the patient ID ('' for any), then each list as a
    /// JSON array (NULL for any).
    fn bound(&self) -> (String, Option<String>, Option<String>, Option<String>) {
        let list = |v: &[String]| (!v.is_empty()).then(|| serde_json::json!(v).to_string());
        (
            self.patient_id.clone().unwrap_or_default(),
            list(&self.study_uids),
            list(&self.series_uids),
            list(&self.sop_uids),
        )
    }
}

/// One answer row; the fields below its level are empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QrRow {
    /// Patient ID (0010,0020) as the device sent it.
    pub patient_id: String,
    /// Patient's Name, decoded to Unicode (the SCP encodes it in the answer's charset).
    pub patient_name: String,
    /// Patient's Birth Date (0010,0030), YYYYMMDD or empty.
    pub birth_date: String,
    /// Patient's Sex (0010,0040), or empty.
    pub sex: String,
    /// Study Instance UID (0020,000D).
    pub study_uid: String,
    /// Study Date (0008,0020), YYYYMMDD as the device wrote it (its local date).
    pub study_date: String,
    /// Study Time (0008,0030), HHMMSS[.frac] as the device wrote it.
    pub study_time: String,
    /// Accession Number (0008,0050).
    pub accession: String,
    /// Study Description (0008,1030).
    pub study_description: String,
    /// The modalities of the study's series, `\`-separated.
    pub modalities: String,
    /// Series Instance UID (0020,000E).
    pub series_uid: String,
    /// The series' Modality (0008,0060).
    pub modality: String,
    /// Series Number (0020,0011); `None` when absent.
    pub series_number: Option<i64>,
    /// Series Description (0008,103E).
    pub series_description: String,
    /// SOP Instance UID (0008,0018).
    pub sop_uid: String,
    /// SOP Class UID (0008,0016).
    pub sop_class_uid: String,
    /// Instance Number (0020,0013); `None` when absent.
    pub instance_number: Option<i64>,
    /// The transfer syntax UID of the file as stored (C-MOVE and C-GET offer it first).
    pub transfer_syntax: String,
    /// Relative to the data directory.
    pub path: String,
    /// Retention deleted the file.
    pub purged: bool,
    /// Studies, series and instances below this row (those of its level and above are 0).
    pub related_studies: i64,
    /// Number of Patient/Study Related Series (0020,1200 / 0020,1206).
    pub related_series: i64,
    /// Number of Patient/Study/Series Related Instances (0020,1204 / 0020,1208 / 0020,1209).
    pub related_instances: i64,
}

/// The WHERE clause every read shares: ?1 patient ID, ?2 study, ?3 series, ?4 SOP UIDs.
const NARROW: &str = "(?1 = '' OR p.patient_id = ?1)
    AND (?2 IS NULL OR s.study_uid IN (SELECT value FROM json_each(?2)))";

fn patient_of(r: &Row<'_>, row: &mut QrRow) -> rusqlite::Result<()> {
    row.patient_id = r.get(0)?;
    row.patient_name = r.get(1)?;
    row.birth_date = r.get(2)?;
    row.sex = r.get(3)?;
    Ok(())
}

/// Columns 4..=9 after the patient's: the study's own.
fn study_of(r: &Row<'_>, row: &mut QrRow) -> rusqlite::Result<()> {
    row.study_uid = r.get(4)?;
    row.study_date = r.get(5)?;
    row.study_time = r.get(6)?;
    row.accession = r.get(7)?;
    row.study_description = r.get(8)?;
    row.modalities = r.get::<_, Option<String>>(9)?.unwrap_or_default();
    Ok(())
}

/// Columns 10..=13: the series' own.
fn series_of(r: &Row<'_>, row: &mut QrRow) -> rusqlite::Result<()> {
    row.series_uid = r.get(10)?;
    row.modality = r.get(11)?;
    row.series_number = r.get(12)?;
    row.series_description = r.get(13)?;
    Ok(())
}

const PATIENT_COLUMNS: &str = "p.patient_id, p.name, p.birth_date, p.sex";
const STUDY_COLUMNS: &str = "s.study_uid, s.study_date, s.study_time, s.accession, s.description,
    (SELECT group_concat(modality, '\\') FROM (SELECT DISTINCT modality FROM series
        WHERE study_ref = s.id AND modality <> '' ORDER BY modality))";

/// Patients with at least one study (PATIENT level of the Patient Root model).
pub fn patients(conn: &Connection, filter: &QrFilter) -> Result<Vec<QrRow>, StoreError> {
    let (pid, studies, _, _) = filter.bound();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {PATIENT_COLUMNS}, COUNT(DISTINCT s.id), COUNT(DISTINCT se.id),
                COUNT(DISTINCT i.sop_instance_uid)
         FROM patients p JOIN studies s ON s.patient_ref = p.id
         LEFT JOIN series se ON se.study_ref = s.id
         LEFT JOIN instances i ON i.series_ref = se.id
         WHERE {NARROW} GROUP BY p.id ORDER BY p.id"
    ))?;
    let rows = stmt
        .query_map(params![pid, studies], |r| {
            let mut row = QrRow::default();
            patient_of(r, &mut row)?;
            row.related_studies = r.get(4)?;
            row.related_series = r.get(5)?;
            row.related_instances = r.get(6)?;
            Ok(row)
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Studies with their patient (STUDY level).
pub fn studies(conn: &Connection, filter: &QrFilter) -> Result<Vec<QrRow>, StoreError> {
    let (pid, studies, _, _) = filter.bound();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {PATIENT_COLUMNS}, {STUDY_COLUMNS},
            (SELECT COUNT(*) FROM series WHERE study_ref = s.id),
            (SELECT COUNT(DISTINCT i.sop_instance_uid) FROM instances i
               JOIN series se ON se.id = i.series_ref WHERE se.study_ref = s.id)
         FROM studies s JOIN patients p ON p.id = s.patient_ref
         WHERE {NARROW} ORDER BY s.study_date DESC, s.id DESC"
    ))?;
    let rows = stmt
        .query_map(params![pid, studies], |r| {
            let mut row = QrRow::default();
            patient_of(r, &mut row)?;
            study_of(r, &mut row)?;
            row.related_series = r.get(10)?;
            row.related_instances = r.get(11)?;
            Ok(row)
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Series with their study and patient (SERIES level).
pub fn series(conn: &Connection, filter: &QrFilter) -> Result<Vec<QrRow>, StoreError> {
    let (pid, studies, series, _) = filter.bound();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {PATIENT_COLUMNS}, {STUDY_COLUMNS},
            se.series_uid, se.modality, se.number, se.description,
            (SELECT COUNT(DISTINCT sop_instance_uid) FROM instances WHERE series_ref = se.id)
         FROM series se JOIN studies s ON s.id = se.study_ref JOIN patients p ON p.id = s.patient_ref
         WHERE {NARROW} AND (?3 IS NULL OR se.series_uid IN (SELECT value FROM json_each(?3)))
         ORDER BY s.id, se.number, se.id"
    ))?;
    let rows = stmt
        .query_map(params![pid, studies, series], |r| {
            let mut row = QrRow::default();
            patient_of(r, &mut row)?;
            study_of(r, &mut row)?;
            series_of(r, &mut row)?;
            row.related_instances = r.get(14)?;
            Ok(row)
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Instances (their first stored copy) with their series, study and patient (IMAGE level, and
/// what a retrieve sends).
pub fn instances(conn: &Connection, filter: &QrFilter) -> Result<Vec<QrRow>, StoreError> {
    let (pid, studies, series, sops) = filter.bound();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {PATIENT_COLUMNS}, {STUDY_COLUMNS},
            se.series_uid, se.modality, se.number, se.description,
            i.sop_instance_uid, i.sop_class_uid, i.instance_number, i.transfer_syntax, i.path,
            i.purged_at IS NOT NULL
         FROM instances i JOIN series se ON se.id = i.series_ref
         JOIN studies s ON s.id = se.study_ref JOIN patients p ON p.id = s.patient_ref
         WHERE {NARROW} AND (?3 IS NULL OR se.series_uid IN (SELECT value FROM json_each(?3)))
           AND (?4 IS NULL OR i.sop_instance_uid IN (SELECT value FROM json_each(?4)))
           AND i.id = (SELECT MIN(id) FROM instances WHERE sop_instance_uid = i.sop_instance_uid)
         ORDER BY s.id, se.number, se.id, i.instance_number, i.id"
    ))?;
    let rows = stmt
        .query_map(params![pid, studies, series, sops], |r| {
            let mut row = QrRow::default();
            patient_of(r, &mut row)?;
            study_of(r, &mut row)?;
            series_of(r, &mut row)?;
            row.sop_uid = r.get(14)?;
            row.sop_class_uid = r.get(15)?;
            row.instance_number = r.get(16)?;
            row.transfer_syntax = r.get(17)?;
            row.path = r.get(18)?;
            row.purged = r.get(19)?;
            Ok(row)
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
