//! The retention policy (issue 13): for each study that holds deletable files, whether they
//! may go now, and if not, why. A pure function of the index's facts, the settings and the
//! time, so `station purge --dry-run` says exactly what a run would do.
//!
//! Two kinds of reasons keep a study. Hard ones hold whatever the disk: not verified by every
//! destination it goes to (or going nowhere), held, unassigned, flagged for review, urgent
//! without its final report, kept by a person. Soft ones are the clock: the days after
//! delivery, and the wait for an expected report; a disk above the high-water mark overrides
//! them, oldest delivery first.
//!
//! Must never: let a study go that some destination it is routed to has not verified.

use serde::Serialize;

use crate::store::retention::StudyOnDisk;
use crate::store::StudyState;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// What the policy reads of the settings.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Days a delivered study's files stay (`[storage] keep_days_after_delivery`).
    pub keep_days_after_delivery: u64,
    /// Days after delivery the report poller keeps looking (`[reports] poll_days`).
    pub poll_days: u64,
    /// Destinations whose hub writes reports (`poll_reports`): a study sent to one waits for
    /// its final report (or `poll_days`).
    pub reporting_destinations: Vec<String>,
}

impl Policy {
    /// The policy `config` sets.
    pub fn of(config: &crate::config::Config) -> Policy {
        Policy {
            keep_days_after_delivery: config.storage.keep_days_after_delivery,
            poll_days: config.reports.poll_days,
            reporting_destinations: config
                .destinations
                .iter()
                .filter(|d| d.poll_reports)
                .map(|d| d.name.clone())
                .collect(),
        }
    }
}

/// Why a study's files stay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KeepReason {
    /// A person marked it "keep".
    KeptByUser,
    /// A person paused its sending.
    Held,
    /// Waiting for a technician to assign it (or to check its patient).
    Unassigned,
    /// No destination's route took it: nobody else holds it.
    NoDestination,
    /// Some destination it goes to has not verified it yet.
    NotDelivered,
    /// An instance is flagged for a person's review.
    Flagged,
    /// Urgent, and its final report has not come.
    UrgentUnreported,
    /// Delivered; its final report is expected (until `poll_days` after delivery).
    ReportExpected,
    /// Delivered; its days after delivery are not up.
    DaysLeft,
}

impl KeepReason {
    /// Whether a full disk may override it.
    pub fn is_soft(self) -> bool {
        matches!(self, KeepReason::ReportExpected | KeepReason::DaysLeft)
    }
}

/// The policy's answer for one study.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Its time is up.
    Due,
    /// It stays, until `until` (ms) for a soft reason.
    Keep {
        /// Why it stays.
        reason: KeepReason,
        /// When a soft reason runs out (Unix ms); none for a reason with no end date.
        until: Option<i64>,
    },
}

/// Decides for one study at `now` (Unix ms).
pub fn decide(study: &StudyOnDisk, policy: &Policy, now: i64) -> Verdict {
    let keep = |reason| Verdict::Keep {
        reason,
        until: None,
    };
    if study.keep {
        return keep(KeepReason::KeptByUser);
    }
    match study.state {
        StudyState::Held => return keep(KeepReason::Held),
        StudyState::Unassigned => return keep(KeepReason::Unassigned),
        StudyState::Delivered | StudyState::Reported => {}
        _ if study.destinations.is_empty() => return keep(KeepReason::NoDestination),
        _ => return keep(KeepReason::NotDelivered),
    }
    if study.destinations.is_empty() {
        return keep(KeepReason::NoDestination);
    }
    let Some(delivered_at) = study
        .last_send_change
        .filter(|_| study.delivered == study.destinations.len())
    else {
        return keep(KeepReason::NotDelivered);
    };
    if study.flagged {
        return keep(KeepReason::Flagged);
    }
    if study.urgent && !study.final_report {
        return keep(KeepReason::UrgentUnreported);
    }
    let clock = study
        .fetched_at
        .map_or(delivered_at, |f| f.max(delivered_at));
    let days_up = clock.saturating_add(days(policy.keep_days_after_delivery));
    let expects_report = !study.final_report
        && study
            .destinations
            .iter()
            .any(|d| policy.reporting_destinations.contains(d));
    let report_up = delivered_at.saturating_add(days(policy.poll_days));
    if expects_report && now < report_up && report_up >= days_up {
        return Verdict::Keep {
            reason: KeepReason::ReportExpected,
            until: Some(report_up),
        };
    }
    if now < days_up {
        return Verdict::Keep {
            reason: KeepReason::DaysLeft,
            until: Some(days_up),
        };
    }
    if expects_report && now < report_up {
        return Verdict::Keep {
            reason: KeepReason::ReportExpected,
            until: Some(report_up),
        };
    }
    Verdict::Due
}

fn days(n: u64) -> i64 {
    i64::try_from(n)
        .unwrap_or(i64::MAX / DAY_MS)
        .saturating_mul(DAY_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    fn delivered(days_ago: i64) -> StudyOnDisk {
        StudyOnDisk {
            study_id: 1,
            study_uid: "1.2.3".into(),
            study_date: "20261201".into(),
            modalities: "DX".into(),
            state: StudyState::Delivered,
            urgent: false,
            keep: false,
            flagged: false,
            destinations: vec!["center".into()],
            delivered: 1,
            last_send_change: Some(NOW - days_ago * DAY_MS),
            final_report: true,
            last_received_at: NOW - days_ago * DAY_MS,
            fetched_at: None,
            files: 1,
            bytes: 10,
        }
    }

    fn policy() -> Policy {
        Policy {
            keep_days_after_delivery: 30,
            poll_days: 60,
            reporting_destinations: vec!["center".into()],
        }
    }

    fn reason(v: Verdict) -> Option<KeepReason> {
        match v {
            Verdict::Due => None,
            Verdict::Keep { reason, .. } => Some(reason),
        }
    }

    #[test]
    fn a_reported_study_goes_once_its_days_are_up() {
        assert_eq!(decide(&delivered(31), &policy(), NOW), Verdict::Due);
        assert_eq!(
            decide(&delivered(29), &policy(), NOW),
            Verdict::Keep {
                reason: KeepReason::DaysLeft,
                until: Some(NOW + DAY_MS)
            }
        );
    }

    #[test]
    fn an_expected_report_is_waited_for_until_poll_days() {
        let mut s = delivered(45);
        s.final_report = false;
        assert_eq!(
            reason(decide(&s, &policy(), NOW)),
            Some(KeepReason::ReportExpected)
        );
        s.last_send_change = Some(NOW - 61 * DAY_MS);
        assert_eq!(decide(&s, &policy(), NOW), Verdict::Due);
        // A hub that writes no reports is not waited for.
        let archive = Policy {
            reporting_destinations: vec![],
            ..policy()
        };
        s.last_send_change = Some(NOW - 45 * DAY_MS);
        assert_eq!(decide(&s, &archive, NOW), Verdict::Due);
    }

    #[test]
    fn hard_reasons_hold_whatever_the_days() {
        type Change = fn(&mut StudyOnDisk);
        let cases: [(Change, KeepReason); 7] = [
            (|s| s.keep = true, KeepReason::KeptByUser),
            (|s| s.state = StudyState::Held, KeepReason::Held),
            (|s| s.state = StudyState::Unassigned, KeepReason::Unassigned),
            (|s| s.delivered = 0, KeepReason::NotDelivered),
            (
                |s| {
                    s.state = StudyState::Complete;
                    s.destinations.clear();
                    s.delivered = 0;
                },
                KeepReason::NoDestination,
            ),
            (|s| s.flagged = true, KeepReason::Flagged),
            (
                |s| {
                    s.urgent = true;
                    s.final_report = false;
                },
                KeepReason::UrgentUnreported,
            ),
        ];
        for (change, why) in cases {
            let mut s = delivered(400);
            change(&mut s);
            assert_eq!(reason(decide(&s, &policy(), NOW)), Some(why));
            assert!(!why.is_soft());
        }
        // Two destinations, one verified: not delivered.
        let mut s = delivered(400);
        s.destinations.push("cloud".into());
        assert_eq!(
            reason(decide(&s, &policy(), NOW)),
            Some(KeepReason::NotDelivered)
        );
    }

    #[test]
    fn files_fetched_back_start_the_clock_again() {
        let mut s = delivered(100);
        s.fetched_at = Some(NOW - 2 * DAY_MS);
        assert_eq!(
            reason(decide(&s, &policy(), NOW)),
            Some(KeepReason::DaysLeft)
        );
    }
}
