//! What a person does to a destination besides editing its settings: forget that its hub
//! refused compressed images (`store::wire`), e.g. once the hub was upgraded, so its next
//! request tries the codec again (and a hub that still refuses is remembered again at once).
//!
//! Must never: change the destination's settings (that is `settings_update`), or write an audit
//! entry for a change that did not happen.

use serde::{Deserialize, Serialize};

use super::{ActionError, Actor};
use crate::store::{audit, wire};

/// What forgetting did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RefusalsForgotten {
    /// The destination's name in the configuration.
    pub destination: String,
    /// The syntaxes (`jpeg-ls-lossless`, `jpeg2000-lossless`) no longer remembered; empty: none
    /// was.
    pub forgotten: Vec<String>,
}

/// Forgets `destination`'s remembered refusals (audited `destination.refusal_forget` with the
/// syntaxes, when there were any).
pub fn forget_refusals(
    by: &Actor<'_>,
    destination: &str,
) -> Result<RefusalsForgotten, ActionError> {
    let mut conn = by.store.lock();
    let tx = conn.transaction()?;
    let forgotten = wire::forget_refusals(&tx, destination)?;
    if !forgotten.is_empty() {
        audit::record(
            &tx,
            by.name,
            "destination.refusal_forget",
            destination,
            &forgotten.join(", "),
        )?;
    }
    tx.commit()?;
    if !forgotten.is_empty() {
        tracing::info!(destination, syntaxes = %forgotten.join(", "), by = by.name, "the hub's refusal of compressed images is forgotten; the next request tries the codec again");
    }
    Ok(RefusalsForgotten {
        destination: destination.to_owned(),
        forgotten,
    })
}
