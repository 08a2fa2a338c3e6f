//! The states a study, a send and an order can be in, one enum each (and the reasons a file is
//! quarantined, stored the same way). Each is written to SQLite
//! as the words the schema's CHECK constraints list (`migrations.rs`), and to JSON and the
//! OpenAPI document as the same words, so the UI's generated types name them too.
//!
//! Must never: name a state the database's CHECK does not allow (a test compares the lists).

use std::fmt;

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

/// Declares a state enum with its text, SQL, serde and OpenAPI forms.
macro_rules! states {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize, utoipa::ToSchema,
        )]
        // utoipa reads the container's rename_all, not a variant's rename: the words are the
        // variants in snake_case, and a test checks `as_str` says the same.
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            /// Every state, in lifecycle order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The word stored in the database and sent in JSON.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }

            /// The value `as_str` writes as `text`; `None` for any other word.
            pub fn parse(text: &str) -> Option<$name> {
                match text { $($text => Some($name::$variant),)* _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownState;
            fn from_str(text: &str) -> Result<$name, UnknownState> {
                $name::parse(text).ok_or_else(|| UnknownState {
                    kind: stringify!($name),
                    text: text.to_owned(),
                })
            }
        }

        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }

        impl FromSql for $name {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<$name> {
                let text = value.as_str()?;
                text.parse()
                    .map_err(|e: UnknownState| FromSqlError::Other(Box::new(e)))
            }
        }

        // A state compares equal to its word, so `row.state == "held"` reads as it did.
        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                self.as_str() == other
            }
        }
    };
}

/// A word that names no state of its kind (a database written by a newer station, or a typo).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{text:?} is not a {kind}")]
pub struct UnknownState {
    /// Which kind of word was expected (`study state`, `send state`…).
    pub kind: &'static str,
    /// The word found.
    pub text: String,
}

states! {
    /// Where a study is (`studies.state`): `receiving → complete → (unassigned →) ready →
    /// sending → delivered → reported`, or `failed` (a person must look) or `held` (a person
    /// paused it).
    StudyState {
        /// Instances are arriving; complete after the quiet period.
        Receiving = "receiving",
        /// No instance for the quiet period; queued for its destinations.
        Complete = "complete",
        /// Matched to no order and held for a technician to assign.
        Unassigned = "unassigned",
        /// Due to be sent (again): released, retried or corrected.
        Ready = "ready",
        /// Being sent to at least one destination.
        Sending = "sending",
        /// Every destination confirmed every instance.
        Delivered = "delivered",
        /// A report came back.
        Reported = "reported",
        /// A send failed in a way retrying cannot fix; a person must look (and retry).
        Failed = "failed",
        /// A person paused its sending; it waits until released.
        Held = "held",
    }
}

states! {
    /// One study's sending to one destination (`send_queue.state`).
    SendState {
        /// Waiting for a sync worker (at once, or after a backoff following an error).
        Queued = "queued",
        /// A sync worker is sending it now.
        Sending = "sending",
        /// The hub confirmed holding every instance; nothing left to do.
        Delivered = "delivered",
        /// Retrying cannot fix the last error; waits for a person to retry.
        Failed = "failed",
        /// A person paused it; waits until released.
        Held = "held",
    }
}

states! {
    /// One instance of a queued study at one destination (`send_instances.state`).
    InstanceSendState {
        /// Not yet reported stored by the hub (or to be sent again).
        Pending = "pending",
        /// The hub's STOW-RS response named it in its Referenced SOP Sequence (PS3.18 10.5).
        Stored = "stored",
        /// Refused for good by the hub; sent again only when a person retries.
        Failed = "failed",
    }
}

states! {
    /// An order's Scheduled Procedure Step (`orders.state`, PS3.4 Annex K).
    OrderState {
        /// Registered; offered on the worklist and waiting for its study.
        Scheduled = "scheduled",
        /// A study with its accession number is arriving.
        InProgress = "in_progress",
        /// Its study was received and matched; final.
        Completed = "completed",
        /// Called off by a person; no longer offered on the worklist. Final.
        Cancelled = "cancelled",
    }
}

states! {
    /// Why a file was put in quarantine (`quarantine.reason_code`): what the screens tell a
    /// person in a plain sentence, the raw detail beside it. Not a state, but a word stored and
    /// sent the same way.
    QuarantineReason {
        /// Neither DICOM nor an export the folder's device writes.
        NotDicom = "not_dicom",
        /// DICOM, but damaged or cut short.
        Malformed = "malformed",
        /// DICOM without an attribute the station needs (the UIDs, the patient).
        MissingAttribute = "missing_attribute",
        /// A file in a device's folder that is none of the kinds exports come in.
        UnknownExport = "unknown_export",
        /// A kind of file the folder's device is set not to write.
        NotForDevice = "not_for_device",
        /// Larger than any export may be.
        TooLarge = "too_large",
        /// An exported image (JPEG, PNG, BMP) that cannot be decoded.
        UnreadableImage = "unreadable_image",
        /// An exported ECG file that cannot be read.
        UnreadableEcg = "unreadable_ecg",
        /// An exported PDF that cannot be read.
        UnreadablePdf = "unreadable_pdf",
        /// Read, but the DICOM made of it could not be written: a fault of ours.
        ConversionFailed = "conversion_failed",
        /// A file under `instances/` the index does not know (left by a crash), moved aside by
        /// the integrity check (`station verify`).
        Orphan = "orphan",
    }
}

states! {
    /// What a storage upkeep run did (`storage_runs.kind`): the dashboard shows the last of each.
    StorageRunKind {
        /// A copy of the index and the settings (`station backup`, nightly).
        Backup = "backup",
        /// The integrity check of index and files (`station verify`, weekly).
        Verify = "verify",
    }
}

states! {
    /// What a hub's last error means for a person (issue 17): the word the screens turn into a
    /// plain sentence saying what to do, the raw error beside it. Derived from the error text
    /// each time it is read ([`HubProblem::of`]), never stored, so rows written before it
    /// existed read the same.
    HubProblem {
        /// The hub's server name does not resolve (DNS).
        NameNotFound = "name_not_found",
        /// Nobody answers at the address and port: hub down, wrong port, a firewall.
        Refused = "refused",
        /// The hub did not answer in time.
        Timeout = "timeout",
        /// The hub's certificate is not trusted (its CA file is not set, or wrong).
        TlsUntrusted = "tls_untrusted",
        /// The hub refused the station's client certificate (or wants one).
        TlsClientRefused = "tls_client_refused",
        /// HTTP 401: the user name, password or token is wrong.
        Unauthorized = "unauthorized",
        /// HTTP 403: the account may not store images.
        Forbidden = "forbidden",
        /// HTTP 404: the address's path is not the hub's DICOMweb root.
        NotFound = "not_found",
        /// HTTP 413: the hub takes no request this large.
        TooLarge = "too_large",
        /// HTTP 429 or 503: the hub is busy; the station waits and tries again.
        Busy = "busy",
        /// Another HTTP 5xx: a fault at the hub.
        HubFailed = "hub_failed",
        /// The hub refused some instances, each with its own reason.
        InstancesRefused = "instances_refused",
        /// The hub took the images but does not list them all.
        NotConfirmed = "not_confirmed",
        /// The hub keeps an earlier copy under the patient as first sent.
        KeptOldPatient = "kept_old_patient",
        /// Anything else: the raw words say it.
        Other = "other",
    }
}

impl HubProblem {
    /// The problem an error recorded by the sync worker names. The texts are
    /// `upstream::error`'s and the sync worker's own (its tests check that each kind of failure
    /// reads back as its word here); a hub's words inside them are never looked at first.
    pub fn of(error: &str) -> HubProblem {
        let e = error.to_ascii_lowercase();
        let rest = e
            .strip_prefix("hub unavailable: ")
            .or_else(|| e.strip_prefix("hub refused the request: "))
            .unwrap_or(&e);
        let status = rest
            .strip_prefix("http ")
            .and_then(|r| r.get(..3))
            .and_then(|code| code.parse::<u16>().ok());
        match status {
            Some(401) => return HubProblem::Unauthorized,
            Some(403) => return HubProblem::Forbidden,
            Some(404) => return HubProblem::NotFound,
            Some(413) => return HubProblem::TooLarge,
            Some(429 | 503) => return HubProblem::Busy,
            Some(500..=599) => return HubProblem::HubFailed,
            _ => {}
        }
        if rest.starts_with("tls: the hub refused our client certificate") {
            HubProblem::TlsClientRefused
        } else if rest.starts_with("tls: the hub's certificate is not trusted") {
            HubProblem::TlsUntrusted
        } else if rest.starts_with("timed out") {
            HubProblem::Timeout
        } else if rest.starts_with("cannot connect") {
            if rest.contains("dns error") || rest.contains("failed to lookup address") {
                HubProblem::NameNotFound
            } else {
                HubProblem::Refused
            }
        } else if rest.contains("instance(s) refused by the hub") {
            HubProblem::InstancesRefused
        } else if rest.contains("without confirming")
            || rest.contains("does not list every instance")
        {
            HubProblem::NotConfirmed
        } else if rest.starts_with("the hub kept its earlier copy") {
            HubProblem::KeptOldPatient
        } else {
            HubProblem::Other
        }
    }
}

impl OrderState {
    /// Whether the order can still get a study (not completed nor cancelled).
    pub fn is_open(self) -> bool {
        matches!(self, OrderState::Scheduled | OrderState::InProgress)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::migrations::MIGRATIONS;

    /// The words of a CHECK (column IN (...)) in the migrations, for `table.column`.
    fn check_list(table: &str, column: &str) -> Vec<String> {
        let sql = MIGRATIONS.join("\n");
        let start = sql
            .find(&format!("CREATE TABLE {table} ("))
            .unwrap_or_else(|| panic!("no table {table}"));
        let body = &sql[start..];
        let at = body
            .find(&format!("\n        {column} "))
            .unwrap_or_else(|| panic!("no column {table}.{column}"));
        let from = body[at..].find("IN").expect("a CHECK list") + at;
        let open = body[from..].find('(').expect("(") + from;
        let close = body[open..].find(')').expect(")") + open;
        body[open + 1..close]
            .split(',')
            .map(|w| w.trim().trim_matches('\'').to_string())
            .collect()
    }

    fn words<T: Copy + fmt::Display>(all: &[T]) -> Vec<String> {
        all.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn each_enum_names_exactly_the_states_its_check_allows() {
        assert_eq!(words(StudyState::ALL), check_list("studies", "state"));
        assert_eq!(words(SendState::ALL), check_list("send_queue", "state"));
        assert_eq!(
            words(InstanceSendState::ALL),
            check_list("send_instances", "state")
        );
        assert_eq!(words(OrderState::ALL), check_list("orders", "state"));
    }

    #[test]
    fn json_sql_and_text_forms_agree() {
        fn agree<T>(all: &[T])
        where
            T: Copy + fmt::Display + fmt::Debug + PartialEq + serde::Serialize,
            T: serde::de::DeserializeOwned + std::str::FromStr,
            <T as std::str::FromStr>::Err: fmt::Debug,
        {
            for s in all {
                let json = serde_json::to_string(s).expect("json");
                assert_eq!(json, format!("\"{s}\""));
                assert_eq!(serde_json::from_str::<T>(&json).expect("back"), *s);
                assert_eq!(s.to_string().parse::<T>().expect("parse"), *s);
            }
        }
        agree(StudyState::ALL);
        agree(SendState::ALL);
        agree(InstanceSendState::ALL);
        agree(OrderState::ALL);
        agree(QuarantineReason::ALL);
        agree(HubProblem::ALL);
        agree(StorageRunKind::ALL);
        let conn = rusqlite::Connection::open_in_memory().expect("db");
        let back: StudyState = conn
            .query_row("SELECT ?1", [StudyState::Unassigned], |r| r.get(0))
            .expect("round trip");
        assert_eq!(back, StudyState::Unassigned);
        let bad: rusqlite::Result<StudyState> = conn.query_row("SELECT 'purged'", [], |r| r.get(0));
        assert!(bad.is_err(), "an unknown word is an error, not a guess");
        assert!(StudyState::Held == "held" && SendState::Queued != "held");
    }

    #[test]
    fn the_openapi_schema_lists_the_same_words() {
        use utoipa::PartialSchema;
        let schema = serde_json::to_value(OrderState::schema()).expect("schema");
        assert_eq!(
            schema["enum"],
            serde_json::json!(["scheduled", "in_progress", "completed", "cancelled"])
        );
    }
}
