//! A synthetic resting 12-lead ECG for the demo day: the Waveform Sequence item of a
//! 12-Lead ECG Waveform Storage object (one multiplex group, 12 channels, 500 Hz, signed 16-bit
//! samples, sensitivity in µV, SCPECG lead codes).
//!
//! Limb leads are made from a PQRST model for I and II, and III, aVR, aVL, aVF are derived from
//! them with Einthoven's and Goldberger's relations, as an electrocardiograph does; V1–V6 have
//! their own R-wave progression. It must never produce a signal outside the i16 range or any
//! lead whose derived relation does not hold, and it depends on nothing but its arguments.

use super::images::Rng;
use super::writer::DataSet;

/// Samples per second.
pub const SAMPLING_HZ: usize = 500;
/// µV per sample unit, as written in Channel Sensitivity.
const SENSITIVITY_UV: f32 = 2.5;

/// (label, SCPECG code, code meaning), in the order the channels are stored.
pub use crate::dicom::waveform::LEADS;

/// Wave (offset from the R peak in s, Gaussian width in s), for P, Q, R, S, T.
const WAVES: [(f32, f32); 5] = [
    (-0.18, 0.022),
    (-0.03, 0.008),
    (0.0, 0.010),
    (0.03, 0.010),
    (0.26, 0.045),
];

/// Amplitudes in mV of P, Q, R, S, T for the independently modelled leads.
const LEAD_I: [f32; 5] = [0.08, -0.05, 0.70, -0.10, 0.20];
const LEAD_II: [f32; 5] = [0.12, -0.08, 1.10, -0.20, 0.30];
const PRECORDIAL: [[f32; 5]; 6] = [
    [0.06, 0.0, 0.25, -0.90, 0.10],
    [0.08, 0.0, 0.50, -1.20, 0.35],
    [0.08, -0.02, 0.80, -0.80, 0.35],
    [0.08, -0.05, 1.30, -0.40, 0.30],
    [0.08, -0.07, 1.20, -0.20, 0.25],
    [0.08, -0.06, 0.90, -0.10, 0.20],
];

fn beat_value(t: f32, beats: &[f32], amp: &[f32; 5]) -> f32 {
    let mut mv = 0.0;
    for &rt in beats {
        if (t - rt).abs() > 0.6 {
            continue;
        }
        for (a, (off, w)) in amp.iter().zip(WAVES) {
            let z = (t - rt - off) / w;
            mv += a * (-0.5 * z * z).exp();
        }
    }
    mv
}

fn code_item(value: &str, scheme: &str, version: &str, meaning: &str) -> DataSet {
    let mut d = DataSet::new();
    d.ascii(0x0008_0100, b"SH", value)
        .ascii(0x0008_0102, b"SH", scheme)
        .ascii(0x0008_0103, b"SH", version)
        .ascii(0x0008_0104, b"LO", meaning);
    d
}

/// The interleaved samples (sample-major, channel-minor) in µV, before quantisation.
pub fn leads_uv(seconds: usize, heart_rate_bpm: f32, rng: &mut Rng) -> Vec<[f32; 12]> {
    let n = seconds * SAMPLING_HZ;
    let duration = seconds as f32;
    let mut beats = Vec::new();
    let mut rt = 0.25 + 0.3 * rng.unit();
    let rr = 60.0 / heart_rate_bpm;
    while rt < duration + 0.6 {
        beats.push(rt);
        rt += rr * (1.0 + 0.06 * (rng.unit() - 0.5));
    }
    let wander_phase = std::f32::consts::TAU * rng.unit();
    let mut out = Vec::with_capacity(n);
    for s in 0..n {
        let t = s as f32 / SAMPLING_HZ as f32;
        let wander = 0.04 * (std::f32::consts::TAU * 0.25 * t + wander_phase).sin();
        let mut noise = || 0.012 * (rng.unit() - 0.5);
        let i = beat_value(t, &beats, &LEAD_I) + wander + noise();
        let ii = beat_value(t, &beats, &LEAD_II) + 1.3 * wander + noise();
        let mut mv = [0f32; 12];
        mv[0] = i;
        mv[1] = ii;
        mv[2] = ii - i;
        mv[3] = -(i + ii) / 2.0;
        mv[4] = i - ii / 2.0;
        mv[5] = ii - i / 2.0;
        for (k, amp) in PRECORDIAL.iter().enumerate() {
            mv[6 + k] = beat_value(t, &beats, amp) + 0.7 * wander + noise();
        }
        out.push(mv.map(|v| v * 1000.0));
    }
    out
}

/// The single multiplex group of the Waveform Sequence (5400,0100).
pub fn waveform_item(seconds: usize, heart_rate_bpm: f32, rng: &mut Rng) -> DataSet {
    let samples = leads_uv(seconds, heart_rate_bpm, rng);
    let mut data = Vec::with_capacity(samples.len() * 12 * 2);
    for s in &samples {
        for uv in s {
            let q = (uv / SENSITIVITY_UV)
                .round()
                .clamp(i16::MIN as f32, i16::MAX as f32) as i16;
            data.extend_from_slice(&q.to_le_bytes());
        }
    }
    let channels = LEADS
        .iter()
        .map(|(label, code, meaning)| {
            let mut ch = DataSet::new();
            ch.ascii(0x003A_0203, b"SH", label)
                .seq(0x003A_0208, vec![code_item(code, "SCPECG", "1.3", meaning)])
                .ascii(0x003A_0210, b"DS", "2.5")
                .seq(
                    0x003A_0211,
                    vec![code_item("uV", "UCUM", "1.4", "microvolt")],
                )
                .ascii(0x003A_0212, b"DS", "1")
                .ascii(0x003A_0213, b"DS", "0")
                .ascii(0x003A_0214, b"DS", "0")
                .us(0x003A_021A, 16)
                .ascii(0x003A_0220, b"DS", "0.05")
                .ascii(0x003A_0221, b"DS", "150")
                .ascii(0x003A_0222, b"DS", "50");
            ch
        })
        .collect();
    let mut group = DataSet::new();
    group
        .ascii(0x0018_1068, b"DS", "0")
        .ascii(0x003A_0004, b"CS", "ORIGINAL")
        .us(0x003A_0005, LEADS.len() as u16)
        .ul(0x003A_0010, samples.len() as u32)
        .ascii(0x003A_001A, b"DS", &SAMPLING_HZ.to_string())
        .ascii(0x003A_0020, b"SH", "RHYTHM")
        .seq(0x003A_0200, channels)
        .us(0x5400_1004, 16)
        .ascii(0x5400_1006, b"CS", "SS")
        .raw(0x5400_1010, b"OW", data);
    group
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_leads_hold_and_r_waves_are_plausible() {
        let s = leads_uv(2, 75.0, &mut Rng::new(7));
        assert_eq!(s.len(), 1000);
        let max_ii = s.iter().map(|v| v[1]).fold(f32::MIN, f32::max);
        assert!((800.0..1500.0).contains(&max_ii), "R in II {max_ii} µV");
        for v in &s {
            assert!((v[2] - (v[1] - v[0])).abs() < 1e-3);
            assert!((v[3] + v[4] + v[5]).abs() < 1e-2, "aVR+aVL+aVF = 0");
        }
    }
}
