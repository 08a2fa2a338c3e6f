//! Thumbnails of converted exports, so a technician can tell whose study it is before it is
//! assigned (an ultrasound export shows the name in its header, an ECG report on its page).
//! Written beside the store as `thumbnails/<SOP Instance UID>.png`, at most 512 pixels a side;
//! the API serves them as the instance's preview. ECG waveforms are drawn as a lead II strip on
//! the standard grid (25 mm/s, 10 mm/mV at 4 px/mm).
//!
//! Must never: fail or delay an ingest (a thumbnail that cannot be made is logged and skipped),
//! or run the PDF renderer without a time limit.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use image::{DynamicImage, Rgb, RgbImage};

use super::aecg::Ecg;
use crate::dicom::waveform::LEADS;

/// The longest side of a thumbnail, in pixels.
pub const MAX_SIDE: u32 = 512;
const RENDER_TIMEOUT: Duration = Duration::from_secs(20);

/// Poppler's renderer (Debian `poppler-utils`; `pdftoppm.exe` from a Poppler build on Windows)
/// found on the PATH; without it PDFs get no thumbnail, and nothing else changes.
pub fn pdftoppm() -> Option<PathBuf> {
    let name = format!("pdftoppm{}", std::env::consts::EXE_SUFFIX);
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(&name))
        .find(|p| p.is_file())
}

/// Where the thumbnail of an instance is (whether or not it exists).
pub fn path(data_dir: &Path, sop_instance_uid: &str) -> PathBuf {
    let safe: String = sop_instance_uid
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    data_dir.join("thumbnails").join(format!("{safe}.png"))
}

/// Downscales `img` to fit [`MAX_SIDE`].
pub fn shrink(img: DynamicImage) -> DynamicImage {
    if img.width() <= MAX_SIDE && img.height() <= MAX_SIDE {
        img
    } else {
        img.thumbnail(MAX_SIDE, MAX_SIDE)
    }
}

/// Writes the thumbnail (under a temporary name, then renamed).
pub fn save(data_dir: &Path, sop_instance_uid: &str, img: &DynamicImage) -> io::Result<PathBuf> {
    let dest = path(data_dir, sop_instance_uid);
    let dir = dest.parent().unwrap_or(data_dir);
    std::fs::create_dir_all(dir)?;
    let tmp = dest.with_extension("png.part");
    shrink(img.clone())
        .save_with_format(&tmp, image::ImageFormat::Png)
        .map_err(io::Error::other)?;
    std::fs::rename(&tmp, &dest)?;
    Ok(dest)
}

/// The first page of a PDF, rendered by pdftoppm within [`RENDER_TIMEOUT`].
pub fn render_pdf(pdf: &Path, data_dir: &Path, sop_instance_uid: &str) -> io::Result<DynamicImage> {
    let Some(pdftoppm) = pdftoppm() else {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "pdftoppm (poppler-utils) is not on the PATH",
        ));
    };
    let prefix = path(data_dir, sop_instance_uid).with_extension("render");
    std::fs::create_dir_all(prefix.parent().unwrap_or(data_dir))?;
    let mut child = Command::new(pdftoppm)
        .args(["-png", "-singlefile", "-f", "1", "-l", "1", "-scale-to"])
        .arg(MAX_SIDE.to_string())
        .arg(pdf)
        .arg(&prefix)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > RENDER_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "pdftoppm took too long",
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = prefix.with_extension("render.png");
    let img = if status.success() {
        image::open(&out).map_err(io::Error::other)
    } else {
        Err(io::Error::other(format!("pdftoppm failed ({status})")))
    };
    let _ = std::fs::remove_file(&out);
    img
}

/// A lead II strip (else the first lead) on ECG paper: 4 px per mm, 25 mm/s, 10 mm/mV.
pub(crate) fn draw_ecg(ecg: &Ecg) -> DynamicImage {
    const PX_PER_MM: f64 = 4.0;
    let lead = ecg
        .leads
        .iter()
        .find(|l| LEADS[l.lead].0 == "II")
        .or(ecg.leads.first());
    let Some(lead) = lead else {
        return DynamicImage::new_rgb8(1, 1);
    };
    let secs = (lead.digits.len() as f64 / ecg.sampling_hz).min(10.0);
    let (w, h) = (
        (secs * 25.0 * PX_PER_MM).ceil().max(1.0) as u32,
        40 * PX_PER_MM as u32,
    );
    let mut img = RgbImage::from_pixel(w, h, Rgb([255, 247, 247]));
    for x in 0..w {
        for y in 0..h {
            if x % 20 == 0 || y % 20 == 0 {
                img.put_pixel(x, y, Rgb([240, 160, 160]));
            } else if x % 4 == 0 || y % 4 == 0 {
                img.put_pixel(x, y, Rgb([250, 215, 215]));
            }
        }
    }
    let uv_per = match lead.unit.as_str() {
        "mV" => 1000.0,
        "V" => 1e6,
        _ => 1.0,
    };
    let mid = h as f64 / 2.0;
    let point = |s: usize| {
        let uv = (lead.origin + lead.scale * lead.digits[s] as f64) * uv_per;
        let x = s as f64 / ecg.sampling_hz * 25.0 * PX_PER_MM;
        let y = mid - uv / 1000.0 * 10.0 * PX_PER_MM;
        (x, y.clamp(0.0, h as f64 - 1.0))
    };
    let n = ((secs * ecg.sampling_hz) as usize).min(lead.digits.len());
    for s in 1..n {
        let ((x0, y0), (x1, y1)) = (point(s - 1), point(s));
        let steps = ((x1 - x0).abs().max((y1 - y0).abs()).ceil() as usize).max(1);
        for k in 0..=steps {
            let t = k as f64 / steps as f64;
            let (x, y) = (x0 + (x1 - x0) * t, y0 + (y1 - y0) * t);
            if (x as u32) < w && (y as u32) < h {
                img.put_pixel(x as u32, y as u32, Rgb([20, 20, 20]));
            }
        }
    }
    DynamicImage::ImageRgb8(img)
}
