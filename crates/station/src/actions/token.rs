//! API tokens: making and revoking them. The rules (names, no admin tokens, lifetime) and the
//! audit entry in the change's transaction are `auth::tokens`'s.
//!
//! Must never: put a token in the audit trail, or return it anywhere but to its maker, once.

use std::time::Duration;

use super::Actor;
use crate::auth::tokens::{self, TokenError, TokenRecord};
use crate::auth::Role;

/// Makes a token (audited `token.create`); returns it in clear, once, with its record.
pub fn create(
    by: &Actor<'_>,
    name: &str,
    role: Role,
    lifetime: Option<Duration>,
) -> Result<(String, TokenRecord), TokenError> {
    tokens::create(by.store, by.name, name, role, lifetime)
}

/// Revokes a live token (audited `token.revoke`): the next call made with it is refused.
pub fn revoke(by: &Actor<'_>, name: &str) -> Result<TokenRecord, TokenError> {
    tokens::revoke(by.store, by.name, name)
}
