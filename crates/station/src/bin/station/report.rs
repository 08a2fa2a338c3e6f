//! `station report list|show|ack`: the reports that came back from the hubs, from a shell.
//! Thin over `station::reports` (and `station::actions::report` to acknowledge); prints text
//! (or JSON with `--json`).

use std::path::PathBuf;

use anyhow::bail;
use clap::Subcommand;
use station::actions::{self, Actor};
use station::config::Config;
use station::events::Events;
use station::reports::{self, Lang, ReportFilter};
use station::store::{self, Store};

use crate::words;

#[derive(Subcommand)]
pub enum ReportAction {
    /// Current reports, newest first (all versions with --all).
    List {
        #[command(flatten)]
        config: super::ConfigArgs,
        /// Whose reads count; with --unread, only reports this user has not acknowledged.
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        unread: bool,
        #[arg(long)]
        study: Option<String>,
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// One report: text, reading doctor, versions, PDF, key images, turnaround.
    Show {
        #[command(flatten)]
        config: super::ConfigArgs,
        id: i64,
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        json: bool,
        /// Write the printable HTML page here (Chinese; --english for English).
        #[arg(long)]
        print: Option<PathBuf>,
        #[arg(long)]
        english: bool,
        /// Write the PDF document of a PDF report here.
        #[arg(long)]
        pdf: Option<PathBuf>,
    },
    /// A local doctor has read a report.
    Ack {
        #[command(flatten)]
        config: super::ConfigArgs,
        id: i64,
        #[arg(long)]
        user: String,
    },
}

pub fn run(action: ReportAction) -> anyhow::Result<()> {
    match action {
        ReportAction::List {
            config,
            user,
            unread,
            study,
            all,
            json,
        } => {
            let config = config.load(Default::default())?;
            let conn = reader(&config)?;
            let filter = ReportFilter {
                unread_only: unread,
                user: user.clone(),
                study_uid: study,
                all_versions: all,
                limit: 0,
            };
            let rows = reports::list(&conn, &filter)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
                return Ok(());
            }
            if let Some(user) = &user {
                println!("unread for {user}: {}", reports::unread_count(&conn, user)?);
            }
            for r in &rows {
                println!(
                    "#{:<5} {:<11} {:<4} {:<12} {} {} | {} | {}",
                    r.id,
                    r.status,
                    r.kind,
                    r.modalities,
                    r.patient_name,
                    r.study_uid,
                    r.title,
                    r.observer
                );
            }
            if rows.is_empty() {
                println!("(no reports)");
            }
            Ok(())
        }
        ReportAction::Show {
            config,
            id,
            user,
            json,
            print,
            english,
            pdf,
        } => {
            let config = config.load(Default::default())?;
            let conn = reader(&config)?;
            let view = reports::get(&conn, id, user.as_deref())?;
            if let Some(path) = print {
                let lang = if english { Lang::En } else { Lang::Zh };
                std::fs::write(
                    &path,
                    reports::print_html(&conn, &config.reports, id, lang)?,
                )?;
            }
            if let Some(path) = pdf {
                std::fs::write(&path, reports::pdf(&conn, &config.data_dir, id)?)?;
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&view)?);
                return Ok(());
            }
            let r = &view.report;
            println!(
                "{} [{}] {} {}",
                r.title, r.status, r.patient_name, r.study_uid
            );
            println!(
                "doctor: {} {}  verified: {}",
                r.observer, r.organization, r.verified_at
            );
            println!("\n{}\n", view.text);
            for v in &view.versions {
                let mark = if v.id == r.id { "*" } else { " " };
                println!("{mark} version #{} {} {}", v.id, v.status, v.content_at);
            }
            for p in &view.pdfs {
                println!("  pdf #{} {}", p.id, p.title);
            }
            for k in &view.key_images {
                println!(
                    "  key image {} {}",
                    k.sop_instance_uid,
                    k.instance_id.map_or_else(
                        || "(not received here)".to_owned(),
                        |id| format!("local instance #{id}")
                    )
                );
            }
            if let Some(t) = &view.turnaround {
                println!(
                    "turnaround: first report {}, final report {}{}",
                    words::or(t.first_report_ms.map(words::duration_ms), "not yet"),
                    words::or(t.final_report_ms.map(words::duration_ms), "not yet"),
                    if t.overdue { ", overdue" } else { "" }
                );
            }
            Ok(())
        }
        ReportAction::Ack { config, id, user } => {
            let config = config.load(Default::default())?;
            let store = Store::open(&config.db_path())?;
            let events = Events::new();
            let acked = actions::report::acknowledge(&Actor::new(&store, &events, &user), id)?;
            let first = acked.first;
            println!(
                "report #{id} {} by {user}",
                if first {
                    "acknowledged"
                } else {
                    "was already acknowledged"
                }
            );
            Ok(())
        }
    }
}

fn reader(config: &Config) -> anyhow::Result<rusqlite::Connection> {
    let db = config.db_path();
    if !db.exists() {
        bail!("no station database at {}", db.display());
    }
    Ok(store::open_reader(&db)?)
}
