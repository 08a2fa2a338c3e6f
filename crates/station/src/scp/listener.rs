//! The DICOM upper-layer listener (PS3.8): accepts associations from devices and serves
//! Verification (C-ECHO) and Storage (C-STORE) for every storage SOP class and every transfer
//! syntax the registry knows, storing datasets exactly as received, the Modality Worklist
//! (C-FIND, served by [`super::worklist`]) and Query/Retrieve (C-FIND, C-MOVE, C-GET, served by
//! [`super::query`] and [`super::retrieve`]; a C-GET caller's SCP role granted as proposed).
//!
//! One thread per connection, admitted by [`super::admission`] (slots, per-address cap, the
//! reserve for allowed callers, ARTIM as a deadline); once associated, the messages are
//! [`super::session`]'s, read through [`super::wire`] (each PDU whole within the idle deadline,
//! never longer than we advertised). A panic in one association ends that thread only; its slot
//! is freed by the ticket it holds. Nothing here runs on the async runtime.
//!
//! Must never: associate a caller the allow list or the called AE title refuses, hold a slot
//! after its connection ended, or log a title it has not checked except escaped.

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dicom_ul::association::server::AccessControl;
use dicom_ul::pdu::{
    AssociationRJ, AssociationRJResult, AssociationRJServiceProviderPresentationReason,
    AssociationRJServiceUserReason, AssociationRJSource, PresentationContextResultReason,
    UserIdentity,
};
use dicom_ul::{Pdu, ServerAssociationOptions};

use super::admission::{self, Admission, Early, Limits, Ticket};
use super::refused::Refusals;
use super::session::{Access, Session};
use super::wire::Reader;
use crate::config::DicomConfig;
use crate::ingest::Ingest;
use crate::metrics::Activity;

/// Why the DICOM listener could not start.
#[derive(Debug, thiserror::Error)]
pub enum ListenerError {
    /// The port is taken or not allowed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: String,
        /// What the operating system said.
        source: std::io::Error,
    },
}

/// A bound listener; [`Listener::run`] serves it until `shutdown` is set.
pub struct Listener {
    socket: TcpListener,
    config: DicomConfig,
    ingest: Arc<Ingest>,
    /// Open associations and worklist queries, for the metrics.
    activity: Arc<Activity>,
    /// When set, each association takes the allowed callers in force when it arrives.
    live: Option<crate::config::Live>,
    /// Callers whose worklist or Query/Retrieve requests were refused, for the Settings page.
    refused: Arc<Refusals>,
}

impl Listener {
    /// Binds the listener's socket; nothing is accepted until it runs.
    pub fn bind(
        config: &DicomConfig,
        ingest: Arc<Ingest>,
        activity: Arc<Activity>,
    ) -> Result<Listener, ListenerError> {
        let addr = format!("{}:{}", config.bind, config.port);
        let socket =
            TcpListener::bind(&addr).map_err(|source| ListenerError::Bind { addr, source })?;
        Ok(Listener {
            socket,
            config: config.clone(),
            ingest,
            activity,
            live: None,
            refused: Arc::new(Refusals::default()),
        })
    }

    /// Records refused worklist and Query/Retrieve callers where the Settings page reads them.
    pub fn record_refusals(mut self, refused: Arc<Refusals>) -> Listener {
        self.refused = refused;
        self
    }

    /// Follows the admin's changes to the allowed callers without a restart.
    pub fn follow(mut self, live: crate::config::Live) -> Listener {
        self.live = Some(live);
        self
    }

    /// The address bound (the port chosen when `[dicom] port` is 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Accepts associations until `shutdown` is set, each on its own thread.
    pub fn run(self, shutdown: Arc<AtomicBool>) {
        let admission = Admission::new(Limits::of(&self.config));
        // A flood of connections must not flood the log: one line, then one every 10 s.
        let mut refusals = RefusalLog::default();
        let config = Arc::new(self.config);
        if let Err(e) = self.socket.set_nonblocking(true) {
            tracing::error!(error = %e, "cannot poll the DICOM socket");
            return;
        }
        while !shutdown.load(Ordering::Relaxed) {
            let (stream, peer) = match self.socket.accept() {
                Ok(conn) => conn,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                }
            };
            let connected = Instant::now();
            if let Err(e) = stream.set_nonblocking(false) {
                tracing::warn!(%peer, error = %e, "cannot configure connection");
                continue;
            }
            let ticket = match admission.admit(peer.ip()) {
                Ok(t) => t,
                Err(why) => {
                    if let Some(more) = refusals.due() {
                        let (total, silent) = admission.in_use();
                        tracing::warn!(%peer, ?why, total, silent, limit = config.max_associations, per_address = config.max_per_address, refused_before_unlogged = more, "connection refused: too many at once");
                    }
                    reject_busy(stream);
                    continue;
                }
            };
            let config = match &self.live {
                Some(live) => {
                    let now = live.get();
                    Arc::new(DicomConfig {
                        allowed_callers: now.dicom.allowed_callers.clone(),
                        worklist_callers: now.dicom.worklist_callers.clone(),
                        query_callers: now.dicom.query_callers.clone(),
                        move_destinations: now.dicom.move_destinations.clone(),
                        ..(*config).clone()
                    })
                }
                None => config.clone(),
            };
            let (ingest, activity, refused) = (
                self.ingest.clone(),
                self.activity.clone(),
                self.refused.clone(),
            );
            let spawned = std::thread::Builder::new()
                .name(format!("assoc-{peer}"))
                .spawn(move || {
                    // The ticket lives in this thread: its slot is freed however the thread
                    // ends, a panic included (then only this association is lost).
                    let mut ticket = ticket;
                    let served = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        let conn = Connection {
                            peer,
                            connected,
                            config: &config,
                            ingest: &ingest,
                            activity: &activity,
                            refused: &refused,
                        };
                        conn.serve(stream, &mut ticket);
                    }));
                    if served.is_err() {
                        tracing::error!(%peer, "association ended by an internal error; its slot is free again");
                    }
                });
            // On failure the closure, and the ticket in it, are dropped: the slot is free.
            if let Err(e) = spawned {
                tracing::error!(%peer, error = %e, "cannot start association thread");
            }
        }
    }
}

/// When to log a refused connection: the first, then at most one every 10 s with how many
/// went unlogged in between.
#[derive(Default)]
struct RefusalLog {
    last: Option<Instant>,
    unlogged: u64,
}

impl RefusalLog {
    fn due(&mut self) -> Option<u64> {
        let now = Instant::now();
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < Duration::from_secs(10))
        {
            self.unlogged += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.unlogged))
    }
}

/// The allow list of calling AE titles; empty accepts anyone (and the caller is logged).
struct AllowList(Vec<String>);

impl AccessControl for AllowList {
    fn check_access(
        &self,
        this_ae_title: &str,
        calling_ae_title: &str,
        called_ae_title: &str,
        _user_identity: Option<&UserIdentity>,
    ) -> Result<(), AssociationRJServiceUserReason> {
        let calling = calling_ae_title.trim();
        // An AE title is printable ASCII without `\` (PS3.5 Table 6.2-1); one with a line
        // break would otherwise forge lines in the log and rows on the dashboard.
        if !calling
            .bytes()
            .all(|b| (0x20..0x7F).contains(&b) && b != b'\\')
        {
            return Err(AssociationRJServiceUserReason::CallingAETitleNotRecognized);
        }
        // A device set up for another node (or a scan for any SCP) is told so (PS3.8 §9.3.4).
        if called_ae_title.trim() != this_ae_title.trim() {
            return Err(AssociationRJServiceUserReason::CalledAETitleNotRecognized);
        }
        if self.0.is_empty() || self.0.iter().any(|a| a.trim() == calling) {
            Ok(())
        } else {
            Err(AssociationRJServiceUserReason::CallingAETitleNotRecognized)
        }
    }
}

/// SCP/SCU role selection granted as the caller proposes it (PS3.7 §D.3.3.4): a C-GET caller
/// asks to be the Storage SCP of what it retrieves. Who may retrieve is checked per request.
struct AsProposed;

impl dicom_ul::association::server::Negotiation for AsProposed {
    fn negotiate_roles(
        &self,
        _sop_class_uid: &str,
        scu_role: bool,
        scp_role: bool,
    ) -> Option<dicom_ul::pdu::RequestorRoles> {
        Some(dicom_ul::pdu::RequestorRoles {
            scu: scu_role,
            scp: scp_role,
        })
    }
}

/// A-ASSOCIATE-RJ, transient, "local limit exceeded" (PS3.8 §9.3.4): the device should retry.
fn reject_busy(mut stream: TcpStream) {
    let pdu = Pdu::AssociationRJ(AssociationRJ {
        result: AssociationRJResult::Transient,
        source: AssociationRJSource::ServiceProviderPresentation(
            AssociationRJServiceProviderPresentationReason::LocalLimitExceeded,
        ),
    });
    let mut buf = Vec::new();
    if dicom_ul::write_pdu(&mut buf, &pdu).is_ok() {
        let _ = stream.write_all(&buf);
    }
}

/// One accepted TCP connection, from its connect to its end.
struct Connection<'a> {
    peer: SocketAddr,
    connected: Instant,
    config: &'a DicomConfig,
    ingest: &'a Ingest,
    activity: &'a Activity,
    refused: &'a Refusals,
}

impl Connection<'_> {
    fn serve(&self, stream: TcpStream, ticket: &mut Ticket) {
        let (peer, config) = (self.peer, self.config);
        let artim = ticket.artim(Duration::from_secs(config.artim_timeout_secs));
        let request = match admission::await_request(&stream, self.connected + artim) {
            Ok(r) => r,
            Err(Early::Closed) => {
                // A port check (monitoring, a technician's telnet) connects and closes at once.
                tracing::debug!(%peer, "connection closed before an association request");
                return;
            }
            Err(e @ (Early::NotARequest(_) | Early::TooLarge(_) | Early::Malformed(_))) => {
                tracing::warn!(%peer, error = %e, "connection aborted before association");
                abort_raw(stream);
                return;
            }
            Err(e) => {
                // ARTIM expiry closes the transport connection (PS3.8 §9.2, AA-2).
                tracing::warn!(%peer, in_reserve = ticket.in_reserve, error = %e, "connection closed");
                return;
            }
        };
        let left = (self.connected + artim)
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(100));
        let options = ServerAssociationOptions::new()
            .ae_access_control(AllowList(config.allowed_callers.clone()))
            .ae_title(config.ae_title.clone())
            .promiscuous(true)
            // A C-GET's caller takes the Storage SCP role for what it retrieves (PS3.7 D.3.3.4).
            .with_negotiation(AsProposed)
            // The length checks are ours (admission::MAX_REQUEST, then wire::Reader): strict
            // mode would hold the request to max_pdu_length, which bounds P-DATA only.
            .strict(false)
            .max_pdu_length(config.max_pdu_length)
            // The whole request is on the socket already (await_request): nothing to wait for.
            .read_timeout(left)
            .write_timeout(Duration::from_secs(config.idle_timeout_secs));
        let mut assoc = match options.establish(stream) {
            Ok(a) => a,
            Err(e) => {
                // Titles as Debug: escaped, so a title cannot forge a log line.
                tracing::warn!(%peer, calling_ae = ?request.calling_ae, called_ae = ?request.called_ae, error = %e, "association rejected or failed to establish");
                return;
            }
        };
        ticket.named();
        // Counted once established: a port check that connects and closes is not an association.
        let _open = self.activity.association();
        let calling_ae = dicom_ul::association::Association::peer_ae_title(&assoc)
            .trim()
            .to_string();
        let accepted = assoc
            .presentation_contexts()
            .iter()
            .filter(|pc| pc.reason == PresentationContextResultReason::Acceptance)
            .count();
        tracing::info!(
            %peer,
            calling_ae = %calling_ae,
            called_ae = %assoc.called_ae_title().trim(),
            presentation_contexts = accepted,
            open_to_any_caller = config.allowed_callers.is_empty(),
            "association accepted"
        );
        let reader = Reader {
            idle: Duration::from_secs(config.idle_timeout_secs),
            max_pdu: assoc.acceptor_max_pdu_length(),
        };
        let access = Access {
            worklist: config
                .worklist_callers
                .iter()
                .any(|w| w.trim() == calling_ae),
            query: config.query_callers.iter().any(|q| q.trim() == calling_ae),
            ae_title: config.ae_title.clone(),
            destinations: config.move_destinations.clone(),
            max_pdu_length: config.max_pdu_length,
        };
        let mut session = Session::new(
            &calling_ae,
            peer,
            self.ingest,
            self.activity,
            reader,
            &access,
            self.refused,
        );
        let end = session.run(&mut assoc);
        tracing::info!(%peer, calling_ae = %calling_ae, stored = session.stored, failed = session.failed, end, "association ended");
    }
}

/// A-ABORT before any association: the bytes were not a request we read (PS3.8 §9.2, AA-1).
fn abort_raw(mut stream: TcpStream) {
    let pdu = Pdu::AbortRQ {
        source: dicom_ul::pdu::AbortRQSource::ServiceProvider(
            dicom_ul::pdu::AbortRQServiceProviderReason::InvalidPduParameter,
        ),
    };
    let mut buf = Vec::new();
    if dicom_ul::write_pdu(&mut buf, &pdu).is_ok() {
        let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
        let _ = stream.write_all(&buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_connections_are_logged_once_then_at_most_every_ten_seconds() {
        let mut log = RefusalLog::default();
        assert_eq!(log.due(), Some(0));
        assert_eq!((log.due(), log.due()), (None, None));
        log.last = log
            .last
            .and_then(|t| t.checked_sub(Duration::from_secs(11)));
        assert_eq!(log.due(), Some(2), "the next line counts the unlogged ones");
    }

    #[test]
    fn a_calling_ae_title_with_control_characters_is_refused_even_when_anyone_may_call() {
        let anyone = AllowList(Vec::new());
        let check = |ae: &str| anyone.check_access("STATION", ae, "STATION", None);
        assert!(check("DR1").is_ok());
        assert!(check("US 2  ").is_ok());
        assert_eq!(
            anyone.check_access("STATION", "DR1", "ANY-SCP", None),
            Err(AssociationRJServiceUserReason::CalledAETitleNotRecognized),
            "a device calling another node is refused with the PS3.8 reason"
        );
        for forged in ["DR1\nINFO forged", "DR\r1", "A\\B", "DR\u{7f}", "王"] {
            assert_eq!(
                check(forged),
                Err(AssociationRJServiceUserReason::CallingAETitleNotRecognized),
                "{forged:?}"
            );
        }
    }

    /// Every transfer syntax a clinic device may send must be accepted as sent (the registry
    /// decides what dicom-ul accepts when we list none).
    #[test]
    fn common_transfer_syntaxes_are_accepted() {
        let rejected = [
            "1.2.840.10008.1.2",      // Implicit VR Little Endian
            "1.2.840.10008.1.2.1",    // Explicit VR Little Endian
            "1.2.840.10008.1.2.2",    // Explicit VR Big Endian (retired)
            "1.2.840.10008.1.2.1.99", // Deflated Explicit VR Little Endian
            "1.2.840.10008.1.2.4.50", // JPEG Baseline
            "1.2.840.10008.1.2.4.51", // JPEG Extended
            "1.2.840.10008.1.2.4.57", // JPEG Lossless
            "1.2.840.10008.1.2.4.70", // JPEG Lossless SV1
            "1.2.840.10008.1.2.4.80", // JPEG-LS Lossless
            "1.2.840.10008.1.2.4.81", // JPEG-LS Near-lossless
            "1.2.840.10008.1.2.4.90", // JPEG 2000 Lossless
            "1.2.840.10008.1.2.4.91", // JPEG 2000
            "1.2.840.10008.1.2.5",    // RLE Lossless
        ]
        .into_iter()
        .filter(|ts| !dicom_ul::association::server::is_supported(ts))
        .collect::<Vec<_>>();
        assert!(rejected.is_empty(), "these would be rejected: {rejected:?}");
    }
}
