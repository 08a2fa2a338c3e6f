//! Ordering and cancelling exams. The checks, and the audit entry in the change's transaction,
//! are `registry::orders`'s; devices see the change at their next worklist query.
//!
//! Must never: change an order by another way than `registry`.

use super::{ActionError, Actor};
use crate::registry::orders::{self, NewOrder, Order};

/// Orders an exam for a registered patient (audited `order.add`).
pub fn add(by: &Actor<'_>, new: &NewOrder) -> Result<Order, ActionError> {
    Ok(orders::add(&mut by.store.lock(), by.name, new)?)
}

/// Cancels a scheduled or in-progress order (audited `order.cancel`).
pub fn cancel(by: &Actor<'_>, accession: &str) -> Result<Order, ActionError> {
    Ok(orders::cancel(&by.store.lock(), by.name, accession)?)
}
