//! Admission and limits on the DICOM port, tried the way a scanner or a broken device on the
//! clinic LAN would with a raw socket: connections that say nothing or trickle bytes, PDUs and
//! elements declaring gigabytes, fragment floods. Each time the station stays up, its resident
//! memory stays under [`RSS_BOUND_MB`], and a listed device's `echoscu` is answered.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use dicom_ul::pdu::{PDataValueType, Pdu};
use station::dicom::element::element;

use crate::harness::dcmtk;
use crate::harness::raw::*;
use crate::harness::*;

/// The resident memory the station may reach under any of these attacks (it starts near 30 MB).
const RSS_BOUND_MB: u64 = 200;

fn assert_memory_bounded(station: &Station, what: &str) {
    let rss = station.resident_mb();
    eprintln!("{what}: the station holds {rss} MB");
    assert!(
        rss < RSS_BOUND_MB,
        "{what}: the station holds {rss} MB, over the {RSS_BOUND_MB} MB bound"
    );
}

/// Writes `chunk` up to `total` bytes; how many went out before the station cut the connection
/// (an error other than a timeout), or `None` if all of it was taken.
fn flood(stream: &mut TcpStream, total: usize) -> Option<usize> {
    stream
        .set_write_timeout(Some(Duration::from_secs(10)))
        .expect("write timeout");
    let chunk = vec![0x55u8; 1024 * 1024];
    let mut sent = 0;
    while sent < total {
        match stream.write(&chunk) {
            Ok(n) => sent += n,
            Err(e) => {
                assert!(
                    matches!(
                        e.kind(),
                        std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
                    ),
                    "the station must close the connection, not leave it hanging: {e} after {sent} bytes"
                );
                return Some(sent);
            }
        }
    }
    None
}

#[test]
fn a_pdu_longer_than_advertised_is_cut_off_unread_before_and_after_association() {
    let scratch = Scratch::new();
    let station = Station::start(scratch.path(), &Options::default());
    const FLOOD: usize = 300 * 1024 * 1024;

    // Before association: an A-ASSOCIATE-RQ declaring 4 GB.
    let mut raw = connect_from(&station, 2);
    raw.write_all(&[0x01, 0, 0xFF, 0xFF, 0xFF, 0xF0])
        .expect("header");
    let sent = flood(&mut raw, FLOOD).expect("cut off before 300 MB");
    assert!(sent < 64 * 1024 * 1024, "{sent} bytes taken");
    assert_memory_bounded(&station, "a 4 GB association request");

    // After association: a P-DATA-TF declaring 4 GB, against our 1 MB maximum.
    let (mut assoc, _) = associate_as(&station, "DR1", VERIFICATION);
    let stream = assoc.inner_stream();
    stream
        .write_all(&[0x04, 0, 0xFF, 0xFF, 0xFF, 0xF0])
        .expect("header");
    let sent = flood(stream, FLOOD).expect("cut off before 300 MB");
    assert!(sent < 64 * 1024 * 1024, "{sent} bytes taken");
    assert_memory_bounded(&station, "a 4 GB P-DATA-TF");

    // Just over the advertised maximum is refused as well: the A-ABORT comes, unread.
    let (mut assoc, _) = associate_as(&station, "DR1", VERIFICATION);
    let stream = assoc.inner_stream();
    let over = 1024 * 1024 + 1u32;
    stream
        .write_all(&[[0x04, 0].as_slice(), &over.to_be_bytes()].concat())
        .expect("header");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("read timeout");
    let mut answer = [0u8; 10];
    stream.read_exact(&mut answer).expect("an answer");
    assert_eq!(answer[0], 0x07, "A-ABORT: {answer:?}");
    still_answers(&station);
}

#[test]
fn elements_declaring_gigabytes_and_fragment_floods_end_their_association_only() {
    let scratch = Scratch::new();
    let station = Station::start(scratch.path(), &Options::default().worklist_for(&["US1"]));
    // A command element declaring 2 GB, a few bytes of it sent.
    let mut huge = vec![0x00, 0x00, 0x00, 0x10];
    huge.extend_from_slice(&0x8000_0000u32.to_le_bytes());
    huge.extend_from_slice(&[0u8; 16]);
    let (mut assoc, id) = associate(&station, VERIFICATION);
    assoc
        .send(&pdv(
            id,
            PDataValueType::Command,
            command(VERIFICATION, 0x0030, false, &huge),
        ))
        .expect("command");
    let answer = assoc.receive();
    assert!(
        !matches!(answer, Ok(Pdu::PData { .. })),
        "no C-ECHO answer to a 2 GB element: {answer:?}"
    );
    assert_memory_bounded(&station, "a 2 GB command element");

    // An identifier element declaring 2 GB: the query is refused (A900), the association lives.
    let (mut assoc, id) = associate(&station, WORKLIST_FIND);
    assoc.send(&find_request(id)).expect("command");
    let mut identifier = element(0x0010_0010, *b"PN", b"WANG^XIAO ", false).expect("name");
    identifier.extend_from_slice(&[0x10, 0x00, 0x20, 0x00]);
    identifier.extend_from_slice(&0x8000_0000u32.to_le_bytes());
    identifier.extend_from_slice(b"P1");
    assoc
        .send(&pdv(id, PDataValueType::Data, identifier))
        .expect("identifier");
    let answer = assoc.receive().expect("an answer");
    assert_eq!(status_of(&answer), Some(0xA900), "{answer:?}");
    let _ = assoc.release();

    // Non-final fragments of a command, then of an identifier, 1 KB each, without end.
    for (syntax, field, fragments_of) in [
        (VERIFICATION, 0x0030u16, PDataValueType::Command),
        (WORKLIST_FIND, 0x0020, PDataValueType::Data),
    ] {
        let (mut assoc, id) = associate(&station, syntax);
        if fragments_of == PDataValueType::Data {
            assoc
                .send(&pdv(
                    id,
                    PDataValueType::Command,
                    command(syntax, field, true, &[]),
                ))
                .expect("command");
        }
        let mut sent = 0;
        for _ in 0..1000 {
            if assoc
                .send(&fragment(id, fragments_of.clone(), vec![0u8; 1024], false))
                .is_err()
            {
                break;
            }
            sent += 1;
        }
        let answer = assoc.receive();
        assert!(
            matches!(answer, Ok(Pdu::AbortRQ { .. }) | Err(_)),
            "{fragments_of:?} flood of {sent} KB: the association is aborted, got {answer:?}"
        );
        assert_memory_bounded(&station, "a fragment flood");
    }
    still_answers(&station);
}

#[test]
fn a_trickle_of_bytes_does_not_stretch_the_artim_or_the_idle_deadline() {
    let scratch = Scratch::new();
    let station = Station::start(
        scratch.path(),
        &Options {
            artim_timeout_secs: Some(2),
            ..Options::default()
        }
        .tweak(|c| c.dicom.idle_timeout_secs = 2),
    );
    // One byte of an association request every 300 ms: each read is quick, the whole is not.
    let request = association_request("DR1");
    let mut raw = connect_from(&station, 2);
    let connected = Instant::now();
    let mut ended_at = None;
    for byte in request.iter().take(60) {
        if raw.write_all(&[*byte]).is_err() || ended(&raw) {
            ended_at = Some(connected.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    let ended_at = ended_at.expect("the station closed the trickling connection");
    assert!(
        ended_at < Duration::from_secs(5),
        "closed after {ended_at:?}, well past the 2 s ARTIM deadline"
    );

    // In an association: a P-DATA-TF announced, then one byte of it every 300 ms.
    let (mut assoc, _) = associate_as(&station, "DR1", VERIFICATION);
    let stream = assoc.inner_stream();
    stream
        .write_all(&[0x04, 0, 0, 0, 0x04, 0x00])
        .expect("header");
    let started = Instant::now();
    let mut ended_at = None;
    for _ in 0..60 {
        if stream.write_all(&[0]).is_err() || ended(stream) {
            ended_at = Some(started.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    let ended_at = ended_at.expect("the station aborted the trickling association");
    assert!(
        ended_at < Duration::from_secs(5),
        "aborted after {ended_at:?}, well past the 2 s idle deadline"
    );
    still_answers(&station);
}

#[test]
fn strangers_holding_every_slot_leave_room_for_a_listed_device() {
    let scratch = Scratch::new();
    // The defaults: 16 slots, 4 of them reserved, 8 per address; a long ARTIM, so that the
    // strangers in their share hold their slots for the whole test.
    let station = Station::start(
        scratch.path(),
        &Options {
            allowed_callers: vec!["DR1".into()],
            artim_timeout_secs: Some(60),
            ..Options::default()
        },
    );
    // A trickler: one byte of a request every second, from its own address.
    let mut trickler = connect_from(&station, 42);
    let request = association_request("SCANNER");
    trickler.write_all(&request[..1]).expect("first byte");
    // Forty connections that say nothing, each from its own address.
    let strangers: Vec<TcpStream> = (2..42).map(|host| connect_from(&station, host)).collect();
    let attacked = Instant::now();
    let mut answered = None;
    for attempt in 0..15 {
        let _ = trickler.write_all(&request[1 + attempt..2 + attempt]);
        if dcmtk::echoscu(station.dicom_port, "DR1").status.success() {
            answered = Some(attacked.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    let answered = answered.expect("the listed device's echoscu is answered");
    let holding = strangers.iter().filter(|s| !ended(s)).count();
    eprintln!(
        "DR1's echoscu answered {answered:?} after 40 strangers connected; {holding} still held"
    );
    assert!(
        answered < Duration::from_secs(10),
        "echoscu answered only after {answered:?}"
    );
    assert!(
        holding >= 10 && !ended(&trickler),
        "the strangers still hold their share ({holding} of 40) and the trickler its slot"
    );
    assert_memory_bounded(&station, "40 idle connections and a trickler");
    drop(strangers);
    still_answers(&station);
}

#[test]
fn one_address_holds_at_most_its_cap_and_the_next_is_told_to_retry() {
    let scratch = Scratch::new();
    let station = Station::start(scratch.path(), &Options::default());
    // The default cap is 8 connections from one address.
    let held: Vec<TcpStream> = (0..8).map(|_| connect_from(&station, 50)).collect();
    let mut ninth = connect_from(&station, 50);
    ninth
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    let mut answer = [0u8; 10];
    ninth.read_exact(&mut answer).expect("a refusal");
    assert_eq!(
        (answer[0], answer[7], answer[8], answer[9]),
        (0x03, 2, 3, 2),
        "A-ASSOCIATE-RJ, transient, service provider (presentation), local limit exceeded"
    );
    assert!(held.iter().all(|s| !ended(s)), "the first 8 are held");
    still_answers(&station);
}

#[test]
fn a_device_calling_another_ae_title_is_refused_with_the_reason() {
    let scratch = Scratch::new();
    let station = Station::start(scratch.path(), &Options::default());
    let run = run_tool(
        std::process::Command::new(dcmtk::ECHOSCU)
            .args(["-v", "-to", "20", "-ta", "20", "-td", "20"])
            .args(["-aet", "DR1", "-aec", "ANY-SCP"])
            .arg("127.0.0.1")
            .arg(station.dicom_port.to_string()),
    );
    assert!(!run.status.success(), "refused:\n{}", run.log);
    assert!(
        run.log.contains("Called AE Title Not Recognized"),
        "the PS3.8 reason:\n{}",
        run.log
    );
    still_answers(&station);
}
