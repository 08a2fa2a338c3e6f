//! What a person does to the station's storage: run retention now (`station purge`), as the
//! schedule does every hour, with the person named in the run's audit entry.
//!
//! Must never: delete anything the retention policy holds (the plan is made and each study
//! checked again by `storage::purge`).

use super::{ActionError, Actor};
use crate::config::Config;
use crate::storage::purge::{Marks, Outcome, Plan, Purger};
use crate::storage::retention::Policy;

/// What a run at `at` (Unix ms) would do, with the disk as it is.
pub fn plan(by: &Actor<'_>, config: &Config, at: i64) -> Result<Plan, ActionError> {
    Ok(purger(by, config).plan(&Policy::of(config), Marks::of(config), at)?)
}

/// Runs retention as of `at` (audited `storage.purge` when it deleted anything) and returns
/// what it did.
pub fn purge_now(by: &Actor<'_>, config: &Config, at: i64) -> Result<Outcome, ActionError> {
    let policy = Policy::of(config);
    let p = purger(by, config);
    let plan = p.plan(&policy, Marks::of(config), at)?;
    Ok(p.run(&plan, &policy, by.name)?)
}

fn purger<'a>(by: &Actor<'a>, config: &'a Config) -> Purger<'a> {
    Purger {
        store: by.store,
        data_dir: &config.data_dir,
        events: by.events,
    }
}
