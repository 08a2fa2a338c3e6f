//! Query/Retrieve – MOVE and GET (PS3.4 §C.4.2, §C.4.3): the instances a retrieve names by its
//! unique keys are sent with C-STORE sub-operations, to a `[[dicom.move_destinations]]` entry
//! on an association of their own (C-MOVE, [`super::move_out`]) or back to the caller on its
//! association (C-GET, the caller taking the Storage SCP role, PS3.7 §D.3.3.4). A pending
//! response follows each sub-operation with the remaining, completed, failed and warning
//! counts; the final one is success (0000), warning B000 or failure A702 with the Failed SOP
//! Instance UID List, or cancel FE00 after a C-CANCEL.
//!
//! Each instance goes in a transfer syntax the receiver accepted: as stored when it took that,
//! else re-encoded between the uncompressed little-endian syntaxes; a compressed instance the
//! receiver takes only uncompressed, and an instance retention has purged (its file is at the
//! hub, not here), are failed sub-operations: nothing is decompressed or fetched back here.
//!
//! Must never: send to an AE title that is not a configured move destination, send a file the
//! index does not list under the retrieve's keys, or open a stored file without
//! `dicom::bounds` (a file nested too deep would abort the process).

use std::net::TcpStream;
use std::path::Path;

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::{TransferSyntaxIndex, TransferSyntaxRegistry};
use dicom_ul::pdu::PresentationContextResultReason;
use dicom_ul::pdu::{PDataValue, PDataValueType, PresentationContextNegotiated};
use dicom_ul::{Pdu, ServerAssociation};

use super::find::{self, send_pdv};
use super::query::{self, Query};
use super::wire::Reader;
use crate::config::MoveDestination;
use crate::dicom::dimse::{self, command_field, status, Command, Response, SubOperations};
use crate::dicom::header::{EXPLICIT_VR_LE, IMPLICIT_VR_LE};
use crate::store::qr::{self, QrRow};
use crate::store::Store;

/// What a retrieve needs beyond the request: who asked, where files are, where a move may go.
pub struct Retrieve<'a> {
    /// The index: what the identifier matches, and the audit entry.
    pub store: &'a Store,
    /// Where the instance files are.
    pub data_dir: &'a Path,
    /// Who asked (checked against `[dicom] query_callers`, named in the audit trail).
    pub calling_ae: &'a str,
    /// Our AE title, the calling AE of a C-MOVE's own association.
    pub our_ae: &'a str,
    /// Where a C-MOVE may send (`[[dicom.move_destinations]]`); others get A801.
    pub destinations: &'a [MoveDestination],
    /// The largest PDU we send on a C-MOVE's association.
    pub max_pdu_length: u32,
    /// How long a C-MOVE destination may stay silent before we give up on it.
    pub idle: std::time::Duration,
}

/// How the instances of one retrieve go out: to the caller (C-GET) or a destination (C-MOVE).
pub(super) trait Sink {
    /// Sends one instance's file with C-STORE and returns the receiver's status, or why it was
    /// not sent. `cancel` is set when the caller's C-CANCEL arrived meanwhile.
    fn store(
        &mut self,
        caller: &mut ServerAssociation<TcpStream>,
        row: &QrRow,
        file: &Path,
        message_id: u16,
        cancel: &mut bool,
    ) -> Result<u16, String>;
}

/// Serves a C-MOVE-RQ or C-GET-RQ whose identifier (in transfer syntax `ts`) has arrived.
pub fn serve(
    caller: &mut ServerAssociation<TcpStream>,
    reader: &Reader,
    ctx: &Retrieve<'_>,
    request: &Command,
    context_id: u8,
    ts: &str,
    identifier: &[u8],
) -> Result<(), String> {
    let is_move = request.command_field == command_field::C_MOVE_RQ;
    let rsp_field = if is_move {
        command_field::C_MOVE_RSP
    } else {
        command_field::C_GET_RSP
    };
    let reply = |caller: &mut ServerAssociation<TcpStream>, code: u16| {
        let cmd =
            dimse::retrieve_response(request, rsp_field, code, SubOperations::default(), false)
                .map_err(|e| e.to_string())?;
        send_pdv(caller, context_id, PDataValueType::Command, cmd)
    };
    let query = match find::read_identifier(identifier, ts)
        .and_then(|i| Query::parse(i, &request.affected_sop_class_uid))
    {
        Ok(q) if q.names_unique_key() => q,
        Ok(_) => {
            tracing::warn!("a retrieve without the unique key of its level");
            return reply(caller, status::IDENTIFIER_MISMATCH);
        }
        Err(e) => {
            tracing::warn!(error = %e, "unanswerable retrieve");
            return reply(caller, status::IDENTIFIER_MISMATCH);
        }
    };
    let destination = if is_move {
        match ctx
            .destinations
            .iter()
            .find(|d| d.ae_title.trim() == request.move_destination)
        {
            Some(d) => Some(d.clone()),
            None => {
                tracing::warn!(calling_ae = ctx.calling_ae, destination = ?request.move_destination, "C-MOVE to an AE title not in dicom.move_destinations");
                return reply(caller, status::MOVE_DESTINATION_UNKNOWN);
            }
        }
    } else {
        None
    };
    let action = if is_move { "qr.move" } else { "qr.get" };
    let rows = {
        let conn = ctx.store.lock();
        qr::instances(&conn, &query.filter)
            .map_err(|e| e.to_string())
            .and_then(|rows| {
                query::audit(&conn, ctx.calling_ae, action, query.level, &rows)?;
                Ok(rows)
            })
    };
    let rows = match rows {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "retrieve failed");
            return reply(caller, status::UNABLE_TO_PERFORM);
        }
    };
    tracing::info!(calling_ae = ctx.calling_ae, destination = ?request.move_destination, instances = rows.len(), action, "retrieve");
    let counts = |remaining| SubOperations {
        remaining,
        ..SubOperations::default()
    };
    let total = u16::try_from(rows.len()).unwrap_or(u16::MAX);
    let mut run = Run {
        request,
        context_id,
        rsp_field,
        syntax: ts,
        counts: counts(total),
        failed_uids: Vec::new(),
    };
    match destination {
        Some(dest) => {
            match super::move_out::Destination::connect(ctx, &dest, &rows, request.message_id) {
                Ok(mut sink) => {
                    let result = run.send_all(caller, reader, ctx, &rows, &mut sink);
                    sink.release();
                    result
                }
                Err(e) => {
                    tracing::warn!(destination = %dest.ae_title, error = %e, "cannot associate with the move destination");
                    reply(caller, status::UNABLE_TO_PERFORM)
                }
            }
        }
        None => {
            let mut sink = ToCaller { reader };
            run.send_all(caller, reader, ctx, &rows, &mut sink)
        }
    }
}

/// One retrieve's sub-operations and their counts.
struct Run<'a> {
    request: &'a Command,
    context_id: u8,
    rsp_field: u16,
    /// The transfer syntax of the retrieve's presentation context (of the final dataset).
    syntax: &'a str,
    counts: SubOperations,
    failed_uids: Vec<String>,
}

impl Run<'_> {
    fn send_all(
        &mut self,
        caller: &mut ServerAssociation<TcpStream>,
        reader: &Reader,
        ctx: &Retrieve<'_>,
        rows: &[QrRow],
        sink: &mut dyn Sink,
    ) -> Result<(), String> {
        let mut cancel = false;
        for (i, row) in rows.iter().enumerate() {
            if cancel || find::cancel_requested(caller, reader)? {
                cancel = true;
                break;
            }
            let outcome = if row.purged {
                Err("purged by retention (its copy is at the hub)".to_string())
            } else {
                let id = u16::try_from(i % usize::from(u16::MAX)).unwrap_or(0) + 1;
                sink.store(caller, row, &ctx.data_dir.join(&row.path), id, &mut cancel)
            };
            self.counts.remaining = self.counts.remaining.saturating_sub(1);
            match outcome {
                Ok(status::SUCCESS) => self.counts.completed += 1,
                // Warnings of C-STORE (PS3.4 §B.2.3): coercion, elements discarded.
                Ok(code) if code == 0x0001 || (0xB000..=0xBFFF).contains(&code) => {
                    self.counts.warning += 1
                }
                other => {
                    tracing::warn!(sop = %row.sop_uid, outcome = ?other, "retrieve sub-operation failed");
                    self.counts.failed += 1;
                    self.failed_uids.push(row.sop_uid.clone());
                }
            }
            if self.counts.remaining > 0 {
                self.respond(caller, status::PENDING)?;
            }
        }
        let code = if cancel {
            status::CANCEL
        } else if self.counts.failed == 0 && self.counts.warning == 0 {
            status::SUCCESS
        } else if self.counts.completed == 0 && self.counts.warning == 0 {
            status::UNABLE_TO_PERFORM
        } else {
            status::SUB_OPERATIONS_FAILED
        };
        tracing::info!(
            completed = self.counts.completed,
            failed = self.counts.failed,
            warning = self.counts.warning,
            status = format!("{code:#06x}"),
            "retrieve ended"
        );
        self.respond(caller, code)
    }

    /// A response with the counts; a final one with failures carries their UIDs.
    fn respond(&self, caller: &mut ServerAssociation<TcpStream>, code: u16) -> Result<(), String> {
        let list = (code != status::PENDING && !self.failed_uids.is_empty())
            .then(|| failed_list(&self.failed_uids, self.syntax))
            .transpose()?;
        let mut counts = self.counts;
        if code != status::PENDING && code != status::CANCEL {
            counts.remaining = 0;
        }
        let cmd =
            dimse::retrieve_response(self.request, self.rsp_field, code, counts, list.is_some())
                .map_err(|e| e.to_string())?;
        send_pdv(caller, self.context_id, PDataValueType::Command, cmd)?;
        match list {
            Some(bytes) => send_pdv(caller, self.context_id, PDataValueType::Data, bytes),
            None => Ok(()),
        }
    }
}

/// The Failed SOP Instance UID List (0008,0058) as a dataset in `ts`.
fn failed_list(uids: &[String], ts: &str) -> Result<Vec<u8>, String> {
    let syntax = TransferSyntaxRegistry
        .get(ts)
        .ok_or_else(|| format!("unknown transfer syntax {ts}"))?;
    let mut obj = InMemDicomObject::new_empty();
    obj.put(DataElement::new(
        tags::FAILED_SOP_INSTANCE_UID_LIST,
        VR::UI,
        PrimitiveValue::Strs(uids.iter().cloned().collect()),
    ));
    let mut out = Vec::new();
    obj.write_dataset_with_ts(&mut out, syntax)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

/// The accepted presentation context to send `row` on, and whether its file must be
/// re-encoded: one taking the stored transfer syntax, else (an uncompressed file) one taking
/// the other uncompressed little-endian syntax.
pub(super) fn context_for<'p>(
    contexts: &'p [PresentationContextNegotiated],
    row: &QrRow,
) -> Option<&'p PresentationContextNegotiated> {
    let accepted = |pc: &&PresentationContextNegotiated| {
        pc.reason == PresentationContextResultReason::Acceptance
            && pc.abstract_syntax.trim_end_matches(['\0', ' ']) == row.sop_class_uid
    };
    let ts = |pc: &PresentationContextNegotiated| {
        pc.transfer_syntax.trim_end_matches(['\0', ' ']).to_string()
    };
    contexts
        .iter()
        .filter(accepted)
        .find(|pc| ts(pc) == row.transfer_syntax)
        .or_else(|| {
            is_native(&row.transfer_syntax)
                .then(|| {
                    contexts
                        .iter()
                        .filter(accepted)
                        .find(|pc| is_native(&ts(pc)))
                })
                .flatten()
        })
}

/// Uncompressed little endian: what dicom-rs re-encodes between without touching pixel data.
pub(super) fn is_native(ts: &str) -> bool {
    ts == IMPLICIT_VR_LE || ts == EXPLICIT_VR_LE
}

/// The dataset of a stored file in transfer syntax `ts`: its bytes after the PS3.10 header as
/// stored when `ts` is the stored syntax, else re-encoded (uncompressed only).
pub(super) fn dataset_in(file: &Path, stored_ts: &str, ts: &str) -> Result<Vec<u8>, String> {
    let ts = ts.trim_end_matches(['\0', ' ']);
    if ts == stored_ts {
        let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let start = dataset_offset(&bytes).ok_or("not a PS3.10 file")?;
        return Ok(bytes[start..].to_vec());
    }
    if !(is_native(stored_ts) && is_native(ts)) {
        return Err(format!(
            "stored as {stored_ts}, which is not re-encoded to {ts}"
        ));
    }
    let syntax = TransferSyntaxRegistry
        .get(ts)
        .ok_or_else(|| format!("unknown transfer syntax {ts}"))?;
    let obj = crate::dicom::bounds::open_file(file).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    obj.write_dataset_with_ts(&mut out, syntax)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

/// Where the dataset starts in a PS3.10 file: after the preamble, "DICM" and the meta group,
/// whose length (0002,0000) is its first element, explicit VR little endian (PS3.10 §7.1).
fn dataset_offset(bytes: &[u8]) -> Option<usize> {
    let head = bytes.get(128..144)?;
    if &head[..4] != b"DICM" || head[4..8] != [0x02, 0x00, 0x00, 0x00] || &head[8..10] != b"UL" {
        return None;
    }
    let len = u32::from_le_bytes([head[12], head[13], head[14], head[15]]) as usize;
    let start = 144usize.checked_add(len)?;
    (start <= bytes.len()).then_some(start)
}

/// A command set as one P-DATA-TF PDU on `context_id` (a command set is small).
pub(super) fn command_pdu(context_id: u8, command: Vec<u8>) -> Pdu {
    Pdu::PData {
        data: vec![PDataValue {
            presentation_context_id: context_id,
            value_type: PDataValueType::Command,
            is_last: true,
            data: command,
        }],
    }
}

/// The command a peer sent in `pdu` (a C-STORE-RSP, or a C-CANCEL-RQ), read.
pub(super) fn response_in(pdu: Pdu) -> Result<Response, String> {
    let Pdu::PData { data } = pdu else {
        return Err(format!("{pdu:?} where a C-STORE-RSP belongs"));
    };
    let command: Vec<u8> = data
        .iter()
        .filter(|p| p.value_type == PDataValueType::Command)
        .flat_map(|p| p.data.iter().copied())
        .collect();
    Response::parse(&command).map_err(|e| e.to_string())
}

/// C-GET: the sub-operations go back on the caller's association, on the storage contexts it
/// proposed with the SCP role.
struct ToCaller<'r> {
    reader: &'r Reader,
}

impl Sink for ToCaller<'_> {
    fn store(
        &mut self,
        caller: &mut ServerAssociation<TcpStream>,
        row: &QrRow,
        file: &Path,
        message_id: u16,
        cancel: &mut bool,
    ) -> Result<u16, String> {
        let pc = context_for(caller.presentation_contexts(), row)
            .ok_or("no presentation context for its SOP class and transfer syntax")?
            .clone();
        let data = dataset_in(file, &row.transfer_syntax, &pc.transfer_syntax)?;
        let cmd = dimse::store_request(message_id, &row.sop_class_uid, &row.sop_uid, None)
            .map_err(|e| e.to_string())?;
        caller
            .send(&command_pdu(pc.id, cmd))
            .map_err(|e| e.to_string())?;
        let mut writer = caller.send_pdata(pc.id);
        std::io::Write::write_all(&mut writer, &data).map_err(|e| e.to_string())?;
        writer.finish().map_err(|e| e.to_string())?;
        // The caller's C-STORE-RSP; a C-CANCEL of the C-GET may come first.
        for _ in 0..4 {
            let pdu = self.reader.receive(caller).map_err(|e| e.to_string())?;
            let rsp = response_in(pdu)?;
            match rsp.command_field {
                command_field::C_STORE_RSP if rsp.message_id_responded == message_id => {
                    return rsp
                        .status
                        .ok_or_else(|| "a C-STORE-RSP without a status".into())
                }
                command_field::C_CANCEL_RQ => *cancel = true,
                other => return Err(format!("command {other:#06x} where a C-STORE-RSP belongs")),
            }
        }
        Err("no C-STORE-RSP".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pc(id: u8, class: &str, ts: &str, ok: bool) -> PresentationContextNegotiated {
        PresentationContextNegotiated {
            id,
            reason: if ok {
                PresentationContextResultReason::Acceptance
            } else {
                PresentationContextResultReason::TransferSyntaxesNotSupported
            },
            transfer_syntax: ts.into(),
            abstract_syntax: class.into(),
        }
    }

    #[test]
    fn an_instance_goes_as_stored_else_re_encoded_only_when_uncompressed() {
        const DX: &str = "1.2.840.10008.5.1.4.1.1.1.1";
        const JPEG: &str = "1.2.840.10008.1.2.4.50";
        let row = |ts: &str| QrRow {
            sop_class_uid: DX.into(),
            transfer_syntax: ts.into(),
            ..QrRow::default()
        };
        let contexts = [
            pc(1, DX, IMPLICIT_VR_LE, true),
            pc(3, DX, JPEG, false),
            pc(5, "1.2.840.10008.5.1.4.1.1.6.1", EXPLICIT_VR_LE, true),
        ];
        let chosen = |ts: &str| context_for(&contexts, &row(ts)).map(|pc| pc.id);
        assert_eq!(chosen(IMPLICIT_VR_LE), Some(1), "as stored");
        assert_eq!(chosen(EXPLICIT_VR_LE), Some(1), "re-encoded to implicit");
        assert_eq!(chosen(JPEG), None, "compressed, and refused as stored");
        let with_jpeg = [pc(1, DX, IMPLICIT_VR_LE, true), pc(3, DX, JPEG, true)];
        assert_eq!(context_for(&with_jpeg, &row(JPEG)).map(|pc| pc.id), Some(3));
    }

    #[test]
    fn the_dataset_starts_after_the_meta_group() {
        let mut file = vec![0u8; 128];
        file.extend_from_slice(b"DICM");
        file.extend_from_slice(&[0x02, 0x00, 0x00, 0x00, b'U', b'L', 4, 0, 6, 0, 0, 0]);
        file.extend_from_slice(&[0xAA; 6]);
        file.extend_from_slice(b"data");
        assert_eq!(dataset_offset(&file), Some(150));
        assert_eq!(&file[150..], b"data");
        assert_eq!(dataset_offset(&file[..140]), None, "cut short");
        file[128] = b'X';
        assert_eq!(dataset_offset(&file), None, "not PS3.10");
    }
}
