//! Image exports (ultrasound, DR consoles) → Secondary Capture Image (PS3.3 A.8.1). A baseline
//! JPEG stays as it is, encapsulated in JPEG Baseline (PS3.5 §8.2.1, A.4.1); PNG, BMP and other
//! JPEG processes are decoded to uncompressed pixels.
//!
//! Must never: re-encode a baseline JPEG (another lossy generation), store pixels whose
//! photometric interpretation does not match the bytes, or decode an image before its size
//! from the header is known to fit (a 0.6 KB JPEG can claim 30000×30000 pixels: gigabytes).

use std::io::Cursor;

use dicom_core::value::{PixelFragmentSequence, Value};
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use super::modules::{self, Context, EXPLICIT_VR_LE, JPEG_BASELINE};
use super::profile::Kind;

/// Pixels ready for the Image Pixel module (C.7.6.3).
#[derive(Debug, Clone)]
pub struct Pixels {
    pub rows: u16,
    pub columns: u16,
    pub samples_per_pixel: u16,
    pub photometric: &'static str,
    pub bits_allocated: u16,
    /// The whole JPEG stream (JPEG Baseline), or native little-endian pixels.
    pub data: Vec<u8>,
    pub encapsulated: bool,
    /// Whether lossy compression was ever applied (PS3.3 C.7.6.1.1.5).
    pub lossy: bool,
    /// A small copy for the technician (see `thumbnail`).
    pub thumbnail: Option<image::DynamicImage>,
}

/// A thumbnail from decoded 8-bit grey or RGB pixels.
fn thumbnail_of(width: u32, height: u32, samples: u16, data: &[u8]) -> Option<image::DynamicImage> {
    let img = match samples {
        1 => image::DynamicImage::ImageLuma8(image::GrayImage::from_raw(
            width,
            height,
            data.to_vec(),
        )?),
        3 => {
            image::DynamicImage::ImageRgb8(image::RgbImage::from_raw(width, height, data.to_vec())?)
        }
        _ => return None,
    };
    Some(super::thumbnail::shrink(img))
}

impl Pixels {
    pub fn transfer_syntax(&self) -> &'static str {
        if self.encapsulated {
            JPEG_BASELINE
        } else {
            EXPLICIT_VR_LE
        }
    }
}

/// Frame header of a JPEG stream (ITU T.81 §B.2.2).
#[derive(Debug, PartialEq)]
struct Sof {
    marker: u8,
    precision: u8,
    height: u16,
    width: u16,
    /// (component id, horizontal sampling, vertical sampling)
    components: Vec<(u8, u8, u8)>,
    adobe_transform: Option<u8>,
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at + 2).map(|s| u16::from_be_bytes([s[0], s[1]]))
}

/// Walks the marker segments up to the frame header.
fn read_sof(b: &[u8]) -> Result<Sof, String> {
    let corrupt = |what: &str| format!("the JPEG image is corrupt: {what}");
    if !b.starts_with(&[0xFF, 0xD8]) {
        return Err(corrupt("no start-of-image marker"));
    }
    let mut i = 2;
    let mut adobe_transform = None;
    for _ in 0..10_000 {
        while b.get(i) == Some(&0xFF) && b.get(i + 1) == Some(&0xFF) {
            i += 1; // fill bytes
        }
        if b.get(i) != Some(&0xFF) {
            return Err(corrupt("marker expected"));
        }
        let marker = *b.get(i + 1).ok_or_else(|| corrupt("truncated"))?;
        if (0xD0..=0xD7).contains(&marker) || marker == 0x01 {
            i += 2;
            continue;
        }
        let len = be16(b, i + 2).ok_or_else(|| corrupt("truncated"))? as usize;
        let seg = b
            .get(i + 4..i + 2 + len)
            .ok_or_else(|| corrupt("truncated segment"))?;
        match marker {
            0xEE if seg.starts_with(b"Adobe") && seg.len() >= 12 => adobe_transform = Some(seg[11]),
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                let n = *seg.get(5).ok_or_else(|| corrupt("short frame header"))? as usize;
                let mut components = Vec::with_capacity(n);
                for c in 0..n {
                    let at = 6 + 3 * c;
                    let (id, hv) = (seg.get(at), seg.get(at + 1));
                    let (Some(&id), Some(&hv)) = (id, hv) else {
                        return Err(corrupt("short frame header"));
                    };
                    components.push((id, hv >> 4, hv & 0xF));
                }
                return Ok(Sof {
                    marker,
                    precision: seg[0],
                    height: be16(seg, 1).unwrap_or(0),
                    width: be16(seg, 3).unwrap_or(0),
                    components,
                    adobe_transform,
                });
            }
            0xDA | 0xD9 => return Err(corrupt("no frame header before the image data")),
            _ => {}
        }
        i += 2 + len;
    }
    Err(corrupt("too many marker segments"))
}

/// The most pixels an export may have: four times a large DR detector (3072×3072), far above
/// any ultrasound or console screenshot.
pub const MAX_PIXELS: u64 = 40_000_000;

/// Why an image export is not converted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Its header claims more pixels than [`MAX_PIXELS`]: refused before decoding.
    TooLarge(String),
    /// It cannot be read as the image it says it is.
    Unreadable(String),
}

impl From<String> for Refused {
    fn from(why: String) -> Refused {
        Refused::Unreadable(why)
    }
}

impl From<&str> for Refused {
    fn from(why: &str) -> Refused {
        Refused::Unreadable(why.to_owned())
    }
}

/// Refuses a size over [`MAX_PIXELS`], as read from the header.
fn check_size(width: u32, height: u32) -> Result<(), Refused> {
    let pixels = u64::from(width) * u64::from(height);
    if pixels > MAX_PIXELS {
        return Err(Refused::TooLarge(format!(
            "the image claims {width}×{height} pixels, more than the {MAX_PIXELS} an export may have"
        )));
    }
    Ok(())
}

/// Prepares the pixels of an image export, after its header's size is checked.
pub fn prepare(kind: Kind, bytes: Vec<u8>) -> Result<Pixels, Refused> {
    let format = match kind {
        Kind::Jpeg => return jpeg(bytes),
        Kind::Png => image::ImageFormat::Png,
        Kind::Bmp => image::ImageFormat::Bmp,
        other => return Err(format!("{other} is not an image").into()),
    };
    let reader = image::ImageReader::with_format(Cursor::new(&bytes), format);
    let (width, height) = reader
        .into_dimensions()
        .map_err(|e| format!("the image cannot be read: {e}"))?;
    check_size(width, height)?;
    Ok(decoded(image::load_from_memory_with_format(
        &bytes, format,
    ))?)
}

fn jpeg(bytes: Vec<u8>) -> Result<Pixels, Refused> {
    let sof = read_sof(&bytes)?;
    if sof.width == 0 || sof.height == 0 {
        return Err("the JPEG image has no size in its frame header".into());
    }
    check_size(sof.width.into(), sof.height.into())?;
    // Baseline: sequential DCT, Huffman, 8-bit (T.81 process 1), grey or YCbCr with the
    // chrominance subsampled (YBR_FULL_422, PS3.5 §8.2.1), or RGB stored without transform.
    let baseline = sof.marker == 0xC0 && sof.precision == 8;
    let photometric = match sof.components.as_slice() {
        [_] => Some("MONOCHROME2"),
        [_, _, _]
            if sof.adobe_transform == Some(0) || sof.components.iter().map(|c| c.0).eq(*b"RGB") =>
        {
            Some("RGB")
        }
        [(_, h, v), (_, 1, 1), (_, 1, 1)] if (*h, *v) != (1, 1) => Some("YBR_FULL_422"),
        // Full-resolution YCbCr (4:4:4) would be YBR_FULL, which validators (dciodvfy) refuse
        // with JPEG Baseline: decoded below instead.
        _ => None,
    };
    if let (true, Some(photometric)) = (baseline, photometric) {
        // The stream must decode before we vouch for it.
        let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(&bytes));
        let decoded = decoder
            .decode()
            .map_err(|e| format!("the JPEG image is corrupt: {e}"))?;
        let samples = if photometric == "MONOCHROME2" { 1 } else { 3 };
        let thumbnail = thumbnail_of(sof.width.into(), sof.height.into(), samples, &decoded);
        let mut data = bytes;
        if data.len() % 2 == 1 {
            data.push(0); // fragments have even length (PS3.5 §A.4); decoders stop at EOI
        }
        return Ok(Pixels {
            rows: sof.height,
            columns: sof.width,
            samples_per_pixel: sof.components.len() as u16,
            photometric,
            bits_allocated: 8,
            data,
            encapsulated: true,
            lossy: true,
            thumbnail,
        });
    }
    // Progressive, extended or 4:4:4 JPEG: decoded, stored uncompressed.
    let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(&bytes));
    let data = decoder
        .decode()
        .map_err(|e| format!("the JPEG image is corrupt: {e}"))?;
    let info = decoder.info().ok_or("the JPEG image has no frame header")?;
    let (samples, photometric) = match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 => (1, "MONOCHROME2"),
        jpeg_decoder::PixelFormat::RGB24 => (3, "RGB"),
        other => return Err(format!("JPEG images in {other:?} pixels are not supported").into()),
    };
    Ok(Pixels {
        rows: info.height,
        columns: info.width,
        samples_per_pixel: samples,
        photometric,
        bits_allocated: 8,
        thumbnail: thumbnail_of(info.width.into(), info.height.into(), samples, &data),
        data,
        encapsulated: false,
        lossy: true,
    })
}

fn decoded(img: image::ImageResult<image::DynamicImage>) -> Result<Pixels, String> {
    let img = img.map_err(|e| format!("the image cannot be read: {e}"))?;
    let (w, h) = (img.width(), img.height());
    let (Ok(columns), Ok(rows)) = (u16::try_from(w), u16::try_from(h)) else {
        return Err(format!(
            "the image is {w}x{h} pixels; DICOM allows at most 65535 each way"
        ));
    };
    use image::ColorType::*;
    let thumbnail = Some(super::thumbnail::shrink(img.clone()));
    let (samples, photometric, bits, data) = match img.color() {
        L8 | La8 => (1, "MONOCHROME2", 8, img.to_luma8().into_raw()),
        L16 | La16 => {
            let px = img.to_luma16().into_raw();
            (
                1,
                "MONOCHROME2",
                16,
                px.iter().flat_map(|v| v.to_le_bytes()).collect(),
            )
        }
        _ => (3, "RGB", 8, img.to_rgb8().into_raw()),
    };
    Ok(Pixels {
        rows,
        columns,
        samples_per_pixel: samples,
        photometric,
        bits_allocated: bits,
        data,
        encapsulated: false,
        lossy: false,
        thumbnail,
    })
}

/// The Secondary Capture Image object.
pub fn build(ctx: &Context, px: &mut Pixels) -> InMemDicomObject {
    let mut o = modules::base(ctx, Some("WSD"));
    // General Series (C.7.3.1), type 2C: empty, since the side is not known from an export
    // (dciodvfy asks for it).
    modules::put(&mut o, tags::LATERALITY, VR::CS, "");
    // General Image (C.7.6.1).
    modules::put(&mut o, tags::PATIENT_ORIENTATION, VR::CS, "");
    modules::put(&mut o, tags::BURNED_IN_ANNOTATION, VR::CS, "YES");
    modules::put(
        &mut o,
        tags::LOSSY_IMAGE_COMPRESSION,
        VR::CS,
        if px.lossy { "01" } else { "00" },
    );
    if px.lossy {
        modules::put(
            &mut o,
            tags::LOSSY_IMAGE_COMPRESSION_METHOD,
            VR::CS,
            "ISO_10918_1",
        );
    }
    // Image Pixel (C.7.6.3).
    let us = |o: &mut InMemDicomObject, tag, v: u16| {
        o.put(DataElement::new(
            tag,
            VR::US,
            dicom_core::PrimitiveValue::from(v),
        ));
    };
    us(&mut o, tags::SAMPLES_PER_PIXEL, px.samples_per_pixel);
    modules::put(
        &mut o,
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        px.photometric,
    );
    us(&mut o, tags::ROWS, px.rows);
    us(&mut o, tags::COLUMNS, px.columns);
    us(&mut o, tags::BITS_ALLOCATED, px.bits_allocated);
    us(&mut o, tags::BITS_STORED, px.bits_allocated);
    us(&mut o, tags::HIGH_BIT, px.bits_allocated - 1);
    us(&mut o, tags::PIXEL_REPRESENTATION, 0);
    if px.samples_per_pixel > 1 {
        us(&mut o, tags::PLANAR_CONFIGURATION, 0);
    }
    if px.encapsulated {
        let fragments =
            PixelFragmentSequence::new(Vec::<u32>::new(), vec![std::mem::take(&mut px.data)]);
        o.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OB,
            Value::from(fragments),
        ));
    } else {
        let vr = if px.bits_allocated > 8 {
            VR::OW
        } else {
            VR::OB
        };
        modules::put_bytes(&mut o, tags::PIXEL_DATA, vr, std::mem::take(&mut px.data));
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_header_is_found_after_app_segments() {
        // SOI, APP0 (JFIF, 16 bytes), SOF0 8-bit 2x3, 3 components 2x1,1x1,1x1.
        let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
        b.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
        b.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x11, 8, 0, 2, 0, 3, 3]);
        b.extend_from_slice(&[1, 0x21, 0, 2, 0x11, 1, 3, 0x11, 1]);
        let sof = read_sof(&b).expect("sof");
        assert_eq!(
            (sof.marker, sof.precision, sof.height, sof.width),
            (0xC0, 8, 2, 3)
        );
        assert_eq!(sof.components, vec![(1, 2, 1), (2, 1, 1), (3, 1, 1)]);
        assert!(read_sof(&b[..8]).is_err());
        assert!(read_sof(b"\xFF\xD8\xFF\xDA\x00\x02").is_err());
    }

    #[test]
    fn bmp_pixels_are_stored_exactly_as_rgb() {
        let rgb: Vec<u8> = (0..4 * 3 * 3).map(|i| (i * 7) as u8).collect();
        let img = image::RgbImage::from_raw(4, 3, rgb.clone()).expect("image");
        let mut bmp = std::io::Cursor::new(Vec::new());
        img.write_to(&mut bmp, image::ImageFormat::Bmp)
            .expect("bmp");
        let px = prepare(Kind::Bmp, bmp.into_inner()).expect("prepared");
        assert_eq!((px.rows, px.columns, px.samples_per_pixel), (3, 4, 3));
        assert_eq!(
            (px.photometric, px.encapsulated, px.lossy),
            ("RGB", false, false)
        );
        assert_eq!(px.data, rgb);
        assert!(prepare(Kind::Bmp, b"BM not really".to_vec()).is_err());
    }
}
