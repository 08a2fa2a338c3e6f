//! User administration: creating users and changing their name, role, password or active
//! flag. The rules (valid names, password length, one active admin left) and the audit entry
//! in the change's transaction are `auth::users`'s.
//!
//! Must never: put a password in the audit trail or an answer.

use super::{ActionError, Actor};
use crate::auth::users::{self, UserChange, UserRecord};
use crate::auth::Role;
use crate::events::Event;

/// Creates a user (audited `user.create`).
pub fn create(
    by: &Actor<'_>,
    username: &str,
    display_name: &str,
    role: Role,
    password: &str,
) -> Result<UserRecord, ActionError> {
    let user = users::add(by.store, by.name, username, display_name, role, password)?;
    announce(by, &user);
    Ok(user)
}

/// Changes a user (audited `user.update`); a new password, a new role or deactivation ends
/// their sessions.
pub fn update(
    by: &Actor<'_>,
    username: &str,
    change: &UserChange,
) -> Result<UserRecord, ActionError> {
    let user = users::change(by.store, by.name, username, change)?;
    announce(by, &user);
    Ok(user)
}

fn announce(by: &Actor<'_>, user: &UserRecord) {
    by.announce(Event::UserChanged {
        username: user.username.clone(),
    });
}
