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
