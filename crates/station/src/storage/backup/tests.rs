//! Backup, check and restore on real data directories.

use super::*;
use crate::storage::tests::station_with_a_day;

#[test]
fn a_backup_restores_into_a_new_data_directory_with_every_instance() {
    let (dir, config, store, n) = station_with_a_day();
    let out = dir.path().join("backup");
    let manifest = write_and_record(&config, &store, &out).expect("backup");
    assert_eq!(manifest.contents.instances as usize, n);
    assert_eq!(
        manifest.contents.schema_version as usize,
        store::migrations::MIGRATIONS.len()
    );
    let last = store::runs::last(&store.lock(), store::StorageRunKind::Backup)
        .expect("run")
        .expect("recorded");
    assert!(last.ok);
    // The settings travel without their secrets.
    let mut secret = config.clone();
    secret.metrics.token = Some(crate::config::Secret("s3cr3t-token".into()));
    let out2 = dir.path().join("backup2");
    write(&secret, &out2).expect("backup with a secret");
    let toml = std::fs::read_to_string(out2.join(SETTINGS)).expect("settings");
    assert!(!toml.contains("s3cr3t-token") && toml.contains(crate::config::HIDDEN));

    let mut other = config.clone();
    other.data_dir = dir.path().join("restored");
    let restored = restore(&other, &out, false, "cli").expect("restore");
    assert_eq!(restored.previous, None);
    let conn = store::open_reader(&other.db_path()).expect("open");
    assert_eq!(
        upkeep::contents(&conn).expect("contents"),
        manifest.contents
    );
    // Again: refused without --force; with it, the old index is kept aside.
    assert!(matches!(
        restore(&other, &out, false, "cli"),
        Err(BackupError::IndexExists(_))
    ));
    let again = restore(&other, &out, true, "cli").expect("forced");
    assert!(again.previous.expect("kept aside").exists());
    // Refused while a station holds the data directory.
    let _running = crate::disk::lock_data_dir(&other.data_dir)
        .expect("lock")
        .expect("free");
    assert!(matches!(
        restore(&other, &out, true, "cli"),
        Err(BackupError::Running(_))
    ));
}

#[test]
fn a_damaged_backup_is_refused_before_anything_is_touched() {
    let (dir, config, _store, _) = station_with_a_day();
    let out = dir.path().join("backup");
    write(&config, &out).expect("backup");
    let mut bytes = std::fs::read(out.join(INDEX)).expect("read");
    bytes[200] ^= 1;
    std::fs::write(out.join(INDEX), bytes).expect("write");
    let mut other = config.clone();
    other.data_dir = dir.path().join("restored");
    assert!(matches!(
        restore(&other, &out, false, "cli"),
        Err(BackupError::Damaged(_))
    ));
    assert!(!other.db_path().exists());
}

#[test]
fn rotation_keeps_the_newest_whole_backups() {
    let dir = tempfile::tempdir().expect("tempdir");
    for name in [
        "station-20260101-023000",
        "station-20260102-023000",
        "station-20260103-023000",
    ] {
        std::fs::create_dir_all(dir.path().join(name)).expect("dir");
        std::fs::write(dir.path().join(name).join(MANIFEST), "{}").expect("manifest");
    }
    // Left by a crash mid-backup; and someone's own folder, never touched.
    std::fs::create_dir_all(dir.path().join("station-20260102-120000")).expect("dir");
    std::fs::create_dir_all(dir.path().join("keep-me")).expect("dir");
    let gone = rotate(dir.path(), 2).expect("rotate");
    let names: Vec<_> = gone
        .iter()
        .map(|p| p.file_name().expect("name").to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        vec!["station-20260101-023000", "station-20260102-120000"]
    );
    assert!(dir.path().join("keep-me").exists());
    assert!(dir.path().join("station-20260103-023000").exists());
}
