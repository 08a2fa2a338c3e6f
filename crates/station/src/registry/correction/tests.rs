use super::copy::write_copy;
use super::*;
use crate::demo::{write_clinic_day, Scale};
use crate::dicom::header::read_part10;
use dicom_dictionary_std::tags;
use dicom_object::OpenFileOptions;

fn values(pairs: &[(&str, &str)]) -> Values {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn correction(id: i64, reason: &str, pairs: &[(&str, &str)]) -> Correction {
    Correction {
        id,
        at: 1_764_460_800_000,
        reason: reason.into(),
        attributes: values(pairs),
    }
}

/// Every demo device's charset: the copy carries the corrected name (read back through the
/// station's own charset decoding), the received values in Original Attributes Sequence, and
/// the same pixel data; the received file is unchanged.
#[test]
fn copies_carry_corrected_values_and_the_originals() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = write_clinic_day(&dir.path().join("day"), Scale::Small, 5).expect("demo day");
    let mut seen = std::collections::BTreeSet::new();
    for f in files.iter().filter(|f| f.modality == "DX") {
        if !seen.insert(f.charset) {
            continue;
        }
        let h = read_part10(&f.path).expect("header");
        let before = std::fs::read(&f.path).expect("read original");
        let received = values(&[
            ("AccessionNumber", &h.accession),
            ("PatientName", &h.patient_name),
            ("PatientID", &h.patient_id),
            ("PatientBirthDate", &h.patient_birth_date),
            ("PatientSex", &h.patient_sex),
        ]);
        let corrections = [
            correction(
                1,
                "COERCE",
                &[
                    ("PatientName", "赵^建国"),
                    ("PatientID", "P000042"),
                    ("AccessionNumber", "A202611300001"),
                ],
            ),
            correction(2, "CORRECT", &[("PatientName", "赵^建华")]),
        ];
        let copy = dir.path().join(format!("copy-{}.dcm", seen.len()));
        write_copy(
            &f.path,
            &copy,
            &h.transfer_syntax,
            &h.charset,
            h.charset_repaired.as_deref(),
            &corrections,
            &received,
        )
        .unwrap_or_else(|e| panic!("copy of the {:?} file: {e}", f.charset));
        assert_eq!(
            std::fs::read(&f.path).expect("reread"),
            before,
            "original untouched"
        );
        let c = read_part10(&copy).expect("copy header");
        assert_eq!(c.patient_name, "赵^建华", "charset {:?}", f.charset);
        assert_eq!(c.patient_id, "P000042");
        assert_eq!(c.accession, "A202611300001");
        assert_eq!(c.sop_instance_uid, h.sop_instance_uid);
        assert_eq!(
            c.charset_repaired, None,
            "copy of {:?} declares its charset",
            f.charset
        );

        let original = OpenFileOptions::new()
            .open_file(&f.path)
            .expect("open original");
        let obj = OpenFileOptions::new().open_file(&copy).expect("open copy");
        assert_eq!(
            obj.element(tags::PIXEL_DATA)
                .expect("pixels")
                .to_bytes()
                .expect("bytes"),
            original
                .element(tags::PIXEL_DATA)
                .expect("pixels")
                .to_bytes()
                .expect("bytes"),
        );
        let oas = obj
            .element(tags::ORIGINAL_ATTRIBUTES_SEQUENCE)
            .expect("Original Attributes Sequence");
        let items = oas.items().expect("items");
        assert_eq!(items.len(), 2, "one item per correction");
        let reason = |i: usize| {
            items[i]
                .element(tags::REASON_FOR_THE_ATTRIBUTE_MODIFICATION)
                .expect("reason")
                .to_str()
                .expect("str")
                .trim()
                .to_string()
        };
        assert_eq!(
            (reason(0).as_str(), reason(1).as_str()),
            ("COERCE", "CORRECT")
        );
        let modified = items[0]
            .element(tags::MODIFIED_ATTRIBUTES_SEQUENCE)
            .expect("modified")
            .items()
            .expect("items")[0]
            .clone();
        let old_id = modified
            .element(tags::PATIENT_ID)
            .expect("old id")
            .to_str()
            .expect("str");
        assert_eq!(old_id.trim(), h.patient_id);
        assert!(
            modified.element(tags::PATIENT_BIRTH_DATE).is_err(),
            "only replaced attributes"
        );
    }
    assert_eq!(seen.len(), 5, "all five demo charsets tried: {seen:?}");
}
