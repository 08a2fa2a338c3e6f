//! Synthetic test images with the structure real ones have (smooth anatomy-like gradients,
//! noise, hard edges, flat background) in every layout the encoder must handle.

use station_codec::{PixelDescriptor, PixelElement};

use crate::part10::{EXPLICIT_VR_BIG_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN};

#[derive(Debug, Clone)]
pub struct Image {
    pub name: &'static str,
    pub descriptor: PixelDescriptor,
    /// Native Pixel Data, frames back to back, without the padding byte.
    pub pixels: Vec<u8>,
    /// Palette colour LUT entries (the same for red, green and blue), for PALETTE COLOR.
    pub palette: Option<Vec<u16>>,
}

struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// A value in 0..=1 for pixel (x, y) of frame f: a moving blob over a gradient, a bright
/// rectangle with hard edges, a black border, and some noise.
fn scene(x: usize, y: usize, f: usize, w: usize, h: usize, noise: &mut Noise) -> f64 {
    if x < w / 10 || y < h / 10 {
        return 0.0;
    }
    let (fx, fy) = (x as f64 / w as f64, y as f64 / h as f64);
    let cx = 0.5 + 0.2 * (f as f64 * 0.7).sin();
    let blob = (-((fx - cx).powi(2) + (fy - 0.5).powi(2)) * 12.0).exp();
    let edge = if (w / 3..w / 2).contains(&x) && (h / 3..h / 2).contains(&y) {
        0.3
    } else {
        0.0
    };
    let n = (noise.next() % 1000) as f64 / 1000.0 * 0.05;
    (0.2 * fx + 0.5 * blob + edge + n).min(1.0)
}

pub struct Mono {
    pub name: &'static str,
    pub rows: u16,
    pub columns: u16,
    pub frames: Option<u32>,
    pub bits_allocated: u16,
    pub bits_stored: u16,
    pub signed: bool,
    pub photometric: &'static str,
    pub big_endian: bool,
}

impl Mono {
    pub fn new(name: &'static str, rows: u16, columns: u16, allocated: u16, stored: u16) -> Mono {
        Mono {
            name,
            rows,
            columns,
            frames: None,
            bits_allocated: allocated,
            bits_stored: stored,
            signed: false,
            photometric: "MONOCHROME2",
            big_endian: false,
        }
    }

    pub fn build(&self) -> Image {
        let (w, h) = (usize::from(self.columns), usize::from(self.rows));
        let frames = self.frames.unwrap_or(1) as usize;
        let mut noise = Noise(0x9E37_79B9_7F4A_7C15 ^ w as u64 ^ (h as u64) << 20);
        let max = (1i64 << self.bits_stored) - 1;
        let mut pixels = Vec::new();
        for f in 0..frames {
            for y in 0..h {
                for x in 0..w {
                    let mut v = (scene(x, y, f, w, h, &mut noise) * max as f64) as i64;
                    if self.signed {
                        v -= 1 << (self.bits_stored - 1); // centre on zero: half the values negative
                    }
                    // The extremes of the range appear in every frame.
                    if x == w - 1 && y == h - 1 {
                        v = if self.signed {
                            -(1 << (self.bits_stored - 1))
                        } else {
                            0
                        };
                    } else if x == w - 1 && y == 0 {
                        v = if self.signed {
                            (1 << (self.bits_stored - 1)) - 1
                        } else {
                            max
                        };
                    }
                    let raw = v as u16; // two's complement, sign-extended through 16 bits
                    match (self.bits_allocated, self.big_endian) {
                        (8, _) => pixels.push(raw as u8),
                        (_, false) => pixels.extend(raw.to_le_bytes()),
                        (_, true) => pixels.extend(raw.to_be_bytes()),
                    }
                }
            }
        }
        // Big-endian 8-bit pixels as devices write them: OW words, so each pair is swapped.
        let swapped = self.big_endian && self.bits_allocated == 8;
        if swapped {
            assert!(
                pixels.len() % 2 == 0,
                "{}: give OW an even length",
                self.name
            );
            pixels.chunks_exact_mut(2).for_each(|pair| pair.swap(0, 1));
        }
        let mut image = Image {
            name: self.name,
            descriptor: descriptor(
                self.rows,
                self.columns,
                1,
                self.bits_allocated,
                self.bits_stored,
                u16::from(self.signed),
                self.photometric,
                None,
                self.frames,
                if self.big_endian {
                    EXPLICIT_VR_BIG_ENDIAN
                } else {
                    EXPLICIT_VR_LITTLE_ENDIAN
                },
                pixels.len(),
            ),
            pixels,
            palette: None,
        };
        if swapped {
            image.descriptor.pixel_data_vr = Some(*b"OW");
        }
        image
    }
}

#[allow(clippy::too_many_arguments)]
pub fn descriptor(
    rows: u16,
    columns: u16,
    samples: u16,
    allocated: u16,
    stored: u16,
    representation: u16,
    photometric: &str,
    planar: Option<u16>,
    frames: Option<u32>,
    transfer_syntax: &str,
    len: usize,
) -> PixelDescriptor {
    PixelDescriptor {
        transfer_syntax_uid: transfer_syntax.into(),
        element: PixelElement::PixelData,
        pixel_data_vr: Some(if allocated == 8 { *b"OB" } else { *b"OW" }),
        pixel_data_length: (len + len % 2) as u64,
        rows,
        columns,
        samples_per_pixel: samples,
        bits_allocated: allocated,
        bits_stored: stored,
        high_bit: stored - 1,
        pixel_representation: representation,
        photometric_interpretation: photometric.into(),
        planar_configuration: planar,
        number_of_frames: frames,
    }
}

/// A three-sample image (RGB or YBR_FULL) like an ultrasound screen: grey anatomy with colour
/// overlays. `planar` selects Planar Configuration 1.
pub fn colour(
    name: &'static str,
    photometric: &'static str,
    rows: u16,
    columns: u16,
    frames: Option<u32>,
    bits: u16,
    planar: bool,
) -> Image {
    let (w, h) = (usize::from(columns), usize::from(rows));
    let n = frames.unwrap_or(1) as usize;
    let max = ((1u32 << bits) - 1) as f64;
    let mut noise = Noise(0xD1B5_4A32_D192_ED03);
    let mut pixels = Vec::new();
    for f in 0..n {
        let mut frame = vec![[0u16; 3]; w * h];
        for y in 0..h {
            for x in 0..w {
                let g = scene(x, y, f, w, h, &mut noise);
                let mut rgb = [g, g, g];
                // A colour Doppler-like patch.
                if (w / 2..w * 2 / 3).contains(&x) && (h / 4..h / 2).contains(&y) {
                    rgb = [g * 0.2, 0.3, (0.5 + g).min(1.0)];
                }
                frame[y * w + x] = rgb.map(|c| (c * max) as u16);
            }
        }
        let mut push = |v: u16| {
            if bits == 8 {
                pixels.push(v as u8)
            } else {
                pixels.extend(v.to_le_bytes())
            }
        };
        if planar {
            for s in 0..3 {
                frame.iter().for_each(|p| push(p[s]));
            }
        } else {
            frame.iter().for_each(|p| p.iter().for_each(|&v| push(v)));
        }
    }
    Image {
        name,
        descriptor: descriptor(
            rows,
            columns,
            3,
            bits,
            bits,
            0,
            photometric,
            Some(u16::from(planar)),
            frames,
            EXPLICIT_VR_LITTLE_ENDIAN,
            pixels.len(),
        ),
        pixels,
        palette: None,
    }
}

/// PALETTE COLOR: 8-bit indices into a 256-entry LUT.
pub fn palette(name: &'static str, rows: u16, columns: u16) -> Image {
    let mut image = Mono::new(name, rows, columns, 8, 8).build();
    image.descriptor.photometric_interpretation = "PALETTE COLOR".into();
    image.palette = Some((0..256u32).map(|i| (i * 257) as u16).collect());
    image
}
