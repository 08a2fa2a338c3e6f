//! Deleting the image files of delivered studies (issue 13): the plan (what goes and why, what
//! stays and why), the run, and finishing a run a crash interrupted.
//!
//! Crash-safe order, per study: its previews are rendered and its pixel fingerprints read
//! first (a purged study is still shown, and recognized when it comes back); then one transaction re-checks the study against the policy and marks its files
//! purged; only after that commits are the files deleted and their directories synced. A kill
//! at any point leaves the study either intact (the mark did not commit) or purged (the mark
//! committed; files a crash left are deleted by [`finish_interrupted`] before the station
//! receives again). Each run that deleted anything is one audit entry (`storage.purge`) with
//! its studies and bytes.
//!
//! Must never: delete a file whose mark has not committed, a file retention keeps (reports,
//! waveforms: `store::retention`), or a study the policy holds for a hard reason.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::retention::{decide, KeepReason, Policy, Verdict};
use super::StorageError;
use crate::events::{Event, Events};
use crate::store::retention::{self as index, StudyOnDisk};
use crate::store::{audit, Store};

/// The disk holding the data directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Disk {
    /// The disk's size, in bytes.
    pub total_bytes: u64,
    /// Space this process may still use, in bytes.
    pub free_bytes: u64,
}

impl Disk {
    /// The disk holding `data_dir`, as it is now.
    pub fn of(data_dir: &Path) -> std::io::Result<Disk> {
        Ok(Disk {
            total_bytes: fs4::total_space(data_dir)?,
            free_bytes: fs4::available_space(data_dir)?,
        })
    }

    /// Bytes not free (never negative).
    pub fn used_bytes(&self) -> u64 {
        self.total_bytes.saturating_sub(self.free_bytes)
    }

    /// Used space in percent of the disk (0 for a disk that reports no size).
    pub fn used_percent(&self) -> f64 {
        if self.total_bytes == 0 {
            return 0.0;
        }
        self.used_bytes() as f64 * 100.0 / self.total_bytes as f64
    }
}

/// The disk marks of `[storage]`.
#[derive(Debug, Clone, Copy)]
pub struct Marks {
    /// Above this used percentage, delivered studies go early (100: never).
    pub high_water_percent: u8,
    /// Early deletion stops once use is at or under this percentage.
    pub low_water_percent: u8,
}

impl Marks {
    /// The marks `config` sets.
    pub fn of(config: &crate::config::Config) -> Marks {
        Marks {
            high_water_percent: config.storage.high_water_percent,
            low_water_percent: config.storage.low_water_percent,
        }
    }
}

/// Why a study's files go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PurgeReason {
    /// Its days after delivery are up (and its report came, or is no longer waited for).
    DaysUp,
    /// The disk is above the high-water mark: delivered studies go early, oldest first.
    DiskFull,
}

/// One study in a plan.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PlannedStudy {
    /// The study's Study Instance UID.
    pub study_uid: String,
    /// Its Study Date as stored (DICOM `YYYYMMDD`, may be empty).
    pub study_date: String,
    /// Its series' modalities, e.g. `DX` or `US,SR`.
    pub modalities: String,
    /// How many of its files are on disk.
    pub files: i64,
    /// Their total size, in bytes.
    pub bytes: i64,
    /// Set when it goes.
    pub purge: Option<PurgeReason>,
    /// Set when it stays.
    pub keep: Option<KeepReason>,
    /// When a study kept for its clock becomes due (Unix ms).
    pub until: Option<i64>,
    #[serde(skip)]
    study_id: i64,
}

/// What a purge would do now: `station purge --dry-run`, and the dashboard's storage card.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Plan {
    /// The time the plan was made for (Unix ms).
    pub at: i64,
    /// The disk as measured (none: unknown, and no early deletion).
    pub disk: Option<Disk>,
    /// The high-water mark the plan used, in percent.
    pub high_water_percent: u8,
    /// The low-water mark the plan used, in percent.
    pub low_water_percent: u8,
    /// The studies whose files would go, with why.
    pub purge: Vec<PlannedStudy>,
    /// The studies that stay, with why.
    pub keep: Vec<PlannedStudy>,
    /// The bytes the purge would free.
    pub purge_bytes: i64,
    /// The disk is above the high-water mark and would still be after this plan: what is
    /// left is held for reasons a full disk does not override (not delivered, held ...).
    pub only_protected_left: bool,
}

impl Plan {
    /// Plans for the studies on disk at `now`, given the disk (none: no early deletion).
    pub fn make(
        studies: Vec<StudyOnDisk>,
        policy: &Policy,
        marks: Marks,
        disk: Option<Disk>,
        now: i64,
    ) -> Plan {
        let mut purge = Vec::new();
        let mut keep = Vec::new();
        for s in studies {
            let verdict = decide(&s, policy, now);
            let mut p = PlannedStudy {
                study_uid: s.study_uid,
                study_date: s.study_date,
                modalities: s.modalities,
                files: s.files,
                bytes: s.bytes,
                purge: None,
                keep: None,
                until: None,
                study_id: s.study_id,
            };
            match verdict {
                Verdict::Due => {
                    p.purge = Some(PurgeReason::DaysUp);
                    purge.push(p);
                }
                Verdict::Keep { reason, until } => {
                    p.keep = Some(reason);
                    p.until = until;
                    keep.push(p);
                }
            }
        }
        let mut freed: u64 = purge.iter().map(|p| p.bytes.max(0) as u64).sum();
        let mut only_protected_left = false;
        // 100%: early deletion is off (the disk can never be fuller than full).
        let early = marks.high_water_percent < 100;
        if let Some(d) = disk.filter(|d| d.total_bytes > 0 && early) {
            let high = d.total_bytes / 100 * u64::from(marks.high_water_percent);
            let low = d.total_bytes / 100 * u64::from(marks.low_water_percent);
            if d.used_bytes() > high {
                // Oldest delivery first: `keep` is in the index's delivery order.
                for p in keep
                    .iter_mut()
                    .filter(|p| p.keep.is_some_and(KeepReason::is_soft))
                {
                    if d.used_bytes().saturating_sub(freed) <= low {
                        break;
                    }
                    p.purge = Some(PurgeReason::DiskFull);
                    p.keep = None;
                    p.until = None;
                    freed += p.bytes.max(0) as u64;
                }
                let (early, still): (Vec<_>, Vec<_>) =
                    keep.into_iter().partition(|p| p.purge.is_some());
                purge.extend(early);
                keep = still;
                only_protected_left = d.used_bytes().saturating_sub(freed) > high;
            }
        }
        Plan {
            at: now,
            disk,
            high_water_percent: marks.high_water_percent,
            low_water_percent: marks.low_water_percent,
            purge_bytes: purge.iter().map(|p| p.bytes).sum(),
            purge,
            keep,
            only_protected_left,
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Outcome {
    /// The Study Instance UIDs whose files were deleted.
    pub studies: Vec<String>,
    /// How many files were deleted.
    pub files: u64,
    /// How many bytes that freed.
    pub bytes: u64,
    /// Studies planned but no longer due when their turn came (a new instance, a hold).
    pub skipped: usize,
}

/// The running engine's purge: its store, data directory and event bus.
pub struct Purger<'a> {
    /// The index the purge records in (rows kept, files marked purged, audit).
    pub store: &'a Store,
    /// The data directory the files are deleted under.
    pub data_dir: &'a Path,
    /// Where each purged study's change is announced.
    pub events: &'a Events,
}

impl Purger<'_> {
    /// The plan at `now` with the disk as it is.
    pub fn plan(&self, policy: &Policy, marks: Marks, now: i64) -> Result<Plan, StorageError> {
        let studies = index::studies_on_disk(&self.store.lock())?;
        let disk = Disk::of(self.data_dir).ok();
        Ok(Plan::make(studies, policy, marks, disk, now))
    }

    /// Carries out `plan` as `actor`: each study is checked again when its turn comes.
    pub fn run(&self, plan: &Plan, policy: &Policy, actor: &str) -> Result<Outcome, StorageError> {
        let mut out = Outcome::default();
        for p in &plan.purge {
            // Previews and pixel fingerprints first, while the files are here: the study is
            // still shown once purged, and a file fetched back in another syntax is recognized.
            let pixels = self.keep_fingerprints(p.study_id)?;
            let marked = {
                let mut conn = self.store.lock();
                // Immediate: it reads, then writes; a deferred one would fail at once with
                // "database is locked" when another process (the CLI beside a running station)
                // wrote in between, instead of waiting its turn.
                let tx =
                    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let still_due = index::study_on_disk(&tx, p.study_id)?
                    .map(|s| match decide(&s, policy, plan.at) {
                        Verdict::Due => true,
                        Verdict::Keep { reason, .. } => {
                            p.purge == Some(PurgeReason::DiskFull) && reason.is_soft()
                        }
                    })
                    .unwrap_or(false);
                if !still_due {
                    out.skipped += 1;
                    continue;
                }
                let marked = index::mark_purged(&tx, p.study_id, plan.at, &pixels)?;
                tx.commit()?;
                marked
            };
            let mut dirs = BTreeSet::new();
            for f in &marked {
                for rel in std::iter::once(&f.path).chain(f.send_path.as_ref()) {
                    let path = self.data_dir.join(rel);
                    remove_file(&path)?;
                    if let Some(dir) = path.parent() {
                        dirs.insert(dir.to_path_buf());
                    }
                }
                out.files += 1;
                out.bytes += f.size.max(0) as u64;
            }
            sync_dirs(dirs);
            out.studies.push(p.study_uid.clone());
            if let Ok(Some(state)) =
                crate::store::studies::state_of(&self.store.lock(), &p.study_uid)
            {
                self.events.send(Event::StudyChanged {
                    study_uid: p.study_uid.clone(),
                    state,
                });
            }
        }
        if !out.studies.is_empty() {
            let detail = serde_json::json!({
                "studies": out.studies,
                "files": out.files,
                "bytes": out.bytes,
            });
            audit::record(
                &self.store.lock(),
                actor,
                "storage.purge",
                &format!("{} studies", out.studies.len()),
                &detail.to_string(),
            )?;
            tracing::info!(
                studies = out.studies.len(),
                files = out.files,
                bytes = out.bytes,
                "purged the files of delivered studies"
            );
        }
        Ok(out)
    }

    /// Renders (and so keeps under `previews/`) the preview of each image the study is about
    /// to lose, and reads each one's native pixel fingerprint (`dicom::pixels`). An instance
    /// without an image has neither; a file that cannot be read is logged and does not stop the
    /// purge (the hub still holds it; it comes back only byte for byte).
    fn keep_fingerprints(&self, study_id: i64) -> Result<HashMap<i64, String>, StorageError> {
        let files = index::purgeable_files(&self.store.lock(), study_id)?;
        let mut pixels = HashMap::new();
        for f in files {
            match crate::scp::preview::png(self.store, self.data_dir, &f.sop_instance_uid) {
                Ok(_) | Err(crate::scp::preview::PreviewError::NoImage(_)) => {}
                Err(e) => {
                    tracing::warn!(sop = %f.sop_instance_uid, error = %e, "no preview kept for a purged instance")
                }
            }
            match crate::dicom::pixels::native_sha256(&self.data_dir.join(&f.path)) {
                Ok(Some(hash)) => {
                    pixels.insert(f.instance_id, hash);
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(sop = %f.sop_instance_uid, error = %e, "no pixel fingerprint kept for a purged instance")
                }
            }
        }
        Ok(pixels)
    }
}

/// Deletes the files of instances marked purged that a crash left on disk; how many. Runs at
/// start, before the station receives.
pub fn finish_interrupted(store: &Store, data_dir: &Path) -> Result<usize, StorageError> {
    let paths = index::purged_paths(&store.lock())?;
    let mut dirs = BTreeSet::new();
    let mut finished = 0;
    for rel in paths {
        let path = data_dir.join(&rel);
        if path.exists() {
            remove_file(&path)?;
            finished += 1;
            if let Some(dir) = path.parent() {
                dirs.insert(dir.to_path_buf());
            }
        }
    }
    sync_dirs(dirs);
    if finished > 0 {
        tracing::warn!(
            files = finished,
            "finished a purge an earlier stop interrupted"
        );
    }
    Ok(finished)
}

fn remove_file(path: &Path) -> Result<(), StorageError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(StorageError::File {
            path: path.display().to_string(),
            source,
        }),
    }
}

/// Makes the deletions durable; a directory that cannot be synced is logged (the index
/// already says purged, and a restart deletes anything that comes back).
fn sync_dirs(dirs: BTreeSet<PathBuf>) {
    for dir in dirs {
        if let Err(e) = crate::disk::sync_dir(&dir) {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot sync a directory after deleting files");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StudyState;

    const DAY: i64 = 24 * 60 * 60 * 1000;
    const NOW: i64 = 1_800_000_000_000;

    fn study(id: i64, delivered_days_ago: i64, bytes: i64) -> StudyOnDisk {
        StudyOnDisk {
            study_id: id,
            study_uid: format!("1.2.{id}"),
            study_date: String::new(),
            modalities: "DX".into(),
            state: StudyState::Reported,
            urgent: false,
            keep: false,
            flagged: false,
            destinations: vec!["center".into()],
            delivered: 1,
            last_send_change: Some(NOW - delivered_days_ago * DAY),
            final_report: true,
            last_received_at: 0,
            fetched_at: None,
            files: 1,
            bytes,
        }
    }

    fn policy() -> Policy {
        Policy {
            keep_days_after_delivery: 30,
            poll_days: 60,
            reporting_destinations: vec![],
        }
    }

    const MARKS: Marks = Marks {
        high_water_percent: 90,
        low_water_percent: 80,
    };

    fn uids(v: &[PlannedStudy]) -> Vec<&str> {
        v.iter().map(|p| p.study_uid.as_str()).collect()
    }

    #[test]
    fn a_full_disk_takes_the_oldest_delivered_first_down_to_low_water() {
        // 1000 bytes, 950 used: 150 to free to get to 800.
        let disk = Disk {
            total_bytes: 1000,
            free_bytes: 50,
        };
        let mut held = study(9, 100, 500);
        held.state = StudyState::Held;
        let studies = vec![
            held,
            study(1, 40, 60),
            study(2, 5, 100),
            study(3, 3, 100),
            study(4, 1, 100),
        ];
        let plan = Plan::make(studies, &policy(), MARKS, Some(disk), NOW);
        assert_eq!(uids(&plan.purge), ["1.2.1", "1.2.2"]);
        assert_eq!(plan.purge[0].purge, Some(PurgeReason::DaysUp));
        assert_eq!(plan.purge[1].purge, Some(PurgeReason::DiskFull));
        assert_eq!(uids(&plan.keep), ["1.2.9", "1.2.3", "1.2.4"]);
        assert!(!plan.only_protected_left);
    }

    #[test]
    fn when_only_protected_studies_remain_the_plan_says_so() {
        let disk = Disk {
            total_bytes: 1000,
            free_bytes: 20,
        };
        let mut held = study(9, 100, 900);
        held.state = StudyState::Held;
        let plan = Plan::make(
            vec![held, study(1, 1, 30)],
            &policy(),
            MARKS,
            Some(disk),
            NOW,
        );
        assert_eq!(uids(&plan.purge), ["1.2.1"]);
        assert!(plan.only_protected_left);
    }

    #[test]
    fn a_high_water_mark_of_100_never_deletes_early() {
        let disk = Disk {
            total_bytes: 1005,
            free_bytes: 1,
        };
        let off = Marks {
            high_water_percent: 100,
            low_water_percent: 99,
        };
        let plan = Plan::make(vec![study(1, 1, 500)], &policy(), off, Some(disk), NOW);
        assert!(plan.purge.is_empty());
        assert!(!plan.only_protected_left);
    }

    #[test]
    fn below_high_water_only_the_clock_decides() {
        let disk = Disk {
            total_bytes: 1000,
            free_bytes: 500,
        };
        let plan = Plan::make(
            vec![study(1, 31, 10), study(2, 29, 10)],
            &policy(),
            MARKS,
            Some(disk),
            NOW,
        );
        assert_eq!(uids(&plan.purge), ["1.2.1"]);
        assert_eq!(plan.keep[0].keep, Some(KeepReason::DaysLeft));
        assert_eq!(plan.keep[0].until, Some(NOW + DAY));
    }
}
