//! What a person does to a study: hold, release or retry its sending, mark it urgent, keep its
//! files from retention, assign it to an order, confirm the patient of a study held for
//! "check patient". Each is audited
//! with the change and announced as `study_changed`.
//!
//! Must never: change a study that does not exist, or announce a change that changed nothing.

use serde::{Deserialize, Serialize};

use super::{ActionError, Actor};
use crate::events::Event;
use crate::registry::identity::Difference;
use crate::registry::matching::{self, Target};
use crate::registry::orders::Order;
use crate::store::queue;
pub use crate::store::queue::Action;
use crate::store::{self, audit, Route, StudyState};

/// The study after a hold, release, retry or urgency change.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StudyActionResult {
    /// Study Instance UID (0020,000D) of the study acted on.
    pub study_uid: String,
    /// Destinations whose queue row changed.
    pub changed: usize,
    /// The study's state afterwards, as the study list shows it.
    pub state: StudyState,
    /// Whether its sends are claimed before other studies' now.
    pub urgent: bool,
}

/// Pauses sending the study to every destination (audited `study.hold`).
pub fn hold(by: &Actor<'_>, study_uid: &str) -> Result<StudyActionResult, ActionError> {
    act(by, study_uid, Action::Hold)
}

/// Resumes sending a held study (audited `study.release`).
pub fn release(by: &Actor<'_>, study_uid: &str) -> Result<StudyActionResult, ActionError> {
    act(by, study_uid, Action::Release)
}

/// Sends a failed study again, instances the hub refused included (audited `study.retry`).
pub fn retry(by: &Actor<'_>, study_uid: &str) -> Result<StudyActionResult, ActionError> {
    act(by, study_uid, Action::Retry)
}

fn act(by: &Actor<'_>, study_uid: &str, action: Action) -> Result<StudyActionResult, ActionError> {
    let mut conn = by.store.lock();
    require(&conn, study_uid)?;
    // Immediate: this reads the study's state, then writes; a deferred transaction would get
    // SQLITE_BUSY at once, without waiting, when another process (the CLI beside the running
    // station) writes in between.
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    // A study waiting to be assigned or its patient checked has nothing queued to pause, and
    // releasing the rows held for it would send it unchecked: only assigning or confirming it
    // does (`registry::matching`).
    if store::studies::state_of(&tx, study_uid)? == Some(StudyState::Unassigned) {
        return Err(ActionError::Unplaced {
            action,
            study_uid: study_uid.to_owned(),
        });
    }
    let changed = queue::act(&tx, study_uid, action)?;
    if changed == 0 {
        return Err(ActionError::NothingTo {
            action,
            study_uid: study_uid.to_owned(),
        });
    }
    audit::record(
        &tx,
        by.name,
        &format!("study.{action}"),
        study_uid,
        &format!("{changed} destinations"),
    )?;
    tx.commit()?;
    drop(conn);
    announce(by, study_uid, changed)
}

/// Urgent studies are claimed first by every destination's worker (audited `study.urgent` or
/// `study.not_urgent`).
pub fn mark_urgent(
    by: &Actor<'_>,
    study_uid: &str,
    urgent: bool,
) -> Result<StudyActionResult, ActionError> {
    let mut conn = by.store.lock();
    require(&conn, study_uid)?;
    let tx = conn.transaction()?;
    let changed = store::studies::set_priority(&tx, study_uid, urgent)?;
    let action = if urgent {
        "study.urgent"
    } else {
        "study.not_urgent"
    };
    audit::record(&tx, by.name, action, study_uid, "")?;
    tx.commit()?;
    drop(conn);
    announce(by, study_uid, changed)
}

/// Keeps the study's files on this station whatever retention would do (audited `study.keep`),
/// or lets retention decide again (`study.unkeep`).
pub fn set_keep(
    by: &Actor<'_>,
    study_uid: &str,
    keep: bool,
) -> Result<StudyActionResult, ActionError> {
    let mut conn = by.store.lock();
    require(&conn, study_uid)?;
    let tx = conn.transaction()?;
    let changed = store::retention::set_keep(&tx, study_uid, keep)?;
    if changed > 0 {
        let action = if keep { "study.keep" } else { "study.unkeep" };
        audit::record(&tx, by.name, action, study_uid, "")?;
    }
    tx.commit()?;
    drop(conn);
    announce(by, study_uid, changed)
}

/// What routing the unsent studies did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StudiesRouted {
    /// Studies now queued for at least one destination.
    pub routed: Vec<String>,
    /// Unsent studies no destination of `routes` accepts either (still unsent).
    pub still_unrouted: usize,
}

/// Queues the complete studies received since `since` (Unix ms) that no destination took for
/// every destination of `routes` that accepts them now (a destination added or widened after
/// they arrived). One audit entry (`study.route`) names the studies; each is announced.
pub fn route_unrouted(
    by: &Actor<'_>,
    since: i64,
    routes: &[Route],
) -> Result<StudiesRouted, ActionError> {
    let mut conn = by.store.lock();
    // Immediate: it reads, then writes (see `act`).
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let waiting = store::unrouted(&tx, since)?;
    let mut routed = Vec::new();
    for (id, uid) in &waiting {
        store::queue_study(&tx, *id, routes)?;
        if store::is_routed(&tx, *id)? {
            routed.push(uid.clone());
        }
    }
    if !routed.is_empty() {
        audit::record(
            &tx,
            by.name,
            "study.route",
            &format!("{} studies", routed.len()),
            &routed.join(" "),
        )?;
    }
    tx.commit()?;
    drop(conn);
    // A worker looks at its queue when rung.
    by.store.doorbell.ring();
    for uid in &routed {
        if let Ok(Some(state)) = store::studies::state_of(&by.store.lock(), uid) {
            by.announce(Event::StudyChanged {
                study_uid: uid.clone(),
                state,
            });
        }
    }
    Ok(StudiesRouted {
        still_unrouted: waiting.len() - routed.len(),
        routed,
    })
}

/// The answer to assigning a study to an order.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StudyAssigned {
    /// Study Instance UID (0020,000D) of the study assigned.
    pub study_uid: String,
    /// The order the study now belongs to.
    pub order: Order,
    /// The study's state afterwards (an unassigned study is queued for sending).
    pub state: StudyState,
    /// How the device's patient differs from the order's (confirmed by the caller).
    pub differences: Vec<Difference>,
}

/// Assigns a study to an order (existing, new for a registered patient, or made from the
/// study's own data) and queues it, to `routes`' destinations when it waited unassigned
/// (audited `study.assign` by `registry::matching::assign`). A patient who differs from the one
/// the device sent is refused unless `confirm_mismatch` (`RegistryError::PatientMismatch`).
pub fn assign(
    by: &Actor<'_>,
    study_uid: &str,
    target: &Target,
    routes: &[Route],
    confirm_mismatch: bool,
) -> Result<StudyAssigned, ActionError> {
    let mut conn = by.store.lock();
    let (order, differences) = matching::assign(
        &mut conn,
        by.name,
        study_uid,
        target,
        routes,
        confirm_mismatch,
    )?;
    let state = announce_state(by, conn, study_uid)?;
    Ok(StudyAssigned {
        study_uid: study_uid.to_owned(),
        order,
        state,
        differences,
    })
}

/// The answer to confirming a study's patient.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PatientConfirmed {
    /// Study Instance UID (0020,000D) of the study confirmed.
    pub study_uid: String,
    /// The differences the technician confirmed.
    pub differences: Vec<Difference>,
    /// The study's state afterwards (queued for sending).
    pub state: StudyState,
}

/// A technician confirms that a study held for "check patient" is its order's patient; it is
/// queued to `routes`' destinations (audited `study.confirm_patient` with the differences by
/// `registry::matching::confirm_patient`).
pub fn confirm_patient(
    by: &Actor<'_>,
    study_uid: &str,
    routes: &[Route],
) -> Result<PatientConfirmed, ActionError> {
    let mut conn = by.store.lock();
    let differences = matching::confirm_patient(&mut conn, by.name, study_uid.trim(), routes)?;
    let state = announce_state(by, conn, study_uid)?;
    Ok(PatientConfirmed {
        study_uid: study_uid.to_owned(),
        differences,
        state,
    })
}

/// After a committed change made by `registry`: the study's state, told to live views once the
/// store is let go.
fn announce_state(
    by: &Actor<'_>,
    conn: std::sync::MutexGuard<'_, rusqlite::Connection>,
    study_uid: &str,
) -> Result<StudyState, ActionError> {
    let state = store::studies::state_of(&conn, study_uid.trim())?
        .ok_or_else(|| ActionError::StudyNotFound(study_uid.to_owned()))?;
    drop(conn);
    by.announce(Event::StudyChanged {
        study_uid: study_uid.to_owned(),
        state,
    });
    Ok(state)
}

fn require(conn: &rusqlite::Connection, study_uid: &str) -> Result<(), ActionError> {
    match store::studies::id_of(conn, study_uid)? {
        Some(_) => Ok(()),
        None => Err(ActionError::StudyNotFound(study_uid.to_owned())),
    }
}

/// After a committed change: tells live views (without holding the store) and answers with
/// the study's new state.
fn announce(
    by: &Actor<'_>,
    study_uid: &str,
    changed: usize,
) -> Result<StudyActionResult, ActionError> {
    let study = store::studies::summary_of(&by.store.lock(), study_uid)?
        .ok_or_else(|| ActionError::StudyNotFound(study_uid.to_owned()))?;
    by.announce(Event::StudyChanged {
        study_uid: study_uid.to_owned(),
        state: study.state,
    });
    Ok(StudyActionResult {
        study_uid: study.study_uid,
        changed,
        state: study.state,
        urgent: study.urgent,
    })
}
