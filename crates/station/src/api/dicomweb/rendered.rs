//! Rendered images and thumbnails of stored instances (PS3.18 8.3.5, 10.4.1.1.3): a frame
//! decoded through a window the caller may choose, scaled to a viewport, as JPEG (the
//! standard's default) or PNG; a thumbnail is the instance's kept preview.
//!
//! Must never: decode outside the `renders` gate (a few at once), or keep an image rendered
//! with a caller's window where the shared preview is kept.

use std::io::Cursor;
use std::path::Path;

use image::DynamicImage;

use super::not_found;
use crate::api::downloads::Binary;
use crate::api::ApiError;
use crate::scp::preview::{self, PreviewError};
use crate::scp::renders;
use crate::store::Store;

/// The rendering a caller asks for: query keys of PS3.18 8.3.5.1 (`window`, `viewport`,
/// `quality`) and the media types it accepts.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct RenderQuery {
    /// `center,width[,function]`; LINEAR only (the function may be left out).
    pub window: Option<String>,
    /// `width,height`: the image scaled to fit, its aspect kept.
    pub viewport: Option<String>,
    /// JPEG quality, 1 to 100 (90 when absent).
    pub quality: Option<String>,
    /// The request's Accept header (set by the HTTP layer, not a query key).
    #[serde(skip)]
    pub accept: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Media {
    Jpeg,
    Png,
}

/// A query read and checked.
pub(super) struct Look {
    preview: preview::Look,
    viewport: Option<(u32, u32)>,
    quality: u8,
    media: Media,
}

fn numbers(key: &str, text: &str, count: usize) -> Result<Vec<f64>, ApiError> {
    let values: Option<Vec<f64>> = text
        .split(',')
        .take(count)
        .map(|v| v.trim().parse::<f64>().ok().filter(|v| v.is_finite()))
        .collect();
    values.filter(|v| v.len() == count).ok_or_else(|| {
        ApiError::invalid(format!("{key} {text:?}: {count} numbers, comma separated"))
    })
}

impl RenderQuery {
    /// The look asked for frame `frame` (1-based; the first when `None`).
    pub(super) fn look(&self, frame: Option<usize>) -> Result<Look, ApiError> {
        let window = match self.window.as_deref() {
            None | Some("") => None,
            Some(text) => {
                let function = text.split(',').nth(2).map(str::trim).unwrap_or("LINEAR");
                if !function.eq_ignore_ascii_case("LINEAR") {
                    return Err(ApiError::invalid(format!(
                        "window {text:?}: only the LINEAR function is rendered"
                    )));
                }
                let v = numbers("window", text, 2)?;
                if v[1] < 1.0 {
                    return Err(ApiError::invalid(format!(
                        "window {text:?}: width at least 1"
                    )));
                }
                Some((v[0], v[1]))
            }
        };
        let viewport = match self.viewport.as_deref() {
            None | Some("") => None,
            Some(text) => {
                let v = numbers("viewport", text, 2)?;
                let side = |x: f64| (1.0..=4096.0).contains(&x).then_some(x as u32);
                match (side(v[0]), side(v[1])) {
                    (Some(w), Some(h)) => Some((w, h)),
                    _ => {
                        return Err(ApiError::invalid(format!(
                            "viewport {text:?}: width and height from 1 to 4096"
                        )))
                    }
                }
            }
        };
        let quality = match self.quality.as_deref() {
            None | Some("") => 90,
            Some(text) => text
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|q| (1..=100).contains(q))
                .ok_or_else(|| ApiError::invalid(format!("quality {text:?}: 1 to 100")))?,
        };
        let frame = match frame {
            None => 0,
            Some(n) => u32::try_from(n - 1).map_err(|_| ApiError::invalid("frame number"))?,
        };
        Ok(Look {
            preview: preview::Look { frame, window },
            viewport,
            quality,
            media: media(self.accept.as_deref())?,
        })
    }
}

/// The media type from an Accept header: the first acceptable in the caller's order of
/// preference (q values), JPEG for a wildcard.
fn media(accept: Option<&str>) -> Result<Media, ApiError> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Ok(Media::Jpeg);
    };
    let mut offered: Vec<(f32, usize, &str)> = accept
        .split(',')
        .enumerate()
        .map(|(order, part)| {
            let mut fields = part.split(';');
            let kind = fields.next().unwrap_or("").trim();
            let q = fields
                .filter_map(|f| f.trim().strip_prefix("q="))
                .find_map(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            (q, order, kind)
        })
        .filter(|(q, _, _)| *q > 0.0)
        .collect();
    offered.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    offered
        .iter()
        .find_map(|(_, _, kind)| match kind.to_ascii_lowercase().as_str() {
            "image/jpeg" | "image/*" | "*/*" => Some(Media::Jpeg),
            "image/png" => Some(Media::Png),
            _ => None,
        })
        .ok_or_else(|| {
            ApiError::invalid(format!(
                "Accept {accept:?}: rendered images are image/jpeg or image/png"
            ))
        })
}

/// The frame `look` names of the stored object at `path`, rendered.
pub(super) fn rendered(path: &Path, sop: &str, look: &Look) -> Result<Binary, ApiError> {
    let img = {
        let _slot = renders::DECODES
            .enter(renders::WAIT)
            .ok_or(PreviewError::Busy)?;
        preview::render(path, sop, &look.preview)?
    };
    encode(img, look)
}

/// The preview of the first of `candidates` that has an image (an SR or ECG has none).
pub(super) fn thumbnail(
    store: &Store,
    data_dir: &Path,
    candidates: &[String],
    look: &Look,
) -> Result<Binary, ApiError> {
    for sop in candidates {
        match preview::png(store, data_dir, sop) {
            Ok(png) if look.media == Media::Png && look.viewport.is_none() => {
                return Ok(Binary {
                    content_type: "image/png",
                    bytes: png,
                })
            }
            Ok(png) => {
                let img = image::load_from_memory_with_format(&png, image::ImageFormat::Png)
                    .map_err(|e| ApiError::invalid(format!("preview of {sop}: {e}")))?;
                return encode(img, look);
            }
            Err(PreviewError::NoImage(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(not_found("可显示的图像"))
}

fn encode(img: DynamicImage, look: &Look) -> Result<Binary, ApiError> {
    let img = match look.viewport {
        Some((w, h)) => img.resize(w, h, image::imageops::FilterType::Triangle),
        None => img,
    };
    let failed = |e: String| ApiError::invalid(format!("cannot encode the image: {e}"));
    let mut bytes = Vec::new();
    match look.media {
        Media::Png => {
            img.write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
                .map_err(|e| failed(e.to_string()))?;
            Ok(Binary {
                content_type: "image/png",
                bytes,
            })
        }
        Media::Jpeg => {
            let (w, h) = (img.width(), img.height());
            let side = |x: u32| u16::try_from(x).map_err(|_| failed(format!("{w}×{h} too large")));
            let (w16, h16) = (side(w)?, side(h)?);
            let encoder = jpeg_encoder::Encoder::new(&mut bytes, look.quality);
            let done = match img {
                DynamicImage::ImageLuma8(grey) => {
                    encoder.encode(grey.as_raw(), w16, h16, jpeg_encoder::ColorType::Luma)
                }
                other => {
                    let rgb = other.to_rgb8();
                    encoder.encode(rgb.as_raw(), w16, h16, jpeg_encoder::ColorType::Rgb)
                }
            };
            done.map_err(|e| failed(e.to_string()))?;
            Ok(Binary {
                content_type: "image/jpeg",
                bytes,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caller_s_preferred_image_type_is_served() {
        assert_eq!(media(None).ok(), Some(Media::Jpeg));
        assert_eq!(media(Some("image/png")).ok(), Some(Media::Png));
        assert_eq!(
            media(Some("image/png;q=0.5, image/jpeg")).ok(),
            Some(Media::Jpeg)
        );
        assert_eq!(
            media(Some("image/webp, image/png, */*;q=0.8")).ok(),
            Some(Media::Png)
        );
        assert_eq!(
            media(Some("image/webp,image/*;q=0.8")).ok(),
            Some(Media::Jpeg)
        );
        assert!(media(Some("image/gif")).is_err(), "nothing acceptable");
    }

    #[test]
    fn window_viewport_and_quality_are_read_or_refused_in_words() {
        let q = |window: &str, viewport: &str, quality: &str| RenderQuery {
            window: Some(window.into()),
            viewport: Some(viewport.into()),
            quality: Some(quality.into()),
            accept: None,
        };
        let look = q("40,400,LINEAR", "256,128", "75")
            .look(Some(2))
            .expect("sound");
        assert_eq!(look.preview.window, Some((40.0, 400.0)));
        assert_eq!(look.preview.frame, 1);
        assert_eq!((look.viewport, look.quality), (Some((256, 128)), 75));
        assert!(q("40,400,SIGMOID", "", "").look(None).is_err());
        assert!(q("40", "", "").look(None).is_err());
        assert!(q("40,0", "", "").look(None).is_err());
        assert!(q("", "0,10", "").look(None).is_err());
        assert!(q("", "", "101").look(None).is_err());
    }
}
