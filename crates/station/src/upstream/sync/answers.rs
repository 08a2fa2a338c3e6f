//! What a STOW-RS answer means for each instance of a request (`sync`'s workers): stored,
//! refused with the hub's reason, refused in its compressed form (sent again as received), or
//! left unexplained (sent again on its own).
//!
//! Must never: record an outcome for a claim a correction superseded, or count an instance the
//! hub did not name as stored.

use super::requests::failure_reason_text;
use super::{wire, Failure, Worker};
use crate::store::queue::{self, Claim};
use crate::upstream::stow::{InstanceOutcome, StowResult};

impl Worker {
    /// A many-instance request the hub refused as a whole goes again one by one; a single
    /// instance is recorded refused. Ok(false): the claim was superseded.
    pub(super) fn record_refusal<'a>(
        &self,
        claim: &Claim,
        group: &'a [queue::PendingInstance],
        status: u16,
        message: &str,
        unexplained: &mut Vec<&'a queue::PendingInstance>,
    ) -> Result<bool, Failure> {
        let [only] = group else {
            unexplained.extend(group);
            return Ok(true);
        };
        let reason = format!("hub refused the instance: HTTP {status}: {message}");
        Ok(queue::record_instance(
            &self.store.lock(),
            claim,
            only.instance_id,
            Err(&reason),
        )?)
    }

    /// Records each instance's outcome from a STOW-RS answer, a stored one with its sizes
    /// (`sizes`, in `group`'s order). Ok(false): the claim was superseded, nothing was recorded.
    pub(super) fn record_answer<'a>(
        &self,
        claim: &Claim,
        group: &'a [queue::PendingInstance],
        result: &StowResult,
        compressed: bool,
        sizes: &[queue::SentBytes],
        unexplained: &mut Vec<&'a queue::PendingInstance>,
    ) -> Result<bool, Failure> {
        let conn = self.store.lock();
        for (p, bytes) in group.iter().zip(sizes) {
            let refused = match result.outcomes.get(&p.sop_instance_uid) {
                Some(InstanceOutcome::Stored | InstanceOutcome::StoredWithWarning(_)) => None,
                Some(InstanceOutcome::Failed(code))
                    if compressed && wire::refuses_compression(*code) =>
                {
                    let reason = format!("failure reason {code:#06x}");
                    wire::remember_refusal(&conn, &self.dest, &reason)?;
                    unexplained.push(p);
                    continue;
                }
                Some(InstanceOutcome::Failed(code)) => Some(format!(
                    "hub refused the instance: failure reason {code:#06x} ({})",
                    failure_reason_text(*code)
                )),
                Some(InstanceOutcome::NotMentioned) | None => {
                    unexplained.push(p);
                    continue;
                }
            };
            let recorded = match refused.as_deref() {
                None => queue::record_stored(&conn, claim, p.instance_id, *bytes)?,
                Some(reason) => queue::record_instance(&conn, claim, p.instance_id, Err(reason))?,
            };
            if !recorded {
                return Ok(false);
            }
        }
        Ok(true)
    }
}
