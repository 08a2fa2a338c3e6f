//! The printable report: one self-contained HTML page (print CSS, A4) with the clinic's header
//! from `[reports]`, the patient and study, the report text, the reading doctor and the report's
//! status. Chinese by default, English on request. Served by the API at
//! `/api/report/{id}/print`.
//!
//! Must never: put text from a report or a patient into the page unescaped, or load anything
//! from outside the page (it must print on a clinic PC with no network).

use rusqlite::Connection;

use super::view::{get, ReportError};
use crate::config::ReportsConfig;

/// The language of the printed page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// Simplified Chinese (the default).
    #[default]
    Zh,
    /// English.
    En,
}

struct Labels {
    lang: &'static str,
    patient: &'static str,
    name: &'static str,
    sex: &'static str,
    birth: &'static str,
    patient_id: &'static str,
    accession: &'static str,
    study_date: &'static str,
    modality: &'static str,
    exam: &'static str,
    findings: &'static str,
    pdf_note: &'static str,
    key_images: &'static str,
    doctor: &'static str,
    verified: &'static str,
    status: &'static str,
    preliminary: &'static str,
    final_: &'static str,
    amended: &'static str,
    superseded: &'static str,
}

const ZH: Labels = Labels {
    lang: "zh-CN",
    patient: "患者信息",
    name: "姓名",
    sex: "性别",
    birth: "出生日期",
    patient_id: "患者编号",
    accession: "检查号",
    study_date: "检查日期",
    modality: "检查类型",
    exam: "检查项目",
    findings: "报告内容",
    pdf_note: "本报告为 PDF 文档，请在报告查看页打开。",
    key_images: "关键图像",
    doctor: "报告医生",
    verified: "审核时间",
    status: "报告状态",
    preliminary: "初步报告",
    final_: "正式报告",
    amended: "修订报告",
    superseded: "（已被新版本取代）",
};

const EN: Labels = Labels {
    lang: "en",
    patient: "Patient",
    name: "Name",
    sex: "Sex",
    birth: "Birth date",
    patient_id: "Patient ID",
    accession: "Accession",
    study_date: "Study date",
    modality: "Modality",
    exam: "Examination",
    findings: "Report",
    pdf_note: "This report is a PDF document; open it on the report page.",
    key_images: "Key images",
    doctor: "Reporting doctor",
    verified: "Verified",
    status: "Status",
    preliminary: "Preliminary",
    final_: "Final",
    amended: "Amended",
    superseded: " (superseded by a newer version)",
};

/// The print view of report `id`.
pub fn print_html(
    conn: &Connection,
    config: &ReportsConfig,
    id: i64,
    lang: Lang,
) -> Result<String, ReportError> {
    let l = match lang {
        Lang::Zh => &ZH,
        Lang::En => &EN,
    };
    let view = get(conn, id, None)?;
    let r = &view.report;
    let status = match r.status.as_str() {
        "preliminary" => l.preliminary,
        "amended" => l.amended,
        _ => l.final_,
    };
    let superseded = if r.is_current { "" } else { l.superseded };
    let sex = match (lang, r.patient_sex.as_str()) {
        (Lang::Zh, "M") => "男",
        (Lang::Zh, "F") => "女",
        (Lang::En, "M") => "Male",
        (Lang::En, "F") => "Female",
        (_, other) => other,
    };
    let body = if r.kind == "pdf" {
        format!("<p class=\"note\">{}</p>", esc(l.pdf_note))
    } else {
        format!("<div class=\"text\">{}</div>", esc(&view.text))
    };
    let key_images = match view.key_images.len() {
        0 => String::new(),
        n => format!("<p class=\"note\">{}: {n}</p>", esc(l.key_images)),
    };
    let field = |label: &str, value: &str| {
        format!(
            "<div><span class=\"k\">{}</span><span class=\"v\">{}</span></div>",
            esc(label),
            esc(value)
        )
    };
    let patient = [
        field(l.name, &r.patient_name.replace('^', "")),
        field(l.sex, sex),
        field(l.birth, &date(&r.patient_birth_date)),
        field(l.patient_id, &r.patient_id),
        field(l.accession, &r.accession),
        field(l.study_date, &date(&r.study_date)),
        field(l.modality, &r.modalities),
        field(l.exam, &r.study_description),
    ]
    .concat();
    let signature = [
        field(l.doctor, &r.observer),
        field(l.verified, &date_time(&r.verified_at)),
        field(l.status, &format!("{status}{superseded}")),
    ]
    .concat();
    Ok(format!(
        r#"<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{clinic} {title}</title>
<style>
@page {{ size: A4; margin: 18mm 16mm; }}
body {{ font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "SimSun", sans-serif;
        font-size: 11pt; color: #000; margin: 0; }}
header {{ text-align: center; border-bottom: 2px solid #000; padding-bottom: 4mm; }}
h1 {{ font-size: 18pt; margin: 0; }} h2 {{ font-size: 14pt; margin: 2mm 0 0; font-weight: normal; }}
h3 {{ font-size: 12pt; border-bottom: 1px solid #888; margin: 5mm 0 2mm; }}
.grid {{ display: grid; grid-template-columns: repeat(4, 1fr); gap: 1mm 4mm; }}
.k {{ color: #444; margin-right: 2mm; }} .k::after {{ content: "："; }}
.text {{ white-space: pre-wrap; line-height: 1.6; min-height: 80mm; }}
.note {{ color: #444; }} .sign {{ display: flex; justify-content: space-between; border-top: 1px solid #000;
        margin-top: 6mm; padding-top: 3mm; }}
@media print {{ .text {{ page-break-inside: auto; }} }}
</style></head>
<body><header><h1>{clinic}</h1><h2>{header}</h2><h2>{title}</h2></header>
<h3>{patient_label}</h3><div class="grid">{patient}</div>
<h3>{findings}</h3>{body}{key_images}
<div class="sign">{signature}</div>
</body></html>
"#,
        lang = l.lang,
        clinic = esc(&config.clinic_name),
        header = esc(&config.print_header),
        title = esc(&r.title),
        patient_label = esc(l.patient),
        findings = esc(l.findings),
    ))
}

/// Text for HTML content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// DA `YYYYMMDD` as `YYYY-MM-DD`; anything else as given.
fn date(da: &str) -> String {
    // `get`, not slicing: a malformed value from a hub may put a multibyte character anywhere.
    match da
        .get(..8)
        .filter(|d| d.bytes().all(|b| b.is_ascii_digit()))
    {
        Some(d) => format!("{}-{}-{}", &d[..4], &d[4..6], &d[6..8]),
        None => da.to_string(),
    }
}

/// DT `YYYYMMDDHHMMSS…` as `YYYY-MM-DD HH:MM`.
fn date_time(dt: &str) -> String {
    match dt
        .get(..12)
        .filter(|d| d.bytes().all(|b| b.is_ascii_digit()))
    {
        Some(d) => format!("{} {}:{}", date(&d[..8]), &d[8..10], &d[10..12]),
        None => date(dt),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_dates_read_well() {
        assert_eq!(
            esc("<b>\"王\" & 'x'</b>"),
            "&lt;b&gt;&quot;王&quot; &amp; &#39;x&#39;&lt;/b&gt;"
        );
        assert_eq!(date("20261130"), "2026-11-30");
        assert_eq!(date_time("20261130083015.000+0800"), "2026-11-30 08:30");
        assert_eq!(date_time("bad"), "bad");
        // Malformed values from a hub, a multibyte character across a cut: shown, not a panic.
        assert_eq!(date("2026113王"), "2026113王");
        assert_eq!(date_time("20261130083王"), "2026-11-30");
    }
}
