//! `station user add|passwd|list`: user administration from the command line, for the admin
//! who installs the station. The same operations as the API's `user_create` and `user_update`
//! (`station::actions::user`), recorded as actor `cli`.
//!
//! Must never: print a password it did not generate.

use anyhow::Context;
use clap::Subcommand;
use station::actions::{self, Actor};
use station::events::Events;

use super::ConfigArgs;

#[derive(Subcommand)]
pub(crate) enum UserAction {
    /// Create a user. Without --password a random one is generated and printed once.
    Add {
        #[command(flatten)]
        config: ConfigArgs,
        username: String,
        /// technician, doctor, manager, admin or maintenance.
        #[arg(long)]
        role: String,
        #[arg(long, default_value = "")]
        display_name: String,
        #[arg(long, env = "STATION_USER_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Set a user's password (ends their sessions); random and printed when not given.
    Passwd {
        #[command(flatten)]
        config: ConfigArgs,
        username: String,
        #[arg(long, env = "STATION_USER_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// List users with role, state and last login.
    List {
        #[command(flatten)]
        config: ConfigArgs,
    },
}

/// `station user ...`: the same rules and audit trail as the API's user administration.
pub(crate) fn run(action: UserAction) -> anyhow::Result<()> {
    use station::auth::{password, users, Role};
    let open = |config: &ConfigArgs| super::open_store(config).map(|(_, store)| store);
    // Without --password: a random one, printed once.
    let chosen = |given: Option<String>| {
        (
            given.clone().unwrap_or_else(password::generate),
            given.is_none(),
        )
    };
    match action {
        UserAction::Add {
            config,
            username,
            role,
            display_name,
            password,
        } => {
            let role = Role::parse(&role).with_context(|| {
                format!("unknown role {role:?}: technician, doctor, manager, admin or maintenance")
            })?;
            let (pw, generated) = chosen(password);
            let (store, events) = (open(&config)?, Events::new());
            let by = Actor::new(&store, &events, "cli");
            let user = actions::user::create(&by, &username, &display_name, role, &pw)?;
            println!("created {} ({})", user.username, role.as_str());
            if generated {
                println!("password: {pw}");
            }
        }
        UserAction::Passwd {
            config,
            username,
            password,
        } => {
            let (pw, generated) = chosen(password);
            let change = users::UserChange {
                password: Some(pw.clone()),
                ..Default::default()
            };
            let (store, events) = (open(&config)?, Events::new());
            let user =
                actions::user::update(&Actor::new(&store, &events, "cli"), &username, &change)?;
            println!(
                "password of {} changed; their sessions ended",
                user.username
            );
            if generated {
                println!("password: {pw}");
            }
        }
        UserAction::List { config } => {
            for u in users::list(&open(&config)?.lock())? {
                println!(
                    "{:<20} {:<10} {:<8} {}",
                    u.username,
                    u.role.as_str(),
                    if u.active { "active" } else { "disabled" },
                    u.display_name
                );
            }
        }
    }
    Ok(())
}
