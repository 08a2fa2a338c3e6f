//! Devices whose Modality Worklist queries were refused because they are not in
//! `dicom.worklist_callers`, and workstations whose Query/Retrieve requests were refused because
//! they are not in `dicom.query_callers`: kept in memory (since the station started) for the
//! Settings page, which offers to allow each with one click. A device set up to query retries
//! every few minutes (a person at a workstation tries again), so it shows up again soon after a
//! restart.
//!
//! Must never: grow without bound (at most [`MAX_CALLERS`], the oldest forgotten), or keep a
//! title that is not a plain AE title (the listener refuses those at association).

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// Distinct callers remembered.
pub const MAX_CALLERS: usize = 32;

/// One refused caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RefusedCaller {
    /// Its calling AE title.
    pub calling_ae: String,
    /// The network address of its last query.
    pub address: String,
    /// Queries refused since the station started.
    pub count: u64,
    /// The last refusal, Unix milliseconds.
    pub last_at: i64,
}

/// Callers refused since the start, per service: what the Settings page lists under each.
#[derive(Debug, Default)]
pub struct Refusals {
    /// Modality Worklist queries (C-FIND of the worklist model) from callers not listed.
    pub worklist: RefusedCallers,
    /// Query/Retrieve requests (C-FIND, C-MOVE, C-GET of stored studies) from callers not listed.
    pub query: RefusedCallers,
}

/// Callers of one service refused since the start, at most [`MAX_CALLERS`].
#[derive(Debug, Default)]
pub struct RefusedCallers(Mutex<Vec<RefusedCaller>>);

impl RefusedCallers {
    /// Notes a refusal of `calling_ae` from `address` (a known caller: its count, time and
    /// address move on; a new one past the bound forgets the oldest).
    pub fn record(&self, calling_ae: &str, address: &str) {
        let mut list = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let now = crate::store::now_ms();
        match list.iter_mut().find(|c| c.calling_ae == calling_ae) {
            Some(c) => {
                c.count += 1;
                c.last_at = now;
                address.clone_into(&mut c.address);
            }
            None => {
                if list.len() >= MAX_CALLERS {
                    if let Some(oldest) = list
                        .iter()
                        .enumerate()
                        .min_by_key(|(_, c)| c.last_at)
                        .map(|(i, _)| i)
                    {
                        list.remove(oldest);
                    }
                }
                list.push(RefusedCaller {
                    calling_ae: calling_ae.to_owned(),
                    address: address.to_owned(),
                    count: 1,
                    last_at: now,
                });
            }
        }
    }

    /// The refused callers not in `allowed` now, the latest refusal first.
    pub fn list(&self, allowed: &[String]) -> Vec<RefusedCaller> {
        let list = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<RefusedCaller> = list
            .iter()
            .filter(|c| !allowed.iter().any(|a| a.trim() == c.calling_ae))
            .cloned()
            .collect();
        out.sort_by_key(|c| std::cmp::Reverse(c.last_at));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callers_are_counted_once_each_bounded_and_hidden_once_allowed() {
        let refused = RefusedCallers::default();
        refused.record("US1", "192.168.1.20");
        refused.record("US1", "192.168.1.21");
        for i in 0..MAX_CALLERS + 5 {
            refused.record(&format!("SCAN{i}"), "192.168.1.99");
        }
        let all = refused.list(&[]);
        assert_eq!(all.len(), MAX_CALLERS);
        refused.record("US1", "192.168.1.21");
        let us1 = refused.list(&[]);
        let us1 = us1.iter().find(|c| c.calling_ae == "US1").expect("US1");
        assert_eq!(us1.address, "192.168.1.21");
        assert!(refused
            .list(&["US1".into()])
            .iter()
            .all(|c| c.calling_ae != "US1"));
    }
}
