//! The preview of a stored instance as a small PNG (at most 512 pixels a side), for lists and
//! the report's key images: the converted export's thumbnail when there is one, else the
//! instance's pixel data rendered here (first frame, window/level from the file, else min–max
//! for an image without one, MONOCHROME1 inverted). Rendered previews are kept under
//! `<data_dir>/previews/` so a list of studies does not decode the same image twice.
//!
//! Must never: change a received file, or hold the store's lock while decoding.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use dicom_pixeldata::{ConvertOptions, PixelDecoder, VoiLutOption};
use image::{DynamicImage, GrayImage, RgbImage};

use crate::convert::thumbnail;
use crate::store::{self, Store};

#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    #[error("no instance {0}")]
    NotFound(String),
    #[error("instance {0} has no image to show")]
    NoImage(String),
    #[error("cannot render {sop}: {message}")]
    Render { sop: String, message: String },
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
pub fn png(store: &Store, data_dir: &Path, sop_instance_uid: &str) -> Result<Vec<u8>, PreviewError> {
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
    let img = render(&data_dir.join(&first.path), sop_instance_uid)?;
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

fn write_atomically(dest: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = dest.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = dest.with_extension("png.part");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, dest)
}

/// The first frame of a stored object's pixel data as an 8-bit image.
pub fn render(path: &Path, sop_instance_uid: &str) -> Result<DynamicImage, PreviewError> {
    let err = |message: String| PreviewError::Render {
        sop: sop_instance_uid.to_owned(),
        message,
    };
    let obj = dicom_object::open_file(path).map_err(|e| err(e.to_string()))?;
    if obj.element(dicom_dictionary_std::tags::PIXEL_DATA).is_err() {
        return Err(PreviewError::NoImage(sop_instance_uid.to_owned()));
    }
    let pixels = obj.decode_pixel_data().map_err(|e| err(e.to_string()))?;
    let (w, h) = (pixels.columns(), pixels.rows());
    let monochrome = pixels.photometric_interpretation().is_monochrome();
    // The file's first window (or VOI LUT); min–max when it has none (PS3.3 C.11.2).
    let options = ConvertOptions::new()
        .with_voi_lut(VoiLutOption::First)
        .force_8bit();
    let mut data: Vec<u8> = pixels
        .to_vec_frame_with_options(0, &options)
        .map_err(|e| err(e.to_string()))?;
    let img = match (pixels.samples_per_pixel(), monochrome) {
        (1, true) => {
            if pixels.photometric_interpretation().as_str() == "MONOCHROME1" {
                data.iter_mut().for_each(|v| *v = 255 - *v);
            }
            GrayImage::from_raw(w, h, data).map(DynamicImage::ImageLuma8)
        }
        (3, _) => RgbImage::from_raw(w, h, data).map(DynamicImage::ImageRgb8),
        (n, _) => {
            return Err(err(format!(
                "{n} samples per pixel ({})",
                pixels.photometric_interpretation()
            )))
        }
    };
    img.ok_or_else(|| err(format!("{w}×{h} frame does not match its pixel data")))
}
