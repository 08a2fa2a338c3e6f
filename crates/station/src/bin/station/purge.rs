//! `station purge [--dry-run] [--json] [--as-of WHEN]`: retention from a shell. A run is the
//! operation layer's (`station::actions::storage`), audited `storage.purge` with the actor
//! `cli` (or `--actor`), exactly what a running station does every hour.

use anyhow::Context;
use chrono::{DateTime, Local, NaiveDate, TimeZone};
use clap::Args;
use station::actions::{storage, Actor};
use station::events::Events;
use station::storage::purge::{Plan, PlannedStudy};
use station::store::now_ms;

use super::ConfigArgs;

#[derive(Args)]
pub struct PurgeArgs {
    #[command(flatten)]
    config: ConfigArgs,
    /// List what would be deleted and why, and what is kept and why; delete nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Decide as of this local date (YYYY-MM-DD) or time (RFC 3339) instead of now.
    #[arg(long)]
    as_of: Option<String>,
    #[arg(long, default_value = "cli")]
    actor: String,
}

pub fn run(args: PurgeArgs) -> anyhow::Result<()> {
    let (config, store) = super::open_store(&args.config)?;
    let at = match &args.as_of {
        Some(text) => parse_when(text)?,
        None => now_ms(),
    };
    let events = Events::new();
    let by = Actor::new(&store, &events, &args.actor);
    if args.dry_run {
        let plan = storage::plan(&by, &config, at)?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&plan)?);
        } else {
            print_plan(&plan);
        }
        return Ok(());
    }
    let done = storage::purge_now(&by, &config, at)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&done)?);
    } else {
        println!(
            "purged {} studies: {} files, {}",
            done.studies.len(),
            done.files,
            megabytes(done.bytes as i64)
        );
        for uid in &done.studies {
            println!("  {uid}");
        }
        if done.skipped > 0 {
            println!(
                "{} studies were no longer due when their turn came",
                done.skipped
            );
        }
    }
    Ok(())
}

/// A local date (YYYY-MM-DD, its midnight) or an RFC 3339 time, as Unix ms.
pub(crate) fn parse_when(text: &str) -> anyhow::Result<i64> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.timestamp_millis());
    }
    let day = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .with_context(|| format!("{text:?}: expected YYYY-MM-DD or an RFC 3339 time"))?;
    let midnight = day.and_hms_opt(0, 0, 0).context("midnight")?;
    let local = Local
        .from_local_datetime(&midnight)
        .earliest()
        .with_context(|| format!("{text:?}: no such local time"))?;
    Ok(local.timestamp_millis())
}

fn print_plan(plan: &Plan) {
    if let Some(d) = plan.disk {
        println!(
            "disk: {:.1}% used ({} free of {}); early deletion above {}% down to {}%",
            d.used_bytes() as f64 * 100.0 / d.total_bytes.max(1) as f64,
            megabytes(d.free_bytes as i64),
            megabytes(d.total_bytes as i64),
            plan.high_water_percent,
            plan.low_water_percent
        );
    }
    println!(
        "would purge {} studies ({}):",
        plan.purge.len(),
        megabytes(plan.purge_bytes)
    );
    for p in &plan.purge {
        let why = p.purge.map(|r| format!("{r:?}")).unwrap_or_default();
        println!("  {}  {}", line(p), words(&why));
    }
    println!("would keep {} studies:", plan.keep.len());
    for p in &plan.keep {
        let why = p.keep.map(|r| format!("{r:?}")).unwrap_or_default();
        let until = p
            .until
            .and_then(|ms| Local.timestamp_millis_opt(ms).single())
            .map(|t| format!(" until {}", t.format("%Y-%m-%d %H:%M")))
            .unwrap_or_default();
        println!("  {}  {}{until}", line(p), words(&why));
    }
    if plan.only_protected_left {
        println!(
            "the disk stays above {}%: what is left may not be deleted",
            plan.high_water_percent
        );
    }
}

fn line(p: &PlannedStudy) -> String {
    format!(
        "{}  {:<8}  {:<6}  {:>4} files  {:>10}",
        p.study_uid,
        p.study_date,
        p.modalities,
        p.files,
        megabytes(p.bytes)
    )
}

/// `DaysUp` → `days up`: the reason's name in words.
fn words(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push(' ');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

fn megabytes(bytes: i64) -> String {
    format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
}
