//! `station sync status|hold|release|retry|route`: the send queue from a shell. Hold, release,
//! retry and route are the operation layer's (`station::actions::study`), audited as the API's
//! are, with the actor `cli` (or `--actor`); a running station sees the change at its next look.

use anyhow::bail;
use clap::Subcommand;
use station::actions::study::{self, Action};
use station::actions::{ActionError, Actor};
use station::config::{Config, Overrides};
use station::events::Events;
use station::store::{self, Store};

use super::ConfigArgs;

#[derive(Subcommand)]
pub enum SyncAction {
    /// Each study per destination: state, instances stored of total, attempts, last error.
    Status {
        #[command(flatten)]
        config: ConfigArgs,
        #[arg(long)]
        json: bool,
    },
    /// Pause sending a study (to every destination) until it is released.
    Hold {
        #[command(flatten)]
        config: ConfigArgs,
        study_uid: String,
        #[arg(long, default_value = "cli")]
        actor: String,
    },
    /// Resume sending a held study.
    Release {
        #[command(flatten)]
        config: ConfigArgs,
        study_uid: String,
        #[arg(long, default_value = "cli")]
        actor: String,
    },
    /// Send a failed study again, including instances the hub refused.
    Retry {
        #[command(flatten)]
        config: ConfigArgs,
        study_uid: String,
        #[arg(long, default_value = "cli")]
        actor: String,
    },
    /// Send the complete studies no destination took (received since a local date,
    /// YYYY-MM-DD) to the destinations configured now that accept them.
    Route {
        #[command(flatten)]
        config: ConfigArgs,
        #[arg(long)]
        since: String,
        #[arg(long, default_value = "cli")]
        actor: String,
    },
}

pub fn run(action: SyncAction) -> anyhow::Result<()> {
    let (config, study_uid, actor, action) = match action {
        SyncAction::Status { config, json } => {
            return status(&config.load(Overrides::default())?, json)
        }
        SyncAction::Hold {
            config,
            study_uid,
            actor,
        } => (config, study_uid, actor, Action::Hold),
        SyncAction::Release {
            config,
            study_uid,
            actor,
        } => (config, study_uid, actor, Action::Release),
        SyncAction::Retry {
            config,
            study_uid,
            actor,
        } => (config, study_uid, actor, Action::Retry),
        SyncAction::Route {
            config,
            since,
            actor,
        } => return route(&config.load(Overrides::default())?, &since, &actor),
    };
    let config = config.load(Overrides::default())?;
    act(&config, &study_uid, &actor, action)
}

fn status(config: &Config, json: bool) -> anyhow::Result<()> {
    let db = config.db_path();
    if !db.exists() {
        bail!("no station database at {}", db.display());
    }
    let conn = store::open_reader(&db)?;
    let rows = store::queue::queue_rows(&conn)?;
    let refused = store::queue::refused_instances(&conn)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    if rows.is_empty() {
        println!("nothing queued (no destination configured, or no study complete yet)");
    }
    for r in &rows {
        println!(
            "{:<10} {:<10} {}/{} stored{}  attempts {}  {}{}",
            r.destination,
            r.state,
            r.stored,
            r.instances,
            if r.failed > 0 {
                format!(", {} refused", r.failed)
            } else {
                String::new()
            },
            r.attempts,
            r.study_uid,
            r.last_error
                .as_deref()
                .map(|e| format!("\n           last error: {e}"))
                .unwrap_or_default()
        );
        for f in refused
            .iter()
            .filter(|f| f.study_uid == r.study_uid && f.destination == r.destination)
        {
            println!("           refused {}: {}", f.sop_instance_uid, f.reason);
        }
    }
    Ok(())
}

fn route(config: &Config, since: &str, actor: &str) -> anyhow::Result<()> {
    let db = config.db_path();
    if !db.exists() {
        bail!("no station database at {}", db.display());
    }
    let since = super::purge::parse_when(since)?;
    let store = Store::open(&db)?;
    let events = Events::new();
    let by = Actor::new(&store, &events, actor);
    let routes = station::lifecycle::routes(config);
    let done = study::route_unrouted(&by, since, &routes)?;
    println!(
        "{} studies queued for sending; {} still go to no destination",
        done.routed.len(),
        done.still_unrouted
    );
    for uid in &done.routed {
        println!("  {uid}");
    }
    Ok(())
}

fn act(config: &Config, study_uid: &str, actor: &str, action: Action) -> anyhow::Result<()> {
    let db = config.db_path();
    if !db.exists() {
        bail!("no station database at {}", db.display());
    }
    // A writer connection: the running station sees the change at its next claim (its change
    // feed announces it to the screens; nobody here listens to this process's events).
    let store = Store::open(&db)?;
    let events = Events::new();
    let by = Actor::new(&store, &events, actor);
    let done = match action {
        Action::Hold => study::hold(&by, study_uid),
        Action::Release => study::release(&by, study_uid),
        Action::Retry => study::retry(&by, study_uid),
    };
    let (verb, needs) = match action {
        Action::Hold => ("held", "queued, sending or failed"),
        Action::Release => ("released", "held"),
        Action::Retry => ("queued for another try", "failed"),
    };
    match done {
        Ok(result) => {
            println!(
                "study {study_uid} {verb} for {} destination(s)",
                result.changed
            );
            Ok(())
        }
        Err(ActionError::Unplaced { .. }) => {
            bail!("study {study_uid} waits to be assigned or its patient checked (`station study unassigned`): nothing to hold, release or retry")
        }
        Err(ActionError::NothingTo { .. } | ActionError::StudyNotFound(_)) => {
            bail!("study {study_uid} has no destination that is {needs}; see `station sync status`")
        }
        Err(e) => Err(e.into()),
    }
}
