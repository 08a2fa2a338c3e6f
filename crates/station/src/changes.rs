//! Change feed: turns what changed in the store into engine events for the live views.
//!
//! The store is the truth and every component (ingest, the lifecycle ticker, the sync workers,
//! a `station sync hold` run from another process) writes its changes there with a timestamp.
//! Rather than plumbing the event bus into each of them, one thread looks at the rows whose
//! timestamps moved and announces them: `instance_received` when a study got new instances,
//! `study_changed` when its state or one destination's send row changed, `link_changed` when a
//! destination went on- or offline. A browser then reloads what it shows.
//!
//! Must never: hold the store's lock for more than one short query, or send an event for a row
//! that did not change since the last one it sent.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rusqlite::Connection;

use crate::events::{Event, Events};
use crate::store::{self, now_ms, open_reader, Store, StoreError, StudyState};

/// How often the store is looked at: the delay a person sees before a list moves.
const INTERVAL: Duration = Duration::from_millis(500);
/// Rows are re-read for this long after their timestamp, so a transaction that commits a
/// little after the time it wrote is still seen.
const OVERLAP_MS: i64 = 5_000;

/// What was last announced for one study.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    state: StudyState,
    last_received_at: i64,
    queue_updated_at: i64,
}

/// The feed's memory between two looks.
#[derive(Debug, Default)]
pub struct Feed {
    studies: HashMap<String, (Seen, i64)>,
    links: HashMap<String, bool>,
    primed: bool,
}

impl Feed {
    /// Reads what changed since the last call and returns the events to send. The first call
    /// only learns the current state (nothing "changed" at start).
    pub fn poll(&mut self, conn: &Connection, now: i64) -> Result<Vec<Event>, StoreError> {
        let since = now - OVERLAP_MS;
        let mut out = Vec::new();
        for mark in store::changes::studies_since(conn, since)? {
            let (uid, source) = (mark.study_uid, mark.source);
            let seen = Seen {
                state: mark.state,
                last_received_at: mark.last_received_at,
                queue_updated_at: mark.queue_updated_at,
            };
            let before = self.studies.get(&uid).map(|(s, _)| s.clone());
            if self.primed && before.as_ref() != Some(&seen) {
                if before.as_ref().map(|b| b.last_received_at) != Some(seen.last_received_at) {
                    out.push(Event::InstanceReceived {
                        study_uid: uid.clone(),
                        source,
                    });
                }
                if before.as_ref().map(|b| (&b.state, b.queue_updated_at))
                    != Some((&seen.state, seen.queue_updated_at))
                {
                    out.push(Event::StudyChanged {
                        study_uid: uid.clone(),
                        state: seen.state,
                    });
                }
            }
            self.studies.insert(uid, (seen, now));
        }
        // Forget studies that left the window: a later change is new by its timestamp anyway.
        self.studies.retain(|_, (_, at)| *at >= since);

        for (destination, online) in store::changes::links(conn)? {
            let before = self.links.insert(destination.clone(), online);
            if self.primed && before != Some(online) {
                out.push(Event::LinkChanged {
                    destination,
                    online,
                });
            }
        }
        self.primed = true;
        Ok(out)
    }
}

/// Runs the feed until `shutdown` is set. It reads through its own read-only connection (the
/// database is in WAL mode, so readers never wait for the writer), falling back to the shared
/// one only if that cannot be opened.
pub fn run(store: Arc<Store>, db_path: PathBuf, events: Events, shutdown: Arc<AtomicBool>) {
    let reader = match open_reader(&db_path) {
        Ok(conn) => Some(conn),
        Err(e) => {
            tracing::warn!(error = %e, "change feed: no reader connection; using the shared one");
            None
        }
    };
    let mut feed = Feed::default();
    while !shutdown.load(Ordering::Relaxed) {
        let polled = match &reader {
            Some(conn) => feed.poll(conn, now_ms()),
            None => feed.poll(&store.lock(), now_ms()),
        };
        match polled {
            Ok(list) => list.into_iter().for_each(|e| events.send(e)),
            Err(e) => tracing::warn!(error = %e, "change feed cannot read the store"),
        }
        std::thread::sleep(INTERVAL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::params;

    fn db() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("s.db")).expect("store");
        (dir, store)
    }

    fn add_study(conn: &Connection, uid: &str, at: i64) {
        conn.execute(
            "INSERT OR IGNORE INTO patients (id, patient_id, name, created_at) VALUES (1, 'P1', '王^小明', ?1)",
            [at],
        )
        .expect("patient");
        conn.execute(
            "INSERT INTO studies (study_uid, patient_ref, first_received_at, last_received_at, state_changed_at)
             VALUES (?1, 1, ?2, ?2, ?2)",
            params![uid, at],
        )
        .expect("study");
    }

    #[test]
    fn announces_new_studies_state_changes_and_links_once_each() {
        let (_dir, store) = db();
        let conn = store.lock();
        let mut feed = Feed::default();
        add_study(&conn, "1.1", 1_000);
        assert_eq!(
            feed.poll(&conn, 1_000).expect("poll"),
            vec![],
            "start only learns"
        );

        add_study(&conn, "1.2", 2_000);
        assert_eq!(
            feed.poll(&conn, 2_000).expect("poll"),
            vec![
                Event::InstanceReceived {
                    study_uid: "1.2".into(),
                    source: String::new()
                },
                Event::StudyChanged {
                    study_uid: "1.2".into(),
                    state: StudyState::Receiving
                }
            ]
        );
        assert_eq!(
            feed.poll(&conn, 2_500).expect("poll"),
            vec![],
            "nothing new"
        );

        conn.execute(
            "UPDATE studies SET state = 'complete', state_changed_at = 3000 WHERE study_uid = '1.1'",
            [],
        )
        .expect("update");
        conn.execute(
            "INSERT INTO links (destination, online) VALUES ('hub', 1)",
            [],
        )
        .expect("link");
        assert_eq!(
            feed.poll(&conn, 3_000).expect("poll"),
            vec![
                Event::StudyChanged {
                    study_uid: "1.1".into(),
                    state: StudyState::Complete
                },
                Event::LinkChanged {
                    destination: "hub".into(),
                    online: true
                }
            ]
        );
        assert_eq!(feed.poll(&conn, 3_200).expect("poll"), vec![]);
    }
}
