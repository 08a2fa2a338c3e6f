//! Lossless compression on the wire (issue 15): images received uncompressed reach a real
//! Orthanc as JPEG-LS (or JPEG 2000) lossless, and decode there (pydicom with its JPEG-LS and
//! JPEG 2000 plug-ins, from `STATION_TEST_PYTHON`) to exactly the device's pixels; what the
//! codec cannot hold exactly, and what the device already compressed, arrive as received. Big
//! Endian input is compressed like little endian.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use dicom_core::VR;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use serde_json::Value;
use station::config::{Destination, WireCompression, WireSyntax};

use crate::harness::dcmtk::convert;
use crate::harness::fixtures::documents::{el, write};
use crate::harness::*;

const JPEG_LS: &str = "1.2.840.10008.1.2.4.80";
const JPEG_2000: &str = "1.2.840.10008.1.2.4.90";
const JPEG_BASELINE: &str = "1.2.840.10008.1.2.4.50";

mod bytes;
mod fast_link;
mod refusal;

/// An image as a device makes it.
struct Image {
    name: &'static str,
    photometric: &'static str,
    samples: u16,
    bits_allocated: u16,
    bits_stored: u16,
    signed: bool,
    frames: u32,
    rows: u16,
    columns: u16,
}

/// Pixels with structure and noise (an edge, a gradient), in range for the image's bits.
fn pixels(image: &Image, rows: u16, columns: u16) -> Vec<u8> {
    let count = usize::from(rows) * usize::from(columns) * usize::from(image.samples);
    let mut out = Vec::new();
    let span = 1i64 << image.bits_stored;
    let mut noise = 12345u32;
    for frame in 0..image.frames as usize {
        for i in 0..count {
            noise = noise.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let (r, c) = (i / usize::from(columns), i % usize::from(columns));
            let edge = if c > usize::from(columns) / 2 {
                span / 3
            } else {
                0
            };
            let v = ((r * 7 + c * 3 + frame * 11) as i64 + edge + i64::from(noise >> 28)) % span;
            let v = if image.signed { v - span / 2 } else { v };
            match image.bits_allocated {
                8 => out.push(v as u8),
                _ => out.extend_from_slice(&(v as i16 as u16).to_le_bytes()),
            }
        }
    }
    out
}

/// Writes `image` of `study` to `dir` (explicit VR little endian); returns its path and SOP UID.
fn make(dir: &Path, study: &str, image: &Image) -> (PathBuf, String) {
    let (rows, columns) = (image.rows, image.columns);
    let sop = fixtures::uid();
    let mut elements = vec![
        el(tags::SOP_CLASS_UID, VR::UI, "1.2.840.10008.5.1.4.1.1.7"),
        el(tags::SOP_INSTANCE_UID, VR::UI, sop.as_str()),
        el(tags::MODALITY, VR::CS, "OT"),
        el(tags::PATIENT_NAME, VR::PN, "WIRE^TEST"),
        el(tags::PATIENT_ID, VR::LO, "P-WIRE-1"),
        el(tags::STUDY_INSTANCE_UID, VR::UI, study),
        el(tags::SERIES_INSTANCE_UID, VR::UI, fixtures::uid().as_str()),
        el(tags::SAMPLES_PER_PIXEL, VR::US, image.samples),
        el(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, image.photometric),
        el(tags::ROWS, VR::US, rows),
        el(tags::COLUMNS, VR::US, columns),
        el(tags::BITS_ALLOCATED, VR::US, image.bits_allocated),
        el(tags::BITS_STORED, VR::US, image.bits_stored),
        el(tags::HIGH_BIT, VR::US, image.bits_stored - 1),
        el(tags::PIXEL_REPRESENTATION, VR::US, u16::from(image.signed)),
    ];
    if image.samples == 3 {
        elements.push(el(tags::PLANAR_CONFIGURATION, VR::US, 0u16));
    }
    if image.frames > 1 {
        elements.push(el(tags::NUMBER_OF_FRAMES, VR::IS, image.frames.to_string()));
    }
    let vr = if image.bits_allocated == 8 {
        VR::OB
    } else {
        VR::OW
    };
    elements.push(el(tags::PIXEL_DATA, vr, pixels(image, rows, columns)));
    let path = dir.join(format!("{}.dcm", image.name));
    write(InMemDicomObject::from_element_iter(elements), &path);
    (path, sop)
}

fn image(name: &'static str, photometric: &'static str, bits: (u16, u16), signed: bool) -> Image {
    Image {
        name,
        photometric,
        samples: if photometric == "RGB" { 3 } else { 1 },
        bits_allocated: bits.0,
        bits_stored: bits.1,
        signed,
        frames: 1,
        rows: 64,
        columns: 48,
    }
}

/// Each instance the hub holds, by SOP Instance UID: its file, downloaded to `dir`, and the
/// transfer syntax Orthanc reports for it.
fn hub_copies(hub: &Orthanc, dir: &Path) -> BTreeMap<String, (PathBuf, String)> {
    std::fs::create_dir_all(dir).unwrap();
    let list = hub.get("/instances?expand").expect("GET /instances?expand");
    let mut out = BTreeMap::new();
    for instance in list.as_array().expect("instances") {
        let id = instance["ID"].as_str().expect("ID");
        let sop = instance["MainDicomTags"]["SOPInstanceUID"]
            .as_str()
            .expect("SOP");
        let (_, ts) = hub
            .get_bytes(&format!("/instances/{id}/metadata/TransferSyntax"))
            .expect("transfer syntax");
        let (_, file) = hub
            .get_bytes(&format!("/instances/{id}/file"))
            .expect("file");
        let path = dir.join(format!("{sop}.dcm"));
        std::fs::write(&path, file).unwrap();
        out.insert(
            sop.to_string(),
            (path, String::from_utf8_lossy(&ts).into_owned()),
        );
    }
    out
}

/// What pixels.py says of each (original, hub copy), by original path.
/// `source` compressed to JPEG 2000 lossless by pydicom with OpenJPEG, as a device would send it.
fn j2k_by_pydicom(source: &Path, out: &Path) {
    let python = std::env::var_os("STATION_TEST_PYTHON").unwrap_or_else(|| "python3".into());
    let script = "import sys, pydicom\n\
                  from pydicom.uid import JPEG2000Lossless\n\
                  ds = pydicom.dcmread(sys.argv[1])\n\
                  ds.compress(JPEG2000Lossless, generate_instance_uid=False)\n\
                  ds.save_as(sys.argv[2])\n";
    let output = std::process::Command::new(&python)
        .args(["-c", script])
        .arg(source)
        .arg(out)
        .output()
        .expect("run python (scripts/test.sh makes the venv)");
    assert!(
        output.status.success(),
        "pydicom JPEG 2000: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn compare_pixels(pairs: &[(&Path, &Path)]) -> BTreeMap<String, Value> {
    let python = std::env::var_os("STATION_TEST_PYTHON").unwrap_or_else(|| "python3".into());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/wire/pixels.py");
    let mut cmd = std::process::Command::new(&python);
    cmd.arg(&script);
    for (a, b) in pairs {
        cmd.arg(format!("{},{}", a.display(), b.display()));
    }
    let output = cmd
        .output()
        .expect("run python (scripts/test.sh makes the venv)");
    assert!(
        output.status.success(),
        "pixels.py failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let list: Vec<Value> = serde_json::from_slice(&output.stdout).expect("pixels.py JSON");
    list.into_iter()
        .map(|v| (v["original"].as_str().unwrap_or("").to_string(), v))
        .collect()
}

/// One destination sending with `syntax` always: the hub here is on this computer, a link
/// faster than the encoder, where the fast-link rule (`compression = "auto"`) would send most
/// images as received (`fast_link` shows that).
fn compressing(url: String, syntax: WireSyntax) -> Options {
    Options {
        quiet_period_secs: Some(1),
        destinations: vec![Destination {
            transfer_syntax: syntax,
            compression: WireCompression::Always,
            ..destination("hub", url)
        }],
        ..Options::default()
    }
}

/// A hub, a station sending to it in JPEG-LS, and the device's folder.
fn jpeg_ls_station(scratch: &Scratch) -> (Orthanc, Station, PathBuf) {
    let hub = Orthanc::start(&scratch.join("hub"));
    let station = Station::start(
        scratch.path(),
        &compressing(hub.dicomweb_url(), WireSyntax::JpegLsLossless),
    );
    let dir = scratch.join("device");
    std::fs::create_dir_all(&dir).unwrap();
    (hub, station, dir)
}

/// The transfer syntax each instance is stored in, by SOP Instance UID.
fn stored_syntaxes(station: &Station) -> BTreeMap<String, String> {
    station
        .instances()
        .into_iter()
        .map(|r| (r.sop_instance_uid, r.transfer_syntax))
        .collect()
}

/// 8-bit, 12-in-16-bit, 16-bit and signed monochrome, palette colour, RGB and a multi-frame
/// cine, received in explicit or implicit VR or deflated, reach a JPEG-LS destination
/// compressed and pixel-exact; images the device compressed (JPEG baseline, JPEG-LS and JPEG
/// 2000 lossless) arrive byte for byte as it sent them; nothing stays in `derived/wire/`.
#[test]
fn uncompressed_images_reach_the_hub_as_jpeg_ls_with_exactly_their_pixels() {
    let scratch = Scratch::new();
    let (hub, station, dir) = jpeg_ls_station(&scratch);
    let (explicit_study, implicit_study) = (fixtures::uid(), fixtures::uid());
    let mut explicit = Vec::new();
    for i in [
        image("gray8", "MONOCHROME2", (8, 8), false),
        image("rgb", "RGB", (8, 8), false),
        image("signed", "MONOCHROME2", (16, 12), true),
        image("gray16full", "MONOCHROME2", (16, 16), false),
        image("palette", "PALETTE COLOR", (8, 8), false),
    ] {
        explicit.push(make(&dir, &explicit_study, &i));
    }
    let jpeg = dir.join("jpeg-baseline.dcm");
    let (source, _) = make(
        &dir,
        &explicit_study,
        &image("for-jpeg", "MONOCHROME2", (8, 8), false),
    );
    convert("dcmcjpeg", "+eb", &source, &jpeg);
    std::fs::remove_file(&source).unwrap();
    // dcmcjpeg gives a lossy image a new SOP Instance UID.
    let jpeg_sop = read_part10(&jpeg).sop_instance_uid;
    // Lossless ones the device made itself: JPEG-LS by DCMTK, JPEG 2000 by pydicom (OpenJPEG).
    let (source, jls_sop) = make(
        &dir,
        &explicit_study,
        &image("for-jls", "MONOCHROME2", (16, 12), false),
    );
    let jls = dir.join("jpeg-ls.dcm");
    convert("dcmcjpls", "+el", &source, &jls);
    std::fs::remove_file(&source).unwrap();
    let (source, j2k_sop) = make(
        &dir,
        &explicit_study,
        &image("for-j2k", "RGB", (8, 8), false),
    );
    let j2k = dir.join("jpeg2000.dcm");
    j2k_by_pydicom(&source, &j2k);
    std::fs::remove_file(&source).unwrap();
    let mut implicit = Vec::new();
    let cine = Image {
        frames: 12,
        ..image("cine", "MONOCHROME2", (8, 8), false)
    };
    for i in [image("gray16", "MONOCHROME2", (16, 12), false), cine] {
        implicit.push(make(&dir, &implicit_study, &i));
    }

    let refs: Vec<&Path> = explicit.iter().map(|(p, _)| p.as_path()).collect();
    station.send(&refs);
    // `-xy`: the device proposes JPEG Baseline, as it has the image.
    run_tool(&mut station.storescu_command_with("DR1", &["-xy"], &[&jpeg]))
        .assert_success("storescu -xy");
    run_tool(&mut station.storescu_command_with("DR1", &["-xt"], &[&jls]))
        .assert_success("storescu -xt");
    run_tool(&mut station.storescu_command_with("DR1", &["-xv"], &[&j2k]))
        .assert_success("storescu -xv");
    // `-xi`: proposed in Implicit VR Little Endian only, so the station stores them that way.
    let refs: Vec<&Path> = implicit.iter().map(|(p, _)| p.as_path()).collect();
    run_tool(&mut station.storescu_command_with("DR1", &["-xi"], &refs))
        .assert_success("storescu -xi");
    // `-xd`: Deflated Explicit VR Little Endian, in a study of its own.
    let (deflated, deflated_sop) = make(
        &dir,
        &fixtures::uid(),
        &image("deflated", "MONOCHROME2", (16, 12), false),
    );
    run_tool(&mut station.storescu_command_with("DR1", &["-xd"], &[&deflated]))
        .assert_success("storescu -xd");
    station.wait_delivered(3);

    let stored = stored_syntaxes(&station);
    for (_, sop) in &implicit {
        assert_eq!(
            stored[sop], "1.2.840.10008.1.2",
            "stored as received, implicit"
        );
    }
    for (_, sop) in &explicit {
        assert_eq!(
            stored[sop], "1.2.840.10008.1.2.1",
            "stored as received, explicit"
        );
    }
    assert_eq!(
        stored[&deflated_sop], "1.2.840.10008.1.2.1.99",
        "stored deflated"
    );
    let held = hub_copies(&hub, &scratch.join("held"));
    assert_eq!(held.len(), 11, "every instance at the hub once");
    let mut pairs = Vec::new();
    let deflated = [(deflated, deflated_sop)];
    for (path, sop) in explicit.iter().chain(&implicit).chain(&deflated) {
        let (copy, ts) = &held[sop];
        assert_eq!(ts, JPEG_LS, "{} held as JPEG-LS", path.display());
        pairs.push((path.as_path(), copy.as_path()));
    }
    let compared = compare_pixels(&pairs);
    assert_eq!(compared.len(), pairs.len());
    for (original, got) in &compared {
        assert_eq!(got["equal"], Value::Bool(true), "{original}: {got}");
        assert_eq!(got["transfer_syntax"], JPEG_LS, "{original}: {got}");
    }
    let cine_shape = &compared[&implicit[1].0.display().to_string()]["shape"];
    assert_eq!(
        cine_shape,
        &serde_json::json!([12, 64, 48]),
        "the cine's frames"
    );

    let (jpeg_copy, ts) = &held[&jpeg_sop];
    assert_eq!(ts, JPEG_BASELINE, "the device's JPEG goes as it came");
    assert_same_dataset(&jpeg, jpeg_copy);
    let (jls_copy, ts) = &held[&jls_sop];
    assert_eq!(ts, JPEG_LS, "the device's JPEG-LS goes as it came");
    assert_same_dataset(&jls, jls_copy);
    let (j2k_copy, ts) = &held[&j2k_sop];
    assert_eq!(ts, JPEG_2000, "the device's JPEG 2000 goes as it came");
    assert_same_dataset(&j2k, j2k_copy);
    let wire = station.data_dir.join("derived/wire");
    let left = std::fs::read_dir(&wire).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "no compressed copy outlives its request");
}

/// Images a device sends in Explicit VR Big Endian (retired, still sent by old modalities; made
/// here by DCMTK's `dcmconv +tb`, proposed big endian first by `storescu -xb`): stored as
/// received, and held at a JPEG-LS destination compressed, decoding to exactly the pixels of the
/// device's file, and of the little endian image it was made from.
#[test]
fn big_endian_images_reach_the_hub_as_jpeg_ls_with_exactly_their_pixels() {
    let scratch = Scratch::new();
    let (hub, station, dir) = jpeg_ls_station(&scratch);
    let study = fixtures::uid();
    let mut sent = Vec::new();
    for i in [
        image("be-gray16", "MONOCHROME2", (16, 12), false),
        image("be-gray16full", "MONOCHROME2", (16, 16), false),
        image("be-gray8", "MONOCHROME2", (8, 8), false),
        image("be-rgb", "RGB", (8, 8), false),
        Image {
            frames: 3,
            ..image("be-cine", "MONOCHROME2", (16, 12), false)
        },
    ] {
        let (little, sop) = make(&dir, &study, &i);
        let big = dir.join(format!("{}-big.dcm", i.name));
        convert("dcmconv", "+tb", &little, &big);
        sent.push((little, big, sop));
    }
    let big: Vec<&Path> = sent.iter().map(|(_, b, _)| b.as_path()).collect();
    run_tool(&mut station.storescu_command_with("DR1", &["-xb"], &big))
        .assert_success("storescu -xb");
    station.wait_delivered(1);

    let stored = stored_syntaxes(&station);
    let held = hub_copies(&hub, &scratch.join("held"));
    assert_eq!(held.len(), sent.len(), "every instance at the hub once");
    let mut pairs = Vec::new();
    for (little, big, sop) in &sent {
        assert_eq!(
            stored[sop], "1.2.840.10008.1.2.2",
            "stored as received, big endian"
        );
        let (copy, ts) = &held[sop];
        assert_eq!(ts, JPEG_LS, "{} held as JPEG-LS", big.display());
        pairs.push((big.as_path(), copy.as_path()));
        pairs.push((little.as_path(), copy.as_path()));
    }
    let compared = compare_pixels(&pairs);
    assert_eq!(compared.len(), pairs.len());
    for (original, got) in &compared {
        assert_eq!(got["equal"], Value::Bool(true), "{original}: {got}");
    }
    let cine = &compared[&sent[4].1.display().to_string()]["shape"];
    assert_eq!(cine, &serde_json::json!([3, 64, 48]), "the cine's frames");
}

/// A JPEG 2000 destination gets a 12-bit image as JPEG 2000 lossless, pixel-exact; an
/// as-received destination beside it gets the file as the device sent it.
#[test]
fn a_jpeg2000_destination_gets_jpeg2000_and_an_as_received_one_the_original() {
    let scratch = Scratch::new();
    let j2k_hub = Orthanc::start(&scratch.join("j2k"));
    let plain_hub = Orthanc::start(&scratch.join("plain"));
    let mut options = compressing(j2k_hub.dicomweb_url(), WireSyntax::Jpeg2000Lossless);
    options.destinations.push(Destination {
        transfer_syntax: WireSyntax::AsReceived,
        ..destination("plain", plain_hub.dicomweb_url())
    });
    let station = Station::start(scratch.path(), &options);
    let dir = scratch.join("device");
    std::fs::create_dir_all(&dir).unwrap();
    let (path, sop) = make(
        &dir,
        &fixtures::uid(),
        &image("gray16", "MONOCHROME2", (16, 12), false),
    );
    station.send(&[&path]);
    station.wait_delivered(2);

    let held = hub_copies(&j2k_hub, &scratch.join("held-j2k"));
    let (copy, ts) = &held[&sop];
    assert_eq!(ts, JPEG_2000);
    let compared = compare_pixels(&[(path.as_path(), copy.as_path())]);
    let got = &compared[&path.display().to_string()];
    assert_eq!(got["equal"], Value::Bool(true), "{got}");

    let plain = hub_copies(&plain_hub, &scratch.join("held-plain"));
    let (copy, ts) = &plain[&sop];
    assert_eq!(ts, "1.2.840.10008.1.2.1");
    assert_same_dataset(&path, copy);
}

/// A clinic day to a JPEG-LS destination, the station killed (-9) while its first requests'
/// compressed copies wait at a stalled hub: after the restart every instance is delivered
/// once, the images held compressed, and no compressed copy is left on disk.
#[test]
fn kill_9_with_compressed_copies_in_flight_then_every_instance_once_and_none_left() {
    use std::time::Duration;
    let scratch = Scratch::new();
    let hub = Orthanc::start(&scratch.join("hub"));
    let stall = Fault::Stall(Duration::from_secs(5));
    let proxy = ChaosProxy::start(hub.http_port, vec![stall.clone(), stall]);
    let mut options = Options {
        poll_reports: Some(false),
        ..Options::sending_to(format!("http://127.0.0.1:{}/dicom-web", proxy.port))
    };
    options.destinations[0].transfer_syntax = WireSyntax::JpegLsLossless;
    // What is asserted is that the images are held compressed: whatever the link's speed.
    options.destinations[0].compression = WireCompression::Always;
    let mut station = Station::start(scratch.path(), &options);
    let day = demo_day(&scratch.join("day"), station::demo::Scale::Small, 27);
    let paths: Vec<&Path> = day.iter().map(|f| f.path.as_path()).collect();
    station.send(&paths);

    let wire = station.data_dir.join("derived/wire");
    let copies = || std::fs::read_dir(&wire).map(|d| d.count()).unwrap_or(0);
    wait_for(
        "compressed copies in flight",
        Duration::from_secs(30),
        || {
            let stalled = proxy.faults_used.lock().expect("lock").len() == 2;
            (stalled && copies() > 0).then_some(())
        },
    );
    station.kill9();
    assert!(copies() > 0, "copies were on disk at the kill");
    station.restart();

    let rows = station.wait_delivered(15);
    assert_eq!(rows.iter().map(|r| r.stored).sum::<i64>(), 40);
    let held = hub_copies(&hub, &scratch.join("held"));
    assert_eq!(held.len(), 40, "every instance at the hub, once");
    // The day's radiographs and ultrasound go compressed; its ECGs (no pixel data) as received.
    for f in &day {
        let (_, ts) = &held[&f.sop_instance_uid];
        let expected = if f.modality == "ECG" {
            "1.2.840.10008.1.2.1"
        } else {
            JPEG_LS
        };
        assert_eq!(ts, expected, "{} {}", f.modality, f.path.display());
    }
    assert_eq!(copies(), 0, "no compressed copy outlives the restart");
}

/// A study its order corrects goes to a JPEG-LS destination as one file holding both: the
/// registered patient with the received values in Original Attributes Sequence, and the
/// device's pixels compressed exactly.
#[test]
fn a_corrected_copy_is_the_one_compressed() {
    let scratch = Scratch::new();
    let hub = Orthanc::start(&scratch.join("hub"));
    let station = Station::start(
        scratch.path(),
        &compressing(hub.dicomweb_url(), WireSyntax::JpegLsLossless),
    );
    station.cli(&["patient", "add", "--name", "赵^建国", "--clinic-id", "P515"]);
    station.cli(&[
        "order",
        "add",
        "--patient",
        "P515",
        "--modality",
        "DX",
        "--date",
        station::demo::STUDY_DATE,
        "--accession",
        "ACC515",
    ]);
    let day = demo_day(&scratch.join("day"), station::demo::Scale::Small, 43);
    let (paths, demo) = dx_study(&day, "GB18030", &scratch.join("send"));
    for p in &paths {
        crate::harness::dcmtk::dcmodify(p, "(0008,0050)=ACC515");
    }
    station.send(&paths);
    station.wait_delivered(1);

    let held = hub_copies(&hub, &scratch.join("held"));
    assert_eq!(held.len(), paths.len());
    let mut pairs = Vec::new();
    for p in &paths {
        let sop = read_part10(p).sop_instance_uid;
        let (copy, ts) = &held[&sop];
        assert_eq!(ts, JPEG_LS, "{}", p.display());
        pairs.push((p.as_path(), copy.as_path()));
    }
    for tags in hub.tags() {
        assert_eq!(tags["PatientName"], "赵^建国", "{tags}");
        let original = &tags["OriginalAttributesSequence"][0]["ModifiedAttributesSequence"][0];
        assert_eq!(original["PatientName"], demo.patient_name.as_str());
    }
    for (original, got) in compare_pixels(&pairs) {
        assert_eq!(got["equal"], Value::Bool(true), "{original}: {got}");
    }
}
