//! Reports coming back: the test plays the hub's doctors. It stores into a real Orthanc (REST
//! `POST /instances`) SRs it builds with dicom-object and a PDF wrapped by DCMTK `pdf2dcm`, in
//! studies the station delivered; the station must find, fetch, parse and show them.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use station::reports::{self, ReportFilter, ReportSummary};
use station::store::queue::queue_rows;

use crate::harness::*;
use crate::orthanc::Orthanc;

const DX: &str = "1.2.840.10008.5.1.4.1.1.1.1";
const ENHANCED_SR: &str = "1.2.840.10008.5.1.4.1.1.88.22";
const PATIENT: &str = "王^小明";

/// Polls every second at the hub, and retries a failed look within 2 s.
const FAST_POLLING: &str =
    "\n[reports]\nurgent_poll_secs = 1\nrecent_poll_secs = 1\nidle_poll_secs = 1\n";

fn uid() -> String {
    format!("2.25.{}", rand::random::<u64>())
}

fn el(
    tag: dicom_core::Tag,
    vr: VR,
    value: impl Into<PrimitiveValue>,
) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, vr, value.into())
}

fn seq(tag: dicom_core::Tag, items: Vec<InMemDicomObject>) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::SQ, DataSetSequence::from(items))
}

fn code(value: &str, scheme: &str, meaning: &str) -> InMemDicomObject {
    InMemDicomObject::from_element_iter([
        el(tags::CODE_VALUE, VR::SH, value),
        el(tags::CODING_SCHEME_DESIGNATOR, VR::SH, scheme),
        el(tags::CODE_MEANING, VR::LO, meaning),
    ])
}

fn write(obj: InMemDicomObject, path: &Path) {
    obj.with_meta(FileMetaTableBuilder::new().transfer_syntax("1.2.840.10008.1.2.1"))
        .expect("file meta")
        .write_to_file(path)
        .expect("writing a DICOM file");
}

/// A tiny DX image of a new study, for a device to send.
fn image(path: &Path, study_uid: &str) {
    let obj = InMemDicomObject::from_element_iter([
        el(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192"),
        el(tags::SOP_CLASS_UID, VR::UI, DX),
        el(tags::SOP_INSTANCE_UID, VR::UI, uid()),
        el(tags::STUDY_DATE, VR::DA, "20261130"),
        el(tags::MODALITY, VR::CS, "DX"),
        el(tags::STUDY_DESCRIPTION, VR::LO, "胸部正位"),
        el(tags::PATIENT_NAME, VR::PN, PATIENT),
        el(tags::PATIENT_ID, VR::LO, "P0001"),
        el(tags::PATIENT_SEX, VR::CS, "M"),
        el(tags::STUDY_INSTANCE_UID, VR::UI, study_uid),
        el(tags::SERIES_INSTANCE_UID, VR::UI, uid()),
        el(tags::SAMPLES_PER_PIXEL, VR::US, 1u16),
        el(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"),
        el(tags::ROWS, VR::US, 4u16),
        el(tags::COLUMNS, VR::US, 4u16),
        el(tags::BITS_ALLOCATED, VR::US, 8u16),
        el(tags::BITS_STORED, VR::US, 8u16),
        el(tags::HIGH_BIT, VR::US, 7u16),
        el(tags::PIXEL_REPRESENTATION, VR::US, 0u16),
        el(tags::PIXEL_DATA, VR::OB, vec![7u8; 16]),
    ]);
    write(obj, path);
}

/// What the hub's doctor writes.
struct Sr<'a> {
    charset: &'a str,
    findings: &'a str,
    conclusion: &'a str,
    nodule_mm: &'a str,
    doctor: &'a str,
    is_final: bool,
    content_time: &'a str,
}

/// An Enhanced SR in `study_uid`: findings and impression containers, a measurement, and
/// (when final) the verifying observer.
fn sr(path: &Path, study_uid: &str, r: &Sr) -> String {
    let sop = uid();
    let text = |name: InMemDicomObject, value: &str| {
        InMemDicomObject::from_element_iter([
            el(tags::RELATIONSHIP_TYPE, VR::CS, "CONTAINS"),
            el(tags::VALUE_TYPE, VR::CS, "TEXT"),
            seq(tags::CONCEPT_NAME_CODE_SEQUENCE, vec![name]),
            el(tags::TEXT_VALUE, VR::UT, value),
        ])
    };
    let container = |name: InMemDicomObject, children: Vec<InMemDicomObject>| {
        InMemDicomObject::from_element_iter([
            el(tags::RELATIONSHIP_TYPE, VR::CS, "CONTAINS"),
            el(tags::VALUE_TYPE, VR::CS, "CONTAINER"),
            el(tags::CONTINUITY_OF_CONTENT, VR::CS, "SEPARATE"),
            seq(tags::CONCEPT_NAME_CODE_SEQUENCE, vec![name]),
            seq(tags::CONTENT_SEQUENCE, children),
        ])
    };
    let measured = InMemDicomObject::from_element_iter([
        el(tags::NUMERIC_VALUE, VR::DS, r.nodule_mm),
        seq(
            tags::MEASUREMENT_UNITS_CODE_SEQUENCE,
            vec![code("mm", "UCUM", "millimeter")],
        ),
    ]);
    let num = InMemDicomObject::from_element_iter([
        el(tags::RELATIONSHIP_TYPE, VR::CS, "CONTAINS"),
        el(tags::VALUE_TYPE, VR::CS, "NUM"),
        seq(
            tags::CONCEPT_NAME_CODE_SEQUENCE,
            vec![code("81827009", "SCT", "结节直径")],
        ),
        seq(tags::MEASURED_VALUE_SEQUENCE, vec![measured]),
    ]);
    let mut obj = InMemDicomObject::from_element_iter([
        el(tags::SPECIFIC_CHARACTER_SET, VR::CS, r.charset),
        el(tags::SOP_CLASS_UID, VR::UI, ENHANCED_SR),
        el(tags::SOP_INSTANCE_UID, VR::UI, sop.clone()),
        el(tags::STUDY_DATE, VR::DA, "20261130"),
        el(tags::CONTENT_DATE, VR::DA, "20261130"),
        el(tags::CONTENT_TIME, VR::TM, r.content_time),
        el(tags::MODALITY, VR::CS, "SR"),
        el(tags::PATIENT_NAME, VR::PN, PATIENT),
        el(tags::PATIENT_ID, VR::LO, "P0001"),
        el(tags::STUDY_INSTANCE_UID, VR::UI, study_uid),
        el(tags::SERIES_INSTANCE_UID, VR::UI, uid()),
        el(tags::VALUE_TYPE, VR::CS, "CONTAINER"),
        el(tags::CONTINUITY_OF_CONTENT, VR::CS, "SEPARATE"),
        seq(
            tags::CONCEPT_NAME_CODE_SEQUENCE,
            vec![code("18748-4", "LN", "影像诊断报告")],
        ),
        el(
            tags::COMPLETION_FLAG,
            VR::CS,
            if r.is_final { "COMPLETE" } else { "PARTIAL" },
        ),
        el(
            tags::VERIFICATION_FLAG,
            VR::CS,
            if r.is_final { "VERIFIED" } else { "UNVERIFIED" },
        ),
        seq(
            tags::CONTENT_SEQUENCE,
            vec![
                container(
                    code("121070", "DCM", "检查所见"),
                    vec![text(code("121071", "DCM", "所见"), r.findings), num],
                ),
                container(
                    code("121072", "DCM", "诊断意见"),
                    vec![text(code("121073", "DCM", "结论"), r.conclusion)],
                ),
            ],
        ),
    ]);
    if r.is_final {
        obj.put(seq(
            tags::VERIFYING_OBSERVER_SEQUENCE,
            vec![InMemDicomObject::from_element_iter([
                el(tags::VERIFYING_OBSERVER_NAME, VR::PN, r.doctor),
                el(tags::VERIFYING_ORGANIZATION, VR::LO, "区域影像诊断中心"),
                el(
                    tags::VERIFICATION_DATE_TIME,
                    VR::DT,
                    format!("20261130{}", r.content_time),
                ),
                seq(
                    tags::VERIFYING_OBSERVER_IDENTIFICATION_CODE_SEQUENCE,
                    vec![],
                ),
            ])],
        ));
    }
    write(obj, path);
    sop
}

/// A PDF report wrapped by DCMTK into the study of `study_file`.
fn pdf(dir: &Path, study_file: &Path) -> (std::path::PathBuf, Vec<u8>) {
    let doc = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n".to_vec();
    let pdf_path = dir.join("report.pdf");
    let out = dir.join("report-pdf.dcm");
    std::fs::write(&pdf_path, &doc).expect("pdf");
    run_tool(
        Command::new("/usr/bin/pdf2dcm")
            .args(["+t", "影像诊断报告 PDF", "+st"])
            .arg(study_file)
            .arg(&pdf_path)
            .arg(&out),
    )
    .assert_success("pdf2dcm");
    (out, doc)
}

/// The hub's doctors file a document: Orthanc's REST `POST /instances`.
fn post(hub_port: u16, file: &Path) {
    let body = std::fs::read(file).expect("reading the report file");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let status = rt.block_on(async {
        reqwest::Client::new()
            .post(format!("http://127.0.0.1:{hub_port}/instances"))
            .timeout(Duration::from_secs(30))
            .body(body)
            .send()
            .await
            .expect("POST /instances")
            .status()
    });
    assert!(
        status.is_success(),
        "Orthanc refused {}: {status}",
        file.display()
    );
}

fn reader(station: &Station) -> rusqlite::Connection {
    station::store::open_reader(&station.db_path()).expect("open db")
}

fn list(station: &Station, study_uid: Option<&str>, all: bool) -> Vec<ReportSummary> {
    let filter = ReportFilter {
        study_uid: study_uid.map(str::to_string),
        all_versions: all,
        ..ReportFilter::default()
    };
    reports::list(&reader(station), &filter).expect("list reports")
}

/// Starts a station sending to `hub_url` and delivers one tiny study per UID.
fn deliver(scratch: &Scratch, hub_url: String, studies: &[&str]) -> Station {
    let station = Station::start(
        scratch.path(),
        &Options {
            quiet_period_secs: Some(1),
            destinations: vec![Dest {
                name: "hub".into(),
                url: hub_url,
                modalities: vec![],
            }],
            extra_toml: FAST_POLLING.into(),
            ..Options::default()
        },
    );
    let dir = scratch.join("device");
    std::fs::create_dir_all(&dir).expect("device dir");
    for (i, study) in studies.iter().enumerate() {
        image(&dir.join(format!("img{i}.dcm")), study);
    }
    station.storescu("DR1", &[&dir]).assert_success("storescu");
    wait_for("studies delivered", Duration::from_secs(90), || {
        let rows = queue_rows(&reader(&station)).ok()?;
        (rows.len() == studies.len() && rows.iter().all(|r| r.state == "delivered")).then_some(())
    });
    station
}

#[test]
fn sr_and_pdf_come_back_are_shown_and_an_amendment_replaces_the_preliminary() {
    let scratch = Scratch::new();
    let hub = Orthanc::start(&scratch.join("hub"));
    let (study, other, stranger) = (uid(), uid(), uid());
    let station = deliver(&scratch, hub.dicomweb_url(), &[&study, &other]);
    let docs = scratch.join("hub-docs");
    std::fs::create_dir_all(&docs).expect("docs dir");

    // A preliminary SR (UTF-8) and a PDF in the study; an SR in a study the station never had.
    sr(
        &docs.join("pre.dcm"),
        &study,
        &Sr {
            charset: "ISO_IR 192",
            findings: "右肺上叶见一小结节，边界清楚。",
            conclusion: "右肺上叶小结节，建议随访。",
            nodule_mm: "6",
            doctor: "",
            is_final: false,
            content_time: "080000",
        },
    );
    let (pdf_file, pdf_bytes) = pdf(&docs, &scratch.join("device/img0.dcm"));
    let stranger_sr = docs.join("stranger.dcm");
    sr(
        &stranger_sr,
        &stranger,
        &Sr {
            charset: "ISO_IR 192",
            findings: "无关",
            conclusion: "无关",
            nodule_mm: "1",
            doctor: "",
            is_final: false,
            content_time: "070000",
        },
    );
    for f in [&docs.join("pre.dcm"), &pdf_file, &stranger_sr] {
        post(hub.http_port, f);
    }

    let found = wait_for(
        "the SR and the PDF at the station",
        Duration::from_secs(60),
        || {
            let rows = list(&station, Some(&study), false);
            (rows.len() == 2).then_some(rows)
        },
    );
    let sr_row = found.iter().find(|r| r.kind == "sr").expect("an SR report");
    assert_eq!(sr_row.status, "preliminary");
    assert_eq!(sr_row.title, "影像诊断报告");
    assert_eq!(sr_row.patient_name, PATIENT);
    let shown = reports::get(&reader(&station), sr_row.id, None).expect("get");
    for expected in [
        "【检查所见】",
        "所见：右肺上叶见一小结节，边界清楚。",
        "结节直径：6 mm",
        "【诊断意见】",
        "结论：右肺上叶小结节，建议随访。",
    ] {
        assert!(
            shown.text.contains(expected),
            "{expected:?} missing from:\n{}",
            shown.text
        );
    }
    let pdf_row = found
        .iter()
        .find(|r| r.kind == "pdf")
        .expect("a PDF report");
    assert_eq!(pdf_row.title, "影像诊断报告 PDF");
    let fetched = reports::pdf(&reader(&station), &station.data_dir, pdf_row.id).expect("pdf");
    assert_eq!(fetched, pdf_bytes, "the PDF reads back byte for byte");
    assert_eq!(
        station::store::study_state(&reader(&station), &study)
            .expect("state")
            .as_deref(),
        Some("reported")
    );
    let turnaround = shown.turnaround.expect("turnaround recorded");
    assert!(
        turnaround.first_report_ms.is_some_and(|ms| ms >= 0),
        "{turnaround:?}"
    );
    // A PDF carries no preliminary flag: the hub publishes it as the signed report.
    assert!(turnaround.final_report_ms.is_some(), "{turnaround:?}");

    // The final report, in GB18030, signed by the reading doctor.
    let final_file = docs.join("final.dcm");
    sr(
        &final_file,
        &study,
        &Sr {
            charset: "GB18030",
            findings: "右肺上叶见一磨玻璃结节，边界清楚。",
            conclusion: "右肺上叶磨玻璃结节，建议三个月后复查。",
            nodule_mm: "7.5",
            doctor: "张^建华",
            is_final: true,
            content_time: "093000",
        },
    );
    let raw = std::fs::read(&final_file).expect("final file");
    let (gb, _, _) = encoding_rs::GB18030.encode("磨玻璃结节");
    assert!(
        raw.windows(gb.len()).any(|w| w == &gb[..]),
        "the test SR really is GB18030"
    );
    post(hub.http_port, &final_file);

    let current = wait_for("the final report current", Duration::from_secs(60), || {
        list(&station, Some(&study), false)
            .into_iter()
            .find(|r| r.kind == "sr" && r.is_final)
    });
    let shown = reports::get(&reader(&station), current.id, None).expect("get final");
    assert_eq!(shown.report.observer, "张建华");
    assert_eq!(shown.report.organization, "区域影像诊断中心");
    assert!(
        shown
            .text
            .contains("结论：右肺上叶磨玻璃结节，建议三个月后复查。"),
        "{}",
        shown.text
    );
    assert!(shown.text.contains("结节直径：7.5 mm"), "{}", shown.text);
    assert_eq!(shown.versions.len(), 2, "history kept");
    assert_eq!(shown.versions[1].id, sr_row.id);
    assert!(!shown.versions[1].is_current);
    assert_eq!(
        list(&station, Some(&study), false)
            .iter()
            .filter(|r| r.kind == "sr")
            .count(),
        1,
        "only the final is current"
    );
    let turnaround = shown.turnaround.expect("turnaround");
    assert!(
        turnaround.final_report_ms >= turnaround.first_report_ms,
        "{turnaround:?}"
    );

    // Nothing attached to the other delivered study or to the stranger's; nothing sent back.
    assert!(list(&station, Some(&other), true).is_empty());
    assert!(station.instances().iter().all(|i| i.study_uid != stranger));
    let queue = queue_rows(&reader(&station)).expect("queue");
    assert!(
        queue
            .iter()
            .all(|q| q.state == "delivered" && q.instances == 1),
        "{queue:?}"
    );
    assert_eq!(
        station
            .instances()
            .iter()
            .filter(|i| i.source_kind == "report")
            .count(),
        3
    );

    // A local doctor reads it, from the command line; the print page carries the report.
    let cli = |args: &[&str]| {
        let mut cmd = Command::new(STATION_BIN);
        cmd.arg("report")
            .args(args)
            .arg("--config")
            .arg(&station.config);
        run_tool(&mut cmd)
    };
    let id = current.id.to_string();
    cli(&["list", "--user", "li", "--unread"]).assert_success("report list");
    assert_eq!(
        reports::unread_count(&reader(&station), "li").expect("unread"),
        2
    );
    cli(&["ack", &id, "--user", "li"]).assert_success("report ack");
    assert_eq!(
        reports::unread_count(&reader(&station), "li").expect("unread"),
        1
    );
    let page = scratch.join("print.html");
    let shown = cli(&["show", &id, "--print", page.to_str().expect("utf-8 path")]);
    shown.assert_success("report show");
    assert!(shown.log.contains("张建华"), "{}", shown.log);
    let html = std::fs::read_to_string(&page).expect("print page");
    for expected in [
        "基层医疗卫生机构",
        "王小明",
        "右肺上叶磨玻璃结节，建议三个月后复查。",
        "张建华",
        "正式报告",
    ] {
        assert!(
            html.contains(expected),
            "{expected:?} missing from the print page"
        );
    }
}

#[test]
fn a_hub_that_is_down_delays_reports_but_loses_none() {
    let scratch = Scratch::new();
    let hub_dir = scratch.join("hub");
    let hub = Orthanc::start(&hub_dir);
    let port = hub.http_port;
    let study = uid();
    let station = deliver(&scratch, hub.dicomweb_url(), &[&study]);

    // The hub goes down: the station's looks fail and the link shows it.
    drop(hub);
    wait_for("the link shown offline", Duration::from_secs(60), || {
        let online: i64 = reader(&station)
            .query_row(
                "SELECT online FROM links WHERE destination = 'hub'",
                [],
                |r| r.get(0),
            )
            .ok()?;
        (online == 0).then_some(())
    });
    assert!(list(&station, Some(&study), true).is_empty());

    // Back, with the same archive, and the doctor files the report: it arrives.
    let hub = Orthanc::start_on(&hub_dir, port);
    let report = scratch.join("final.dcm");
    sr(
        &report,
        &study,
        &Sr {
            charset: "GB18030",
            findings: "心肺未见明显异常。",
            conclusion: "胸部正位片未见异常。",
            nodule_mm: "0",
            doctor: "李^医生",
            is_final: true,
            content_time: "101500",
        },
    );
    post(hub.http_port, &report);
    let row = wait_for(
        "the report after the outage",
        Duration::from_secs(90),
        || list(&station, Some(&study), false).into_iter().next(),
    );
    assert!(row.is_final);
    assert_eq!(row.observer, "李医生");
    let shown = reports::get(&reader(&station), row.id, None).expect("get");
    assert!(
        shown.text.contains("结论：胸部正位片未见异常。"),
        "{}",
        shown.text
    );
}
