//! The manager's dashboard: studies per stage, links, disk and devices, how long the hub takes
//! to report per modality (median and 90th percentile over a chosen period), the studies past
//! their turnaround target, and reports nobody has read. One query per figure, nothing cached:
//! the database tells the truth.
//!
//! Must never: list patients without an audit entry.

use std::collections::BTreeMap;

use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use super::studies::{SENT_PATIENT, STUDY_FROM};
use super::{station, ApiError, Ctx};
use crate::store::{self, audit, StatusCounts, StoreError};

/// Days of turnaround the dashboard summarizes when the caller does not say.
const DEFAULT_PERIOD_DAYS: u32 = 30;
const DAY_MS: i64 = 24 * 3600 * 1000;
/// At most this many overdue studies are listed (the count is exact).
const OVERDUE_LISTED: i64 = 100;

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DashboardQuery {
    /// Turnaround over studies sent in the last this many days; 30 when absent, 1 to 366.
    #[serde(default)]
    pub period_days: Option<u32>,
}

/// A device that sent over DICOM, by its calling AE title.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeviceSeen {
    pub calling_ae: String,
    pub last_contact: i64,
    pub instances: i64,
}

/// Report turnaround of one modality's studies sent in the period, in milliseconds from
/// delivery to the hub. Percentiles are `null` until a study has that report.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct TurnaroundStats {
    pub modality: String,
    /// Studies delivered in the period.
    pub sent: i64,
    /// Of those, with a final report.
    pub reported: i64,
    /// Of those, past their target without a final report.
    pub overdue: i64,
    pub first_report_p50_ms: Option<i64>,
    pub first_report_p90_ms: Option<i64>,
    pub final_report_p50_ms: Option<i64>,
    pub final_report_p90_ms: Option<i64>,
}

/// A study past its turnaround target without a final report.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OverdueStudy {
    pub study_uid: String,
    pub patient_id: String,
    pub patient_name: String,
    pub accession: String,
    pub modalities: Vec<String>,
    pub sent_at: i64,
    pub due_at: i64,
    /// A preliminary report came back; the final one is late.
    pub has_preliminary: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Dashboard {
    pub counts: StatusCounts,
    pub destinations: Vec<station::LinkInfo>,
    /// Free space on the data disk; `null` if it cannot be read.
    pub free_disk_bytes: Option<u64>,
    /// Below this, new images are refused.
    pub min_free_bytes: u64,
    pub devices: Vec<DeviceSeen>,
    pub period_days: u32,
    pub turnaround: Vec<TurnaroundStats>,
    /// Every overdue study (the list holds the 100 most overdue).
    pub overdue_total: i64,
    pub overdue: Vec<OverdueStudy>,
    /// Current reports the caller has not acknowledged.
    pub unread_reports: i64,
    /// Current reports no one has acknowledged yet.
    pub unacknowledged_reports: i64,
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// The modalities of a study's images (its report documents left out).
const MODALITIES: &str = "(SELECT group_concat(DISTINCT se.modality) FROM series se
     JOIN instances i ON i.series_ref = se.id WHERE se.study_ref = t.study_ref AND i.source_kind <> 'report')";

fn split(modalities: Option<String>) -> Vec<String> {
    modalities
        .unwrap_or_default()
        .split(',')
        .filter(|m| !m.is_empty())
        .map(String::from)
        .collect()
}

fn turnaround(conn: &Connection, since: i64, now: i64) -> rusqlite::Result<Vec<TurnaroundStats>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {MODALITIES}, t.first_report_at - t.sent_at, t.final_report_at - t.sent_at,
                t.final_report_at IS NULL AND t.due_at <= ?2
         FROM report_turnaround t WHERE t.sent_at >= ?1"
    ))?;
    // Modality → (stats, first report times, final report times).
    let mut by: BTreeMap<String, (TurnaroundStats, Vec<i64>, Vec<i64>)> = BTreeMap::new();
    let rows = stmt.query_map([since, now], |r| {
        Ok((
            split(r.get(0)?),
            r.get::<_, Option<i64>>(1)?,
            r.get::<_, Option<i64>>(2)?,
            r.get::<_, bool>(3)?,
        ))
    })?;
    for row in rows {
        let (modalities, first, last, overdue) = row?;
        for m in modalities {
            let (stats, firsts, finals) = by.entry(m.clone()).or_default();
            stats.modality = m;
            stats.sent += 1;
            stats.overdue += i64::from(overdue);
            firsts.extend(first);
            if let Some(ms) = last {
                stats.reported += 1;
                finals.push(ms);
            }
        }
    }
    Ok(by
        .into_values()
        .map(|(mut stats, mut firsts, mut finals)| {
            firsts.sort_unstable();
            finals.sort_unstable();
            stats.first_report_p50_ms = percentile(&firsts, 50.0);
            stats.first_report_p90_ms = percentile(&firsts, 90.0);
            stats.final_report_p50_ms = percentile(&finals, 50.0);
            stats.final_report_p90_ms = percentile(&finals, 90.0);
            stats
        })
        .collect())
}

fn overdue(conn: &Connection, now: i64) -> rusqlite::Result<(i64, Vec<OverdueStudy>)> {
    let late = "t.final_report_at IS NULL AND t.due_at <= ?1";
    let total = conn.query_row(
        &format!("SELECT COUNT(*) FROM report_turnaround t WHERE {late}"),
        [now],
        |r| r.get(0),
    )?;
    let mut stmt = conn.prepare(&format!(
        "SELECT s.study_uid, {SENT_PATIENT}, {MODALITIES}, t.sent_at, t.due_at,
                t.first_report_at IS NOT NULL
         {STUDY_FROM} JOIN report_turnaround t ON t.study_ref = s.id
         WHERE {late} ORDER BY t.due_at, s.id LIMIT {OVERDUE_LISTED}"
    ))?;
    let items = stmt
        .query_map([now], |r| {
            Ok(OverdueStudy {
                study_uid: r.get(0)?,
                patient_id: r.get(1)?,
                patient_name: r.get(2)?,
                accession: r.get(5)?,
                modalities: split(r.get(6)?),
                sent_at: r.get(7)?,
                due_at: r.get(8)?,
                has_preliminary: r.get(9)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok((total, items))
}

fn devices(conn: &Connection) -> rusqlite::Result<Vec<DeviceSeen>> {
    let mut stmt = conn.prepare(
        "SELECT source, MAX(received_at), COUNT(*) FROM instances WHERE source_kind = 'dicom'
         GROUP BY source ORDER BY MAX(received_at) DESC",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(DeviceSeen {
            calling_ae: r.get(0)?,
            last_contact: r.get(1)?,
            instances: r.get(2)?,
        })
    })?;
    rows.collect()
}

pub fn dashboard(ctx: &Ctx<'_>, q: DashboardQuery) -> Result<Dashboard, ApiError> {
    let period_days = q.period_days.unwrap_or(DEFAULT_PERIOD_DAYS);
    if !(1..=366).contains(&period_days) {
        return Err(ApiError::invalid(format!(
            "period_days = {period_days}: expected 1 to 366"
        )));
    }
    let user = ctx.session()?.user.username.clone();
    let now = store::now_ms();
    let conn = ctx.api.store.lock();
    let figures = || -> rusqlite::Result<_> {
        let unacknowledged = conn.query_row(
            "SELECT COUNT(*) FROM reports r WHERE r.kind <> 'ko' AND r.is_current
               AND NOT EXISTS (SELECT 1 FROM report_acks a WHERE a.report_ref = r.id)",
            [],
            |r| r.get(0),
        )?;
        Ok((
            devices(&conn)?,
            turnaround(&conn, now - i64::from(period_days) * DAY_MS, now)?,
            overdue(&conn, now)?,
            unacknowledged,
        ))
    };
    let (devices, turnaround, (overdue_total, overdue), unacknowledged_reports) =
        figures().map_err(StoreError::from)?;
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
        min_free_bytes: ctx.api.config().storage.min_free_mb * 1024 * 1024,
        devices,
        period_days,
        turnaround,
        overdue_total,
        overdue,
        unread_reports,
        unacknowledged_reports,
    })
}

#[cfg(test)]
mod tests {
    use super::percentile;

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
