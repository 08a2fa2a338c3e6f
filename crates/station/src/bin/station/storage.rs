//! `station backup`, `station restore` and `station verify`: storage upkeep from a shell, over
//! the same library functions the service's schedule runs (`station::storage`), each run
//! recorded for the dashboard.

use std::path::Path;

use anyhow::{bail, Context};
use station::config::Overrides;
use station::storage::{backup, verify};
use station::store::Store;

use super::ConfigArgs;

/// `station backup --out DIR`.
pub fn backup(config: &ConfigArgs, out: &Path) -> anyhow::Result<()> {
    let config = config.load(Overrides::default())?;
    if !config.db_path().exists() {
        bail!("no station database at {}", config.db_path().display());
    }
    let store = Store::open(&config.db_path())?;
    let m = backup::write_and_record(&config, &store, out)?;
    println!(
        "backup written to {}: {} studies, {} instances, {} reports (schema {})",
        out.display(),
        m.contents.studies,
        m.contents.instances,
        m.contents.reports,
        m.contents.schema_version
    );
    println!("instance files are not in it; see the README for keeping the undelivered ones");
    Ok(())
}

/// `station restore DIR [--force]`.
pub fn restore(config: &ConfigArgs, from: &Path, force: bool) -> anyhow::Result<()> {
    let config = config.load(Overrides::default())?;
    let r = backup::restore(&config, from, force, "cli")
        .with_context(|| format!("restoring {}", from.display()))?;
    println!(
        "restored the index of {} ({} studies, {} instances, {} reports) into {}",
        r.manifest.created_at,
        r.manifest.contents.studies,
        r.manifest.contents.instances,
        r.manifest.contents.reports,
        config.data_dir.display()
    );
    if let Some(previous) = r.previous {
        println!("the index it replaced is kept as {}", previous.display());
    }
    println!(
        "settings are unchanged; the backup's settings (secrets hidden) are in {}",
        from.join(backup::SETTINGS).display()
    );
    Ok(())
}

/// `station verify [--json] [--rehash]`; exits with status 1 when it found a problem.
pub fn verify(config: &ConfigArgs, json: bool, rehash: bool) -> anyhow::Result<()> {
    let config = config.load(Overrides::default())?;
    if !config.db_path().exists() {
        bail!("no station database at {}", config.db_path().display());
    }
    let store = Store::open(&config.db_path())?;
    let report = verify::run_and_record(&store, &config.data_dir, rehash, "cli")?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print(&report);
    }
    if report.problems() > 0 {
        std::process::exit(1);
    }
    Ok(())
}

fn print(r: &verify::Report) {
    for f in &r.files {
        let what = match f.problem {
            verify::Problem::Missing => "missing".to_string(),
            verify::Problem::SizeDiffers => {
                format!(
                    "size differs: {} bytes indexed, {} on disk",
                    f.expected, f.found
                )
            }
            verify::Problem::HashDiffers => format!(
                "content differs: SHA-256 {} indexed, {} on disk",
                f.expected, f.found
            ),
            verify::Problem::Unreadable => format!("unreadable: {}", f.found),
        };
        println!("instance #{} {}: {what}", f.instance_id, f.path);
    }
    for o in &r.orphans {
        println!(
            "unknown file {}: moved to quarantine as {}",
            o.path, o.quarantined_to
        );
    }
    for line in &r.database {
        println!("database: {line}");
    }
    if r.too_new > 0 {
        println!(
            "{} file(s) without an index row are younger than {} s and were left for the next check",
            r.too_new,
            verify::GRACE.as_secs()
        );
    }
    let speed = if r.rehashed && r.seconds > 0.0 {
        format!(
            ", {:.1} MB hashed at {:.0} MB/s",
            r.bytes_hashed as f64 / 1e6,
            r.bytes_hashed as f64 / 1e6 / r.seconds
        )
    } else {
        String::new()
    };
    println!("{} in {:.1} s{speed}", r.summary(), r.seconds);
    if r.problems() == 0 {
        println!("no problems found");
    } else {
        println!("{} problem(s) found", r.problems());
    }
}
