//! What a hostile or broken peer on the DICOM port must not do: take the station down. Each
//! case talks raw DIMSE over a real association (dicom-ul's client), then a device's `echoscu`
//! must still be answered: one association may end, never the process.

use std::time::Duration;

use dicom_ul::pdu::{PDataValue, PDataValueType, Pdu};
use dicom_ul::ClientAssociationOptions;
use station::dicom::element::{element, UNDEFINED_LENGTH};

use crate::harness::dcmtk;
use crate::harness::*;

const IMPLICIT_VR_LE: &str = "1.2.840.10008.1.2";
const WORKLIST_FIND: &str = "1.2.840.10008.5.1.4.31";
const VERIFICATION: &str = "1.2.840.10008.1.1";

/// A command set in implicit VR: (0000,0002), (0000,0100), (0000,0110), (0000,0800).
fn command(sop_class: &str, field: u16, with_dataset: bool, extra: &[u8]) -> Vec<u8> {
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

/// `depth` sequences (0040,0100) of undefined length, each holding one item, around a name:
/// 32 bytes a level, so a few thousand levels fit in a few tens of KB.
fn nested_sequences(depth: usize) -> Vec<u8> {
    let mut open = Vec::new();
    for _ in 0..depth {
        open.extend_from_slice(&[0x40, 0x00, 0x00, 0x01]);
        open.extend_from_slice(&UNDEFINED_LENGTH.to_le_bytes());
        open.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0]);
        open.extend_from_slice(&UNDEFINED_LENGTH.to_le_bytes());
    }
    let name = element(0x0010_0010, *b"PN", b"WANG^XIAO ", false).expect("name");
    let mut close = Vec::new();
    for _ in 0..depth {
        close.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
        close.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
    }
    [name.clone(), open, name, close].concat()
}

/// Opens an association for `abstract_syntax` in implicit VR LE; its presentation context id.
fn associate(
    station: &Station,
    abstract_syntax: &str,
) -> (dicom_ul::ClientAssociation<std::net::TcpStream>, u8) {
    let assoc = ClientAssociationOptions::new()
        .with_presentation_context(abstract_syntax, vec![IMPLICIT_VR_LE])
        .calling_ae_title("US1")
        .called_ae_title("STATION")
        .read_timeout(Duration::from_secs(20))
        .establish(("127.0.0.1", station.dicom_port))
        .expect("association");
    let id = assoc.presentation_contexts()[0].id;
    (assoc, id)
}

fn pdv(id: u8, value_type: PDataValueType, data: Vec<u8>) -> Pdu {
    Pdu::PData {
        data: vec![PDataValue {
            presentation_context_id: id,
            value_type,
            is_last: true,
            data,
        }],
    }
}

/// The Status (0000,0900) of the command set in a P-DATA answer.
fn status_of(pdu: &Pdu) -> Option<u16> {
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

fn still_answers(station: &Station) {
    dcmtk::echoscu(station.dicom_port, "DR1").assert_success("echoscu after the attack");
}

#[test]
fn a_worklist_query_nested_thousands_deep_is_refused_and_the_station_stays_up() {
    let scratch = Scratch::new();
    let station = Station::start(scratch.path(), &Options::default());
    let (mut assoc, id) = associate(&station, WORKLIST_FIND);
    assoc
        .send(&pdv(
            id,
            PDataValueType::Command,
            command(WORKLIST_FIND, 0x0020, true, &[]),
        ))
        .expect("command");
    let identifier = nested_sequences(1800);
    assert!(
        identifier.len() < 64 * 1024,
        "under the size cap: the depth is what is refused"
    );
    assoc
        .send(&pdv(id, PDataValueType::Data, identifier))
        .expect("identifier");
    let answer = assoc.receive().expect("an answer, not a dead station");
    assert_eq!(
        status_of(&answer),
        Some(0xA900),
        "identifier does not match: {answer:?}"
    );
    let _ = assoc.release();
    still_answers(&station);
}

#[test]
fn a_command_set_with_nested_sequences_ends_that_association_only() {
    let scratch = Scratch::new();
    let station = Station::start(scratch.path(), &Options::default());
    let (mut assoc, id) = associate(&station, VERIFICATION);
    let bomb = command(VERIFICATION, 0x0030, false, &nested_sequences(1800));
    assoc
        .send(&pdv(id, PDataValueType::Command, bomb))
        .expect("command");
    // The station ends this association (an abort or a closed connection), nothing else.
    let answered = assoc.receive();
    assert!(
        !matches!(answered, Ok(Pdu::PData { .. })),
        "no C-ECHO answer to a malformed command: {answered:?}"
    );
    still_answers(&station);
}

/// A Secondary Capture object whose header is sound and which, after group 0020 where the
/// header reader stops, nests `depth` sequences: stored like any other, then opened in full.
fn deep_object(path: &std::path::Path, depth: usize) -> String {
    use station::dicom::part10::{prefix, FileMeta};
    let (class, sop) = (
        "1.2.840.10008.5.1.4.1.1.7",
        format!("2.25.{}", uid_number()),
    );
    let explicit = |tag, vr: &[u8; 2], value: &[u8]| element(tag, *vr, value, true).expect("el");
    let ui = |s: &str| {
        let mut v = s.as_bytes().to_vec();
        if v.len() % 2 == 1 {
            v.push(0);
        }
        v
    };
    let mut nested = Vec::new();
    for _ in 0..depth {
        nested.extend_from_slice(&[0x40, 0x00, 0x00, 0x01, b'S', b'Q', 0, 0]);
        nested.extend_from_slice(&UNDEFINED_LENGTH.to_le_bytes());
        nested.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0]);
        nested.extend_from_slice(&UNDEFINED_LENGTH.to_le_bytes());
    }
    for _ in 0..depth {
        nested.extend_from_slice(&[0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
        nested.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
    }
    let bytes = [
        prefix(&FileMeta::station(class, &sop, "1.2.840.10008.1.2.1")).expect("meta"),
        explicit(0x0008_0016, b"UI", &ui(class)),
        explicit(0x0008_0018, b"UI", &ui(&sop)),
        explicit(0x0008_0060, b"CS", b"OT"),
        explicit(0x0010_0010, b"PN", b"WANG^XIAO "),
        explicit(0x0010_0020, b"LO", b"P1"),
        explicit(0x0020_000D, b"UI", &ui(&format!("2.25.{}", uid_number()))),
        explicit(0x0020_000E, b"UI", &ui(&format!("2.25.{}", uid_number()))),
        nested,
    ]
    .concat();
    std::fs::write(path, bytes).expect("write the object");
    sop
}

fn uid_number() -> u128 {
    rand::random::<u128>() >> 2
}

#[test]
fn a_stored_object_nested_thousands_deep_gives_no_preview_and_the_station_stays_up() {
    let scratch = Scratch::new();
    let station = Station::start(scratch.path(), &Options::default());
    let file = scratch.join("deep.dcm");
    let sop = deep_object(&file, 3000);
    let import = run_tool(
        std::process::Command::new(STATION_BIN)
            .arg("import")
            .arg(&file)
            .arg("--config")
            .arg(&station.config),
    );
    import.assert_success("station import");
    let client = Client::new(&station);
    let token = client.admin();
    let (status, _, _) = client.get_bytes_as(&token, &format!("/api/preview/{sop}.png"));
    assert!(
        status >= 400,
        "no preview of an object built to crash the parser: {status}"
    );
    still_answers(&station);
}
