//! Engine events: what just changed, for the live views (server-sent events to browsers, Tauri
//! events to the desktop window, OS notifications).
//!
//! A broadcast bus: every subscriber gets every event sent after it subscribed. A subscriber that
//! falls behind loses the oldest events and is told so (`RecvError::Lagged`); it should then
//! reload what it shows. Events are hints to refresh, never the record: the store is the truth.
//!
//! Must never: block the sender. Sending with no subscribers is fine and does nothing.

use serde::Serialize;
use tokio::sync::broadcast;

use crate::store::{OrderState, StudyState};

/// Enough events for a burst of arrivals while a slow browser tab catches up.
const CAPACITY: usize = 1024;

/// One change worth refreshing a view for; serialized with a `type` tag in snake_case (the
/// shape the browser's event stream and the desktop window receive).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// An instance was committed to the store.
    InstanceReceived {
        /// The study the instance belongs to.
        study_uid: String,
        /// How the study's latest instance arrived: `dicom`, `folder`, `import`, `recovery` or
        /// `report` (empty if unknown).
        source: String,
    },
    /// A study moved to another state (complete, sending, delivered, reported, ...).
    StudyChanged {
        /// The study that changed.
        study_uid: String,
        /// Its state now.
        state: StudyState,
    },
    /// A destination's link went online or offline.
    LinkChanged {
        /// The destination's configured name.
        destination: String,
        /// Whether its last contact succeeded.
        online: bool,
    },
    /// A report (or a newer version of one) arrived for a study.
    ReportArrived {
        /// The study the report is for.
        study_uid: String,
        /// The stored report's id (as in `/api/report/{id}/pdf`).
        report_id: i64,
        /// A final report, not a preliminary one.
        is_final: bool,
    },
    /// A study passed its turnaround target without a report.
    StudyOverdue {
        /// The overdue study.
        study_uid: String,
    },
    /// A user acknowledged a report (their other windows update the unread count).
    ReportAcknowledged {
        /// The acknowledged report's id.
        report_id: i64,
        /// Who acknowledged it (username).
        user: String,
    },
    /// A patient was registered, or their data corrected (studies sent for them again follow
    /// as `StudyChanged`).
    PatientChanged {
        /// The patient's clinic ID.
        clinic_id: String,
    },
    /// An order was added or cancelled: other technicians' lists and the devices' worklist
    /// (at their next query) change with it.
    OrderChanged {
        /// The order's accession number.
        accession: String,
        /// Its state now.
        state: OrderState,
    },
    /// A user was created or changed (name, role, password, active).
    UserChanged {
        /// The user's login name.
        username: String,
    },
}

/// Cheap to clone; every clone sends on the same bus.
#[derive(Debug, Clone)]
pub struct Events {
    tx: broadcast::Sender<Event>,
}

impl Default for Events {
    fn default() -> Self {
        Events::new()
    }
}

impl Events {
    /// A bus with no subscribers yet; keeps the last 1024 events for a lagging subscriber.
    pub fn new() -> Events {
        let (tx, _) = broadcast::channel(CAPACITY);
        Events { tx }
    }

    /// Sends to every current subscriber; never blocks, and does nothing when nobody listens.
    pub fn send(&self, event: Event) {
        // An error only means nobody is listening right now.
        let _ = self.tx.send(event);
    }

    /// Receives every event sent from now on (`RecvError::Lagged` if it falls 1024 behind).
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscribers_get_events_sent_after_they_subscribe() {
        let events = Events::new();
        events.send(Event::StudyOverdue {
            study_uid: "before".into(),
        });
        let mut rx = events.subscribe();
        events.clone().send(Event::LinkChanged {
            destination: "hub".into(),
            online: true,
        });
        let got = rx.try_recv().expect("event");
        assert_eq!(
            got,
            Event::LinkChanged {
                destination: "hub".into(),
                online: true
            }
        );
        assert!(rx.try_recv().is_err(), "nothing sent before subscribing");
        let json = serde_json::to_string(&got).expect("json");
        assert_eq!(
            json,
            r#"{"type":"link_changed","destination":"hub","online":true}"#
        );
    }
}
