//! Image exams: the images a device exports for one exam share a study and a series. An exam
//! stays open while its files keep arriving in the same directory, for the same patient, less
//! than the profile's `exam_gap_secs` apart. Open exams are kept in memory and, after a restart,
//! picked up again from the conversions recorded in the store, so a power cut in the middle of
//! an exam does not split it.
//!
//! Must never: put two patients' images in one series.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;

use super::patient::Assignment;
use crate::store::{conversions, now_ms, Store, StoreError};

/// Where the next image of an exam goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Slot {
    pub study_uid: String,
    pub series_uid: String,
    pub instance_number: i32,
    pub study_started: NaiveDateTime,
}

struct Open {
    assignment_key: String,
    study_uid: String,
    series_uid: String,
    next_instance: i32,
    study_started: NaiveDateTime,
    last_file: Instant,
}

/// The open exams, by the directory their files arrive in.
pub struct Exams {
    store: Arc<Store>,
    open: Mutex<HashMap<PathBuf, Open>>,
}

impl Exams {
    pub fn new(store: Arc<Store>) -> Exams {
        Exams {
            store,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// The slot for an image that arrived now in `dir`; `new_uids` gives the study and series
    /// UIDs of a new exam (the order's study, or a fresh one).
    pub fn join(
        &self,
        dir: &Path,
        assignment: &Assignment,
        acquired: NaiveDateTime,
        gap: Duration,
        new_uids: impl FnOnce() -> (String, String),
    ) -> Result<Slot, StoreError> {
        let store = &self.store;
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.retain(|_, e| e.last_file.elapsed() < gap);
        let key = assignment.key();
        let exam = match open.remove(dir) {
            Some(e) if e.assignment_key == key => e,
            Some(_) => new_exam(key, acquired, new_uids),
            None => match resume(store, dir, assignment, gap)? {
                Some(e) => e,
                None => new_exam(key, acquired, new_uids),
            },
        };
        let slot = Slot {
            study_uid: exam.study_uid.clone(),
            series_uid: exam.series_uid.clone(),
            instance_number: exam.next_instance,
            study_started: exam.study_started,
        };
        open.insert(
            dir.to_path_buf(),
            Open {
                next_instance: exam.next_instance + 1,
                last_file: Instant::now(),
                ..exam
            },
        );
        Ok(slot)
    }
}

fn new_exam(
    assignment_key: String,
    acquired: NaiveDateTime,
    new_uids: impl FnOnce() -> (String, String),
) -> Open {
    let (study_uid, series_uid) = new_uids();
    Open {
        assignment_key,
        study_uid,
        series_uid,
        next_instance: 1,
        study_started: acquired,
        last_file: Instant::now(),
    }
}

/// The exam an image converted from `dir` less than `gap` ago belonged to, if it was for the
/// same patient and order (after a restart, memory has none).
fn resume(
    store: &Store,
    dir: &Path,
    assignment: &Assignment,
    gap: Duration,
) -> Result<Option<Open>, StoreError> {
    let since = now_ms() - gap.as_millis() as i64;
    let Some(last) = conversions::latest_image_in(&store.lock(), dir, since)? else {
        return Ok(None);
    };
    let same = last.accession == assignment.accession
        && last.patient_id == assignment.patient.id
        && last.patient_name == assignment.patient.name;
    if !same {
        return Ok(None);
    }
    let started = NaiveDateTime::parse_from_str(
        &format!(
            "{}{:0<6}",
            last.study_date,
            last.study_time.split('.').next().unwrap_or("")
        ),
        "%Y%m%d%H%M%S",
    )
    .unwrap_or_else(|_| chrono::Local::now().naive_local());
    let age = Duration::from_millis((now_ms() - last.converted_at).max(0) as u64);
    Ok(Some(Open {
        assignment_key: assignment.key(),
        study_uid: last.study_uid,
        series_uid: last.series_uid,
        next_instance: last.max_instance + 1,
        study_started: started,
        last_file: Instant::now().checked_sub(age).unwrap_or_else(Instant::now),
    }))
}
