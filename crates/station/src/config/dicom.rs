//! `[dicom]`: the DICOM listener's identity, who may call it for what, where C-MOVE may send,
//! and its limits and timeouts.
//!
//! Must never: open a socket (the listener in `scp` does, with these values).

use serde::{Deserialize, Serialize};

/// The DICOM listener (`[dicom]`): who may call, limits and timeouts.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DicomConfig {
    /// The station's own AE title (1 to 16 characters), which callers must name as called AE.
    pub ae_title: String,
    /// The TCP port the listener takes (default 11112).
    pub port: u16,
    /// The address it listens on (default `0.0.0.0`: every interface, for the devices).
    pub bind: String,
    /// Calling AE titles allowed to associate; empty accepts any (and logs who called).
    pub allowed_callers: Vec<String>,
    /// Calling AE titles whose Modality Worklist queries are answered (patient names, IDs,
    /// birth dates); empty answers nobody. A refused caller is shown on the Settings page with
    /// a one-click allow. When `allowed_callers` is not empty, each must be in it as well.
    #[serde(default)]
    pub worklist_callers: Vec<String>,
    /// Calling AE titles whose Query/Retrieve requests (C-FIND, C-MOVE, C-GET of stored
    /// studies, PS3.4 Annex C) are answered; empty answers nobody. When `allowed_callers` is
    /// not empty, each must be in it as well.
    #[serde(default)]
    pub query_callers: Vec<String>,
    /// Where a C-MOVE may send studies: the only AE titles a move destination may name.
    #[serde(default)]
    pub move_destinations: Vec<MoveDestination>,
    /// Largest P-DATA PDU we advertise and accept; a longer one ends the association unread.
    pub max_pdu_length: u32,
    /// Connections at once, whether they have sent their association request yet or not.
    pub max_associations: usize,
    /// Of `max_associations`, the slots kept for callers that have said who they are and are
    /// allowed: connections still silent hold at most `max_associations - reserved_associations`
    /// slots with the full ARTIM; beyond that they have a few seconds to send their request.
    #[serde(default = "default_reserved_associations")]
    pub reserved_associations: usize,
    /// Connections at once from one network address.
    #[serde(default = "default_max_per_address")]
    pub max_per_address: usize,
    /// How long a connection has, from its TCP connect, to send a whole A-ASSOCIATE-RQ
    /// (PS3.8 §9.1.5, ARTIM): a deadline, not a wait per byte.
    pub artim_timeout_secs: u64,
    /// How long an established association has for each whole PDU, counted from the end of the
    /// previous one, before we abort it: a deadline, not a wait per byte.
    pub idle_timeout_secs: u64,
}

/// A C-MOVE destination (PS3.4 §C.4.2): the AE title a caller names, and where it listens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveDestination {
    /// The AE title a C-MOVE names (1 to 16 characters).
    pub ae_title: String,
    /// The host name or address the station connects to.
    pub host: String,
    /// Its DICOM port.
    pub port: u16,
}

fn default_reserved_associations() -> usize {
    4
}

fn default_max_per_address() -> usize {
    8
}
