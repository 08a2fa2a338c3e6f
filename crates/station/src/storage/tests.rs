//! What the storage tests share: a station's data directory with the small demo day in it.

use std::sync::Arc;

use crate::config::Config;
use crate::ingest::Ingest;
use crate::store::{Source, Store};

/// A data directory under a temporary folder, its configuration, its store and how many
/// instances the demo day put in it.
pub(super) fn station_with_a_day() -> (tempfile::TempDir, Config, Arc<Store>, usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config::defaults();
    config.data_dir = dir.path().join("data");
    config.storage.min_free_mb = 0;
    std::fs::create_dir_all(&config.data_dir).expect("data dir");
    let store = Arc::new(Store::open(&config.db_path()).expect("store"));
    let ingest = Ingest::new(&config, store.clone()).expect("ingest");
    let day = crate::demo::write_clinic_day(&dir.path().join("day"), crate::demo::Scale::Small, 3)
        .expect("demo day");
    for f in &day {
        let source = Source::Import {
            path: f.path.display().to_string(),
        };
        ingest.ingest_file(&f.path, &source).expect("ingest");
    }
    (dir, config, store, day.len())
}

#[test]
fn a_file_hashes_as_sha256sum_says() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("f");
    std::fs::write(&path, b"abc").expect("write");
    assert_eq!(
        super::sha256_file(&path).expect("hash"),
        (
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad".to_string(),
            3
        )
    );
}
