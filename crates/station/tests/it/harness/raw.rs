//! A raw DICOM client for the tests of hostile and broken peers: hand-made command sets and
//! PDUs over a real association (dicom-ul's client) or a bare socket, from any loopback address
//! (127.0.0.2, ...: the station sees a different host).
//!
//! Never decides what a run means: callers assert on what comes back.

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use dicom_ul::pdu::{
    AssociationRQ, PDataValue, PDataValueType, Pdu, PresentationContextProposed, UserVariableItem,
};
use dicom_ul::ClientAssociationOptions;
use station::dicom::element::element;

use super::dcmtk::{self, AE_TITLE};
use super::Station;

pub const IMPLICIT_VR_LE: &str = "1.2.840.10008.1.2";
pub const WORKLIST_FIND: &str = "1.2.840.10008.5.1.4.31";
pub const VERIFICATION: &str = "1.2.840.10008.1.1";

/// A command set in implicit VR: (0000,0002), (0000,0100), (0000,0110), (0000,0800).
pub fn command(sop_class: &str, field: u16, with_dataset: bool, extra: &[u8]) -> Vec<u8> {
    let mut uid = sop_class.as_bytes().to_vec();
    if uid.len() % 2 == 1 {
        uid.push(0);
    }
    let us = |v: u16| v.to_le_bytes().to_vec();
    let data_set_type = if with_dataset { 0x0000 } else { 0x0101 };
    [
        element(0x0000_0002, *b"UI", &uid, false).expect("uid"),
        element(0x0000_0100, *b"US", &us(field), false).expect("field"),
        element(0x0000_0110, *b"US", &us(7), false).expect("message id"),
        element(0x0000_0800, *b"US", &us(data_set_type), false).expect("data set type"),
        extra.to_vec(),
    ]
    .concat()
}

/// Opens an association for `abstract_syntax` in implicit VR LE as US1; its presentation
/// context id.
pub fn associate(
    station: &Station,
    abstract_syntax: &str,
) -> (dicom_ul::ClientAssociation<std::net::TcpStream>, u8) {
    associate_as(station, "US1", abstract_syntax)
}

/// As [`associate`], calling as `calling_ae`.
pub fn associate_as(
    station: &Station,
    calling_ae: &str,
    abstract_syntax: &str,
) -> (dicom_ul::ClientAssociation<std::net::TcpStream>, u8) {
    let assoc = ClientAssociationOptions::new()
        .with_presentation_context(abstract_syntax, vec![IMPLICIT_VR_LE])
        .calling_ae_title(calling_ae)
        .called_ae_title(AE_TITLE)
        .read_timeout(Duration::from_secs(20))
        .establish(("127.0.0.1", station.dicom_port))
        .expect("association");
    let id = assoc.presentation_contexts()[0].id;
    (assoc, id)
}

/// A P-DATA-TF of one fragment, `is_last` or not.
pub fn fragment(id: u8, value_type: PDataValueType, data: Vec<u8>, is_last: bool) -> Pdu {
    Pdu::PData {
        data: vec![PDataValue {
            presentation_context_id: id,
            value_type,
            is_last,
            data,
        }],
    }
}

/// A P-DATA-TF of one whole (last) fragment.
pub fn pdv(id: u8, value_type: PDataValueType, data: Vec<u8>) -> Pdu {
    fragment(id, value_type, data, true)
}

/// A C-FIND-RQ of the Modality Worklist whose identifier is to follow.
pub fn find_request(id: u8) -> Pdu {
    pdv(
        id,
        PDataValueType::Command,
        command(WORKLIST_FIND, 0x0020, true, &[]),
    )
}

/// The Status (0000,0900) of the command set in a P-DATA answer.
pub fn status_of(pdu: &Pdu) -> Option<u16> {
    let Pdu::PData { data } = pdu else {
        return None;
    };
    let cmd = data
        .iter()
        .find(|v| v.value_type == PDataValueType::Command)?;
    let at = cmd
        .data
        .windows(4)
        .position(|w| w == [0x00, 0x00, 0x00, 0x09])?;
    let b = cmd.data.get(at + 8..at + 10)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

pub fn still_answers(station: &Station) {
    dcmtk::echoscu(station.dicom_port, "DR1").assert_success("echoscu after the attack");
}

/// A TCP connection to the station from the loopback address `127.0.0.{host}`.
pub fn connect_from(station: &Station, host: u8) -> TcpStream {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    let from: SocketAddr = ([127, 0, 0, host], 0).into();
    socket.bind(&from.into()).expect("bind a loopback address");
    let to: SocketAddr = ([127, 0, 0, 1], station.dicom_port).into();
    socket
        .connect_timeout(&to.into(), Duration::from_secs(5))
        .expect("connect");
    socket.into()
}

/// The bytes of an A-ASSOCIATE-RQ from `calling_ae` to the station for Verification.
pub fn association_request(calling_ae: &str) -> Vec<u8> {
    let rq = Pdu::AssociationRQ(AssociationRQ {
        protocol_version: 1,
        calling_ae_title: calling_ae.into(),
        called_ae_title: AE_TITLE.into(),
        application_context_name: "1.2.840.10008.3.1.1.1".into(),
        presentation_contexts: vec![PresentationContextProposed {
            id: 1,
            abstract_syntax: VERIFICATION.into(),
            transfer_syntaxes: vec![IMPLICIT_VR_LE.into()],
        }],
        user_variables: vec![UserVariableItem::MaxLength(16384)],
    });
    let mut bytes = Vec::new();
    dicom_ul::write_pdu(&mut bytes, &rq).expect("an association request");
    bytes
}

/// Whether the station has ended `stream`: closed, reset, or sent its last PDU (an
/// A-ASSOCIATE-RJ or A-ABORT, then closed). Looks without waiting.
pub fn ended(stream: &TcpStream) -> bool {
    stream.set_nonblocking(true).expect("nonblocking");
    let mut byte = [0u8; 1];
    let ended = match stream.peek(&mut byte) {
        Ok(_) => true,
        Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
    };
    stream.set_nonblocking(false).expect("blocking");
    ended
}
