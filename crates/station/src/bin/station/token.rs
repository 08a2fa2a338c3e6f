//! `station token create|list|revoke`: long-lived API tokens for the center's scripts and a
//! clinic HIS, from the command line. The same operations as the API's `token_create` and
//! `token_revoke` (`station::actions::token`), recorded as actor `cli`.
//!
//! Must never: print a token anywhere but once, on creation.

use std::time::Duration;

use anyhow::{bail, Context};
use clap::Subcommand;
use station::actions::{self, Actor};
use station::auth::{tokens, Role};
use station::events::Events;

use super::ConfigArgs;

#[derive(Subcommand)]
pub(crate) enum TokenAction {
    /// Make a token; it is printed once (only its SHA-256 is kept).
    Create {
        #[command(flatten)]
        config: ConfigArgs,
        /// Who uses it, e.g. center-ops or his.
        #[arg(long)]
        name: String,
        /// technician, doctor, manager or maintenance (never admin).
        #[arg(long)]
        role: String,
        /// How long it works: 90d, 12h, 30m or 45s; without: until revoked.
        #[arg(long)]
        expires: Option<String>,
    },
    /// List tokens with role, maker, end, last use and revocation (never the token).
    List {
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Revoke a token: its next call is refused.
    Revoke {
        #[command(flatten)]
        config: ConfigArgs,
        name: String,
    },
}

/// `90d`, `12h`, `30m`, `45s`.
fn lifetime(text: &str) -> anyhow::Result<Duration> {
    let text = text.trim();
    let split = text.len().saturating_sub(1);
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .with_context(|| format!("--expires {text:?}: a number and d, h, m or s, e.g. 90d"))?;
    let secs = match unit {
        "d" => n * 24 * 3600,
        "h" => n * 3600,
        "m" => n * 60,
        "s" => n,
        _ => bail!("--expires {text:?}: a number and d, h, m or s, e.g. 90d"),
    };
    Ok(Duration::from_secs(secs))
}

/// A time in the station's local time zone, as the clinic reads it.
fn local(ms: i64) -> String {
    use chrono::TimeZone;
    chrono::Local.timestamp_millis_opt(ms).single().map_or_else(
        || ms.to_string(),
        |t| t.format("%Y-%m-%d %H:%M").to_string(),
    )
}

pub(crate) fn run(action: TokenAction) -> anyhow::Result<()> {
    let open = |config: &ConfigArgs| super::open_store(config).map(|(_, store)| store);
    match action {
        TokenAction::Create {
            config,
            name,
            role,
            expires,
        } => {
            let role = Role::parse(&role).with_context(|| {
                format!("unknown role {role:?}: technician, doctor, manager or maintenance")
            })?;
            let lifetime = expires.as_deref().map(lifetime).transpose()?;
            let (store, events) = (open(&config)?, Events::new());
            let by = Actor::new(&store, &events, "cli");
            let (token, record) = actions::token::create(&by, &name, role, lifetime)?;
            let until = record.expires_at.map_or_else(
                || "until revoked".to_owned(),
                |t| format!("until {}", local(t)),
            );
            println!("created token {} ({}, {until})", record.name, role.as_str());
            println!("token: {token}");
        }
        TokenAction::List { config } => {
            for t in tokens::list(&open(&config)?.lock())? {
                let state = match (t.revoked_at, t.expires_at) {
                    (Some(at), _) => format!("revoked {}", local(at)),
                    (None, Some(end)) => format!("until {}", local(end)),
                    (None, None) => "until revoked".to_owned(),
                };
                let used = t.last_used_at.map_or_else(
                    || "never used".to_owned(),
                    |at| format!("used {}", local(at)),
                );
                println!(
                    "{:<20} {:<12} {:<28} {:<24} by {}",
                    t.name,
                    t.role.as_str(),
                    state,
                    used,
                    t.created_by
                );
            }
        }
        TokenAction::Revoke { config, name } => {
            let (store, events) = (open(&config)?, Events::new());
            let record = actions::token::revoke(&Actor::new(&store, &events, "cli"), &name)?;
            println!("revoked token {}", record.name);
        }
    }
    Ok(())
}
