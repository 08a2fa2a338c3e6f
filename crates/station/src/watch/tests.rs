//! Tests of `watch`.
use super::*;
use crate::config::Config;
use crate::store::{self, Store};
use sha2::{Digest, Sha256};

struct Env {
    tmp: tempfile::TempDir,
    ingest: Arc<Ingest>,
    shutdown: Arc<AtomicBool>,
    handles: Vec<JoinHandle<()>>,
}

impl Env {
    /// A station over a tempdir watching `folders` (names under the tempdir; created
    /// first, except those named `missing…`).
    fn start(folders: &[&str], settle_ms: u64, rescan_secs: u64) -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let mut config = Config::defaults();
        config.data_dir = tmp.path().join("data");
        config.storage.min_free_mb = 0;
        std::fs::create_dir_all(&config.data_dir).unwrap();
        let store = Store::open(&config.db_path()).unwrap();
        let ingest = Arc::new(Ingest::new(&config, Arc::new(store)).unwrap());
        let folders: Vec<WatchFolder> = folders
            .iter()
            .map(|f| WatchFolder {
                path: tmp.path().join(f),
                settle_ms,
                rescan_secs,
                device: None,
            })
            .collect();
        for f in folders.iter().filter(|f| !f.path.ends_with("missing")) {
            std::fs::create_dir_all(&f.path).unwrap();
        }
        let shutdown = Arc::new(AtomicBool::new(false));
        let handles = spawn_watchers(Arc::clone(&ingest), &folders, None, Arc::clone(&shutdown));
        Env {
            tmp,
            ingest,
            shutdown,
            handles,
        }
    }
    fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }
    fn rows(&self) -> Vec<store::InstanceRow> {
        store::list_instances(&self.ingest.store().lock()).unwrap()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        self.shutdown.store(true, Ordering::Relaxed);
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A PS3.10 file (explicit VR LE) with `pixels` bytes of pixel data.
fn dicom(sop_uid: &str, pixels: usize) -> Vec<u8> {
    use dicom_core::{DataElement, PrimitiveValue, VR};
    use dicom_dictionary_std::tags;
    use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
    let e = |tag, vr, v: &str| DataElement::new(tag, vr, PrimitiveValue::from(v));
    let mut obj = InMemDicomObject::from_element_iter([
        e(tags::SOP_CLASS_UID, VR::UI, "1.2.840.10008.5.1.4.1.1.7"),
        e(tags::SOP_INSTANCE_UID, VR::UI, sop_uid),
        e(tags::MODALITY, VR::CS, "OT"),
        e(tags::PATIENT_NAME, VR::PN, "Test^Patient"),
        e(tags::PATIENT_ID, VR::LO, "P-42"),
        e(tags::STUDY_INSTANCE_UID, VR::UI, "1.2.826.0.1.3680043.2.1"),
        e(
            tags::SERIES_INSTANCE_UID,
            VR::UI,
            "1.2.826.0.1.3680043.2.1.1",
        ),
    ]);
    if pixels > 0 {
        let data: Vec<u8> = (0..pixels).map(|i| (i % 251) as u8).collect();
        obj.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OB,
            PrimitiveValue::from(data),
        ));
    }
    let meta = FileMetaTableBuilder::new().transfer_syntax(crate::dicom::header::EXPLICIT_VR_LE);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("o.dcm");
    obj.with_meta(meta).unwrap().write_to_file(&p).unwrap();
    std::fs::read(&p).unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[test]
fn valid_file_is_indexed_and_moved_to_done() {
    // Long rescan period: only the change events can find files dropped after start.
    let env = Env::start(&["in"], 200, 3600);
    std::fs::write(env.path("in/.hidden.dcm"), dicom("1.2.3.100", 0)).unwrap();
    std::fs::write(env.path("in/copying.dcm.part"), dicom("1.2.3.101", 0)).unwrap();
    // A new subfolder and a file in it at once: found through the directory's event.
    std::fs::create_dir_all(env.path("in/sub")).unwrap();
    std::fs::write(env.path("in/sub/a.dcm"), dicom("1.2.3.1", 0)).unwrap();
    wait_for("file moved to done/sub", || {
        env.path("in/done/sub/a.dcm").exists()
    });
    assert!(!env.path("in/sub/a.dcm").exists());
    let rows = env.rows();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].sop_instance_uid, "1.2.3.1");
    assert_eq!(rows[0].source_kind, "folder");
    // In-progress names are never taken.
    assert!(env.path("in/.hidden.dcm").exists() && env.path("in/copying.dcm.part").exists());
}

#[test]
fn malformed_files_are_quarantined_and_valid_ones_still_come_in() {
    let env = Env::start(&["in"], 200, 3600);
    std::fs::write(
        env.path("in/report.pdf"),
        b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n1 0 obj\n",
    )
    .unwrap();
    let full = dicom("1.2.3.2", 0);
    std::fs::write(env.path("in/cut.dcm"), &full[..full.len() - 7]).unwrap();
    let reason =
        |name: &str| std::fs::read_to_string(env.path(&format!("in/quarantine/{name}.reason.txt")));
    wait_for("both files quarantined", || {
        reason("report.pdf").is_ok() && reason("cut.dcm").is_ok()
    });
    assert!(
        reason("report.pdf").unwrap().contains("PDF"),
        "{:?}",
        reason("report.pdf")
    );
    let cut = reason("cut.dcm").unwrap();
    assert!(
        cut.to_lowercase().contains("malformed") || cut.contains("truncat"),
        "{cut}"
    );
    assert!(
        env.path("in/quarantine/report.pdf").exists() && env.path("in/quarantine/cut.dcm").exists()
    );
    assert!(!env.path("in/report.pdf").exists() && !env.path("in/cut.dcm").exists());
    assert!(env.rows().is_empty());

    std::fs::write(env.path("in/good.dcm"), dicom("1.2.3.3", 0)).unwrap();
    wait_for("valid file indexed", || env.rows().len() == 1);
    wait_for("valid file moved to done", || {
        env.path("in/done/good.dcm").exists()
    });
    assert_eq!(env.rows()[0].sop_instance_uid, "1.2.3.3");
}

#[test]
fn file_written_slowly_is_taken_only_when_complete() {
    use std::io::Write;
    let env = Env::start(&["in"], 500, 3600);
    let bytes = dicom("1.2.3.4", 64 * 1024);
    let mut f = std::fs::File::create(env.path("in/slow.dcm")).unwrap();
    // The header first, so an early take would find a readable, shorter object.
    for chunk in bytes.chunks(bytes.len() / 20 + 1) {
        f.write_all(chunk).unwrap();
        f.flush().unwrap();
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(f);
    wait_for("file moved to done", || {
        env.path("in/done/slow.dcm").exists()
    });
    let rows = env.rows();
    assert_eq!(rows.len(), 1, "exactly one row");
    assert_eq!(rows[0].sha256, sha256_hex(&bytes));
    assert_eq!(rows[0].size, bytes.len() as i64);
    assert!(!env.path("in/quarantine").exists());
}

#[test]
fn missing_folder_does_not_stop_the_others_and_is_retried() {
    let env = Env::start(&["missing", "in"], 200, 1);
    std::fs::write(env.path("in/a.dcm"), dicom("1.2.3.5", 0)).unwrap();
    wait_for("file from the existing folder indexed", || {
        env.rows().len() == 1
    });
    // The missing folder appears later: it is picked up on a rescan.
    std::fs::create_dir_all(env.path("missing")).unwrap();
    std::fs::write(env.path("missing/b.dcm"), dicom("1.2.3.6", 0)).unwrap();
    wait_for("file from the late folder indexed", || {
        env.rows().len() == 2
    });
    wait_for("moved to done", || env.path("missing/done/b.dcm").exists());
}
