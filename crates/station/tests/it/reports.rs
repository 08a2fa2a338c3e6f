//! Reports coming back: the test plays the hub's doctors. It stores into a real Orthanc (REST
//! `POST /instances`) SRs it builds with dicom-object and a PDF wrapped by DCMTK `pdf2dcm`, in
//! studies the station delivered; the station must find, fetch, parse and show them.

use std::process::Command;
use std::time::Duration;

use station::reports::{self, ReportFilter, ReportSummary};
use station::store::queue::queue_rows;

use crate::harness::config::fast_report_polling;
use crate::harness::fixtures::documents::*;
use crate::harness::*;

mod events;

fn list(station: &Station, study_uid: Option<&str>, all: bool) -> Vec<ReportSummary> {
    let filter = ReportFilter {
        study_uid: study_uid.map(str::to_string),
        all_versions: all,
        ..ReportFilter::default()
    };
    reports::list(&station.reader(), &filter).expect("list reports")
}

/// Starts a station sending to `hub_url` and delivers one tiny study per UID.
fn deliver(scratch: &Scratch, hub_url: String, studies: &[&str]) -> Station {
    let station = Station::start(
        scratch.path(),
        &Options::sending_to(hub_url).tweak(fast_report_polling),
    );
    let dir = scratch.join("device");
    std::fs::create_dir_all(&dir).expect("device dir");
    for (i, study) in studies.iter().enumerate() {
        image(&dir.join(format!("img{i}.dcm")), study);
    }
    station.storescu("DR1", &[&dir]).assert_success("storescu");
    wait_for("studies delivered", Duration::from_secs(90), || {
        let rows = queue_rows(&station.reader()).ok()?;
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
            doctor: "刘^住院医",
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
        hub.upload(f);
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
    assert_eq!(
        sr_row.observer, "刘住院医",
        "the author of a preliminary report"
    );
    let shown = reports::get(&station.reader(), sr_row.id, None).expect("get");
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
    assert!(
        !shown.text.contains("Person Observer"),
        "context is not a finding"
    );
    let pdf_row = found
        .iter()
        .find(|r| r.kind == "pdf")
        .expect("a PDF report");
    assert_eq!(pdf_row.title, "影像诊断报告 PDF");
    let fetched = reports::pdf(&station.reader(), &station.data_dir, pdf_row.id).expect("pdf");
    assert_eq!(fetched, pdf_bytes, "the PDF reads back byte for byte");
    assert_eq!(
        station::store::study_state(&station.reader(), &study)
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
    hub.upload(&final_file);

    let current = wait_for("the final report current", Duration::from_secs(60), || {
        list(&station, Some(&study), false)
            .into_iter()
            .find(|r| r.kind == "sr" && r.is_final)
    });
    let shown = reports::get(&station.reader(), current.id, None).expect("get final");
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
    let queue = queue_rows(&station.reader()).expect("queue");
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
        reports::unread_count(&station.reader(), "li").expect("unread"),
        2
    );
    cli(&["ack", &id, "--user", "li"]).assert_success("report ack");
    assert_eq!(
        reports::unread_count(&station.reader(), "li").expect("unread"),
        1
    );
    let page = scratch.join("print.html");
    let shown = cli(&["show", &id, "--print", page.to_str().expect("utf-8 path")]);
    shown.assert_success("report show");
    assert!(shown.log.contains("张建华"), "{}", shown.log);
    assert!(
        shown.log.contains("turnaround: first report "),
        "{}",
        shown.log
    );
    assert!(
        !shown.log.contains("Some(") && !shown.log.contains("None"),
        "values in words, not debug text: {}",
        shown.log
    );
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
    let hub = Orthanc::start(&scratch.join("hub"));
    let study = uid();
    let station = deliver(&scratch, hub.dicomweb_url(), &[&study]);

    // The hub goes down: the station's looks fail and the link shows it.
    let hub = hub.stop();
    wait_for("the link shown offline", Duration::from_secs(60), || {
        let online: i64 = station
            .reader()
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
    let hub = hub.start();
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
    hub.upload(&report);
    let row = wait_for(
        "the report after the outage",
        Duration::from_secs(90),
        || list(&station, Some(&study), false).into_iter().next(),
    );
    assert!(row.is_final);
    assert_eq!(row.observer, "李医生");
    let shown = reports::get(&station.reader(), row.id, None).expect("get");
    assert!(
        shown.text.contains("结论：胸部正位片未见异常。"),
        "{}",
        shown.text
    );
}

/// The poller's one query for a batch of studies: every report instance of the asked studies
/// (any of the report SOP classes), nothing of a study not asked about, no image.
#[test]
fn one_qido_query_finds_the_reports_of_a_batch_of_studies_and_nothing_else() {
    let scratch = Scratch::new();
    let hub = Orthanc::start(&scratch.join("hub"));
    let studies: Vec<String> = (0..3).map(|_| uid()).collect();
    let mut expected = std::collections::BTreeSet::new();
    for (i, study) in studies.iter().enumerate() {
        let file = scratch.join(format!("sr{i}.dcm"));
        let sop = sr(
            &file,
            study,
            &Sr {
                charset: "ISO_IR 192",
                findings: "所见",
                conclusion: "结论",
                nodule_mm: "1",
                doctor: "",
                is_final: false,
                content_time: "080000",
            },
        );
        hub.upload(&file);
        let img = scratch.join(format!("img{i}.dcm"));
        image(&img, study);
        hub.upload(&img);
        if i < 2 {
            expected.insert(sop);
        }
    }
    let client = station::upstream::Hub::new(
        &hub.dicomweb_url(),
        station::upstream::Auth::None,
        Duration::from_secs(30),
    )
    .expect("hub");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let found = rt
        .block_on(client.find_in_studies(&studies[..2], &station::reports::sr::REPORT_CLASSES))
        .expect("QIDO-RS");
    let got: std::collections::BTreeSet<String> =
        found.iter().map(|f| f.sop_instance_uid.clone()).collect();
    assert_eq!(got, expected);
    assert!(found
        .iter()
        .all(|f| f.sop_class_uid == ENHANCED_SR && studies[..2].contains(&f.study_uid)));
}
