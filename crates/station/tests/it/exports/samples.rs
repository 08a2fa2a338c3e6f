//! Export files as the devices write them, made by the tests: a small PDF report with a
//! correct cross-reference table, JPEG and PNG images with known pixels.

/// A one-page PDF (PDF 1.4) saying `text`, created at `created` ("YYYYMMDDHHmmSS").
pub fn pdf(text: &str, created: &str) -> Vec<u8> {
    let content = format!("BT /F1 18 Tf 72 720 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_string(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
        format!("<< /Producer (ECG-1250) /CreationDate (D:{created}+08'00') >>"),
    ];
    let mut out = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R /Info 6 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// RGB test pattern: a gradient with a bright square, `w`×`h`.
pub fn rgb_pattern(w: u16, h: u16, seed: u8) -> Vec<u8> {
    let mut px = Vec::with_capacity(w as usize * h as usize * 3);
    for y in 0..h as usize {
        for x in 0..w as usize {
            let inside = (w as usize / 4..w as usize / 2).contains(&x)
                && (h as usize / 4..h as usize / 2).contains(&y);
            let v = if inside {
                240
            } else {
                ((x + y) * 255 / (w as usize + h as usize)) as u8
            };
            px.extend_from_slice(&[v, v.wrapping_add(seed), 255 - v]);
        }
    }
    px
}

/// A baseline JPEG, chrominance subsampled 4:2:0 (as ultrasound exports usually are) or not.
pub fn jpeg(w: u16, h: u16, seed: u8, subsampled: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, 90);
    encoder.set_sampling_factor(if subsampled {
        jpeg_encoder::SamplingFactor::F_2_2
    } else {
        jpeg_encoder::SamplingFactor::F_1_1
    });
    encoder
        .encode(&rgb_pattern(w, h, seed), w, h, jpeg_encoder::ColorType::Rgb)
        .expect("encoding a JPEG");
    out
}

/// An 8-bit grayscale PNG.
pub fn png_gray(w: u32, h: u32) -> (Vec<u8>, Vec<u8>) {
    let pixels: Vec<u8> = (0..w * h).map(|i| ((i % w) * 255 / w) as u8).collect();
    let img = image::GrayImage::from_raw(w, h, pixels.clone()).expect("gray image");
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("encoding a PNG");
    (out.into_inner(), pixels)
}

/// Writes `bytes` to `path` as a device does it right: under a temporary name, then renamed.
pub fn drop_file(path: &std::path::Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("export dir");
    let tmp = path.with_extension("part");
    std::fs::write(&tmp, bytes).expect("writing the export");
    std::fs::rename(&tmp, path).expect("renaming the export");
}

/// The 12 standard leads as aECG names them, in the order [`aecg`] writes them.
pub const AECG_LEADS: [&str; 12] = [
    "I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6",
];

/// Digits of a synthetic 12-lead resting ECG: a PQRST-like shape per beat at 75 bpm, a
/// different amplitude per lead, `seconds` at `hz`.
pub fn ecg_digits(seconds: usize, hz: usize) -> Vec<Vec<i16>> {
    let n = seconds * hz;
    (0..12)
        .map(|lead| {
            let gain = 0.5 + lead as f64 * 0.1;
            let sign = if lead == 3 { -1.0 } else { 1.0 };
            (0..n)
                .map(|s| {
                    let t = (s as f64 / hz as f64) % 0.8;
                    let bump = |at: f64, w: f64, a: f64| a * (-((t - at) / w).powi(2) / 2.0).exp();
                    let uv = bump(0.16, 0.02, 120.0) + bump(0.30, 0.01, 1100.0)
                        - bump(0.33, 0.01, 200.0)
                        + bump(0.55, 0.04, 280.0);
                    (sign * gain * uv / 5.0).round() as i16
                })
                .collect()
        })
        .collect()
}

/// An HL7 aECG document (as ECG carts export for the FDA format): patient, acquisition time,
/// one rhythm series, a time sequence and one SLIST_PQ per lead with origin and scale in µV.
pub fn aecg(patient_id: &str, family: &str, given: &str, digits: &[Vec<i16>], hz: usize) -> String {
    let increment = 1.0 / hz as f64;
    let mut leads = String::new();
    for (name, d) in AECG_LEADS.iter().zip(digits) {
        let text: Vec<String> = d.iter().map(|v| v.to_string()).collect();
        leads.push_str(&format!(
            r#"<component><sequence><code code="MDC_ECG_LEAD_{name}" codeSystem="2.16.840.1.113883.6.24"/><value xsi:type="SLIST_PQ"><origin value="0" unit="uV"/><scale value="5" unit="uV"/><digits>{}</digits></value></sequence></component>
"#,
            text.join(" ")
        ));
    }
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<AnnotatedECG xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<id root="2.16.840.1.113883.3.4.1"/>
<code code="93000" codeSystem="2.16.840.1.113883.6.12" codeSystemName="CPT-4"/>
<effectiveTime><low value="20261129091530"/><high value="20261129091540"/></effectiveTime>
<componentOf><timepointEvent><componentOf><subjectAssignment><subject><trialSubject>
<id extension="{patient_id}"/>
<subjectDemographicPerson><name><family>{family}</family><given>{given}</given></name>
<administrativeGenderCode code="F" codeSystem="2.16.840.1.113883.5.1"/><birthTime value="19580812"/>
</subjectDemographicPerson></trialSubject></subject></subjectAssignment></componentOf></timepointEvent></componentOf>
<component><series><code code="RHYTHM" codeSystem="2.16.840.1.113883.5.4"/>
<effectiveTime><low value="20261129091530"/><high value="20261129091540"/></effectiveTime>
<component><sequenceSet>
<component><sequence><code code="TIME_ABSOLUTE" codeSystem="2.16.840.1.113883.5.4"/><value xsi:type="GLIST_TS"><head value="20261129091530.000"/><increment value="{increment}" unit="s"/></value></sequence></component>
{leads}</sequenceSet></component>
</series></component>
</AnnotatedECG>
"#
    )
}
