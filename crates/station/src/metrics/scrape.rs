//! The Prometheus text of `GET /metrics`: a fresh registry per scrape, filled from the store and
//! the running station's [`Activity`], so a destination an admin removed and that has nothing
//! left to send disappears from the output instead of lingering with its last value.
//!
//! Must never: hold the store's lock while encoding, or label a series with patient data.

use std::collections::{BTreeMap, BTreeSet};

use prometheus::core::Collector;
use prometheus::{
    Encoder, Gauge, GaugeVec, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

use super::{Activity, MetricsError};
use crate::config::Config;
use crate::store::{self, queue, status, SendState, Store};
use crate::upstream::certificate;

/// Buckets of report turnaround, in seconds: 5, 15 and 30 minutes, 1, 2, 4, 8 hours, 1, 2
/// and 7 days (the targets clinics set fall between them).
const TURNAROUND_BUCKETS: &[f64] = &[
    300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 86400.0, 172800.0, 604800.0,
];

/// What the store says, read under one lock.
struct Facts {
    received: Vec<status::Received>,
    quarantined: i64,
    groups: Vec<status::QueueGroup>,
    stored_bytes: Vec<(String, i64)>,
    /// Destination → bytes of its stored instances as they would have gone, and as they went.
    wire: Vec<(String, store::wire::WireBytes)>,
    /// Destination → link up, for those the station has talked to.
    links: BTreeMap<String, bool>,
    overdue: i64,
    turnaround: Vec<store::reports::TurnaroundRow>,
    /// Bytes received per day, over the last week (or the station's life, if shorter).
    daily_intake: Option<f64>,
}

const DAY_MS: i64 = 86_400_000;
/// How far back the intake rate looks: a week, so a quiet weekend or a busy Monday do not swing
/// it.
const INTAKE_WINDOW_MS: i64 = 7 * DAY_MS;

fn read_facts(
    store: &Store,
    destinations: &BTreeSet<String>,
    now_ms: i64,
) -> Result<Facts, MetricsError> {
    let conn = store.lock();
    let groups = status::queue_groups(&conn)?;
    let mut links = BTreeMap::new();
    let named = destinations
        .iter()
        .chain(groups.iter().map(|g| &g.destination));
    for name in named {
        if let Some(link) = queue::link(&conn, name)? {
            links.insert(name.clone(), link.online);
        }
    }
    Ok(Facts {
        received: status::received_by_source(&conn)?,
        quarantined: store::status_counts(&conn)?.quarantined,
        stored_bytes: status::stored_bytes_by_destination(&conn)?,
        wire: store::wire::bytes_by_destination(&conn)?,
        links,
        // Only the count: the list (with patients) is not read.
        overdue: store::reports::overdue(&conn, now_ms, 0)?.0,
        turnaround: store::reports::turnaround_since(&conn, 0, now_ms)?,
        groups,
        daily_intake: status::daily_intake(&conn, now_ms, INTAKE_WINDOW_MS)?,
    })
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Every metric of the station, in the Prometheus text format (version 0.0.4).
pub fn render(config: &Config, store: &Store, activity: &Activity) -> Result<String, MetricsError> {
    let now_ms = store::now_ms();
    // Configured destinations always have their series, even before anything was queued.
    let mut destinations: BTreeSet<String> =
        config.destinations.iter().map(|d| d.name.clone()).collect();
    let facts = read_facts(store, &destinations, now_ms)?;
    destinations.extend(facts.groups.iter().map(|g| g.destination.clone()));

    let registry = Registry::new();
    let mut add = |c: Box<dyn Collector>| registry.register(c);

    let build = IntGaugeVec::new(
        Opts::new("station_build_info", "The station's version; always 1."),
        &["version"],
    )?;
    build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
    add(Box::new(build))?;

    let received = IntCounterVec::new(
        Opts::new(
            "station_instances_received_total",
            "Instances in the index by kind of source (dicom, folder, import, recovery).",
        ),
        &["source"],
    )?;
    let bytes = IntCounter::new(
        "station_bytes_received_total",
        "Bytes of the instances in the index, as received.",
    )?;
    for r in &facts.received {
        received
            .with_label_values(&[r.source_kind.as_str()])
            .inc_by(count(r.instances));
        bytes.inc_by(count(r.bytes));
    }
    add(Box::new(received))?;
    add(Box::new(bytes))?;
    add(Box::new(activity.associations.clone()))?;
    add(Box::new(activity.worklist_queries.clone()))?;

    let quarantined = IntCounter::new(
        "station_quarantined_total",
        "Files put in quarantine (not indexed: unreadable, not DICOM, refused).",
    )?;
    quarantined.inc_by(count(facts.quarantined));
    add(Box::new(quarantined))?;

    let queued = IntGaugeVec::new(
        Opts::new(
            "station_queue_studies",
            "Studies in the send queue per destination and state.",
        ),
        &["destination", "state"],
    )?;
    let oldest = GaugeVec::new(
        Opts::new(
            "station_queue_oldest_undelivered_seconds",
            "Age of the oldest study queued and not yet delivered (queued, sending, failed or held); 0 when none.",
        ),
        &["destination"],
    )?;
    let last_delivery = GaugeVec::new(
        Opts::new(
            "station_last_delivery_timestamp_seconds",
            "When the hub last confirmed a study delivered (Unix time); absent until the first.",
        ),
        &["destination"],
    )?;
    let uploaded = IntCounterVec::new(
        Opts::new(
            "station_upload_bytes_total",
            "Bytes of the instances the destination's hub confirmed stored.",
        ),
        &["destination"],
    )?;
    let wire_original = IntCounterVec::new(
        Opts::new(
            "station_wire_original_bytes_total",
            "Bytes of the instances the destination's hub confirmed stored, as they would have gone uncompressed (the originals or their corrected copies); only instances whose sizes were recorded (0.2.0 on).",
        ),
        &["destination"],
    )?;
    let wire_sent = IntCounterVec::new(
        Opts::new(
            "station_wire_sent_bytes_total",
            "Bytes actually sent for those same instances: the lossless compressed copies where they were made, else the files themselves.",
        ),
        &["destination"],
    )?;
    let link_up = IntGaugeVec::new(
        Opts::new(
            "station_link_up",
            "1 when the last exchange with the destination worked, 0 when it failed; absent until the first.",
        ),
        &["destination"],
    )?;
    for d in &destinations {
        for state in SendState::ALL {
            queued
                .with_label_values(&[d.as_str(), state.as_str()])
                .set(0);
        }
        oldest.with_label_values(&[d.as_str()]).set(0.0);
        uploaded.with_label_values(&[d.as_str()]);
        wire_original.with_label_values(&[d.as_str()]);
        wire_sent.with_label_values(&[d.as_str()]);
    }
    for g in &facts.groups {
        let d = g.destination.as_str();
        queued
            .with_label_values(&[d, g.state.as_str()])
            .set(g.studies);
        if g.state == SendState::Delivered {
            last_delivery
                .with_label_values(&[d])
                .set(g.last_changed_at as f64 / 1000.0);
        } else {
            let age = (now_ms - g.oldest_queued_at).max(0) as f64 / 1000.0;
            let gauge = oldest.with_label_values(&[d]);
            gauge.set(gauge.get().max(age));
        }
    }
    for (d, b) in &facts.stored_bytes {
        uploaded.with_label_values(&[d.as_str()]).inc_by(count(*b));
    }
    for (d, w) in &facts.wire {
        wire_original
            .with_label_values(&[d.as_str()])
            .inc_by(count(w.original_bytes));
        wire_sent
            .with_label_values(&[d.as_str()])
            .inc_by(count(w.sent_bytes));
    }
    for (d, up) in &facts.links {
        link_up.with_label_values(&[d.as_str()]).set(i64::from(*up));
    }
    add(Box::new(queued))?;
    add(Box::new(oldest))?;
    add(Box::new(last_delivery))?;
    add(Box::new(uploaded))?;
    add(Box::new(wire_original))?;
    add(Box::new(wire_sent))?;
    add(Box::new(link_up))?;

    let overdue = IntGauge::new(
        "station_reports_overdue",
        "Studies past their turnaround target without a final report.",
    )?;
    overdue.set(facts.overdue);
    add(Box::new(overdue))?;

    let turnaround = HistogramVec::new(
        HistogramOpts::new(
            "station_report_turnaround_seconds",
            "Time from delivery to the hub to the final report, per image modality of the study.",
        )
        .buckets(TURNAROUND_BUCKETS.to_vec()),
        &["modality"],
    )?;
    for row in &facts.turnaround {
        if let Some(ms) = row.final_report_ms {
            for m in &row.modalities {
                turnaround
                    .with_label_values(&[m.as_str()])
                    .observe(ms.max(0) as f64 / 1000.0);
            }
        }
    }
    add(Box::new(turnaround))?;

    disk(config, facts.daily_intake, &mut add)?;
    certificates(config, &mut add)?;

    let mut out = Vec::new();
    TextEncoder::new().encode(&registry.gather(), &mut out)?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Free and total space of the data disk, the floor below which images are refused, and the
/// time until the floor at the last week's intake. A disk that cannot be read leaves its series
/// out rather than reporting 0; so does a week without images (nothing fills the disk).
fn disk(
    config: &Config,
    daily_intake: Option<f64>,
    add: &mut impl FnMut(Box<dyn Collector>) -> prometheus::Result<()>,
) -> Result<(), MetricsError> {
    let free = IntGauge::new(
        "station_disk_free_bytes",
        "Space free on the data directory's disk for the station.",
    )?;
    let total = IntGauge::new(
        "station_disk_total_bytes",
        "Size of the data directory's disk.",
    )?;
    let floor = IntGauge::new(
        "station_disk_floor_bytes",
        "Free space below which new images are refused ([storage] min_free_mb).",
    )?;
    let floor_bytes = config.storage.min_free_bytes();
    floor.set(i64::try_from(floor_bytes).unwrap_or(i64::MAX));
    add(Box::new(floor))?;
    if let Ok(bytes) = fs4::available_space(&config.data_dir) {
        free.set(i64::try_from(bytes).unwrap_or(i64::MAX));
        add(Box::new(free))?;
        // The space above the floor over the intake: how long until images are refused if
        // retention frees nothing (it frees only what every destination verified).
        if let Some(rate) = daily_intake {
            // The issue's `station_disk_days_left`, in the base unit promtool asks for.
            let left = Gauge::new(
                "station_disk_time_left_seconds",
                "Time until free space reaches the floor, at the last week's intake of images.",
            )?;
            left.set(bytes.saturating_sub(floor_bytes) as f64 / rate * 86_400.0);
            add(Box::new(left))?;
        }
    }
    if let Ok(bytes) = fs4::total_space(&config.data_dir) {
        total.set(i64::try_from(bytes).unwrap_or(i64::MAX));
        add(Box::new(total))?;
    }
    Ok(())
}

/// When each destination's client certificate expires. A file that cannot be read leaves the
/// series out (the send itself fails and says why); it is logged here as well.
fn certificates(
    config: &Config,
    add: &mut impl FnMut(Box<dyn Collector>) -> prometheus::Result<()>,
) -> Result<(), MetricsError> {
    let expiry = GaugeVec::new(
        Opts::new(
            "station_certificate_expiry_timestamp_seconds",
            "When the client certificate presented to the destination expires (Unix time; the earliest in its file).",
        ),
        &["destination"],
    )?;
    for d in &config.destinations {
        let Some(path) = &d.client_identity_file else {
            continue;
        };
        match certificate::earliest_expiry(path) {
            Ok(at) => expiry.with_label_values(&[d.name.as_str()]).set(at as f64),
            Err(e) => {
                tracing::warn!(destination = %d.name, error = %e, "client certificate unreadable")
            }
        }
    }
    add(Box::new(expiry))?;
    Ok(())
}
