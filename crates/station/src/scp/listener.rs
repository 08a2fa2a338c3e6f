//! The DICOM upper-layer listener (PS3.8): accepts associations from devices and serves
//! Verification (C-ECHO) and Storage (C-STORE) for every storage SOP class and every transfer
//! syntax the registry knows, storing datasets exactly as received, and the Modality Worklist
//! (C-FIND, served by [`super::worklist`]).
//!
//! One thread per association, bounded by `max_associations`: each C-STORE dataset is streamed
//! PDV by PDV into a staging file and committed through [`Ingest`] before the device hears
//! "success". Nothing here runs on the async runtime.
//!
//! Must never: acknowledge an instance that is not committed, decode or re-encode a dataset, or
//! log patient names at info level.

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dicom_ul::association::server::AccessControl;
use dicom_ul::pdu::{
    AssociationRJ, AssociationRJResult, AssociationRJServiceProviderPresentationReason,
    AssociationRJServiceUserReason, AssociationRJSource, PDataValue, PDataValueType,
    PresentationContextResultReason, UserIdentity,
};
use dicom_ul::{Pdu, ServerAssociation, ServerAssociationOptions};

use crate::config::DicomConfig;
use crate::dicom::dimse::{self, command_field, status, Command};
use crate::ingest::{Ingest, IngestError, Outcome, Staging};
use crate::metrics::Activity;
use crate::store::Source;

#[derive(Debug, thiserror::Error)]
pub enum ListenerError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
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
}

impl Listener {
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
        })
    }

    /// Follows the admin's changes to the allowed callers without a restart.
    pub fn follow(mut self, live: crate::config::Live) -> Listener {
        self.live = Some(live);
        self
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Accepts associations until `shutdown` is set, each on its own thread.
    pub fn run(self, shutdown: Arc<AtomicBool>) {
        let active = Arc::new(AtomicUsize::new(0));
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
            if let Err(e) = stream.set_nonblocking(false) {
                tracing::warn!(%peer, error = %e, "cannot configure connection");
                continue;
            }
            if active.load(Ordering::SeqCst) >= config.max_associations {
                tracing::warn!(%peer, limit = config.max_associations, "association refused: too many at once");
                reject_busy(stream);
                continue;
            }
            active.fetch_add(1, Ordering::SeqCst);
            let config = match &self.live {
                Some(live) => Arc::new(DicomConfig {
                    allowed_callers: live.get().dicom.allowed_callers.clone(),
                    ..(*config).clone()
                }),
                None => config.clone(),
            };
            let (ingest, active, activity) =
                (self.ingest.clone(), active.clone(), self.activity.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("assoc-{peer}"))
                .spawn(move || {
                    serve_association(stream, peer, &config, &ingest, &activity);
                    active.fetch_sub(1, Ordering::SeqCst);
                });
            if let Err(e) = spawned {
                tracing::error!(%peer, error = %e, "cannot start association thread");
            }
        }
    }
}

/// The allow list of calling AE titles; empty accepts anyone (and the caller is logged).
struct AllowList(Vec<String>);

impl AccessControl for AllowList {
    fn check_access(
        &self,
        _this_ae_title: &str,
        calling_ae_title: &str,
        _called_ae_title: &str,
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
        if self.0.is_empty() || self.0.iter().any(|a| a.trim() == calling) {
            Ok(())
        } else {
            Err(AssociationRJServiceUserReason::CallingAETitleNotRecognized)
        }
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

fn serve_association(
    stream: TcpStream,
    peer: SocketAddr,
    config: &DicomConfig,
    ingest: &Ingest,
    activity: &Activity,
) {
    let options = ServerAssociationOptions::new()
        .ae_access_control(AllowList(config.allowed_callers.clone()))
        .ae_title(config.ae_title.clone())
        .promiscuous(true)
        .strict(false)
        .max_pdu_length(config.max_pdu_length)
        // Until the A-ASSOCIATE-RQ arrives this is the ARTIM timer (PS3.8 §9.1.5).
        .read_timeout(Duration::from_secs(config.artim_timeout_secs))
        .write_timeout(Duration::from_secs(config.idle_timeout_secs));
    let mut assoc = match options.establish(stream) {
        Ok(a) => a,
        Err(dicom_ul::association::Error::ConnectionClosed { .. }) => {
            // A port check (monitoring, a technician's telnet) connects and closes at once.
            tracing::debug!(%peer, "connection closed before an association request");
            return;
        }
        Err(e) => {
            tracing::warn!(%peer, error = %e, "association rejected or failed to establish");
            return;
        }
    };
    // Counted once established: a port check that connects and closes is not an association.
    let _open = activity.association();
    let calling_ae = dicom_ul::association::Association::peer_ae_title(&assoc)
        .trim()
        .to_string();
    if let Err(e) = assoc
        .inner_stream()
        .set_read_timeout(Some(Duration::from_secs(config.idle_timeout_secs)))
    {
        tracing::warn!(%peer, error = %e, "cannot set idle timeout");
    }
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
    let mut session = Session {
        source: Source::Dicom {
            calling_ae: calling_ae.clone(),
        },
        ingest,
        activity,
        command: Vec::new(),
        pending: None,
        find: None,
        stored: 0,
        failed: 0,
    };
    let end = session.run(&mut assoc);
    tracing::info!(%peer, calling_ae = %calling_ae, stored = session.stored, failed = session.failed, end, "association ended");
}

/// A C-STORE whose dataset is arriving.
struct PendingStore {
    request: Command,
    context_id: u8,
    /// `Err` when we could not open staging (e.g. disk under the floor): the dataset is still
    /// read off the wire, then refused with the reason.
    staging: Result<Staging, IngestError>,
}

/// A C-FIND whose identifier is arriving.
struct PendingFind {
    request: Command,
    context_id: u8,
    identifier: Vec<u8>,
}

struct Session<'a> {
    source: Source,
    ingest: &'a Ingest,
    activity: &'a Activity,
    command: Vec<u8>,
    pending: Option<PendingStore>,
    find: Option<PendingFind>,
    stored: u64,
    failed: u64,
}

impl Session<'_> {
    /// Serves the association until release, abort or an error; returns how it ended.
    fn run(&mut self, assoc: &mut ServerAssociation<TcpStream>) -> &'static str {
        loop {
            let pdu = match assoc.receive() {
                Ok(pdu) => pdu,
                Err(e) => {
                    tracing::warn!(error = %e, "association lost");
                    return "lost";
                }
            };
            match pdu {
                Pdu::PData { data } => {
                    for pdv in data {
                        if let Err(e) = self.on_pdv(assoc, pdv) {
                            tracing::warn!(error = %e, "aborting association");
                            let _ = assoc.send(&Pdu::AbortRQ {
                                source: dicom_ul::pdu::AbortRQSource::ServiceProvider(
                                    dicom_ul::pdu::AbortRQServiceProviderReason::UnexpectedPdu,
                                ),
                            });
                            return "aborted by us";
                        }
                    }
                }
                Pdu::ReleaseRQ => {
                    let _ = assoc.send(&Pdu::ReleaseRP);
                    return "released";
                }
                Pdu::AbortRQ { .. } => return "aborted by peer",
                other => {
                    tracing::warn!(pdu = ?pdu_kind(&other), "unexpected PDU; aborting");
                    let _ = assoc.send(&Pdu::AbortRQ {
                        source: dicom_ul::pdu::AbortRQSource::ServiceProvider(
                            dicom_ul::pdu::AbortRQServiceProviderReason::UnexpectedPdu,
                        ),
                    });
                    return "aborted by us";
                }
            }
        }
    }

    fn on_pdv(
        &mut self,
        assoc: &mut ServerAssociation<TcpStream>,
        pdv: PDataValue,
    ) -> Result<(), String> {
        match pdv.value_type {
            PDataValueType::Command => {
                if self.pending.is_some() || self.find.is_some() {
                    return Err("a command arrived before the previous dataset ended".into());
                }
                // Command sets may span PDVs (PS3.8 §9.3.5.1): join them, up to a bound.
                self.command.extend_from_slice(&pdv.data);
                if self.command.len() > dimse::MAX_COMMAND_SET {
                    return Err("a command set larger than 64 KiB".into());
                }
                if pdv.is_last {
                    let bytes = std::mem::take(&mut self.command);
                    let cmd = Command::parse(&bytes).map_err(|e| e.to_string())?;
                    self.on_command(assoc, cmd, pdv.presentation_context_id)?;
                }
                Ok(())
            }
            PDataValueType::Data => {
                if let Some(find) = self.find.as_mut() {
                    find.identifier.extend_from_slice(&pdv.data);
                    if find.identifier.len() > super::worklist::MAX_IDENTIFIER {
                        return Err("a worklist query larger than 64 KiB".into());
                    }
                    if pdv.is_last {
                        if let Some(find) = self.find.take() {
                            self.activity.worklist_query();
                            let ts = accepted_syntax(assoc, find.context_id)?;
                            super::worklist::serve_find(
                                assoc,
                                self.ingest.store(),
                                &find.request,
                                find.context_id,
                                &ts,
                                &find.identifier,
                            )?;
                        }
                    }
                    return Ok(());
                }
                let Some(pending) = self.pending.as_mut() else {
                    return Err("dataset without a C-STORE command".into());
                };
                if let Ok(staging) = pending.staging.as_mut() {
                    if let Err(e) = staging.write_all(&pdv.data) {
                        pending.staging = Err(IngestError::Io(e));
                    }
                }
                if pdv.is_last {
                    if let Some(pending) = self.pending.take() {
                        self.finish_store(assoc, pending)?;
                    }
                }
                Ok(())
            }
        }
    }

    fn on_command(
        &mut self,
        assoc: &mut ServerAssociation<TcpStream>,
        cmd: Command,
        context_id: u8,
    ) -> Result<(), String> {
        match cmd.command_field {
            command_field::C_ECHO_RQ => {
                tracing::debug!("C-ECHO");
                respond(
                    assoc,
                    context_id,
                    &cmd,
                    command_field::C_ECHO_RSP,
                    status::SUCCESS,
                    None,
                )
            }
            command_field::C_FIND_RQ if cmd.has_dataset => {
                self.find = Some(PendingFind {
                    request: cmd,
                    context_id,
                    identifier: Vec::new(),
                });
                Ok(())
            }
            // A C-CANCEL after the last response of its C-FIND: nothing left to stop, and
            // C-CANCEL has no response (PS3.7 §9.3.2.3).
            command_field::C_CANCEL_RQ => Ok(()),
            command_field::C_STORE_RQ if cmd.has_dataset => {
                let ts = accepted_syntax(assoc, context_id)?;
                let staging = self.ingest.stage_part10(
                    &cmd.affected_sop_class_uid,
                    &cmd.affected_sop_instance_uid,
                    &ts,
                );
                self.pending = Some(PendingStore {
                    request: cmd,
                    context_id,
                    staging,
                });
                Ok(())
            }
            other => {
                tracing::warn!(
                    command_field = format!("{other:#06x}"),
                    "unsupported DIMSE command"
                );
                respond(
                    assoc,
                    context_id,
                    &cmd,
                    other | 0x8000,
                    status::UNRECOGNIZED_OPERATION,
                    None,
                )
            }
        }
    }

    fn finish_store(
        &mut self,
        assoc: &mut ServerAssociation<TcpStream>,
        pending: PendingStore,
    ) -> Result<(), String> {
        let result = pending
            .staging
            .and_then(|s| s.finish().map_err(IngestError::from))
            .and_then(|staged| self.ingest.commit(staged, &self.source));
        let (code, comment) = match &result {
            Ok(
                Outcome::Stored { .. }
                | Outcome::Duplicate { .. }
                | Outcome::StoredForReview { .. },
            ) => {
                self.stored += 1;
                (status::SUCCESS, None)
            }
            Err(e) => {
                self.failed += 1;
                tracing::warn!(sop = %pending.request.affected_sop_instance_uid, error = %e, "C-STORE refused");
                let code = match e {
                    IngestError::DiskFull { .. } | IngestError::Io(_) => status::OUT_OF_RESOURCES,
                    IngestError::Unreadable(_) => status::CANNOT_UNDERSTAND,
                    IngestError::Store(_) | IngestError::NotTheSame { .. } => {
                        status::PROCESSING_FAILURE
                    }
                };
                (code, Some(e.to_string()))
            }
        };
        respond(
            assoc,
            pending.context_id,
            &pending.request,
            command_field::C_STORE_RSP,
            code,
            comment.as_deref(),
        )
    }
}

/// The transfer syntax of an accepted presentation context.
fn accepted_syntax(assoc: &ServerAssociation<TcpStream>, context_id: u8) -> Result<String, String> {
    assoc
        .presentation_contexts()
        .iter()
        .find(|pc| pc.id == context_id && pc.reason == PresentationContextResultReason::Acceptance)
        .map(|pc| pc.transfer_syntax.trim_end_matches(['\0', ' ']).to_string())
        .ok_or_else(|| {
            format!("a request on presentation context {context_id}, which was not accepted")
        })
}

fn respond(
    assoc: &mut ServerAssociation<TcpStream>,
    context_id: u8,
    request: &Command,
    response_field: u16,
    status: u16,
    comment: Option<&str>,
) -> Result<(), String> {
    let data = crate::dicom::dimse::response(request, response_field, status, comment)
        .map_err(|e| e.to_string())?;
    assoc
        .send(&Pdu::PData {
            data: vec![PDataValue {
                presentation_context_id: context_id,
                value_type: PDataValueType::Command,
                is_last: true,
                data,
            }],
        })
        .map_err(|e| format!("cannot send response: {e}"))
}

fn pdu_kind(pdu: &Pdu) -> &'static str {
    match pdu {
        Pdu::Unknown { .. } => "unknown",
        Pdu::AssociationRQ(_) => "A-ASSOCIATE-RQ",
        Pdu::AssociationAC(_) => "A-ASSOCIATE-AC",
        Pdu::AssociationRJ(_) => "A-ASSOCIATE-RJ",
        Pdu::PData { .. } => "P-DATA-TF",
        Pdu::ReleaseRQ => "A-RELEASE-RQ",
        Pdu::ReleaseRP => "A-RELEASE-RP",
        Pdu::AbortRQ { .. } => "A-ABORT-RQ",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_calling_ae_title_with_control_characters_is_refused_even_when_anyone_may_call() {
        let anyone = AllowList(Vec::new());
        let check = |ae: &str| anyone.check_access("STATION", ae, "STATION", None);
        assert!(check("DR1").is_ok());
        assert!(check("US 2  ").is_ok());
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
