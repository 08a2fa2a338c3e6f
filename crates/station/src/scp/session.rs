//! One established association's DIMSE messages: C-ECHO, C-STORE streamed to staging and
//! committed through [`Ingest`] before the device hears "success", C-FIND for the worklist
//! (answered only to `worklist_callers`, a refused caller recorded for the Settings page), and
//! Query/Retrieve's C-FIND, C-MOVE and C-GET (answered only to `query_callers`, by
//! [`super::query`] and [`super::retrieve`]). Its PDUs come through [`Reader`]: whole, within
//! the idle deadline, never longer than advertised.
//!
//! Must never: acknowledge an instance that is not committed, decode or re-encode a received
//! dataset, answer a worklist query or a query/retrieve from a caller not listed, or log
//! patient names at info level.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};

use dicom_ul::pdu::{
    AbortRQServiceProviderReason, PDataValue, PDataValueType, PresentationContextResultReason,
};
use dicom_ul::{Pdu, ServerAssociation};

use super::refused::Refusals;
use super::retrieve::Retrieve;
use super::wire::{Reader, WireError};
use crate::dicom::dimse::{self, command_field, status, Command};
use crate::ingest::{Ingest, IngestError, Outcome, Staging};
use crate::metrics::Activity;
use crate::store::Source;

/// What an association's caller may query (`dicom.worklist_callers`, `dicom.query_callers`),
/// and what a retrieve needs of the configuration.
pub(super) struct Access {
    /// The caller is in `worklist_callers`.
    pub worklist: bool,
    /// The caller is in `query_callers`.
    pub query: bool,
    pub ae_title: String,
    pub destinations: Vec<crate::config::MoveDestination>,
    pub max_pdu_length: u32,
}

/// A C-STORE whose dataset is arriving.
struct PendingStore {
    request: Command,
    context_id: u8,
    /// `Err` when we could not open staging (e.g. disk under the floor): the dataset is still
    /// read off the wire, then refused with the reason.
    staging: Result<Staging, IngestError>,
}

/// A C-FIND, C-MOVE or C-GET whose identifier is arriving.
struct PendingFind {
    request: Command,
    context_id: u8,
    identifier: Vec<u8>,
}

pub(super) struct Session<'a> {
    source: Source,
    peer: SocketAddr,
    ingest: &'a Ingest,
    activity: &'a Activity,
    reader: Reader,
    access: &'a Access,
    refused: &'a Refusals,
    calling_ae: String,
    command: Vec<u8>,
    pending: Option<PendingStore>,
    find: Option<PendingFind>,
    pub(super) stored: u64,
    pub(super) failed: u64,
}

impl<'a> Session<'a> {
    /// A session of `calling_ae`'s association from `peer`, before its first PDU.
    pub(super) fn new(
        calling_ae: &str,
        peer: SocketAddr,
        ingest: &'a Ingest,
        activity: &'a Activity,
        reader: Reader,
        access: &'a Access,
        refused: &'a Refusals,
    ) -> Session<'a> {
        Session {
            source: Source::Dicom {
                calling_ae: calling_ae.to_owned(),
            },
            peer,
            ingest,
            activity,
            reader,
            access,
            refused,
            calling_ae: calling_ae.to_owned(),
            command: Vec::new(),
            pending: None,
            find: None,
            stored: 0,
            failed: 0,
        }
    }

    /// Serves the association until release, abort or an error; returns how it ended.
    pub(super) fn run(&mut self, assoc: &mut ServerAssociation<TcpStream>) -> &'static str {
        loop {
            let pdu = match self.reader.receive(assoc) {
                Ok(pdu) => pdu,
                Err(WireError::Closed) => {
                    tracing::warn!("association lost: the device closed the connection");
                    return "lost";
                }
                Err(e @ (WireError::Io(_) | WireError::Idle(_))) => {
                    tracing::warn!(error = %e, "association lost");
                    abort(assoc, AbortRQServiceProviderReason::ReasonNotSpecified);
                    return "lost";
                }
                Err(e @ (WireError::TooLarge { .. } | WireError::Malformed(_))) => {
                    tracing::warn!(error = %e, "aborting association");
                    abort(assoc, AbortRQServiceProviderReason::InvalidPduParameter);
                    return "aborted by us";
                }
            };
            match pdu {
                Pdu::PData { data } => {
                    for pdv in data {
                        if let Err(e) = self.on_pdv(assoc, pdv) {
                            tracing::warn!(error = %e, "aborting association");
                            abort(assoc, AbortRQServiceProviderReason::UnexpectedPdu);
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
                    abort(assoc, AbortRQServiceProviderReason::UnexpectedPdu);
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
                    if find.identifier.len() > super::find::MAX_IDENTIFIER {
                        return Err("a query identifier larger than 64 KiB".into());
                    }
                    if pdv.is_last {
                        if let Some(find) = self.find.take() {
                            self.on_identifier(assoc, find)?;
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
            command_field::C_FIND_RQ | command_field::C_MOVE_RQ | command_field::C_GET_RQ
                if cmd.has_dataset =>
            {
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

    /// A C-FIND, C-MOVE or C-GET whose identifier has arrived: the worklist's or Q/R's.
    fn on_identifier(
        &mut self,
        assoc: &mut ServerAssociation<TcpStream>,
        find: PendingFind,
    ) -> Result<(), String> {
        let ts = accepted_syntax(assoc, find.context_id)?;
        let request = &find.request;
        if !super::query::is_query_retrieve(&request.affected_sop_class_uid) {
            self.activity.worklist_query();
            if !self.access.worklist || request.command_field != command_field::C_FIND_RQ {
                return self.refuse_find(assoc, &find);
            }
            return super::worklist::serve_find(
                assoc,
                &self.reader,
                self.ingest.store(),
                request,
                find.context_id,
                &ts,
                &find.identifier,
            );
        }
        if !self.access.query {
            tracing::warn!(peer = %self.peer, calling_ae = %self.calling_ae, "query/retrieve refused: the caller is not in dicom.query_callers");
            self.refused
                .query
                .record(&self.calling_ae, &self.peer.ip().to_string());
            return respond(
                assoc,
                find.context_id,
                request,
                request.command_field | 0x8000,
                status::NOT_AUTHORIZED,
                Some("this caller is not in the station's query callers"),
            );
        }
        if request.command_field == command_field::C_FIND_RQ {
            return super::query::serve_find(
                assoc,
                &self.reader,
                self.ingest.store(),
                &self.calling_ae,
                request,
                find.context_id,
                &ts,
                &find.identifier,
            );
        }
        let ctx = Retrieve {
            store: self.ingest.store(),
            data_dir: self.ingest.data_dir(),
            calling_ae: &self.calling_ae,
            our_ae: &self.access.ae_title,
            destinations: &self.access.destinations,
            max_pdu_length: self.access.max_pdu_length,
            idle: self.reader.idle,
        };
        super::retrieve::serve(
            assoc,
            &self.reader,
            &ctx,
            request,
            find.context_id,
            &ts,
            &find.identifier,
        )
    }

    /// A worklist query from a caller not in `worklist_callers`: "Refused: Not Authorized",
    /// recorded for the Settings page's one-click allow.
    fn refuse_find(
        &mut self,
        assoc: &mut ServerAssociation<TcpStream>,
        find: &PendingFind,
    ) -> Result<(), String> {
        tracing::warn!(peer = %self.peer, calling_ae = %self.calling_ae, "worklist query refused: the caller is not in dicom.worklist_callers");
        self.refused
            .worklist
            .record(&self.calling_ae, &self.peer.ip().to_string());
        respond(
            assoc,
            find.context_id,
            &find.request,
            command_field::C_FIND_RSP,
            status::NOT_AUTHORIZED,
            Some("this device is not in the station's worklist callers"),
        )
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

/// A-ABORT from us, before the thread ends and the connection closes.
fn abort(assoc: &mut ServerAssociation<TcpStream>, reason: AbortRQServiceProviderReason) {
    let _ = assoc.send(&Pdu::AbortRQ {
        source: dicom_ul::pdu::AbortRQSource::ServiceProvider(reason),
    });
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
