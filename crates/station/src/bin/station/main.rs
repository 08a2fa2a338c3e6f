//! The `station` command: `serve`, `import`, `status`, `sync`, `patient`, `order`, `worklist`,
//! `study`, `report`, `user`, `token`, `purge`, `backup`, `restore`, `verify`, `openapi` and `demo`. The only place that uses `anyhow`; everything
//! it calls returns typed errors. Every change it makes goes through the library's operation
//! layer (`station::actions`), audited with the actor `cli` (or `--actor`), as the API's are.

mod hub;
mod purge;
mod registry;
mod report;
mod storage;
mod sync;
mod token;
mod user;
mod words;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use station::config::{Config, Overrides};
use station::ingest::{quarantine, Ingest, IngestError, Outcome};
pub(crate) use station::options::ConfigArgs;
use station::options::ServeArgs;
use station::store::{self, Source, Store};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

use registry as registry_cli;
use report as report_cli;
use user as user_cli;

#[derive(Parser)]
#[command(
    name = "station",
    version,
    about = "Clinic Imaging Station (基层影像采集站)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the station headless: DICOM listener, watched folders, study lifecycle.
    Serve {
        #[command(flatten)]
        options: ServeArgs,
    },
    /// Import DICOM files and folders (recursively) through the same path as the listener.
    Import {
        #[command(flatten)]
        config: ConfigArgs,
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Print how many studies are in each state.
    Status {
        #[command(flatten)]
        config: ConfigArgs,
        #[arg(long)]
        json: bool,
    },
    /// The send queue: each study's state per destination, with the last error.
    Sync {
        #[command(subcommand)]
        action: sync::SyncAction,
    },
    /// Write a diagnostics bundle (.tar.gz) for the center's maintenance staff: versions, disk,
    /// settings without secrets, the last log lines, the queue, an index check and a
    /// connection test per destination; no patient data.
    Diagnose {
        #[command(flatten)]
        config: ConfigArgs,
        #[arg(long)]
        out: PathBuf,
    },
    /// The destinations: test the link to one, step by step.
    Hub {
        #[command(subcommand)]
        action: hub::HubAction,
    },
    /// Registered patients: add, edit, search.
    Patient {
        #[command(subcommand)]
        action: registry_cli::PatientAction,
    },
    /// Orders (one scheduled procedure step each): add, list, cancel.
    Order {
        #[command(subcommand)]
        action: registry_cli::OrderAction,
    },
    /// Today's modality worklist, as devices see it.
    Worklist {
        #[command(flatten)]
        config: ConfigArgs,
        #[arg(long)]
        json: bool,
    },
    /// Studies and their orders: list the unassigned, assign one.
    Study {
        #[command(subcommand)]
        action: registry_cli::StudyAction,
    },
    /// Reports from the diagnostic center: list, show (text, PDF, print page), acknowledge.
    Report {
        #[command(subcommand)]
        action: report_cli::ReportAction,
    },
    /// People who may log in to the UI and the HTTP API.
    User {
        #[command(subcommand)]
        action: user_cli::UserAction,
    },
    /// Long-lived API tokens for the center's scripts and a clinic HIS: create, list, revoke.
    Token {
        #[command(subcommand)]
        action: token::TokenAction,
    },
    /// Delete the image files of studies every destination verified, as the running station
    /// does every hour (`[storage]` retention); `--dry-run` says what would go and what stays,
    /// and why.
    Purge(purge::PurgeArgs),
    /// Write a consistent copy of the index, the settings without secrets and a manifest into
    /// a new folder, while the station runs. Instance files are not copied.
    Backup {
        #[command(flatten)]
        config: ConfigArgs,
        #[arg(long)]
        out: PathBuf,
    },
    /// Put a backup's index into the configured data directory (the station must be stopped).
    Restore {
        #[command(flatten)]
        config: ConfigArgs,
        /// The backup folder (holding manifest.json).
        dir: PathBuf,
        /// Replace an existing index (it is kept aside as station.before-restore-*.db).
        #[arg(long)]
        force: bool,
    },
    /// Check the index against the files: missing or changed files, unknown files (moved to
    /// quarantine), and the database itself. Exit status 1 when something is wrong.
    Verify {
        #[command(flatten)]
        config: ConfigArgs,
        #[arg(long)]
        json: bool,
        /// Also compare each file's SHA-256 (reads every file).
        #[arg(long)]
        rehash: bool,
    },
    /// Print the HTTP API's OpenAPI document (JSON), from which the UI's types are generated.
    Openapi,
    /// Write a synthetic clinic day (5 patients, DX, US, ECG; Chinese names in several
    /// character sets) to try the station without devices.
    Demo {
        #[arg(long, default_value = "demo-day")]
        out: PathBuf,
        /// Tiny images (a few MB in all) instead of full-size ones (about 214 MB).
        #[arg(long)]
        small: bool,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

fn main() -> ExitCode {
    end_quietly_on_a_closed_pipe();
    station::disk::private_files();
    let cli = Cli::parse();
    // The server logs each association and instance; one-shot commands print their own summary
    // and log only what went wrong.
    let level = if matches!(cli.command, Command::Serve { .. }) {
        "info"
    } else {
        "warn"
    };
    let filter =
        || tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| level.into());
    // Colour codes only for a person at a terminal, never into the journal or a file.
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(station::logfile::OneLine(std::io::stderr))
        .with_ansi(std::io::stderr().is_terminal())
        .with_filter(filter());
    tracing_subscriber::registry()
        .with(stderr)
        .with(daily_log(&cli).map(|log| {
            tracing_subscriber::fmt::layer()
                .with_writer(station::logfile::OneLine(log))
                .with_ansi(false)
                .with_filter(filter())
        }))
        .init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `station status | head` closes the pipe before everything is printed; Rust's print macros
/// then panic. End quietly instead, as Unix tools do (without `unsafe` to restore SIGPIPE).
fn end_quietly_on_a_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

/// The daily log file of `station serve`; None for other commands, or when its directory
/// cannot be written (said on stderr: the station runs on, logging to stderr only).
fn daily_log(cli: &Cli) -> Option<station::logfile::DailyLog> {
    let Command::Serve { options } = &cli.command else {
        return None;
    };
    // A configuration that does not load is reported by `run`, which loads it again.
    let config = options.load().ok()?;
    let dir = config.log_dir();
    match station::logfile::DailyLog::open(&dir, config.log.keep_days) {
        Ok(log) => Some(log),
        Err(e) => {
            eprintln!(
                "warning: cannot write log files in {}: {e}; logging to stderr only",
                dir.display()
            );
            None
        }
    }
}

/// The station's configuration and store for a command that changes it, making the data
/// directory on a first use (`station user add` before the first start).
pub(crate) fn open_store(config: &ConfigArgs) -> anyhow::Result<(Config, Store)> {
    let config = config.load(Overrides::default())?;
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating {}", config.data_dir.display()))?;
    let store = Store::open(&config.db_path())?;
    Ok((config, store))
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { options } => serve(&options.load()?),
        Command::Import { config, paths } => import(&config.load(Overrides::default())?, &paths),
        Command::Status { config, json } => status(&config.load(Overrides::default())?, json),
        Command::Sync { action } => sync::run(action),
        Command::Hub { action } => hub::run(action),
        Command::Diagnose { config, out } => diagnose(&config.load(Overrides::default())?, &out),
        Command::Patient { action } => registry_cli::patient(action),
        Command::Order { action } => registry_cli::order(action),
        Command::Worklist { config, json } => registry_cli::worklist(&config, json),
        Command::Study { action } => registry_cli::study(action),
        Command::Report { action } => report_cli::run(action),
        Command::User { action } => user_cli::run(action),
        Command::Token { action } => token::run(action),
        Command::Purge(args) => purge::run(args),
        Command::Backup { config, out } => storage::backup(&config, &out),
        Command::Restore { config, dir, force } => storage::restore(&config, &dir, force),
        Command::Verify {
            config,
            json,
            rehash,
        } => storage::verify(&config, json, rehash),
        Command::Openapi => {
            println!("{}", station::http::document().to_pretty_json()?);
            Ok(())
        }
        Command::Demo { out, small, seed } => {
            let scale = if small {
                station::demo::Scale::Small
            } else {
                station::demo::Scale::Full
            };
            let files = station::demo::write_clinic_day(&out, scale, seed)
                .with_context(|| format!("writing the demo day to {}", out.display()))?;
            let bytes: u64 = files
                .iter()
                .filter_map(|f| std::fs::metadata(&f.path).ok())
                .map(|m| m.len())
                .sum();
            println!(
                "wrote {} DICOM files ({:.1} MB) to {}",
                files.len(),
                bytes as f64 / 1e6,
                out.display()
            );
            println!(
                "send them with: /usr/bin/storescu -aec STATION +sd +r 127.0.0.1 11112 {}",
                out.display()
            );
            Ok(())
        }
    }
}

fn serve(config: &Config) -> anyhow::Result<()> {
    let (tx, rx) = std::sync::mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = tx.send(());
    })
    .context("installing the signal handler")?;
    let station = station::serve::Station::start(config)?;
    let _ = rx.recv();
    tracing::info!("shutting down");
    station.shutdown();
    Ok(())
}

#[derive(Default)]
struct ImportSummary {
    imported: u64,
    duplicates: u64,
    for_review: Vec<(PathBuf, String)>,
    quarantined: Vec<(PathBuf, String)>,
    failed: Vec<(PathBuf, String)>,
}

fn import(config: &Config, paths: &[PathBuf]) -> anyhow::Result<()> {
    let mut files = Vec::new();
    for path in paths {
        if !path.exists() {
            bail!("{} does not exist", path.display());
        }
        for entry in walkdir::WalkDir::new(path).sort_by_file_name() {
            let entry = entry.with_context(|| format!("reading {}", path.display()))?;
            if entry.file_type().is_file() {
                files.push(entry.into_path());
            }
        }
    }
    let store = Arc::new(Store::open(&config.db_path()).or_else(|_| {
        std::fs::create_dir_all(&config.data_dir)?;
        Store::open(&config.db_path()).map_err(anyhow::Error::from)
    })?);
    let ingest = Ingest::new(config, store.clone()).context("preparing the data directory")?;
    let bar = indicatif::ProgressBar::new(files.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {wide_msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut summary = ImportSummary::default();
    for file in &files {
        bar.set_message(
            file.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        let source = Source::Import {
            path: file.display().to_string(),
        };
        match ingest.ingest_file(file, &source) {
            Ok(Outcome::Stored { .. }) => summary.imported += 1,
            Ok(Outcome::Duplicate { .. }) => summary.duplicates += 1,
            Ok(Outcome::StoredForReview { reason, .. }) => {
                summary.imported += 1;
                summary.for_review.push((file.clone(), reason));
            }
            Err(IngestError::Unreadable(refusal)) => {
                quarantine::quarantine_file(
                    &store,
                    file,
                    &config.data_dir.join("quarantine"),
                    &refusal,
                    true,
                )?;
                summary.quarantined.push((file.clone(), refusal.detail));
            }
            Err(e) => summary.failed.push((file.clone(), e.to_string())),
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    print_summary(&summary, &config.data_dir);
    if !summary.failed.is_empty() {
        bail!(
            "{} file(s) could not be imported; they were left where they are",
            summary.failed.len()
        );
    }
    Ok(())
}

fn print_summary(s: &ImportSummary, data_dir: &Path) {
    println!(
        "imported {}, duplicates {}, quarantined {}, failed {}",
        s.imported,
        s.duplicates,
        s.quarantined.len(),
        s.failed.len()
    );
    for (file, reason) in &s.for_review {
        println!("  needs review: {}: {reason}", file.display());
    }
    for (file, reason) in &s.quarantined {
        println!("  quarantined: {}: {reason}", file.display());
    }
    if !s.quarantined.is_empty() {
        println!(
            "  (copies with reason files are in {})",
            data_dir.join("quarantine").display()
        );
    }
    for (file, reason) in &s.failed {
        println!("  failed: {}: {reason}", file.display());
    }
}

fn diagnose(config: &Config, out: &Path) -> anyhow::Result<()> {
    let db = config.db_path();
    if !db.exists() {
        bail!("no station database at {}", db.display());
    }
    let conn = store::open_reader(&db)?;
    let facts = station::diagnose::read_store(&conn)?;
    station::diagnose::write_bundle(config, facts, std::fs::File::create(out)?)?;
    println!("{}", out.display());
    Ok(())
}

fn status(config: &Config, json: bool) -> anyhow::Result<()> {
    let db = config.db_path();
    if !db.exists() {
        bail!(
            "no station database at {} (has the station run with this data directory?)",
            db.display()
        );
    }
    let conn = store::open_reader(&db)?;
    let counts = store::status_counts(&conn)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&counts)?);
        return Ok(());
    }
    println!("studies:");
    if counts.studies_by_state.is_empty() {
        println!("  (none yet)");
    }
    for (state, n) in &counts.studies_by_state {
        println!("  {state:<12} {n}");
    }
    println!("instances:          {}", counts.instances);
    println!("  needing review:   {}", counts.instances_for_review);
    println!("  charset repaired: {}", counts.instances_charset_repaired);
    println!("quarantined files:  {}", counts.quarantined);
    // What a technician compares with the certificate the browser shows.
    let tls = &config.http;
    match station::http::tls::current_fingerprint(tls, &config.data_dir)? {
        Some((sha256, file)) => {
            println!("https certificate:  SHA-256 {sha256}");
            println!("  file:             {}", file.display());
        }
        None if tls.tls == station::config::TlsMode::Off => println!("https:              off"),
        None => println!("https certificate:  made at the next start"),
    }
    if !counts.send_queue_by_state.is_empty() {
        println!("send queue:");
        for (state, n) in &counts.send_queue_by_state {
            println!("  {state:<12} {n}");
        }
    }
    Ok(())
}
