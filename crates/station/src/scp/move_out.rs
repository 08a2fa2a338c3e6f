//! The station as a Storage SCU for C-MOVE (PS3.4 §C.4.2.2.2): an association of its own to a
//! `[[dicom.move_destinations]]` entry, proposing for each SOP class of the move the stored
//! transfer syntax and the uncompressed little-endian ones, then one C-STORE per instance.
//!
//! Must never: connect anywhere but a configured destination, wait on it past the idle
//! timeout, or leave its association open when the move ends.

use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use dicom_ul::{ClientAssociation, ClientAssociationOptions, Pdu};

use super::retrieve::{
    command_pdu, context_for, dataset_in, is_native, response_in, Retrieve, Sink,
};
use crate::config::MoveDestination;
use crate::dicom::dimse::{self, command_field};
use crate::dicom::header::{EXPLICIT_VR_LE, IMPLICIT_VR_LE};
use crate::store::qr::QrRow;

/// How long connecting to a destination may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// An association to a move destination.
pub(super) struct Destination<'a> {
    assoc: Option<ClientAssociation<TcpStream>>,
    /// The C-MOVE's originator, named in each C-STORE (PS3.7 §9.3.1.1).
    originator: &'a str,
    move_id: u16,
}

impl<'a> Destination<'a> {
    /// Associates with `dest`, proposing what `rows` need.
    pub(super) fn connect(
        ctx: &Retrieve<'a>,
        dest: &MoveDestination,
        rows: &[QrRow],
        move_id: u16,
    ) -> Result<Destination<'a>, String> {
        let mut options = ClientAssociationOptions::new()
            .calling_ae_title(ctx.our_ae.to_string())
            .called_ae_title(dest.ae_title.trim().to_string())
            .max_pdu_length(ctx.max_pdu_length)
            .connection_timeout(CONNECT_TIMEOUT)
            .read_timeout(ctx.idle)
            .write_timeout(ctx.idle);
        let mut proposed: Vec<(String, Vec<String>)> = Vec::new();
        for row in rows {
            // A compressed file is proposed as stored, alone; uncompressed ones in a context
            // that also takes the other little-endian syntax (they are re-encoded if chosen).
            let syntaxes: Vec<String> = if is_native(&row.transfer_syntax) {
                vec![EXPLICIT_VR_LE.into(), IMPLICIT_VR_LE.into()]
            } else {
                vec![row.transfer_syntax.clone()]
            };
            let context = (row.sop_class_uid.clone(), syntaxes);
            if !proposed.contains(&context) && proposed.len() < 127 {
                proposed.push(context);
            }
        }
        for (class, syntaxes) in proposed {
            options = options.with_presentation_context(class, syntaxes);
        }
        let assoc = options
            .establish((dest.host.trim(), dest.port))
            .map_err(|e| e.to_string())?;
        Ok(Destination {
            assoc: Some(assoc),
            originator: ctx.calling_ae,
            move_id,
        })
    }

    /// Releases the association (an A-ABORT if the release fails).
    pub(super) fn release(&mut self) {
        if let Some(assoc) = self.assoc.take() {
            if let Err(e) = assoc.release() {
                tracing::warn!(error = %e, "move destination association not released cleanly");
            }
        }
    }
}

impl Sink for Destination<'_> {
    fn store(
        &mut self,
        _caller: &mut dicom_ul::ServerAssociation<TcpStream>,
        row: &QrRow,
        file: &Path,
        message_id: u16,
        _cancel: &mut bool,
    ) -> Result<u16, String> {
        let assoc = self.assoc.as_mut().ok_or("the association has ended")?;
        let pc = context_for(assoc.presentation_contexts(), row)
            .ok_or("the destination accepted no context for its SOP class and transfer syntax")?
            .clone();
        let data = dataset_in(file, &row.transfer_syntax, &pc.transfer_syntax)?;
        let cmd = dimse::store_request(
            message_id,
            &row.sop_class_uid,
            &row.sop_uid,
            Some((self.originator, self.move_id)),
        )
        .map_err(|e| e.to_string())?;
        assoc
            .send(&command_pdu(pc.id, cmd))
            .map_err(|e| e.to_string())?;
        let mut writer = assoc.send_pdata(pc.id);
        std::io::Write::write_all(&mut writer, &data).map_err(|e| e.to_string())?;
        writer.finish().map_err(|e| e.to_string())?;
        let pdu = match assoc.receive() {
            Ok(pdu @ Pdu::PData { .. }) => pdu,
            Ok(other) => {
                self.assoc = None;
                return Err(format!("the destination sent {other:?}"));
            }
            Err(e) => {
                self.assoc = None;
                return Err(e.to_string());
            }
        };
        let rsp = response_in(pdu)?;
        if rsp.command_field != command_field::C_STORE_RSP || rsp.message_id_responded != message_id
        {
            return Err("the destination answered something else".into());
        }
        rsp.status
            .ok_or_else(|| "a C-STORE-RSP without a status".into())
    }
}

impl Drop for Destination<'_> {
    fn drop(&mut self) {
        self.release();
    }
}
