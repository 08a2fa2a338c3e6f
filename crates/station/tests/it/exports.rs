//! Devices that only export files: PDF, JPEG/PNG and HL7 aECG exports dropped into watched
//! folders with device profiles become DICOM objects that DCMTK's dciodvfy finds valid and a
//! real Orthanc stores and renders.

mod samples;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use dicom_dictionary_std::tags;
use station::store::queue::queue_rows;
use station::store::QuarantineReason;

use station::config::WatchFolder;

use crate::harness::*;
use samples::drop_file;

const DCIODVFY: &str = "/usr/bin/dciodvfy";
const UID_ROOT: &str = "1.2.826.0.1.3680043.10.1234";
/// The ECG cart's export folder: PDF reports and HL7 aECG.
fn ecg_folder(path: &Path) -> WatchFolder {
    watch_folder(path, Some(device("ECG", &["pdf", "aecg"], "ECG-1250")))
}

/// The ultrasound's export folder: JPEG, PNG and BMP images.
fn us_folder(path: &Path) -> WatchFolder {
    watch_folder(path, Some(device("US", &["jpeg", "png", "bmp"], "DC-30")))
}

/// A station watching one ECG cart's export folder (no hub).
fn ecg_station(scratch: &Scratch) -> (Station, PathBuf) {
    let ecg = scratch.join("ecg-export");
    let station = Station::start(
        scratch.path(),
        &Options {
            watch: vec![ecg_folder(&ecg)],
            ..Options::default()
        },
    );
    (station, ecg)
}

/// dciodvfy's error lines for a stored object (warnings are not errors).
fn dciodvfy_errors(file: &Path) -> Vec<String> {
    assert!(
        Path::new(DCIODVFY).exists(),
        "{DCIODVFY} missing (Debian package dicom3tools)"
    );
    let run = run_tool(Command::new(DCIODVFY).arg(file));
    run.log
        .lines()
        .filter(|l| l.starts_with("Error"))
        .map(str::to_string)
        .collect()
}

fn open(file: &Path) -> dicom_object::DefaultDicomObject {
    dicom_object::open_file(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

fn text(obj: &dicom_object::DefaultDicomObject, tag: dicom_core::Tag) -> String {
    obj.element(tag)
        .ok()
        .and_then(|e| e.to_str().ok())
        .map(|s| s.trim_end_matches(['\0', ' ']).to_string())
        .unwrap_or_default()
}

fn wait_rows(station: &Station, n: usize) -> Vec<station::store::InstanceRow> {
    wait_for(&format!("{n} converted instances"), WAIT_TIMEOUT, || {
        let rows = station.instances();
        (rows.len() >= n).then_some(rows)
    })
}

/// Orthanc's instance id for a SOP Instance UID.
fn orthanc_id(hub: &Orthanc, sop: &str) -> String {
    let ids = hub.get("/instances").expect("GET /instances");
    for id in ids.as_array().expect("ids") {
        let id = id.as_str().expect("id");
        let tags = hub
            .get(&format!("/instances/{id}/simplified-tags"))
            .expect("tags");
        if tags["SOPInstanceUID"] == sop {
            return id.to_string();
        }
    }
    panic!("{sop} is not at the hub");
}

#[test]
fn pdf_and_image_exports_become_valid_dicom_that_reaches_the_hub() {
    let scratch = Scratch::new();
    let hub = Orthanc::start(&scratch.join("hub"));
    let ecg = scratch.join("ecg-export");
    let us = scratch.join("us-export");
    let station = Station::start(
        scratch.path(),
        &Options {
            quiet_period_secs: Some(2),
            watch: vec![ecg_folder(&ecg), us_folder(&us)],
            uid_root: Some(UID_ROOT.into()),
            ..Options::sending_to(hub.dicomweb_url())
        },
    );

    // The technician registered the patient and ordered an ECG; no ultrasound order exists.
    let today = station::registry::today();
    station.register("P700", "张^建华", "ECG", &today, "ACC700");

    let report = samples::pdf("Sinus rhythm 72 bpm", "20261129143005");
    drop_file(&ecg.join("ECG_20261129_1430.pdf"), &report);
    let jpegs = [
        samples::jpeg(320, 240, 7, true),
        samples::jpeg(320, 240, 90, false),
    ];
    let (png, png_pixels) = samples::png_gray(64, 48);
    drop_file(&us.join("exam1").join("IMG0001.JPG"), &jpegs[0]);
    drop_file(&us.join("exam1").join("IMG0002.JPG"), &jpegs[1]);
    drop_file(&us.join("exam1").join("IMG0003.PNG"), &png);
    // Another exam's export, in its own subfolder.
    drop_file(
        &us.join("exam2").join("IMG0001.JPG"),
        &samples::jpeg(320, 240, 30, true),
    );

    let rows = wait_rows(&station, 5);
    assert_eq!(rows.len(), 5, "one object per export file: {rows:#?}");
    let (pdf_rows, image_rows): (Vec<_>, Vec<_>) = rows
        .iter()
        .partition(|r| r.sop_class_uid == "1.2.840.10008.5.1.4.1.1.104.1");
    assert_eq!(pdf_rows.len(), 1, "the PDF became an Encapsulated PDF");
    assert_eq!(pdf_rows[0].modality, "ECG");
    assert_eq!(pdf_rows[0].source_kind, "folder");
    assert_eq!(pdf_rows[0].patient_id, "P700", "the ECG order's patient");
    assert_eq!(pdf_rows[0].patient_name, "张^建华");
    assert_eq!(image_rows.len(), 4);
    let (exam2, image_rows): (Vec<_>, Vec<_>) = image_rows
        .into_iter()
        .partition(|r| r.source.contains("exam2"));
    assert_eq!(exam2.len(), 1);
    assert_ne!(
        exam2[0].study_uid, image_rows[0].study_uid,
        "another exam, another study"
    );
    for r in &image_rows {
        assert_eq!(
            r.sop_class_uid, "1.2.840.10008.5.1.4.1.1.7",
            "Secondary Capture"
        );
        assert_eq!(r.modality, "US");
        assert_eq!(
            r.series_uid, image_rows[0].series_uid,
            "one exam, one series"
        );
        assert_ne!(r.study_uid, pdf_rows[0].study_uid);
        assert_eq!(
            r.patient_name, "",
            "no ultrasound order: waits for assignment"
        );
    }
    let conn = station.reader();
    let order_study: String = conn
        .query_row(
            "SELECT study_uid FROM orders WHERE accession = 'ACC700'",
            [],
            |r| r.get(0),
        )
        .expect("the order's study");
    assert_eq!(
        pdf_rows[0].study_uid, order_study,
        "the PDF joins the order's study"
    );
    for r in &rows {
        let mut made_here = vec![&r.sop_instance_uid, &r.series_uid];
        if r.study_uid != order_study {
            made_here.push(&r.study_uid);
        }
        for uid in made_here {
            assert!(
                uid.starts_with(&format!("{UID_ROOT}.")),
                "{uid} under the configured root"
            );
            assert!(uid.len() <= 64);
        }
        let file = station.data_dir.join(&r.path);
        let errors = dciodvfy_errors(&file);
        assert!(
            errors.is_empty(),
            "dciodvfy on {}:\n{}",
            r.path,
            errors.join("\n")
        );
        let obj = open(&file);
        assert_eq!(text(&obj, tags::SPECIFIC_CHARACTER_SET), "ISO_IR 192");
    }

    // The PDF's acquisition time comes from the PDF; its bytes are inside unchanged.
    let pdf_obj = open(&station.data_dir.join(&pdf_rows[0].path));
    assert_eq!(text(&pdf_obj, tags::ACCESSION_NUMBER), "ACC700");
    assert_eq!(
        text(&pdf_obj, tags::ACQUISITION_DATE_TIME),
        "20261129143005"
    );
    assert_eq!(text(&pdf_obj, tags::CONVERSION_TYPE), "WSD");
    // Images: numbered in arrival order; a subsampled JPEG kept as JPEG Baseline, a 4:4:4 one
    // (YBR_FULL, which JPEG Baseline objects may not declare) and the PNG decoded.
    let mut numbered: Vec<(i64, String, String)> = image_rows
        .iter()
        .map(|r| {
            let o = open(&station.data_dir.join(&r.path));
            let n = text(&o, tags::INSTANCE_NUMBER)
                .parse()
                .expect("instance number");
            (n, r.transfer_syntax.clone(), r.sop_instance_uid.clone())
        })
        .collect();
    numbered.sort();
    let numbers: Vec<i64> = numbered.iter().map(|n| n.0).collect();
    assert_eq!(numbers, vec![1, 2, 3]);
    assert_eq!(numbered[0].1, "1.2.840.10008.1.2.4.50");
    assert_eq!(numbered[1].1, "1.2.840.10008.1.2.1");
    assert_eq!(numbered[2].1, "1.2.840.10008.1.2.1");

    // A thumbnail of each, so a technician can tell whose it is (the PDF's page rendered).
    assert!(
        station::convert::thumbnail::pdftoppm().is_some(),
        "pdftoppm missing (Debian package poppler-utils)"
    );
    for r in &rows {
        let thumb = station::convert::thumbnail::path(&station.data_dir, &r.sop_instance_uid);
        // Written just after the instance is indexed: wait for it rather than race it.
        let img = wait_for("the thumbnail written", WAIT_TIMEOUT, || {
            image::open(&thumb).ok()
        });
        assert!(img.width() <= 512 && img.height() <= 512 && img.width() >= 32);
    }

    // The originals are kept in done/, as exported.
    let done = ecg.join("done").join("ECG_20261129_1430.pdf");
    wait_for("the PDF export in done/", WAIT_TIMEOUT, || {
        done.is_file().then_some(())
    });
    assert_eq!(std::fs::read(&done).unwrap(), report);

    // At the hub: the PDF comes back byte for byte, the images render.
    wait_for(
        "the three studies delivered",
        Duration::from_secs(120),
        || {
            let conn = station::store::open_reader(&station.db_path()).ok()?;
            let q = queue_rows(&conn).ok()?;
            (q.len() == 3 && q.iter().all(|r| r.state == "delivered")).then_some(())
        },
    );
    let pdf_id = orthanc_id(&hub, &pdf_rows[0].sop_instance_uid);
    let tags_at_hub = hub
        .get(&format!("/instances/{pdf_id}/simplified-tags"))
        .expect("tags");
    assert_eq!(
        tags_at_hub["PatientName"], "张^建华",
        "in that patient's study at the hub"
    );
    assert_eq!(tags_at_hub["PatientID"], "P700");
    assert_eq!(tags_at_hub["AccessionNumber"], "ACC700");
    let (_, file) = hub
        .get_bytes(&format!("/instances/{pdf_id}/file"))
        .expect("file");
    let at_hub = dicom_object::from_reader(std::io::Cursor::new(file[128..].to_vec()))
        .expect("the hub's copy parses");
    let doc = at_hub
        .element(tags::ENCAPSULATED_DOCUMENT)
        .expect("document");
    let doc = doc.to_bytes().expect("bytes");
    assert_eq!(
        &doc[..report.len()],
        &report[..],
        "the PDF at the hub is the export"
    );
    for (_, _, sop) in &numbered {
        let id = orthanc_id(&hub, sop);
        let (kind, body) = hub
            .get_bytes(&format!("/instances/{id}/preview"))
            .expect("Orthanc renders a preview");
        assert!(kind.starts_with("image/"), "preview is an image: {kind}");
        let preview = image::load_from_memory(&body).expect("the preview decodes");
        assert!(
            preview.width() == 320 || preview.width() == 64,
            "{}",
            preview.width()
        );
    }
    // PNG pixels are stored exactly.
    let png_obj = open(
        &station.data_dir.join(
            &image_rows
                .iter()
                .find(|r| r.sop_instance_uid == numbered[2].2)
                .unwrap()
                .path,
        ),
    );
    let stored = png_obj
        .element(tags::PIXEL_DATA)
        .unwrap()
        .to_bytes()
        .unwrap();
    assert_eq!(&stored[..png_pixels.len()], &png_pixels[..]);
}

#[test]
fn exports_that_cannot_be_converted_are_quarantined_with_their_reason() {
    let scratch = Scratch::new();
    let (station, ecg) = ecg_station(&scratch);
    let mut truncated = samples::pdf("Sinus rhythm", "20261129143005");
    truncated.truncate(truncated.len() * 2 / 3);
    drop_file(&ecg.join("cut.pdf"), &truncated);
    // A copy that lost bytes in the middle (a bad USB stick), its end intact.
    let mut damaged = samples::pdf("Sinus rhythm", "20261129143005");
    damaged.drain(200..260);
    drop_file(&ecg.join("damaged.pdf"), &damaged);
    drop_file(&ecg.join("photo.jpg"), &samples::jpeg(16, 16, 1, true));
    drop_file(
        &ecg.join("other.xml"),
        b"<?xml version=\"1.0\"?><restingecgdata/>",
    );
    // The reason file says the detail; the index keeps the reason the screens put in words.
    let reasons: Vec<(&str, &str, QuarantineReason)> = vec![
        ("cut.pdf", "%%EOF", QuarantineReason::UnreadablePdf),
        (
            "damaged.pdf",
            "cross-reference",
            QuarantineReason::UnreadablePdf,
        ),
        ("photo.jpg", "write only", QuarantineReason::NotForDevice),
        ("other.xml", "aECG", QuarantineReason::UnknownExport),
    ];
    wait_for("four quarantined exports", WAIT_TIMEOUT, || {
        (station.db_path().exists() && station.status_counts().quarantined == 4).then_some(())
    });
    let listed = station.quarantined();
    for (name, says, why) in reasons {
        let file = ecg.join(format!("quarantine/{name}.reason.txt"));
        let reason =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(
            reason.contains(says),
            "{}: {reason:?} should say {says:?}",
            file.display()
        );
        let item = listed
            .iter()
            .find(|q| q.source.ends_with(name))
            .unwrap_or_else(|| panic!("{name} listed: {listed:?}"));
        assert_eq!(item.reason_code, Some(why), "{name}");
        assert_eq!(item.reason, reason.trim_end(), "{name}: the same detail");
    }
    assert_eq!(
        std::fs::read(ecg.join("quarantine/cut.pdf")).unwrap(),
        truncated,
        "the corrupt export is kept as it was"
    );
    assert_eq!(station.instance_count(), 0);
}

#[test]
fn aecg_xml_becomes_a_12_lead_waveform_whose_samples_match_the_file() {
    let scratch = Scratch::new();
    let (station, ecg) = ecg_station(&scratch);
    let digits = samples::ecg_digits(10, 500);
    let xml = samples::aecg("ZY20261129007", "李", "秀英", &digits, 500);
    drop_file(&ecg.join("ECG_0007.xml"), xml.as_bytes());

    let rows = wait_rows(&station, 1);
    let row = &rows[0];
    assert_eq!(
        row.sop_class_uid, "1.2.840.10008.5.1.4.1.1.9.1.1",
        "12-lead ECG Waveform"
    );
    assert_eq!(row.modality, "ECG");
    assert_eq!(row.patient_id, "ZY20261129007", "patient from the file");
    assert_eq!(row.patient_name, "李^秀英");
    assert!(
        row.sop_instance_uid.starts_with("2.25."),
        "UUID-derived UID without a root"
    );
    let file = station.data_dir.join(&row.path);
    let errors = dciodvfy_errors(&file);
    assert!(errors.is_empty(), "dciodvfy:\n{}", errors.join("\n"));

    // The cart exports the same file again (or it was left behind): not a second object.
    wait_for("the first export in done/", WAIT_TIMEOUT, || {
        ecg.join("done/ECG_0007.xml").is_file().then_some(())
    });
    drop_file(&ecg.join("ECG_0007_again.xml"), xml.as_bytes());
    wait_for("the repeated export in done/", WAIT_TIMEOUT, || {
        ecg.join("done/ECG_0007_again.xml").is_file().then_some(())
    });
    assert_eq!(station.instance_count(), 1, "converted once");

    let thumb = station::convert::thumbnail::path(&station.data_dir, &row.sop_instance_uid);
    let strip = image::open(&thumb).expect("an ECG strip as thumbnail");
    assert!(strip.width() > strip.height(), "a strip, wider than high");

    // Decoded by hand: interleaved signed 16-bit samples, channel order as written.
    let obj = open(&file);
    assert_eq!(text(&obj, tags::ACQUISITION_DATE_TIME), "20261129091530");
    let group = &obj
        .element(tags::WAVEFORM_SEQUENCE)
        .unwrap()
        .items()
        .unwrap()[0];
    let raw = group
        .element(tags::WAVEFORM_DATA)
        .unwrap()
        .to_bytes()
        .unwrap();
    let samples: Vec<i16> = raw
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    assert_eq!(samples.len(), 12 * 5000);
    for (lead, d) in digits.iter().enumerate() {
        let stored: Vec<i16> = samples.iter().skip(lead).step_by(12).copied().collect();
        assert_eq!(&stored, d, "lead {}", samples::AECG_LEADS[lead]);
    }
    // And as the ECG view reads it: microvolts per lead at the file's rate.
    let conn = station.reader();
    let w = station::scp::preview::waveform(&conn, &station.data_dir, &row.sop_instance_uid)
        .expect("waveform");
    assert_eq!(w.sampling_hz, 500.0);
    assert_eq!(w.duration_secs(), 10.0);
    let labels: Vec<&str> = w.leads.iter().map(|l| l.label.as_str()).collect();
    assert_eq!(
        labels,
        ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    );
    for (lead, d) in w.leads.iter().zip(&digits) {
        let expect: Vec<f32> = d.iter().map(|v| *v as f32 * 5.0).collect();
        assert_eq!(lead.microvolts, expect, "lead {}", lead.label);
    }
}

#[test]
fn a_devices_own_ecg_waveform_reads_as_plottable_leads() {
    let scratch = Scratch::new();
    let day = demo_day(&scratch.join("day"), station::demo::Scale::Small, 3);
    let ecg = day
        .iter()
        .find(|f| f.modality == "ECG")
        .expect("an ECG in the day");
    let w = station::dicom::waveform::read(&ecg.path).expect("waveform");
    assert_eq!(w.leads.len(), 12);
    assert_eq!(w.sampling_hz, 500.0);
    assert!(w.duration_secs() >= 1.0, "{} s", w.duration_secs());
    let lead = |name: &str| &w.leads.iter().find(|l| l.label == name).unwrap().microvolts;
    // Einthoven: III = II − I, to within the 2.5 µV quantisation of each lead.
    for ((i, ii), iii) in lead("I").iter().zip(lead("II")).zip(lead("III")) {
        assert!(
            (iii - (ii - i)).abs() <= 4.0,
            "III {iii} vs II−I {}",
            ii - i
        );
    }
    let peak = lead("II").iter().fold(0f32, |m, v| m.max(*v));
    assert!((500.0..2000.0).contains(&peak), "R wave in II is {peak} µV");
}

#[test]
fn an_ultrasound_exam_cut_by_a_power_failure_stays_one_series() {
    let scratch = Scratch::new();
    let us = scratch.join("us-export");
    let mut station = Station::start(
        scratch.path(),
        &Options {
            watch: vec![us_folder(&us)],
            ..Options::default()
        },
    );
    drop_file(&us.join("IMG0001.JPG"), &samples::jpeg(64, 48, 1, true));
    wait_rows(&station, 1);
    wait_for("the first export in done/", WAIT_TIMEOUT, || {
        us.join("done/IMG0001.JPG").is_file().then_some(())
    });
    station.restart();
    drop_file(&us.join("IMG0002.JPG"), &samples::jpeg(64, 48, 2, true));
    let rows = wait_rows(&station, 2);
    assert_eq!(
        rows[0].series_uid, rows[1].series_uid,
        "one exam, one series"
    );
    let numbers: Vec<String> = rows
        .iter()
        .map(|r| {
            text(
                &open(&station.data_dir.join(&r.path)),
                tags::INSTANCE_NUMBER,
            )
        })
        .collect();
    assert_eq!(numbers, ["1", "2"]);
}

#[test]
fn a_jpeg_claiming_30000_by_30000_pixels_is_quarantined_before_it_is_decoded() {
    let scratch = Scratch::new();
    let us = scratch.join("us-export");
    let station = Station::start(
        scratch.path(),
        &Options {
            watch: vec![us_folder(&us)],
            ..Options::default()
        },
    );
    // A real 16×16 baseline JPEG whose frame header (SOF0) says 30000×30000: decoded, 2.7 GB.
    let mut bomb = samples::jpeg(16, 16, 3, true);
    let sof = bomb
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("a SOF0 marker");
    bomb[sof + 5..sof + 7].copy_from_slice(&30000u16.to_be_bytes());
    bomb[sof + 7..sof + 9].copy_from_slice(&30000u16.to_be_bytes());
    assert!(bomb.len() < 2048, "a small file: {} bytes", bomb.len());
    drop_file(&us.join("IMG0001.JPG"), &bomb);
    // A sound image after it is still taken.
    drop_file(&us.join("IMG0002.JPG"), &samples::jpeg(64, 48, 4, true));
    wait_for(
        "the bomb quarantined and the image stored",
        WAIT_TIMEOUT,
        || {
            (station.db_path().exists()
                && station.status_counts().quarantined == 1
                && station.instance_count() == 1)
                .then_some(())
        },
    );
    let listed = station.quarantined();
    assert_eq!(
        listed[0].reason_code,
        Some(QuarantineReason::TooLarge),
        "{listed:?}"
    );
    assert!(
        listed[0].reason.contains("30000×30000"),
        "{}",
        listed[0].reason
    );
    assert_eq!(
        std::fs::read(us.join("quarantine/IMG0001.JPG")).unwrap(),
        bomb,
        "kept as it came"
    );
}
