//! A synthetic clinic day for trying the station without devices and for tests.
//!
//! [`write_clinic_day`] writes 5 patients × (DX chest PA + lateral, 4 US images + one 60-frame
//! US cine, one 12-lead ECG) = 40 PS3.10 files (explicit VR little endian), ≈214 MB at
//! [`Scale::Full`] (the day the README's Performance section measures) or a few hundred kB at
//! [`Scale::Small`]. Each patient's objects come from a simulated device with its own text
//! encoding: UTF-8, GB18030, GBK, `\ISO 2022 IR 58` with escapes, and GB18030 bytes with no
//! Specific Character Set at all. UIDs and pixels derive from the seed only: the same seed
//! gives byte-identical files.
//!
//! It must never write outside `out`, never read the clock or global randomness (determinism),
//! and never hold a whole image or the whole day in memory.

mod day;
mod ecg;
mod images;
mod writer;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use day::PatientDay;
use images::Rng;
use writer::{Charset, DataSet};

/// How large the generated images are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// Full size, as the README's benchmarks use it (≈214 MB).
    Full,
    /// Same structure, tiny images (for tests: a few hundred kB in all).
    Small,
}

/// One file written by [`write_clinic_day`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoFile {
    /// Where it was written.
    pub path: PathBuf,
    /// The true name in Unicode, PN form (family^given), e.g. "王^小明"; the ISO 2022 patient has
    /// an alphabetic and an ideographic group ("Liu^Yang=刘^洋"), since PS3.5 §6.1.2.5.3 forbids
    /// escape sequences in the first (alphabetic) group.
    pub patient_name: String,
    /// The declared (0008,0005) value, "" when the element is absent.
    pub charset: &'static str,
    /// Its SOP Instance UID.
    pub sop_instance_uid: String,
    /// Its Study Instance UID.
    pub study_uid: String,
    /// "DX", "US" or "ECG".
    pub modality: &'static str,
}

/// The day all studies are dated (fixed, so the same seed gives the same bytes).
pub const STUDY_DATE: &str = "20261128";

/// Digital X-Ray Image Storage - For Presentation (PS3.4 Annex B.5).
pub const DX_FOR_PRESENTATION: &str = "1.2.840.10008.5.1.4.1.1.1.1";
/// Ultrasound Image Storage (PS3.4 Annex B.5).
pub const US_IMAGE: &str = "1.2.840.10008.5.1.4.1.1.6.1";
/// Ultrasound Multi-frame Image Storage (PS3.4 Annex B.5).
pub const US_MULTIFRAME: &str = "1.2.840.10008.5.1.4.1.1.3.1";
/// 12-lead ECG Waveform Storage (PS3.4 Annex B.5).
pub const TWELVE_LEAD_ECG: &str = "1.2.840.10008.5.1.4.1.1.9.1.1";

const INSTITUTION: &str = "城关镇卫生院";

struct Patient {
    name: &'static str,
    id: &'static str,
    sex: &'static str,
    birth: &'static str,
    charset: Charset,
    heart_rate: f32,
}

const PATIENTS: [Patient; 5] = [
    Patient {
        name: "王^小明",
        id: "P20260001",
        sex: "M",
        birth: "19580312",
        charset: Charset::Utf8,
        heart_rate: 68.0,
    },
    Patient {
        name: "李^秀英",
        id: "P20260002",
        sex: "F",
        birth: "19630721",
        charset: Charset::Gb18030,
        heart_rate: 76.0,
    },
    Patient {
        name: "张^伟",
        id: "P20260003",
        sex: "M",
        birth: "19850904",
        charset: Charset::Gbk,
        heart_rate: 62.0,
    },
    Patient {
        name: "Liu^Yang=刘^洋",
        id: "P20260004",
        sex: "F",
        birth: "19920215",
        charset: Charset::Iso2022Ir58,
        heart_rate: 84.0,
    },
    Patient {
        name: "陈^静",
        id: "P20260005",
        sex: "F",
        birth: "19770630",
        charset: Charset::UndeclaredGb18030,
        heart_rate: 72.0,
    },
];

struct Equipment {
    manufacturer: &'static str,
    model: &'static str,
    station: &'static str,
    serial: &'static str,
    software: &'static str,
    ae: &'static str,
}

const DR_ROOM: Equipment = Equipment {
    manufacturer: "Demo Medical",
    model: "DR-5000",
    station: "DR01",
    serial: "DR5K-0413",
    software: "2.4.1",
    ae: "CLINIC_DR",
};
const US_ROOM: Equipment = Equipment {
    manufacturer: "Demo Medical",
    model: "Sono C5",
    station: "US01",
    serial: "SC5-1177",
    software: "3.0.2",
    ae: "CLINIC_US",
};
const ECG_ROOM: Equipment = Equipment {
    manufacturer: "Demo Medical",
    model: "ECG-1200",
    station: "ECG01",
    serial: "E12-0356",
    software: "1.8",
    ae: "CLINIC_ECG",
};

/// "2.25." + a 128-bit number from the seed and a label, shaped as a version-8 UUID.
fn uid(seed: u64, label: &str) -> String {
    let n = u128::from_be_bytes(digest16(seed, label));
    let n = (n & !(0xF << 76)) | (0x8 << 76); // version 8 (custom)
    let n = (n & !(0x3 << 62)) | (0x2 << 62); // RFC 4122 variant
    format!("2.25.{n}")
}

fn digest16(seed: u64, label: &str) -> [u8; 16] {
    let h = Sha256::new()
        .chain_update(b"clinic-imaging-station demo day\0")
        .chain_update(seed.to_le_bytes())
        .chain_update(label.as_bytes())
        .finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&h[..16]);
    out
}

fn rng(seed: u64, label: &str) -> Rng {
    let d = digest16(seed, label);
    Rng::new(u64::from_le_bytes([
        d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7],
    ]))
}

/// Age string (AS) on [`STUDY_DATE`] for a YYYYMMDD birth date.
fn age_on_study_date(birth: &str) -> String {
    let num = |s: &str| s.parse::<u32>().unwrap_or(0);
    let (by, bmd) = (num(&birth[..4]), num(&birth[4..]));
    let (sy, smd) = (num(&STUDY_DATE[..4]), num(&STUDY_DATE[4..]));
    let years = sy - by - u32::from(smd < bmd);
    format!("{years:03}Y")
}

/// Seconds since midnight → TM.
fn tm(secs: u32) -> String {
    format!("{:02}{:02}{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

fn code(value: &str, scheme: &str, meaning: &str) -> DataSet {
    let mut d = DataSet::new();
    d.ascii(0x0008_0100, b"SH", value)
        .ascii(0x0008_0102, b"SH", scheme)
        .ascii(0x0008_0104, b"LO", meaning);
    d
}

/// Writes the day's PS3.10 files under `out` (one subfolder per patient, named by patient ID)
/// and returns what it wrote, in writing order (per patient: DX, US, ECG).
pub fn write_clinic_day(out: &Path, scale: Scale, seed: u64) -> io::Result<Vec<DemoFile>> {
    let mut files = Vec::with_capacity(PATIENTS.len() * 8);
    for (index, p) in PATIENTS.iter().enumerate() {
        let dir = out.join(p.id);
        fs::create_dir_all(&dir)?;
        let day = PatientDay {
            p,
            index,
            seed,
            scale,
            dir,
        };
        day.dx(&mut files)?;
        day.us(&mut files)?;
        day.ecg(&mut files)?;
    }
    Ok(files)
}

#[cfg(test)]
mod tests;
