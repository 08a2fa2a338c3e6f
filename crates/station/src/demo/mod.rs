//! A synthetic clinic day for trying the station without devices and for tests.
// STUB until the generator lands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    Full,
    Small,
}
pub struct DemoFile {
    pub path: std::path::PathBuf,
    pub patient_name: String,
    pub charset: &'static str,
    pub sop_instance_uid: String,
    pub study_uid: String,
    pub modality: &'static str,
}
pub fn write_clinic_day(
    _out: &std::path::Path,
    _scale: Scale,
    _seed: u64,
) -> std::io::Result<Vec<DemoFile>> {
    Ok(Vec::new())
}
