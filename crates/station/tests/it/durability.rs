//! Power cut in the middle of transfers: kill -9, restart, and nothing acknowledged is lost.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use station::demo::{DemoFile, Scale};

use crate::harness::*;

/// Five devices, each sending one folder, all at once (one storescu per folder).
fn start_clients(
    station: &Station,
    dirs: &[PathBuf],
    logs: &Path,
    round: usize,
) -> Vec<(Child, PathBuf)> {
    dirs.iter()
        .enumerate()
        .map(|(n, dir)| {
            let log = logs.join(format!("storescu-round{round}-{n}.log"));
            let child = station
                .storescu_command(&format!("DEV{n}"), &[dir])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap())
                .spawn()
                .expect("starting storescu");
            (child, log)
        })
        .collect()
}

/// A large ultrasound cine (640×480, `frames` frames, ≈0.3 MB a frame) made from a demo cine,
/// under a new SOP Instance UID: big enough that a kill usually lands in the middle of it.
fn big_cine(template: &DemoFile, out: &Path, frames: u32, n: u32) -> DemoFile {
    let mut obj = dicom_object::open_file(&template.path).expect("opening the demo cine");
    let uid = format!("2.25.{}", 314_159_265_358_979_323_846_000u128 + n as u128);
    let (rows, cols) = (480u16, 640u16);
    let pixels: Vec<u8> = (0..rows as usize * cols as usize * frames as usize)
        .map(|i| (i % 251) as u8 ^ (i / 307_200) as u8)
        .collect();
    obj.put_str(tags::SOP_INSTANCE_UID, VR::UI, uid.clone());
    obj.put_str(tags::NUMBER_OF_FRAMES, VR::IS, frames.to_string());
    obj.put(DataElement::new(
        tags::ROWS,
        VR::US,
        PrimitiveValue::from(rows),
    ));
    obj.put(DataElement::new(
        tags::COLUMNS,
        VR::US,
        PrimitiveValue::from(cols),
    ));
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        PrimitiveValue::U8(pixels.into()),
    ));
    obj.update_meta(|m| m.media_storage_sop_instance_uid = uid.clone());
    obj.write_to_file(out).expect("writing the big cine");
    DemoFile {
        path: out.to_owned(),
        sop_instance_uid: uid,
        ..template.clone()
    }
}

/// The SOP Instance UIDs storescu logged a Success response for.
fn acknowledged(log: &Path, sop_of_path: &BTreeMap<PathBuf, String>) -> Vec<String> {
    let log = std::fs::read_to_string(log).unwrap();
    store_responses(&log)
        .into_iter()
        .filter(|(_, s)| s.as_deref() == Some("Success"))
        .map(|(path, _)| {
            sop_of_path
                .get(&path)
                .unwrap_or_else(|| {
                    panic!("storescu sent a file we did not write: {}", path.display())
                })
                .clone()
        })
        .collect()
}

/// After a restart: no staging leftovers, every row's file present with its hash, no file
/// without a row, every acknowledged instance indexed, and every stored dataset the one sent.
fn assert_consistent(
    station: &Station,
    acknowledged: &BTreeSet<String>,
    sent: &BTreeMap<String, &DemoFile>,
) {
    let tmp_left = files_under(&station.data_dir.join("tmp"));
    assert!(
        tmp_left.is_empty(),
        "staging leftovers after restart: {tmp_left:?}"
    );
    let rows = assert_index_matches_files(&station.data_dir);
    let indexed: BTreeSet<&str> = rows.iter().map(|r| r.sop_instance_uid.as_str()).collect();
    assert_eq!(indexed.len(), rows.len(), "no instance indexed twice");
    for sop in acknowledged {
        assert!(
            indexed.contains(sop.as_str()),
            "instance {sop} was acknowledged with Success but is not in the index after restart"
        );
    }
    for row in &rows {
        let file = sent
            .get(&row.sop_instance_uid)
            .unwrap_or_else(|| panic!("indexed an instance nobody sent: {}", row.sop_instance_uid));
        assert_same_dataset(&file.path, &station.data_dir.join(&row.path));
        assert_eq!(
            row.review_reason, None,
            "identical re-sends are not flagged"
        );
    }
}

enum Cut {
    NewRows(i64),
    MidFile,
}

#[test]
fn kill_9_during_transfers_then_restart_loses_nothing_acknowledged_and_leaves_no_debris() {
    let scratch = Scratch::new();
    // Four days with their own UIDs (one per device), so the transfers last long enough to cut.
    let dirs: Vec<PathBuf> = (11..=14)
        .map(|seed| scratch.join(format!("days/seed-{seed}")))
        .collect();
    let mut files = Vec::new();
    for (dir, seed) in dirs.iter().zip(11..) {
        files.extend(demo_day(dir, Scale::Small, seed));
    }
    // A fifth device sends large cines, so some kills land mid-file and leave staging debris.
    let cine_dir = scratch.join("days/big-cine");
    std::fs::create_dir_all(&cine_dir).unwrap();
    let template = files
        .iter()
        .find(|f| {
            f.modality == "US"
                && f.charset.contains("ISO_IR 192")
                && f.path.ends_with("US_CINE.dcm")
        })
        .or_else(|| {
            files
                .iter()
                .find(|f| f.modality == "US" && f.charset.contains("ISO_IR 192"))
        })
        .expect("a UTF-8 ultrasound instance in the demo day")
        .clone();
    for n in 0..3 {
        files.push(big_cine(
            &template,
            &cine_dir.join(format!("cine-{n}.dcm")),
            40,
            n,
        ));
    }
    let mut dirs = dirs;
    dirs.push(cine_dir);
    let total = files.len();
    let sent = by_sop(&files);
    let sop_of_path: BTreeMap<PathBuf, String> = files
        .iter()
        .map(|f| (f.path.clone(), f.sop_instance_uid.clone()))
        .collect();

    let mut station = Station::start(scratch.path(), &Options::default());
    let mut all_acknowledged = BTreeSet::new();
    // Three power cuts at different points; each time the devices start over (as they would),
    // so later rounds also cut through duplicates being acknowledged.
    // Round 1 cuts while a large cine is half-way into staging; the others after a number of
    // new rows.
    let cuts = [Cut::NewRows(10), Cut::MidFile, Cut::NewRows(30)];
    for (round, cut) in cuts.into_iter().enumerate() {
        let before = station.instance_count();
        let clients = start_clients(&station, &dirs, scratch.path(), round);
        match cut {
            Cut::NewRows(n) => {
                let target = (before + n).min(total as i64 - 1);
                wait_for(
                    &format!("{target} instances indexed in round {round}"),
                    WAIT_TIMEOUT,
                    || (station.instance_count() >= target).then_some(()),
                );
            }
            Cut::MidFile => {
                let tmp = station.data_dir.join("tmp");
                poll(
                    "a large object half-way into staging",
                    WAIT_TIMEOUT,
                    Duration::from_millis(1),
                    || {
                        files_under(&tmp)
                            .iter()
                            .any(|f| std::fs::metadata(f).is_ok_and(|m| m.len() > 1_000_000))
                            .then_some(())
                    },
                );
            }
        }
        station.kill9();
        let mut interrupted = false;
        for (mut child, log) in clients {
            let status = wait_child(&mut child, "storescu after the station died", WAIT_TIMEOUT);
            interrupted |= !status.success();
            all_acknowledged.extend(acknowledged(&log, &sop_of_path));
        }
        assert!(
            interrupted,
            "round {round}: the kill must interrupt a transfer"
        );
        assert!(
            all_acknowledged.len() < total,
            "round {round}: the kill came before the end"
        );

        eprintln!(
            "round {round}: killed with {} indexed, {} staging file(s) left",
            station.instance_count(),
            files_under(&station.data_dir.join("tmp")).len()
        );
        station.restart();
        assert_consistent(&station, &all_acknowledged, &sent);
    }

    // The devices send everything once more: the rest comes in, nothing doubled or flagged.
    station.assert_running();
    for (mut child, log) in start_clients(&station, &dirs, scratch.path(), 99) {
        let status = wait_child(&mut child, "storescu after the last restart", WAIT_TIMEOUT);
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(status.success(), "storescu after restart failed:\n{text}");
        assert!(
            store_responses(&text)
                .iter()
                .all(|(_, s)| s.as_deref() == Some("Success")),
            "{text}"
        );
    }
    assert_consistent(&station, &all_acknowledged, &sent);
    let indexed: BTreeSet<String> = station
        .instances()
        .into_iter()
        .map(|r| r.sop_instance_uid)
        .collect();
    let all: BTreeSet<String> = sent.keys().cloned().collect();
    assert_eq!(indexed, all, "every instance indexed after the re-send");
}
