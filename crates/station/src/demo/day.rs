//! One patient's part of the demo day: the DX, US and ECG objects their clinic's devices write,
//! with the patient, study, series and equipment attributes every object shares.
//!
//! Every text value goes through the patient's device [`Charset`], never around it, so the
//! name bytes on disk are exactly that device's. It must never write outside the patient's
//! folder and never hold more than one image row (or one ECG) in memory.

use std::io;
use std::path::PathBuf;

use super::images::{DxImage, DxView, UsCine, UsImage};
use super::writer::{write_part10, DataSet, PixelSource};
use super::*;

struct Study {
    modality: &'static str,
    uid: String,
    id: String,
    accession: String,
    description: &'static str,
    referring: &'static str,
    start: u32,
    equipment: &'static Equipment,
}

struct Series {
    uid: String,
    number: u32,
    description: &'static str,
    body_part: &'static str,
    start: u32,
}

/// Everything one patient's devices write on the day.
pub(super) struct PatientDay<'a> {
    pub p: &'a Patient,
    pub index: usize,
    pub seed: u64,
    pub scale: Scale,
    pub dir: PathBuf,
}

impl PatientDay<'_> {
    fn label(&self, what: &str) -> String {
        format!("{}/{what}", self.p.id)
    }

    fn study(
        &self,
        modality: &'static str,
        offset_min: u32,
        description: &'static str,
        referring: &'static str,
        equipment: &'static Equipment,
    ) -> Study {
        let prefix = match modality {
            "DX" => "DR",
            "US" => "US",
            _ => "EC",
        };
        let n = self.index + 1;
        Study {
            modality,
            uid: uid(self.seed, &self.label(&format!("study/{modality}"))),
            id: format!("{prefix}{n:03}"),
            accession: format!("{prefix}{STUDY_DATE}{n:03}"),
            description,
            referring,
            start: (8 * 60 + 30 + 25 * self.index as u32 + offset_min) * 60,
            equipment,
        }
    }

    fn series(
        &self,
        study: &Study,
        number: u32,
        description: &'static str,
        body_part: &'static str,
    ) -> Series {
        Series {
            uid: uid(
                self.seed,
                &self.label(&format!("series/{}/{number}", study.modality)),
            ),
            number,
            description,
            body_part,
            start: study.start + 30 * number,
        }
    }

    /// Adds the patient, study, series, equipment and SOP common attributes to `ds` and writes
    /// the file.
    #[allow(clippy::too_many_arguments)]
    fn emit(
        &self,
        files: &mut Vec<DemoFile>,
        file_name: &str,
        study: &Study,
        series: &Series,
        instance: u32,
        sop_class: &'static str,
        mut ds: DataSet,
        pixels: Option<&mut dyn PixelSource>,
    ) -> io::Result<()> {
        let cs = self.p.charset;
        let sop_uid = uid(
            self.seed,
            &self.label(&format!(
                "sop/{}/{}/{instance}",
                study.modality, series.number
            )),
        );
        let content = tm(series.start + 20 * instance);
        let eq = study.equipment;
        if !cs.declared().is_empty() {
            ds.ascii(0x0008_0005, b"CS", cs.declared());
        }
        ds.ascii(0x0008_0012, b"DA", STUDY_DATE)
            .ascii(0x0008_0013, b"TM", &content)
            .ascii(0x0008_0016, b"UI", sop_class)
            .ascii(0x0008_0018, b"UI", &sop_uid)
            .ascii(0x0008_0020, b"DA", STUDY_DATE)
            .ascii(0x0008_0021, b"DA", STUDY_DATE)
            .ascii(0x0008_0023, b"DA", STUDY_DATE)
            .ascii(0x0008_0030, b"TM", &tm(study.start))
            .ascii(0x0008_0031, b"TM", &tm(series.start))
            .ascii(0x0008_0033, b"TM", &content)
            .ascii(0x0008_0050, b"SH", &study.accession)
            .ascii(0x0008_0060, b"CS", study.modality)
            .ascii(0x0008_0070, b"LO", eq.manufacturer)
            .ascii(0x0008_1010, b"SH", eq.station)
            .ascii(0x0008_1090, b"LO", eq.model)
            .ascii(0x0010_0020, b"LO", self.p.id)
            .ascii(0x0010_0030, b"DA", self.p.birth)
            .ascii(0x0010_0040, b"CS", self.p.sex)
            .ascii(0x0010_1010, b"AS", &age_on_study_date(self.p.birth))
            .ascii(0x0018_0015, b"CS", series.body_part)
            .ascii(0x0018_1000, b"LO", eq.serial)
            .ascii(0x0018_1020, b"LO", eq.software)
            .ascii(0x0020_000D, b"UI", &study.uid)
            .ascii(0x0020_000E, b"UI", &series.uid)
            .ascii(0x0020_0010, b"SH", &study.id)
            .ascii(0x0020_0011, b"IS", &series.number.to_string())
            .ascii(0x0020_0013, b"IS", &instance.to_string());
        ds.text(0x0008_0080, b"LO", INSTITUTION, cs)?
            .text(0x0008_0090, b"PN", study.referring, cs)?
            .text(0x0008_1030, b"LO", study.description, cs)?
            .text(0x0008_103E, b"LO", series.description, cs)?
            .text(0x0010_0010, b"PN", self.p.name, cs)?;
        let path = self.dir.join(file_name);
        write_part10(&path, sop_class, &sop_uid, eq.ae, &ds, pixels)?;
        files.push(DemoFile {
            path,
            patient_name: self.p.name.to_string(),
            charset: cs.declared(),
            sop_instance_uid: sop_uid,
            study_uid: study.uid.clone(),
            modality: study.modality,
        });
        Ok(())
    }

    pub(super) fn dx(&self, files: &mut Vec<DemoFile>) -> io::Result<()> {
        let (rows, cols) = match self.scale {
            Scale::Full => (2500, 2048),
            Scale::Small => (80, 64),
        };
        let spacing = format!("{:.4}", 2048.0 * 0.139 / cols as f64);
        let study = self.study("DX", 0, "胸部正侧位 DR", "Zhao^Jianguo=赵^建国", &DR_ROOM);
        let views = [
            (
                DxView::PosteroAnterior,
                "胸部 后前位 PA",
                "PA",
                "L\\F",
                "399348003",
                "postero-anterior",
                "125",
            ),
            (
                DxView::LeftLateral,
                "胸部 左侧位 LAT",
                "LL",
                "P\\F",
                "399173006",
                "left lateral",
                "120",
            ),
        ];
        for (k, (view, desc, pos, orient, view_code, view_meaning, kvp)) in
            views.into_iter().enumerate()
        {
            let series = self.series(&study, k as u32 + 1, desc, "CHEST");
            let mut ds = DataSet::new();
            ds.ascii(0x0008_0008, b"CS", "ORIGINAL\\PRIMARY")
                .ascii(0x0008_0022, b"DA", STUDY_DATE)
                .ascii(0x0008_0032, b"TM", &tm(series.start + 20))
                .ascii(0x0008_0068, b"CS", "FOR PRESENTATION")
                .seq(0x0008_2218, vec![code("51185008", "SCT", "Chest")])
                .ascii(0x0018_0060, b"DS", kvp)
                .ascii(0x0018_1150, b"IS", if k == 0 { "8" } else { "20" })
                .ascii(0x0018_1164, b"DS", &format!("{spacing}\\{spacing}"))
                .ascii(0x0018_5101, b"CS", pos)
                .ascii(0x0018_7004, b"CS", "SCINTILLATOR")
                .ascii(0x0020_0020, b"CS", orient)
                .ascii(0x0020_0062, b"CS", "U")
                .us(0x0028_0002, 1)
                .ascii(0x0028_0004, b"CS", "MONOCHROME2")
                .us(0x0028_0010, rows as u16)
                .us(0x0028_0011, cols as u16)
                .us(0x0028_0100, 16)
                .us(0x0028_0101, 12)
                .us(0x0028_0102, 11)
                .us(0x0028_0103, 0)
                .ascii(0x0028_0301, b"CS", "NO")
                .ascii(0x0028_1040, b"CS", "LOG")
                .ss(0x0028_1041, 1)
                .ascii(0x0028_1050, b"DS", "1700")
                .ascii(0x0028_1051, b"DS", "3000")
                .ascii(0x0028_1052, b"DS", "0")
                .ascii(0x0028_1053, b"DS", "1")
                .ascii(0x0028_1054, b"LO", "US")
                .ascii(0x0028_2110, b"CS", "00")
                .seq(0x0040_0555, vec![])
                .seq(0x0054_0220, vec![code(view_code, "SCT", view_meaning)])
                .ascii(0x2050_0020, b"CS", "IDENTITY");
            let mut img = DxImage {
                rows,
                cols,
                view,
                rng: rng(self.seed, &self.label(&format!("pixels/DX/{k}"))),
            };
            let name = format!("DX_{pos}.dcm");
            self.emit(
                files,
                &name,
                &study,
                &series,
                1,
                DX_FOR_PRESENTATION,
                ds,
                Some(&mut img),
            )?;
        }
        Ok(())
    }

    fn us_pixel_module(ds: &mut DataSet, rows: usize, cols: usize, rgb: bool) {
        ds.us(0x0028_0002, if rgb { 3 } else { 1 })
            .ascii(0x0028_0004, b"CS", if rgb { "RGB" } else { "MONOCHROME2" })
            .us(0x0028_0010, rows as u16)
            .us(0x0028_0011, cols as u16)
            .us(0x0028_0100, 8)
            .us(0x0028_0101, 8)
            .us(0x0028_0102, 7)
            .us(0x0028_0103, 0)
            .ascii(0x0028_0301, b"CS", "NO")
            .ascii(0x0028_2110, b"CS", "00")
            .ascii(0x0020_0020, b"CS", "");
        if rgb {
            ds.us(0x0028_0006, 0);
        }
    }

    pub(super) fn us(&self, files: &mut Vec<DemoFile>) -> io::Result<()> {
        let (rows, cols, frames) = match self.scale {
            Scale::Full => (480, 640, 60),
            Scale::Small => (24, 32, 8),
        };
        let study = self.study(
            "US",
            8,
            "彩色多普勒超声 腹部+心脏",
            "Zhao^Jianguo=赵^建国",
            &US_ROOM,
        );
        let still = self.series(&study, 1, "腹部 肝胆 B超", "ABDOMEN");
        for k in 0..4 {
            let mut ds = DataSet::new();
            ds.ascii(0x0008_0008, b"CS", "ORIGINAL\\PRIMARY\\ABDOMINAL\\0001")
                .ascii(0x0018_6031, b"CS", "CURVED LINEAR")
                .us(0x0028_0014, u16::from(k == 3));
            Self::us_pixel_module(&mut ds, rows, cols, true);
            let mut img = UsImage {
                rows,
                cols,
                index: k,
                rng: rng(self.seed, &self.label(&format!("pixels/US/{k}"))),
            };
            let name = format!("US_{}.dcm", k + 1);
            self.emit(
                files,
                &name,
                &study,
                &still,
                k as u32 + 1,
                US_IMAGE,
                ds,
                Some(&mut img),
            )?;
        }
        let cine_series = self.series(&study, 2, "心脏 动态 CINE", "HEART");
        let mut ds = DataSet::new();
        ds.ascii(0x0008_0008, b"CS", "ORIGINAL\\PRIMARY\\CARDIAC\\0001")
            .ascii(0x0018_0040, b"IS", "30")
            .ascii(0x0018_1063, b"DS", "33.3")
            .us(0x0018_1244, 0)
            .ascii(0x0018_6031, b"CS", "SECTOR_PHASED")
            .ascii(0x0028_0008, b"IS", &frames.to_string())
            .at(0x0028_0009, 0x0018_1063)
            .us(0x0028_0014, 0);
        Self::us_pixel_module(&mut ds, rows, cols, false);
        let mut cine = UsCine {
            rows,
            cols,
            frames,
            rng: rng(self.seed, &self.label("pixels/US/cine")),
        };
        self.emit(
            files,
            "US_CINE.dcm",
            &study,
            &cine_series,
            1,
            US_MULTIFRAME,
            ds,
            Some(&mut cine),
        )
    }

    pub(super) fn ecg(&self, files: &mut Vec<DemoFile>) -> io::Result<()> {
        let seconds = match self.scale {
            Scale::Full => 10,
            Scale::Small => 1,
        };
        let study = self.study("ECG", 18, "常规十二导联心电图", "Sun^Li=孙^丽", &ECG_ROOM);
        let series = self.series(&study, 1, "12导联 静息心电图", "CHEST");
        let mut r = rng(self.seed, &self.label("waveform/ECG"));
        let mut ds = DataSet::new();
        ds.ascii(
            0x0008_002A,
            b"DT",
            &format!("{STUDY_DATE}{}", tm(series.start)),
        )
        .seq(0x0040_0555, vec![])
        .seq(
            0x5400_0100,
            vec![ecg::waveform_item(seconds, self.p.heart_rate, &mut r)],
        );
        self.emit(
            files,
            "ECG.dcm",
            &study,
            &series,
            1,
            TWELVE_LEAD_ECG,
            ds,
            None,
        )
    }
}
