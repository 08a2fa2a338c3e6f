//! What a hostile or broken peer on the DICOM port must not do: take the station down. Each
//! case talks raw DIMSE over a real association (dicom-ul's client), then a device's `echoscu`
//! must still be answered: one association may end, never the process.

use dicom_ul::pdu::{PDataValueType, Pdu};
use station::dicom::element::{element, UNDEFINED_LENGTH};

use crate::harness::raw::*;
use crate::harness::*;

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

#[test]
fn a_worklist_query_nested_thousands_deep_is_refused_and_the_station_stays_up() {
    let scratch = Scratch::new();
    let station = Station::start(scratch.path(), &Options::default().worklist_for(&["US1"]));
    let (mut assoc, id) = associate(&station, WORKLIST_FIND);
    assoc.send(&find_request(id)).expect("command");
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
fn a_stored_object_nested_thousands_deep_is_refused_to_quarantine_and_the_station_stays_up() {
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
    let quarantined = station.quarantined();
    assert_eq!(quarantined.len(), 1, "{}", import.log);
    assert_eq!(
        quarantined[0].reason_code,
        Some(station::store::QuarantineReason::Malformed)
    );
    assert!(
        quarantined[0].reason.contains("nested deeper than 64"),
        "{}",
        quarantined[0].reason
    );
    assert_eq!(station.instance_count(), 0, "never indexed");
    let client = Client::new(&station);
    let token = client.admin();
    let (status, _, _) = client.get_bytes_as(&token, &format!("/api/preview/{sop}.png"));
    assert_eq!(
        status, 404,
        "no preview of an object built to crash the parser"
    );
    still_answers(&station);
}

#[test]
fn a_line_break_in_a_device_value_cannot_forge_a_log_line() {
    let scratch = Scratch::new();
    let station = Station::start(scratch.path(), &Options::default());
    const STORAGE: &str = "1.2.840.10008.5.1.4.1.1.7";
    let (mut assoc, id) = associate(&station, STORAGE);
    // A C-STORE whose Affected SOP Instance UID carries a line break and a fake log line; the
    // dataset is garbage, so the refusal is logged with that UID.
    let forged = b"1.2.3\n2026-12-04T00:00:00Z  INFO forged: all studies deleted ";
    let uid = element(0x0000_1000, *b"UI", forged, false).expect("uid");
    assoc
        .send(&pdv(
            id,
            PDataValueType::Command,
            command(STORAGE, 0x0001, true, &uid),
        ))
        .expect("command");
    assoc
        .send(&pdv(id, PDataValueType::Data, vec![0x55; 64]))
        .expect("dataset");
    let answer = assoc.receive().expect("a C-STORE response");
    assert_ne!(status_of(&answer), Some(0x0000), "{answer:?}");
    let _ = assoc.release();
    let logs = wait_for(
        "the refusal in the log",
        std::time::Duration::from_secs(10),
        || {
            let text = station.logs_text();
            text.contains("C-STORE refused").then_some(text)
        },
    );
    assert!(
        logs.contains(r"1.2.3\n2026-12-04T00:00:00Z  INFO forged"),
        "the UID logged escaped:\n{logs}"
    );
    assert!(
        !logs
            .lines()
            .any(|l| l.contains("INFO forged") && !l.contains("1.2.3")),
        "no line of its own:\n{logs}"
    );
}

const SECONDARY_CAPTURE: &str = "1.2.840.10008.5.1.4.1.1.7";

/// A 64×64 8-bit Secondary Capture dataset (implicit VR LE) whose Pixel Data declares
/// `declared` bytes and holds `held`.
fn image_dataset(sop: &str, declared: u32, held: usize) -> Vec<u8> {
    let ui = |s: &str| {
        let mut v = s.as_bytes().to_vec();
        if v.len() % 2 == 1 {
            v.push(0);
        }
        v
    };
    let us = |v: u16| v.to_le_bytes().to_vec();
    let implicit = |tag, vr: &[u8; 2], value: &[u8]| element(tag, *vr, value, false).expect("el");
    let mut pixel_data = [0xE0, 0x7F, 0x10, 0x00].to_vec();
    pixel_data.extend_from_slice(&declared.to_le_bytes());
    pixel_data.extend_from_slice(&vec![0x55; held]);
    [
        implicit(0x0008_0016, b"UI", &ui(SECONDARY_CAPTURE)),
        implicit(0x0008_0018, b"UI", &ui(sop)),
        implicit(0x0008_0060, b"CS", b"OT"),
        implicit(0x0010_0010, b"PN", b"WANG^XIAO "),
        implicit(0x0010_0020, b"LO", b"P1"),
        implicit(0x0020_000D, b"UI", &ui(&format!("2.25.{}", uid_number()))),
        implicit(0x0020_000E, b"UI", &ui(&format!("2.25.{}", uid_number()))),
        implicit(0x0028_0002, b"US", &us(1)),
        implicit(0x0028_0004, b"CS", b"MONOCHROME2 "),
        implicit(0x0028_0010, b"US", &us(64)),
        implicit(0x0028_0011, b"US", &us(64)),
        implicit(0x0028_0100, b"US", &us(8)),
        implicit(0x0028_0101, b"US", &us(8)),
        implicit(0x0028_0102, b"US", &us(7)),
        implicit(0x0028_0103, b"US", &us(0)),
        pixel_data,
    ]
    .concat()
}

/// Sends `dataset` as SOP Instance `sop` with a raw C-STORE; the response's status.
fn c_store(station: &Station, sop: &str, dataset: Vec<u8>) -> u16 {
    let mut uid = sop.as_bytes().to_vec();
    if uid.len() % 2 == 1 {
        uid.push(0);
    }
    let affected = element(0x0000_1000, *b"UI", &uid, false).expect("uid");
    let (mut assoc, id) = associate(station, SECONDARY_CAPTURE);
    assoc
        .send(&pdv(
            id,
            PDataValueType::Command,
            command(SECONDARY_CAPTURE, 0x0001, true, &affected),
        ))
        .expect("C-STORE command");
    assoc
        .send(&pdv(id, PDataValueType::Data, dataset))
        .expect("C-STORE dataset");
    let reply = assoc.receive().expect("C-STORE response");
    let _ = assoc.abort();
    status_of(&reply).expect("a status")
}

#[test]
fn a_dataset_cut_short_or_with_too_few_pixels_is_refused_not_acknowledged() {
    let scratch = Scratch::new();
    let station = Station::start(scratch.path(), &Options::default());
    // 64×64 8-bit pixels: 4096 bytes. The stream ends after 1000 of them.
    let cut = format!("2.25.{}", uid_number());
    let status = c_store(&station, &cut, image_dataset(&cut, 4096, 1000));
    assert!(
        status >= 0xA000,
        "cut short: refused, not acknowledged: {status:04X}"
    );
    // Complete as sent, but 1000 bytes cannot be a 64×64 image.
    let short = format!("2.25.{}", uid_number());
    let status = c_store(&station, &short, image_dataset(&short, 1000, 1000));
    assert!(status >= 0xA000, "too few pixels: refused: {status:04X}");
    assert_eq!(
        station.instance_count(),
        0,
        "nothing indexed, nothing to forward"
    );
    // The whole image is taken.
    let whole = format!("2.25.{}", uid_number());
    assert_eq!(
        c_store(&station, &whole, image_dataset(&whole, 4096, 4096)),
        0x0000
    );
    assert_eq!(station.instance_count(), 1);
    still_answers(&station);
}
