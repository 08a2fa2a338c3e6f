//! HL7 aECG placeholder.
use super::modules::Context;
use super::patient::Patient;
use chrono::NaiveDateTime;
use dicom_object::InMemDicomObject;
pub struct Ecg {
    pub patient: Option<Patient>,
    pub acquired: Option<NaiveDateTime>,
}
pub fn parse(_b: &[u8]) -> Result<Ecg, String> {
    Err("aECG not yet supported".into())
}
pub fn build(_c: &Context, _e: &Ecg) -> Result<InMemDicomObject, String> {
    Err("no".into())
}
