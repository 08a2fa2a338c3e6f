//! Ordering and cancelling exams. The checks, and the audit entry in the change's transaction,
//! are `registry::orders`'s; devices see the change at their next worklist query, live views by
//! `OrderChanged`.
//!
//! Must never: change an order by another way than `registry`.

use super::{ActionError, Actor};
use crate::events::Event;
use crate::registry::orders::{self, NewOrder, Order};

/// Orders an exam for a registered patient (audited `order.add`).
pub fn add(by: &Actor<'_>, new: &NewOrder) -> Result<Order, ActionError> {
    let order = orders::add(&mut by.store.lock(), by.name, new)?;
    announce(by, &order);
    Ok(order)
}

/// Cancels a scheduled or in-progress order (audited `order.cancel`).
pub fn cancel(by: &Actor<'_>, accession: &str) -> Result<Order, ActionError> {
    let order = orders::cancel(&by.store.lock(), by.name, accession)?;
    announce(by, &order);
    Ok(order)
}

fn announce(by: &Actor<'_>, order: &Order) {
    by.announce(Event::OrderChanged {
        accession: order.accession.clone(),
        state: order.state,
    });
}
