//! The preview of a stored instance as a small PNG (at most 512 pixels a side), for lists and
//! the report's key images, and the leads of a stored ECG for its plot ([`waveform`]). The PNG: the converted export's thumbnail when there is one, else the
//! instance's pixel data rendered here (first frame, window/level from the file, else min–max
//! for an image without one, MONOCHROME1 inverted). Rendered previews are kept under
//! `<data_dir>/previews/` so a list of studies does not decode the same image twice.
//!
//! Must never: change a received file, hold the store's lock while decoding, or decode more
//! objects at once than `renders` allows.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use dicom_pixeldata::{ConvertOptions, PixelDecoder, VoiLutOption};
use image::{DynamicImage, GrayImage, RgbImage};

use super::renders;
use crate::convert::thumbnail;
use crate::dicom::waveform::{self, EcgWaveform, WaveformError};
use crate::store::{self, Store};

/// Why no preview was made.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    /// The index holds no such instance.
    #[error("no instance {0}")]
    NotFound(String),
    /// The instance has no pixel data (a report, an ECG).
    #[error("instance {0} has no image to show")]
    NoImage(String),
    /// The pixels could not be decoded or drawn.
    #[error("cannot render {sop}: {message}")]
    Render {
        /// The SOP Instance UID.
        sop: String,
        /// What the decoder said.
        message: String,
    },
    /// Every decode slot was taken for longer than a request waits (`renders`).
    #[error("the station is busy making other previews")]
    Busy,
    /// The index could not be read.
    #[error(transparent)]
    Store(#[from] store::StoreError),
}

/// Where the rendered preview of an instance is kept.
fn cached_path(data_dir: &Path, sop_instance_uid: &str) -> PathBuf {
    let name = thumbnail::path(data_dir, sop_instance_uid);
    data_dir
        .join("previews")
        .join(name.file_name().unwrap_or_default())
}

/// The PNG bytes of the preview of `sop_instance_uid`.
pub fn png(
    store: &Store,
    data_dir: &Path,
    sop_instance_uid: &str,
) -> Result<Vec<u8>, PreviewError> {
    let found = store::instances_with_sop(&store.lock(), sop_instance_uid)?;
    // The first copy received; later ones with other bytes are kept for review only.
    let first = found
        .first()
        .ok_or_else(|| PreviewError::NotFound(sop_instance_uid.to_owned()))?;
    for ready in [
        thumbnail::path(data_dir, sop_instance_uid),
        cached_path(data_dir, sop_instance_uid),
    ] {
        if let Ok(bytes) = std::fs::read(&ready) {
            return Ok(bytes);
        }
    }
    let render_err = |message: String| PreviewError::Render {
        sop: sop_instance_uid.to_owned(),
        message,
    };
    let img = {
        let _slot = renders::DECODES
            .enter(renders::WAIT)
            .ok_or(PreviewError::Busy)?;
        render(
            &data_dir.join(&first.path),
            sop_instance_uid,
            &Look::default(),
        )?
    };
    let mut bytes = Vec::new();
    thumbnail::shrink(img)
        .write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
        .map_err(|e| render_err(e.to_string()))?;
    let cache = cached_path(data_dir, sop_instance_uid);
    if let Err(e) = write_atomically(&cache, &bytes) {
        tracing::warn!(path = %cache.display(), error = %e, "cannot keep a rendered preview");
    }
    Ok(bytes)
}

/// The waveform of a stored instance, by SOP Instance UID: [`waveform_file`] then
/// [`waveform_read`] (a running station locks its store for the first only).
pub fn waveform(
    conn: &rusqlite::Connection,
    data_dir: &Path,
    sop_instance_uid: &str,
) -> Result<EcgWaveform, WaveformError> {
    waveform_read(&waveform_file(conn, data_dir, sop_instance_uid)?)
}

/// Where the stored ECG `sop_instance_uid` is: the first copy received (later ones with other
/// bytes are kept for review only).
pub fn waveform_file(
    conn: &rusqlite::Connection,
    data_dir: &Path,
    sop_instance_uid: &str,
) -> Result<PathBuf, WaveformError> {
    let found = store::instances_with_sop(conn, sop_instance_uid)
        .map_err(|e| WaveformError::Read(e.to_string()))?;
    let first = found
        .first()
        .ok_or_else(|| WaveformError::NotFound(sop_instance_uid.to_owned()))?;
    Ok(data_dir.join(&first.path))
}

/// The leads of the ECG stored at `path` (the `waveform_get` operation), one of the few
/// decodes at once `renders` allows.
pub fn waveform_read(path: &Path) -> Result<EcgWaveform, WaveformError> {
    let _slot = renders::DECODES
        .enter(renders::WAIT)
        .ok_or_else(|| WaveformError::Read("the station is busy reading other waveforms".into()))?;
    waveform::read(path)
}

fn write_atomically(dest: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = dest.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = dest.with_extension("png.part");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, dest)
}

/// Which frame to render and through which window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Look {
    /// 0-based.
    pub frame: u32,
    /// `(center, width)` in place of the file's own window (or the values' range).
    pub window: Option<(f64, f64)>,
}

/// A frame of a stored object's pixel data as an 8-bit image, as `look` says (the caller holds
/// a `renders` slot).
pub fn render(
    path: &Path,
    sop_instance_uid: &str,
    look: &Look,
) -> Result<DynamicImage, PreviewError> {
    let err = |message: String| PreviewError::Render {
        sop: sop_instance_uid.to_owned(),
        message,
    };
    let obj = crate::dicom::bounds::open_file(path).map_err(|e| err(e.to_string()))?;
    if obj.element(dicom_dictionary_std::tags::PIXEL_DATA).is_err() {
        return Err(PreviewError::NoImage(sop_instance_uid.to_owned()));
    }
    let pixels = obj.decode_pixel_data().map_err(|e| err(e.to_string()))?;
    let (w, h) = (pixels.columns(), pixels.rows());
    if look.frame >= pixels.number_of_frames() {
        return Err(err(format!(
            "no frame {} (the instance has {})",
            look.frame + 1,
            pixels.number_of_frames()
        )));
    }
    let photometric = pixels.photometric_interpretation();
    let img = match pixels.samples_per_pixel() {
        1 if photometric.is_monochrome() => {
            // Stored values through the Modality LUT (rescale), then our own window.
            let options = ConvertOptions::new().with_voi_lut(VoiLutOption::Identity);
            let values: Vec<f64> = pixels
                .to_vec_frame_with_options(look.frame, &options)
                .map_err(|e| err(e.to_string()))?;
            let window = look.window.or_else(|| {
                pixels
                    .window()
                    .ok()
                    .flatten()
                    .and_then(|w| w.first().copied())
                    .map(|w| (w.center, w.width))
            });
            let invert = photometric.as_str() == "MONOCHROME1";
            let grey = window_8bit(&values, window, invert);
            GrayImage::from_raw(w, h, grey).map(DynamicImage::ImageLuma8)
        }
        3 if pixels.bits_allocated() == 8 => {
            let data: Vec<u8> = pixels
                .to_vec_frame(look.frame)
                .map_err(|e| err(e.to_string()))?;
            RgbImage::from_raw(w, h, data).map(DynamicImage::ImageRgb8)
        }
        n => {
            return Err(err(format!(
                "{n} samples per pixel of {} bits ({photometric})",
                pixels.bits_allocated()
            )))
        }
    };
    img.ok_or_else(|| err(format!("{w}×{h} frame does not match its pixel data")))
}

/// Grey levels 0–255 through a linear window (PS3.3 C.11.2.1.2.1) of `(center, width)`, or the
/// values' own range when the file gives none (a DX often does not).
fn window_8bit(values: &[f64], window: Option<(f64, f64)>, invert: bool) -> Vec<u8> {
    let (center, width) = window.filter(|(_, w)| *w >= 1.0).unwrap_or_else(|| {
        let (lo, hi) = values
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
        ((lo + hi + 1.0) / 2.0, (hi - lo + 1.0).max(1.0))
    });
    values
        .iter()
        .map(|v| {
            let y = if width <= 1.0 {
                if *v < center - 0.5 {
                    0.0
                } else {
                    1.0
                }
            } else {
                ((v - (center - 0.5)) / (width - 1.0) + 0.5).clamp(0.0, 1.0)
            };
            let y = if invert { 1.0 - y } else { y };
            (y * 255.0).round() as u8
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use dicom_core::{DataElement, PrimitiveValue, VR};
    use dicom_dictionary_std::tags;
    use dicom_object::{FileMetaTableBuilder, InMemDicomObject};

    use super::{render, window_8bit, Look};

    #[test]
    fn a_multi_frame_colour_image_previews_its_first_frame_and_renders_any() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("us.dcm");
        // Two 3×2 RGB frames: the first red, the second blue.
        let frame = |rgb: [u8; 3]| rgb.repeat(6);
        let pixels = [frame([200, 0, 0]), frame([0, 0, 200])].concat();
        let el = |tag, vr, v: PrimitiveValue| DataElement::new(tag, vr, v);
        InMemDicomObject::from_element_iter([
            el(
                tags::SOP_CLASS_UID,
                VR::UI,
                "1.2.840.10008.5.1.4.1.1.3.1".into(),
            ),
            el(tags::SOP_INSTANCE_UID, VR::UI, "1.2.3.4".into()),
            el(tags::SAMPLES_PER_PIXEL, VR::US, 3u16.into()),
            el(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "RGB".into()),
            el(tags::PLANAR_CONFIGURATION, VR::US, 0u16.into()),
            el(tags::NUMBER_OF_FRAMES, VR::IS, "2".into()),
            el(tags::ROWS, VR::US, 2u16.into()),
            el(tags::COLUMNS, VR::US, 3u16.into()),
            el(tags::BITS_ALLOCATED, VR::US, 8u16.into()),
            el(tags::BITS_STORED, VR::US, 8u16.into()),
            el(tags::HIGH_BIT, VR::US, 7u16.into()),
            el(tags::PIXEL_REPRESENTATION, VR::US, 0u16.into()),
            el(tags::PIXEL_DATA, VR::OB, PrimitiveValue::from(pixels)),
        ])
        .with_meta(FileMetaTableBuilder::new().transfer_syntax("1.2.840.10008.1.2.1"))
        .expect("meta")
        .write_to_file(&path)
        .expect("write");
        let img = render(&path, "1.2.3.4", &Look::default())
            .expect("render")
            .to_rgb8();
        assert_eq!((img.width(), img.height()), (3, 2));
        assert_eq!(img.get_pixel(2, 1).0, [200, 0, 0]);
        let second = Look {
            frame: 1,
            window: None,
        };
        let img = render(&path, "1.2.3.4", &second).expect("render").to_rgb8();
        assert_eq!(
            img.get_pixel(2, 1).0,
            [0, 0, 200],
            "the second frame is blue"
        );
        let past = Look {
            frame: 2,
            window: None,
        };
        assert!(render(&path, "1.2.3.4", &past).is_err(), "no third frame");
    }

    #[test]
    fn window_maps_its_range_to_black_through_white() {
        let ramp: Vec<f64> = (0..4096).map(f64::from).collect();
        let grey = window_8bit(&ramp, Some((2048.0, 4096.0)), false);
        assert_eq!((grey[0], grey[2048], grey[4095]), (0, 128, 255));
        // A narrow window saturates outside it; MONOCHROME1 is inverted.
        let grey = window_8bit(&ramp, Some((1000.0, 100.0)), true);
        assert_eq!((grey[900], grey[1100]), (255, 0));
        // No window: the values' own range.
        let grey = window_8bit(&[-1000.0, 0.0, 1000.0], None, false);
        assert_eq!(grey, [0, 128, 255]);
    }
}
