//! The integrity check on a real data directory.

use std::time::{Duration, SystemTime};

use super::*;
use crate::storage::tests::station_with_a_day;

/// Makes `path` look as old as a crash's leftover.
fn age(path: &Path) {
    let old = SystemTime::now() - GRACE - Duration::from_secs(60);
    std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(old))
        .expect("set mtime");
}

#[test]
fn a_clean_station_has_nothing_to_report() {
    let (_dir, config, store, n) = station_with_a_day();
    let report = run(&store, &config.data_dir, true).expect("verify");
    assert_eq!(report.problems(), 0, "{report:?}");
    assert_eq!(report.checked as usize, n);
    assert!(report.bytes_hashed > 0);
}

#[test]
fn missing_changed_and_unknown_files_are_found_and_the_unknown_one_quarantined() {
    let (_dir, config, store, _) = station_with_a_day();
    let rows = store::files_expected(&store.lock()).expect("rows");
    let data = &config.data_dir;
    std::fs::remove_file(data.join(&rows[0].path)).expect("delete");
    // One byte flipped: same size, so only the rehash sees it.
    let flipped = data.join(&rows[1].path);
    let mut bytes = std::fs::read(&flipped).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&flipped, &bytes).expect("write");
    let stray = data.join("instances/1.2.3/1.2.3.4/left-by-a-crash.dcm");
    std::fs::create_dir_all(stray.parent().expect("parent")).expect("dir");
    std::fs::write(&stray, b"half of something").expect("stray");
    let fresh = data.join("instances/1.2.3/1.2.3.4/arriving-now.dcm");
    std::fs::write(&fresh, b"being committed").expect("fresh");
    age(&stray);

    let quick = run(&store, data, false).expect("verify");
    assert_eq!(
        quick
            .files
            .iter()
            .map(|f| (f.instance_id, f.problem))
            .collect::<Vec<_>>(),
        vec![(rows[0].id, Problem::Missing)]
    );
    assert_eq!(quick.orphans.len(), 1, "{quick:?}");
    assert_eq!(
        quick.too_new, 1,
        "a file younger than the grace is left alone"
    );
    let moved = PathBuf::from(&quick.orphans[0].quarantined_to);
    assert_eq!(std::fs::read(&moved).expect("moved"), b"half of something");
    assert!(!stray.exists() && fresh.exists());
    let (_, items) = store::quarantine::page(&store.lock(), 0, 10).expect("quarantine");
    assert_eq!(items[0].reason_code, Some(QuarantineReason::Orphan));

    let full = run(&store, data, true).expect("verify");
    let found: Vec<_> = full
        .files
        .iter()
        .map(|f| (f.instance_id, f.problem))
        .collect();
    assert_eq!(
        found,
        vec![
            (rows[0].id, Problem::Missing),
            (rows[1].id, Problem::HashDiffers)
        ]
    );
    assert!(full.orphans.is_empty() && full.database.is_empty());
}
