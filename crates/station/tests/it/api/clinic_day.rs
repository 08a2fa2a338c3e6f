//! A clinic's day through the API over real HTTP, as the UI drives it: the technician registers
//! a patient and orders an exam, the DR sends the study (DCMTK `storescu`) with the order's
//! accession but its own spelling of the name, and the study list shows the registered patient;
//! a study that matches nothing waits and is assigned; its preview is an engine-rendered PNG;
//! the hub's report (stored into a real Orthanc) comes back and the doctor reads, prints and
//! acknowledges it; the dashboard shows the turnaround.

use std::path::Path;
use std::time::Duration;

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use serde_json::{json, Value};

use crate::harness::api::audit;
use crate::harness::config::fast_report_polling;
use crate::harness::fixtures::documents::{self, Sr};
use crate::harness::*;

const COLUMNS: u16 = 1024;
const ROWS: u16 = 600;

/// A DX image of `study_uid` as the device sends it: the name typed at the device, the accession
/// from the worklist (if any), and a 12-bit left-to-right ramp with a window covering it.
fn dx(path: &Path, study_uid: &str, name: &str, accession: &str) -> String {
    let sop = documents::image(path, study_uid);
    let mut obj = dicom_object::open_file(path).expect("reopen image");
    let put = |obj: &mut dicom_object::DefaultDicomObject, tag, vr, value: PrimitiveValue| {
        obj.put(DataElement::new(tag, vr, value));
    };
    put(&mut obj, tags::PATIENT_NAME, VR::PN, name.into());
    put(&mut obj, tags::ACCESSION_NUMBER, VR::SH, accession.into());
    put(&mut obj, tags::ROWS, VR::US, ROWS.into());
    put(&mut obj, tags::COLUMNS, VR::US, COLUMNS.into());
    put(&mut obj, tags::BITS_ALLOCATED, VR::US, 16u16.into());
    put(&mut obj, tags::BITS_STORED, VR::US, 12u16.into());
    put(&mut obj, tags::HIGH_BIT, VR::US, 11u16.into());
    put(&mut obj, tags::WINDOW_CENTER, VR::DS, "2048".into());
    put(&mut obj, tags::WINDOW_WIDTH, VR::DS, "4096".into());
    let ramp: Vec<u16> = (0..u32::from(ROWS) * u32::from(COLUMNS))
        .map(|i| ((i % u32::from(COLUMNS)) * 4095 / (u32::from(COLUMNS) - 1)) as u16)
        .collect();
    put(
        &mut obj,
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::U16(ramp.into()),
    );
    obj.write_to_file(path).expect("write image");
    sop
}

/// The one item of a list whose `key` is `value`.
fn item<'a>(list: &'a Value, key: &str, value: &str) -> Option<&'a Value> {
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i[key] == value)
}

#[test]
fn register_send_assign_preview_and_read_the_report_through_the_api() {
    let scratch = Scratch::new();
    let hub = Orthanc::start(&scratch.join("hub"));
    let station = Station::start(
        scratch.path(),
        &Options {
            hold_unmatched: true,
            ..Options::sending_to(hub.dicomweb_url())
        }
        .tweak(fast_report_polling),
    );
    let client = Client::new(&station);
    let admin = client.admin();
    let tech = client.user(&admin, "li.tech", "technician");
    let doctor = client.user(&admin, "dr.zhao", "doctor");
    let manager = client.user(&admin, "zhang.mgr", "manager");

    // Registration at the front desk: birth date and sex come from the ID card number.
    let patient = client.ok(
        &tech,
        "patient_add",
        json!({ "name": "王^小明", "id_card": "11010519491231002X", "phone": "13800138000" }),
    );
    assert_eq!(
        (patient["birth_date"].as_str(), patient["sex"].as_str()),
        (Some("19491231"), Some("F"))
    );
    let clinic_id = patient["clinic_id"].as_str().expect("clinic id").to_owned();
    let r = client.call(
        Some(&tech),
        "patient_add",
        json!({ "name": "李^四", "id_card": "11010519491231002X" }),
    );
    assert_eq!((r.status, r.code()), (409, "conflict"), "{r:?}");
    assert!(r.message().contains("身份证号"), "{r:?}");
    let found = client.ok(&tech, "patient_search", json!({ "query": "wxm" }));
    assert!(item(&found, "clinic_id", &clinic_id).is_some(), "{found}");
    let order = client.ok(
        &tech,
        "order_add",
        json!({ "patient": clinic_id, "modality": "DX", "procedure": "胸部正位" }),
    );
    let accession = order["accession"].as_str().expect("accession").to_owned();
    let today = client.ok(&tech, "orders_list", json!({ "states": ["scheduled"] }));
    let listed = today["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["order"]["accession"] == accession.as_str())
        .unwrap_or_else(|| panic!("today's orders: {today}"));
    assert_eq!(listed["patient"]["name"], "王^小明");
    // Doctors read; they do not register.
    let r = client.call(Some(&doctor), "order_add", json!({ "patient": clinic_id }));
    assert_eq!(r.status, 403, "{r:?}");

    // The DR sends the ordered study, with the name as typed at the device, and one study of
    // nobody on the worklist.
    let device = scratch.join("device");
    std::fs::create_dir_all(&device).expect("device dir");
    let (ordered, stray) = (documents::uid(), documents::uid());
    let ordered_file = device.join("ordered.dcm");
    let sop = dx(&ordered_file, &ordered, "WANG^XIAOMING", &accession);
    dx(&device.join("stray.dcm"), &stray, "ZHANG^SAN", "");
    station
        .storescu("DR1", &[&device])
        .assert_success("storescu");

    let summary = wait_for("the ordered study matched", WAIT_TIMEOUT, || {
        let page = client.ok(&tech, "studies_list", json!({ "text": accession }));
        item(&page, "study_uid", &ordered)
            .filter(|s| s["order_accession"] == accession.as_str())
            .cloned()
    });
    assert_eq!(summary["patient_name"], "王^小明", "{summary}");
    assert_eq!(summary["patient_id"], clinic_id.as_str());
    assert_eq!(summary["received_patient_name"], "WANG^XIAOMING");
    let by_name = client.ok(&tech, "studies_list", json!({ "text": "王小明" }));
    assert!(item(&by_name, "study_uid", &ordered).is_some(), "{by_name}");

    // The stray study waits for a person, who makes it a new order of the registered patient.
    wait_for("the stray study waiting", WAIT_TIMEOUT, || {
        let waiting = client.ok(&tech, "studies_unassigned", json!({}));
        item(&waiting, "study_uid", &stray)
            .filter(|s| s["state"] == "unassigned")
            .map(|_| ())
    });
    let assigned = client.ok(
        &tech,
        "study_assign",
        // ZHANG^SAN at the device: the technician confirms it is the registered patient.
        json!({
            "study_uid": stray,
            "target": { "kind": "new_order_for", "value": clinic_id },
            "confirm_mismatch": true,
        }),
    );
    assert_ne!(assigned["state"], "unassigned", "{assigned}");
    let stray_accession = assigned["order"]["accession"].as_str().expect("accession");
    let page = client.ok(&tech, "studies_list", json!({ "text": stray_accession }));
    let stray_row = item(&page, "study_uid", &stray).expect("assigned study listed");
    assert_eq!(stray_row["patient_name"], "王^小明");
    let waiting = client.ok(&tech, "studies_unassigned", json!({}));
    assert!(item(&waiting, "study_uid", &stray).is_none(), "{waiting}");

    // The preview: a PNG no larger than 512 px, same aspect, dark on the left, bright on the
    // right as the ramp and its window say.
    let (status, content_type, png) =
        client.get_bytes_as(&doctor, &format!("/api/preview/{sop}.png"));
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&png));
    assert_eq!(content_type, "image/png");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "PNG signature");
    let img = image::load_from_memory(&png)
        .expect("a decodable PNG")
        .to_luma8();
    assert_eq!((img.width(), img.height()), (512, 300));
    let (left, right) = (img.get_pixel(5, 150).0[0], img.get_pixel(506, 150).0[0]);
    assert!(left < 20 && right > 235, "ramp shown as {left}..{right}");
    let (status, _, _) = client.get_bytes_as("bogus", &format!("/api/preview/{sop}.png"));
    assert_eq!(status, 401);
    let r = client.call(
        Some(&doctor),
        "waveform_get",
        json!({ "sop_instance_uid": sop }),
    );
    assert_eq!(
        (r.status, r.code()),
        (422, "invalid"),
        "a DX is no ECG: {r:?}"
    );

    // Both studies reach the hub; its doctor files a final SR and a PDF in the ordered one.
    station.wait_delivered(2);
    let docs = scratch.join("hub-docs");
    std::fs::create_dir_all(&docs).expect("docs dir");
    let sr_file = docs.join("sr.dcm");
    documents::sr(
        &sr_file,
        &ordered,
        &Sr {
            charset: "ISO_IR 192",
            findings: "两肺纹理清晰，未见实质性病变。",
            conclusion: "胸部正位片未见异常。",
            nodule_mm: "0",
            doctor: "刘^主任",
            is_final: true,
            content_time: "090000",
        },
    );
    let (pdf_file, pdf_bytes) = documents::pdf(&docs, &ordered_file);
    for f in [&sr_file, &pdf_file] {
        hub.upload(f);
    }

    let before = wait_for("both reports listed", Duration::from_secs(90), || {
        let list = client.ok(&doctor, "reports_list", json!({ "study_uid": ordered }));
        (list["items"].as_array()?.len() == 2).then_some(list)
    });
    let sr_id = item(&before, "kind", "sr").expect("the SR")["id"].clone();
    let pdf_id = item(&before, "kind", "pdf").expect("the PDF")["id"].clone();
    let unread = |token: &str| client.ok(token, "reports_list", json!({}))["unread"].clone();
    assert_eq!(unread(&doctor), 2);

    let report = client.ok(&doctor, "report_get", json!({ "id": sr_id }));
    assert!(
        report["text"]
            .as_str()
            .expect("text")
            .contains("胸部正位片未见异常。"),
        "{report}"
    );
    assert_eq!(report["has_pdf"], false);
    assert_eq!(report["report"]["status"], "final");
    assert_eq!(report["pdfs"][0]["id"], pdf_id);
    let (status, content_type, body) =
        client.get_bytes_as(&doctor, &format!("/api/report/{pdf_id}/pdf"));
    assert_eq!((status, content_type.as_str()), (200, "application/pdf"));
    assert_eq!(body, pdf_bytes, "the hub's PDF, byte for byte");
    let (status, page) = client.get_as(&tech, &format!("/api/report/{sr_id}/print"));
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("胸部正位片未见异常。") && page.contains("正式报告"),
        "{page}"
    );

    // Technicians read reports but only a doctor (or their manager) acknowledges one.
    let r = client.call(Some(&tech), "report_ack", json!({ "id": sr_id }));
    assert_eq!(r.status, 403, "{r:?}");
    let acked = client.ok(&doctor, "report_ack", json!({ "id": sr_id }));
    assert_eq!(acked["first"], true);
    assert!(acked["acknowledged_at"].is_i64(), "{acked}");
    let again = client.ok(&doctor, "report_ack", json!({ "id": sr_id }));
    assert_eq!(
        (&again["first"], &again["acknowledged_at"]),
        (&json!(false), &acked["acknowledged_at"])
    );
    assert_eq!(unread(&doctor), 1);
    assert_eq!(unread(&manager), 2, "acknowledging is per person");
    let still = client.ok(&doctor, "reports_list", json!({ "unread_only": true }));
    assert!(item(&still, "kind", "sr").is_none(), "{still}");

    // A day goes by (both targets pass): the study without a report is overdue.
    let db = rusqlite::Connection::open(station.db_path()).expect("open db");
    db.busy_timeout(Duration::from_secs(30))
        .expect("busy timeout");
    db.execute("UPDATE report_turnaround SET due_at = 0", [])
        .expect("move the targets into the past");

    // The manager's dashboard: DX turnaround from the final report, the overdue study by its
    // registered patient, unread counts.
    let board = client.ok(&manager, "dashboard", json!({ "period_days": 7 }));
    assert_eq!(board["overdue_total"], 1, "{board}");
    let late = &board["overdue"][0];
    assert_eq!(
        (
            &late["study_uid"],
            &late["patient_name"],
            &late["accession"]
        ),
        (&json!(stray), &json!("王^小明"), &json!(stray_accession)),
        "{late}"
    );
    assert_eq!(late["has_preliminary"], false);
    let dx = board["turnaround"]
        .as_array()
        .expect("turnaround")
        .iter()
        .find(|t| t["modality"] == "DX")
        .unwrap_or_else(|| panic!("DX turnaround: {board}"));
    assert_eq!(
        (&dx["sent"], &dx["reported"], &dx["overdue"]),
        (&json!(2), &json!(1), &json!(1)),
        "{dx}"
    );
    let p50 = dx["final_report_p50_ms"].as_i64().expect("a median");
    assert!(
        p50 >= 0 && dx["final_report_p90_ms"].as_i64() >= Some(p50),
        "{dx}"
    );
    assert_eq!(board["unread_reports"], 2);
    assert_eq!(board["unacknowledged_reports"], 1);
    let r = client.call(Some(&manager), "dashboard", json!({ "period_days": 0 }));
    assert_eq!(r.status, 422, "{r:?}");

    // Every read is in the audit trail, by the person who read.
    let trail = audit(&client, &admin, json!({ "limit": 1000 }));
    for (actor, action) in [
        ("dr.zhao", "report.read"),
        ("dr.zhao", "preview.read"),
        ("dr.zhao", "report_pdf.read"),
        ("li.tech", "report_print.read"),
        ("li.tech", "patients.search"),
        ("li.tech", "study.assign"),
        ("dr.zhao", "report.acknowledge"),
        ("zhang.mgr", "dashboard.overdue"),
    ] {
        assert!(
            trail
                .iter()
                .any(|e| e["actor"] == actor && e["action"] == action),
            "no {action} by {actor}"
        );
    }
    // Polling the report list until both reports came is one read, however many polls it took.
    let polls: Vec<_> = trail
        .iter()
        .filter(|e| e["actor"] == "dr.zhao" && e["action"] == "reports.list")
        .filter(|e| {
            e["detail"]
                .as_str()
                .unwrap_or("")
                .contains(ordered.as_str())
        })
        .collect();
    assert_eq!(polls.len(), 1, "{polls:?}");
}

/// Rows and columns of a DICOM file.
fn dimensions(path: &Path) -> (u32, u32) {
    let obj = dicom_object::open_file(path).expect("demo file");
    let get = |tag| {
        obj.element(tag)
            .ok()
            .and_then(|e| e.to_int::<u32>().ok())
            .unwrap_or(0)
    };
    (get(tags::COLUMNS), get(tags::ROWS))
}

#[test]
fn every_image_of_a_day_previews_and_an_ecg_plots_from_the_api() {
    let scratch = Scratch::new();
    let station = Station::start(scratch.path(), &Options::default());
    let day = demo_day(&scratch.join("day"), station::demo::Scale::Small, 11);
    let paths: Vec<&Path> = day.iter().map(|f| f.path.as_path()).collect();
    station.storescu("DR1", &paths).assert_success("storescu");
    wait_for("the day received", WAIT_TIMEOUT, || {
        (station.instance_count() == day.len() as i64).then_some(())
    });
    let client = Client::new(&station);
    let admin = client.admin();
    let tech = client.user(&admin, "li.tech", "technician");

    for f in &day {
        let url = format!("/api/preview/{}.png", f.sop_instance_uid);
        let (status, _, png) = client.get_bytes_as(&tech, &url);
        let what = format!("{} {}", f.modality, f.path.display());
        if f.modality == "ECG" {
            assert_eq!(status, 404, "an ECG has no image: {what}");
            continue;
        }
        assert_eq!(status, 200, "{what}: {}", String::from_utf8_lossy(&png));
        let img = image::load_from_memory(&png).expect("PNG").to_luma8();
        let (w, h) = dimensions(&f.path);
        let scale = (512.0 / f64::from(w.max(h))).min(1.0);
        let expected = (
            (f64::from(w) * scale).round() as u32,
            (f64::from(h) * scale).round() as u32,
        );
        assert_eq!((img.width(), img.height()), expected, "{what}");
        let (lo, hi) = img
            .pixels()
            .fold((255, 0), |(lo, hi), p| (lo.min(p.0[0]), hi.max(p.0[0])));
        assert!(
            hi > lo + 64,
            "{what}: an image, not a flat field ({lo}..{hi})"
        );
    }

    let ecg = day.iter().find(|f| f.modality == "ECG").expect("an ECG");
    let wave = client.ok(
        &tech,
        "waveform_get",
        json!({ "sop_instance_uid": ecg.sop_instance_uid }),
    );
    assert_eq!(wave["sampling_hz"], 500.0);
    let leads = wave["leads"].as_array().expect("leads");
    let labels: Vec<&str> = leads.iter().filter_map(|l| l["label"].as_str()).collect();
    assert_eq!(
        labels,
        ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    );
    let peak = leads[1]["microvolts"]
        .as_array()
        .expect("samples")
        .iter()
        .filter_map(Value::as_f64)
        .fold(0f64, f64::max);
    assert!(
        (300.0..3000.0).contains(&peak),
        "lead II R wave of {peak} µV"
    );
    let r = client.call(
        Some(&tech),
        "waveform_get",
        json!({ "sop_instance_uid": "1.2.3.4.5" }),
    );
    assert_eq!((r.status, r.code()), (404, "not_found"), "{r:?}");
}
