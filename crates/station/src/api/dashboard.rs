//! The manager's dashboard: studies per stage, links, disk and devices, how long the hub takes
//! to report per modality (median and 90th percentile over a chosen period), the studies past
//! their turnaround target, reports nobody has read, the disk with retention (issue 13), and
//! the last backup and integrity check, and the bytes compression spared the link this month
//! (issue 15). One query per figure, nothing cached: the database tells the truth.
//!
//! Must never: list patients without an audit entry.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveTime, Offset, TimeDelta, TimeZone};
use serde::{Deserialize, Serialize};

use super::{station, ApiError, Ctx};
use crate::storage::purge::{Disk, Marks, Plan};
use crate::storage::retention::Policy;
pub use crate::store::reports::OverdueStudy;
use crate::store::reports::TurnaroundRow;
pub use crate::store::runs::StorageRun;
pub use crate::store::wire::WireBytes;
pub use crate::store::DeviceSeen;
use crate::store::{self, audit, StatusCounts, StorageRunKind};

/// Days of turnaround the dashboard summarizes when the caller does not say.
const DEFAULT_PERIOD_DAYS: u32 = 30;
const DAY_MS: i64 = 24 * 3600 * 1000;
/// At most this many overdue studies are listed (the count is exact).
const OVERDUE_LISTED: i64 = 100;

/// What the dashboard is asked for: the period its turnaround figures cover.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DashboardQuery {
    /// Turnaround over studies sent in the last this many days; 30 when absent, 1 to 366.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 366)]
    pub period_days: Option<u32>,
}

/// Report turnaround of one modality's studies sent in the period, in milliseconds from
/// delivery to the hub. Percentiles are `null` until a study has that report.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct TurnaroundStats {
    /// The image modality (Modality (0008,0060), e.g. `DX`, `CT`); a study of several counts
    /// under each.
    pub modality: String,
    /// Studies delivered in the period.
    pub sent: i64,
    /// Of those, with a final report.
    pub reported: i64,
    /// Of those, past their target without a final report.
    pub overdue: i64,
    /// Median time from delivery to the first report of any status (preliminary or final), ms.
    pub first_report_p50_ms: Option<i64>,
    /// 90th percentile time from delivery to the first report, ms.
    pub first_report_p90_ms: Option<i64>,
    /// Median time from delivery to the final report, ms.
    pub final_report_p50_ms: Option<i64>,
    /// 90th percentile time from delivery to the final report, ms.
    pub final_report_p90_ms: Option<i64>,
}

/// Everything the manager's dashboard shows, read in one call (refetched on live events).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Dashboard {
    /// Studies per state, instances, quarantined files and sends per state.
    pub counts: StatusCounts,
    /// Every destination's link and backlog, as `links_list` gives them.
    pub destinations: Vec<station::LinkInfo>,
    /// Free space on the data disk; `null` if it cannot be read.
    pub free_disk_bytes: Option<u64>,
    /// Below this, new images are refused.
    pub min_free_bytes: u64,
    /// Devices that sent over DICOM, most recent first.
    pub devices: Vec<DeviceSeen>,
    /// The period the turnaround figures cover, in days (the query's, or 30).
    pub period_days: u32,
    /// One entry per modality delivered in the period, by modality name.
    pub turnaround: Vec<TurnaroundStats>,
    /// Every overdue study (the list holds the 100 most overdue).
    pub overdue_total: i64,
    /// The most overdue first, at most 100; they name patients (the call is audited).
    pub overdue: Vec<OverdueStudy>,
    /// Current reports the caller has not acknowledged.
    pub unread_reports: i64,
    /// Current reports no one has acknowledged yet.
    pub unacknowledged_reports: i64,
    /// The newest backup of the index (`null`: none yet).
    pub last_backup: Option<StorageRun>,
    /// The newest integrity check (`null`: none yet).
    pub last_verify: Option<StorageRun>,
    /// The data disk and retention.
    pub storage: StorageSummary,
    /// Bytes sent to every destination this month (since the 1st, 00:00 in the clinic's
    /// time), beside their originals': `saved_bytes` is what compression spared the link.
    /// `null` when nothing stored at a hub this month had its size recorded.
    pub wire_month: Option<WireBytes>,
}

/// What the data disk holds, how long it lasts, and retention's next and last runs.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StorageSummary {
    /// Bytes of studies delivered to every destination: retention may delete them.
    pub delivered_bytes: i64,
    /// Bytes of studies not yet delivered everywhere: never deleted.
    pub undelivered_bytes: i64,
    /// Bytes of reports and ECG waveforms: kept, never deleted by retention.
    pub reports_bytes: i64,
    /// Deleted after delivery, kept at the center.
    pub purged_bytes: i64,
    /// Size of the data disk in bytes; `null` if it cannot be read.
    pub total_disk_bytes: Option<u64>,
    /// Days until free space reaches the floor at the last 14 days' intake, if retention
    /// frees nothing; `null` when nothing arrived.
    pub days_left: Option<f64>,
    /// Bytes a day over the last 14 days.
    pub daily_intake_bytes: Option<f64>,
    /// Retention deletes a delivered study's files this many days after delivery
    /// (`[storage] keep_days_after_delivery`).
    pub keep_days_after_delivery: u64,
    /// Disk use (percent) above which delivered studies go before their days are up, oldest
    /// delivery first (`[storage] high_water_percent`; 100: never early).
    pub high_water_percent: u8,
    /// The next hourly run (Unix ms, UTC; show in local time); it also runs at once above the
    /// high-water mark.
    pub next_purge_at: i64,
    /// The last run that deleted anything (Unix ms, UTC), its studies and bytes; `null` before
    /// the first.
    pub last_purge_at: Option<i64>,
    /// Studies the last purge deleted; `null` before the first.
    pub last_purge_studies: Option<i64>,
    /// Bytes the last purge freed; `null` before the first.
    pub last_purge_bytes: Option<i64>,
    /// The disk is above the high-water mark and nothing left may go: what remains is not
    /// delivered, held, unassigned, flagged, urgent without its report, or kept.
    pub only_protected_left: bool,
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Per modality: studies delivered, reported and overdue, and report time percentiles.
fn turnaround(rows: Vec<TurnaroundRow>) -> Vec<TurnaroundStats> {
    // Modality → (stats, first report times, final report times).
    let mut by: BTreeMap<String, (TurnaroundStats, Vec<i64>, Vec<i64>)> = BTreeMap::new();
    for row in rows {
        for m in row.modalities {
            let (stats, firsts, finals) = by.entry(m.clone()).or_default();
            stats.modality = m;
            stats.sent += 1;
            stats.overdue += i64::from(row.overdue);
            firsts.extend(row.first_report_ms);
            if let Some(ms) = row.final_report_ms {
                stats.reported += 1;
                finals.push(ms);
            }
        }
    }
    by.into_values()
        .map(|(mut stats, mut firsts, mut finals)| {
            firsts.sort_unstable();
            finals.sort_unstable();
            stats.first_report_p50_ms = percentile(&firsts, 50.0);
            stats.first_report_p90_ms = percentile(&firsts, 90.0);
            stats.final_report_p50_ms = percentile(&finals, 50.0);
            stats.final_report_p90_ms = percentile(&finals, 90.0);
            stats
        })
        .collect()
}

pub(crate) fn dashboard(ctx: &Ctx<'_>, q: DashboardQuery) -> Result<Dashboard, ApiError> {
    let period_days = q.period_days.unwrap_or(DEFAULT_PERIOD_DAYS);
    let most = super::routing::MAX_DAYS;
    if !(1..=most).contains(&period_days) {
        return Err(super::invalid::invalid_field(
            "period_days",
            format!("period_days = {period_days}: expected 1 to {most}"),
        ));
    }
    let user = ctx.session()?.user.username.clone();
    let now = store::now_ms();
    let conn = ctx.api.store.lock();
    let devices = store::devices(&conn)?;
    let since = now - i64::from(period_days) * DAY_MS;
    let turnaround = turnaround(store::reports::turnaround_since(&conn, since, now)?);
    let (overdue_total, overdue) = store::reports::overdue(&conn, now, OVERDUE_LISTED)?;
    let unacknowledged_reports = store::reports::unacknowledged_count(&conn)?;
    let unread_reports = crate::reports::view::unread_count(&conn, &user)?;
    if !overdue.is_empty() {
        // The overdue list names patients; coalesced, as the dashboard refetches on live events.
        let patients: Vec<&str> = overdue.iter().map(|o| o.patient_id.as_str()).collect();
        audit::read(
            &conn,
            &user,
            "dashboard.overdue",
            "",
            "overdue list",
            &patients,
        )?;
    }
    Ok(Dashboard {
        counts: store::status_counts(&conn)?,
        destinations: station::links(ctx, &conn)?,
        free_disk_bytes: fs4::available_space(&ctx.api.config().data_dir).ok(),
        min_free_bytes: ctx.api.config().storage.min_free_bytes(),
        devices,
        period_days,
        turnaround,
        overdue_total,
        overdue,
        unread_reports,
        unacknowledged_reports,
        last_backup: store::runs::last(&conn, StorageRunKind::Backup)?,
        last_verify: store::runs::last(&conn, StorageRunKind::Verify)?,
        storage: storage_summary(ctx, &conn, now)?,
        wire_month: store::wire::bytes_since(&conn, month_start(&chrono::Local::now()))?,
    })
}

/// The first moment of `now`'s month in its time zone, as Unix ms: the 1st at 00:00, found as
/// `storage::nightly::last_slot` finds a local time of day (a midnight that daylight saving
/// skips is taken an hour later). The station runs in the clinic, so `Local` is the clinic's.
fn month_start<Tz: TimeZone>(now: &DateTime<Tz>) -> i64 {
    let today = now.date_naive();
    let first = today.with_day(1).unwrap_or(today).and_time(NaiveTime::MIN);
    let tz = now.timezone();
    tz.from_local_datetime(&first)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(first + TimeDelta::hours(1)))
                .earliest()
        })
        .map(|t| t.timestamp_millis())
        // Never in a real zone; today's offset then is near enough.
        .unwrap_or_else(|| {
            let offset = TimeDelta::seconds(now.offset().fix().local_minus_utc().into());
            (first - offset).and_utc().timestamp_millis()
        })
}

const INTAKE_WINDOW_MS: i64 = 14 * DAY_MS;

fn storage_summary(
    ctx: &Ctx<'_>,
    conn: &rusqlite::Connection,
    now: i64,
) -> Result<StorageSummary, ApiError> {
    let config = ctx.api.config();
    let used = store::retention::disk_use(conn)?;
    let disk = Disk::of(&config.data_dir).ok();
    let daily = store::status::daily_intake(conn, now, INTAKE_WINDOW_MS)?;
    let floor = config.storage.min_free_bytes();
    let days_left = match (disk, daily) {
        (Some(d), Some(rate)) if rate > 0.0 => {
            Some(d.free_bytes.saturating_sub(floor) as f64 / rate)
        }
        _ => None,
    };
    let marks = Marks::of(&config);
    // Planning reads every study on disk: only worth it when the disk is above its mark.
    let only_protected_left = match disk {
        Some(d) if d.used_percent() > f64::from(marks.high_water_percent) => {
            let studies = store::retention::studies_on_disk(conn)?;
            Plan::make(studies, &Policy::of(&config), marks, Some(d), now).only_protected_left
        }
        _ => false,
    };
    let last = store::audit::list(
        conn,
        &store::audit::AuditFilter {
            action_prefix: Some("storage.purge".into()),
            limit: 1,
            ..Default::default()
        },
    )?
    .into_iter()
    .next();
    let last_detail = last
        .as_ref()
        .and_then(|e| serde_json::from_str::<serde_json::Value>(&e.detail).ok());
    Ok(StorageSummary {
        delivered_bytes: used.delivered_bytes,
        undelivered_bytes: used.undelivered_bytes,
        reports_bytes: used.reports_bytes,
        purged_bytes: used.purged_bytes,
        total_disk_bytes: disk.map(|d| d.total_bytes),
        days_left,
        daily_intake_bytes: daily,
        keep_days_after_delivery: config.storage.keep_days_after_delivery,
        high_water_percent: config.storage.high_water_percent,
        next_purge_at: crate::storage::schedule::next_run(now),
        last_purge_at: last.as_ref().map(|e| e.at),
        last_purge_studies: last_detail
            .as_ref()
            .and_then(|d| d["studies"].as_array().map(|a| a.len() as i64)),
        last_purge_bytes: last_detail.as_ref().and_then(|d| d["bytes"].as_i64()),
        only_protected_left,
    })
}

#[cfg(test)]
mod tests {
    use super::{month_start, percentile};
    use chrono::{FixedOffset, TimeZone, Utc};

    /// Unix ms of a UTC time.
    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
            .single()
            .expect("UTC time")
            .timestamp_millis()
    }

    #[test]
    fn the_month_starts_at_local_midnight_on_the_first() {
        let beijing = FixedOffset::east_opt(8 * 3600).expect("offset");
        let at = |ms: i64| beijing.timestamp_millis_opt(ms).single().expect("time");
        // 1 December 00:30 in Beijing is still 30 November in UTC: December already.
        assert_eq!(
            month_start(&at(utc(2026, 11, 30, 16, 30))),
            utc(2026, 11, 30, 16, 0)
        );
        assert_eq!(
            month_start(&at(utc(2026, 12, 31, 15, 59))),
            utc(2026, 11, 30, 16, 0)
        );
        // 30 November 23:59 in Beijing: November, from 1 November 00:00 Beijing time.
        assert_eq!(
            month_start(&at(utc(2026, 11, 30, 15, 59))),
            utc(2026, 10, 31, 16, 0)
        );
        // West of UTC the local month runs later: 1 January 02:00 UTC is still December.
        let bogota = FixedOffset::west_opt(5 * 3600).expect("offset");
        let now = bogota
            .timestamp_millis_opt(utc(2027, 1, 1, 2, 0))
            .single()
            .expect("time");
        assert_eq!(month_start(&now), utc(2026, 12, 1, 5, 0));
    }

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile(&[7], 90.0), Some(7));
        let ten: Vec<i64> = (1..=10).collect();
        assert_eq!(percentile(&ten, 50.0), Some(5));
        assert_eq!(percentile(&ten, 90.0), Some(9));
        assert_eq!(percentile(&[1, 2, 3], 90.0), Some(3));
    }
}
