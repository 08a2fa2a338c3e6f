//! Synthetic pixel data for the demo day: a DX chest radiograph (PA or lateral, 12 bits in 16)
//! and B-mode ultrasound frames (RGB single frames with an optional colour-Doppler vessel, and a
//! MONOCHROME2 beating-chamber cine).
//!
//! Images are computed row by row in the full-size geometry and sampled down for small sizes,
//! so a `Small` image looks like a thumbnail of the `Full` one. Everything is deterministic from
//! the given noise seed. It must never hold a whole image or cine in memory and never depends on
//! anything but its arguments (no clock, no global randomness).

use std::io::{self, Write};

use super::writer::PixelSource;

/// splitmix64: small, fast and stable across versions (the image bytes are part of the demo's
/// determinism promise, so no third-party generator whose stream may change).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// Normalised ellipse distance: < 1 inside.
fn ell(u: f32, v: f32, cx: f32, cy: f32, rx: f32, ry: f32) -> f32 {
    let a = (u - cx) / rx;
    let b = (v - cy) / ry;
    a * a + b * b
}

/// 1 well inside an ellipse, 0 outside, with a soft edge.
fn soft(d: f32) -> f32 {
    ((1.0 - d) / 0.12).clamp(0.0, 1.0)
}

/// Which chest radiograph view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DxView {
    PosteroAnterior,
    LeftLateral,
}

/// A chest radiograph, MONOCHROME2, 16 bits allocated, 12 stored.
pub struct DxImage {
    pub rows: usize,
    pub cols: usize,
    pub view: DxView,
    pub rng: Rng,
}

impl DxImage {
    /// Value (0..=4095) at normalised position (u across, v down).
    fn value(&self, u: f32, v: f32, noise: f32) -> f32 {
        let mut val = 180.0 + 140.0 * u; // air, with a little heel effect
        match self.view {
            DxView::PosteroAnterior => {
                let body = soft(ell(u, v, 0.5, 0.60, 0.44, 0.56));
                let neck = soft(ell(u, v, 0.5, 0.02, 0.09, 0.14));
                val += 1700.0 * body.max(neck);
                let lungs = soft(ell(u, v, 0.31, 0.45, 0.15, 0.27))
                    + soft(ell(u, v, 0.69, 0.45, 0.15, 0.27));
                val -= 1050.0 * lungs;
                // ribs: curved bands across the lung fields
                let phase = v * 26.0 - 9.0 * (u - 0.5) * (u - 0.5);
                let rib = (1.0 - ((phase.fract() - 0.5).abs() / 0.16)).clamp(0.0, 1.0);
                val += 380.0 * lungs * rib;
                let clav_y = 0.17 + 0.5 * (u - 0.5) * (u - 0.5);
                let dy = (v - clav_y) / 0.012;
                let lateral = (u - 0.5).abs();
                if (0.04..0.34).contains(&lateral) {
                    val += 600.0 * (-dy * dy).exp() * body;
                }
                let spine = ((0.03 - (u - 0.5).abs()) / 0.01).clamp(0.0, 1.0);
                val += 550.0 * spine * body.max(neck);
                // the heart shadow fills in the lung darkness, a little denser than soft tissue
                let heart = soft(ell(u, v, 0.57, 0.63, 0.15, 0.12));
                val += heart * (1000.0 * lungs.min(1.0) + 150.0);
            }
            DxView::LeftLateral => {
                let body = soft(ell(u, v, 0.5, 0.60, 0.34, 0.56));
                val += 1700.0 * body;
                let lung = soft(ell(u, v, 0.47, 0.45, 0.22, 0.28));
                val -= 950.0 * lung;
                let heart = soft(ell(u, v, 0.38, 0.62, 0.13, 0.13));
                val += heart * (900.0 * lung + 150.0);
                let spine = ((0.045 - (u - 0.76).abs()) / 0.01).clamp(0.0, 1.0);
                let vertebra = if (v * 23.0).fract() < 0.82 { 1.0 } else { 0.45 };
                val += 700.0 * spine * vertebra * body;
                let sternum = ((0.012 - (u - 0.2 - 0.05 * v).abs()) / 0.006).clamp(0.0, 1.0);
                if (0.2..0.6).contains(&v) {
                    val += 450.0 * sternum * body;
                }
            }
        }
        (val + noise).clamp(0.0, 4095.0)
    }
}

impl PixelSource for DxImage {
    fn vr(&self) -> [u8; 2] {
        *b"OW"
    }
    fn len(&self) -> u64 {
        (self.rows * self.cols * 2) as u64
    }
    fn write_to(&mut self, w: &mut dyn Write) -> io::Result<()> {
        let mut row = Vec::with_capacity(self.cols * 2);
        for y in 0..self.rows {
            row.clear();
            let v = (y as f32 + 0.5) / self.rows as f32;
            for x in 0..self.cols {
                let u = (x as f32 + 0.5) / self.cols as f32;
                let noise = (self.rng.unit() - 0.5) * 70.0;
                let px = self.value(u, v, noise) as u16;
                row.extend_from_slice(&px.to_le_bytes());
            }
            w.write_all(&row)?;
        }
        Ok(())
    }
}

/// Full-size ultrasound geometry, in which all shapes are defined.
const US_W: f32 = 640.0;
const US_H: f32 = 480.0;

/// Grey level of a B-mode sector at full-size position (x, y), or None outside the sector.
/// `chamber` is an (cx, cy, rx, ry) anechoic ellipse; `speckle` is uniform in [0, 1).
fn b_mode(x: f32, y: f32, chamber: (f32, f32, f32, f32), speckle: f32) -> Option<f32> {
    let (dx, dy) = (x - 320.0, y - 30.0);
    let r = (dx * dx + dy * dy).sqrt();
    let th = dx.atan2(dy);
    if th.abs() > 0.65 || !(25.0..440.0).contains(&r) {
        return None;
    }
    let base = 105.0 * (0.5 + 0.5 * (-r / 330.0).exp());
    let s = (-(1.0 - speckle).ln()).min(3.0);
    let mut g = base * (0.3 + 0.6 * s);
    let cap = (r - 72.0) / 4.0;
    g += 110.0 * (-cap * cap).exp();
    let (cx, cy, rx, ry) = chamber;
    let d = ell(x, y, cx, cy, rx, ry);
    if d < 1.0 {
        g *= 0.06;
    } else {
        let wall = (d.sqrt() - 1.08) / 0.06;
        g += 70.0 * (-wall * wall).exp();
        if y > cy && (x - cx).abs() < rx * 0.8 {
            g *= 1.25; // posterior acoustic enhancement
        }
    }
    Some(g.clamp(0.0, 255.0))
}

/// Depth scale ticks at the right edge.
fn tick(x: f32, y: f32) -> bool {
    (604.0..612.0).contains(&x) && (y % 40.0) < 2.5 && y > 20.0
}

/// A single RGB B-mode frame, the `index`-th of a series; index 3 shows a colour-Doppler vessel.
pub struct UsImage {
    pub rows: usize,
    pub cols: usize,
    pub index: usize,
    pub rng: Rng,
}

impl PixelSource for UsImage {
    fn vr(&self) -> [u8; 2] {
        *b"OB"
    }
    fn len(&self) -> u64 {
        let n = (self.rows * self.cols * 3) as u64;
        n + n % 2
    }
    fn write_to(&mut self, w: &mut dyn Write) -> io::Result<()> {
        let k = self.index as f32;
        let chamber = (250.0 + 45.0 * k, 255.0, 75.0 - 8.0 * k, 45.0);
        let mut row = Vec::with_capacity(self.cols * 3);
        for y in 0..self.rows {
            row.clear();
            let fy = (y as f32 + 0.5) * US_H / self.rows as f32;
            for x in 0..self.cols {
                let fx = (x as f32 + 0.5) * US_W / self.cols as f32;
                let sp = self.rng.unit();
                let rgb = match b_mode(fx, fy, chamber, sp) {
                    Some(_) if self.index == 3 && ell(fx, fy, 400.0, 170.0, 42.0, 13.0) < 1.0 => {
                        // flow towards the probe in red, brighter in the middle of the vessel
                        let c = 1.0 - ell(fx, fy, 400.0, 170.0, 42.0, 13.0);
                        [(150.0 + 100.0 * c) as u8, (20.0 + 60.0 * c * sp) as u8, 20]
                    }
                    Some(g) => [g as u8; 3],
                    None if tick(fx, fy) => [200; 3],
                    None => [0; 3],
                };
                row.extend_from_slice(&rgb);
            }
            w.write_all(&row)?;
        }
        if (self.rows * self.cols * 3) % 2 == 1 {
            w.write_all(&[0])?;
        }
        Ok(())
    }
}

/// A MONOCHROME2 cine of a beating chamber, 30 frames per second.
pub struct UsCine {
    pub rows: usize,
    pub cols: usize,
    pub frames: usize,
    pub rng: Rng,
}

impl PixelSource for UsCine {
    fn vr(&self) -> [u8; 2] {
        *b"OB"
    }
    fn len(&self) -> u64 {
        let n = (self.rows * self.cols * self.frames) as u64;
        n + n % 2
    }
    fn write_to(&mut self, w: &mut dyn Write) -> io::Result<()> {
        let mut row = Vec::with_capacity(self.cols);
        for f in 0..self.frames {
            // one beat per second at 30 frames per second
            let beat = (std::f32::consts::TAU * f as f32 / 30.0).sin();
            let chamber = (320.0, 250.0, 95.0 + 18.0 * beat, 62.0 + 12.0 * beat);
            for y in 0..self.rows {
                row.clear();
                let fy = (y as f32 + 0.5) * US_H / self.rows as f32;
                for x in 0..self.cols {
                    let fx = (x as f32 + 0.5) * US_W / self.cols as f32;
                    let g = match b_mode(fx, fy, chamber, self.rng.unit()) {
                        Some(g) => g as u8,
                        None if tick(fx, fy) => 200,
                        None => 0,
                    };
                    row.push(g);
                }
                w.write_all(&row)?;
            }
        }
        if (self.rows * self.cols * self.frames) % 2 == 1 {
            w.write_all(&[0])?;
        }
        Ok(())
    }
}
