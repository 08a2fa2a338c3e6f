//! The ingest path's promises, checked on a real data directory.

use std::io::Write;
use std::sync::Arc;

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::entries::EXPLICIT_VR_LITTLE_ENDIAN;

use super::*;
use crate::config::Config;

const DX: &str = "1.2.840.10008.5.1.4.1.1.1.1";

fn station(min_free_mb: u64) -> (tempfile::TempDir, Ingest) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config::defaults();
    config.data_dir = dir.path().join("data");
    config.storage.min_free_mb = min_free_mb;
    std::fs::create_dir_all(&config.data_dir).expect("data dir");
    let store = Store::open(&config.db_path()).expect("store");
    let ingest = Ingest::new(&config, Arc::new(store)).expect("ingest");
    (dir, ingest)
}

/// A dataset's bytes in explicit VR little endian, as a device would send them.
fn dataset(sop: &str, comment: &str) -> Vec<u8> {
    let mut obj = InMemDicomObject::new_empty();
    let mut put = |tag, vr, v: &str| obj.put(DataElement::new(tag, vr, PrimitiveValue::from(v)));
    put(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192");
    put(tags::SOP_CLASS_UID, VR::UI, DX);
    put(tags::SOP_INSTANCE_UID, VR::UI, sop);
    put(tags::MODALITY, VR::CS, "DX");
    put(tags::IMAGE_COMMENTS, VR::LT, comment);
    put(tags::PATIENT_NAME, VR::PN, "李^秀英");
    put(tags::PATIENT_ID, VR::LO, "P7");
    put(tags::STUDY_INSTANCE_UID, VR::UI, "1.2.826.0.1.1");
    put(tags::SERIES_INSTANCE_UID, VR::UI, "1.2.826.0.1.1.1");
    let mut out = Vec::new();
    obj.write_dataset_with_ts(&mut out, &EXPLICIT_VR_LITTLE_ENDIAN.erased())
        .expect("encode");
    out
}

fn receive(ingest: &Ingest, sop: &str, comment: &str) -> Result<Outcome, IngestError> {
    let mut staging = ingest.stage_part10(DX, sop, "1.2.840.10008.1.2.1")?;
    staging.write_all(&dataset(sop, comment))?;
    ingest.commit(
        staging.finish()?,
        &Source::Dicom {
            calling_ae: "DR1".into(),
        },
    )
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect()
}

#[test]
fn stored_file_is_the_received_bytes_behind_a_meta_group() {
    let (_dir, ingest) = station(0);
    let outcome = receive(&ingest, "1.2.826.0.1.1.1.1", "first").expect("stored");
    assert!(matches!(outcome, Outcome::Stored { .. }), "{outcome:?}");
    let rows = store::list_instances(&ingest.store().lock()).expect("rows");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].patient_name, "李^秀英");
    let bytes = std::fs::read(ingest.data_dir().join(&rows[0].path)).expect("file");
    assert!(
        bytes.ends_with(&dataset("1.2.826.0.1.1.1.1", "first")),
        "dataset bytes must be stored unchanged"
    );
    assert!(files_under(&ingest.data_dir().join("tmp")).is_empty());
}

#[test]
fn same_bytes_twice_is_one_instance_different_bytes_are_both_kept_and_flagged() {
    let (_dir, ingest) = station(0);
    receive(&ingest, "1.2.826.0.1.1.1.1", "first").expect("stored");
    let again = receive(&ingest, "1.2.826.0.1.1.1.1", "first").expect("duplicate");
    assert!(matches!(again, Outcome::Duplicate { .. }), "{again:?}");
    let changed = receive(&ingest, "1.2.826.0.1.1.1.1", "edited on the device").expect("kept");
    assert!(
        matches!(changed, Outcome::StoredForReview { .. }),
        "{changed:?}"
    );
    let rows = store::list_instances(&ingest.store().lock()).expect("rows");
    assert_eq!(rows.len(), 2);
    assert!(rows[0].review_reason.is_none());
    assert!(rows[1]
        .review_reason
        .as_deref()
        .unwrap_or("")
        .contains("different content"));
    assert_ne!(rows[0].path, rows[1].path);
}

#[test]
fn below_the_disk_floor_nothing_is_written() {
    let (_dir, ingest) = station(u64::MAX / (1024 * 1024));
    let err = receive(&ingest, "1.2.826.0.1.1.1.1", "x").expect_err("refused");
    assert!(matches!(err, IngestError::DiskFull { .. }), "{err:?}");
    assert!(files_under(&ingest.data_dir().join("tmp")).is_empty());
    assert!(files_under(&ingest.data_dir().join("instances")).is_empty());
    assert!(store::list_instances(&ingest.store().lock())
        .expect("rows")
        .is_empty());
}

#[test]
fn unreadable_dataset_is_refused_and_leaves_nothing() {
    let (_dir, ingest) = station(0);
    let mut staging = ingest
        .stage_part10(DX, "1.2.3", "1.2.840.10008.1.2.1")
        .expect("stage");
    staging
        .write_all(&[0x08, 0x00, 0x16, 0x00, b'U', b'I', 0xff, 0x7f, b'1'])
        .expect("write");
    let err = ingest
        .commit(
            staging.finish().expect("finish"),
            &Source::Dicom {
                calling_ae: "DR1".into(),
            },
        )
        .expect_err("refused");
    assert!(matches!(err, IngestError::Unreadable(_)), "{err:?}");
    assert!(files_under(&ingest.data_dir().join("tmp")).is_empty());
    assert!(files_under(&ingest.data_dir().join("instances")).is_empty());
}

#[test]
fn recovery_drops_staging_leftovers_and_indexes_orphaned_files() {
    let (_dir, ingest) = station(0);
    // A crash mid-transfer leaves a staging file; a crash between rename and commit leaves a
    // complete file under instances/ with no row.
    std::fs::write(ingest.data_dir().join("tmp/123-abc.part"), b"half an image").expect("leftover");
    let orphan_dir = ingest
        .data_dir()
        .join("instances/1.2.826.0.1.1/1.2.826.0.1.1.1");
    std::fs::create_dir_all(&orphan_dir).expect("dir");
    let mut orphan = part10_prefix(DX, "1.2.826.0.1.1.1.9", "1.2.840.10008.1.2.1").expect("meta");
    orphan.extend(dataset("1.2.826.0.1.1.1.9", "orphan"));
    std::fs::write(orphan_dir.join("1.2.826.0.1.1.1.9.dcm"), &orphan).expect("orphan");

    assert_eq!(ingest.recover().expect("recover"), 1);
    assert!(files_under(&ingest.data_dir().join("tmp")).is_empty());
    let rows = store::list_instances(&ingest.store().lock()).expect("rows");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].sop_instance_uid, "1.2.826.0.1.1.1.9");
    assert_eq!(rows[0].source_kind, "recovery");
    assert_eq!(
        std::fs::read(ingest.data_dir().join(&rows[0].path)).expect("file"),
        orphan
    );
    // Running it again finds nothing new.
    assert_eq!(ingest.recover().expect("recover"), 0);
}

#[test]
fn recovery_quarantines_an_unreadable_file_left_under_instances_intact() {
    let (_dir, ingest) = station(0);
    let dir = ingest.data_dir().join("instances/1.2.3/1.2.3.4");
    std::fs::create_dir_all(&dir).expect("dir");
    let bytes = b"the first bytes of an image, cut short by a power cut".to_vec();
    std::fs::write(dir.join("1.2.3.4.5.dcm"), &bytes).expect("stray");

    assert_eq!(ingest.recover().expect("recover"), 0);
    assert!(files_under(&ingest.data_dir().join("instances")).is_empty());
    let (_, items) = store::quarantine::page(&ingest.store().lock(), 0, 10).expect("list");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].reason_code, Some(QuarantineReason::Orphan));
    assert_eq!(std::fs::read(&items[0].stored_path).expect("kept"), bytes);
}
