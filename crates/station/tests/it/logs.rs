//! `station serve`'s log, as a clinic's service writes it: every line both on stderr (the
//! journal) and in the day's file `station.YYYY-MM-DD.log` under the data directory's `logs/`,
//! plain text in both when they are not a terminal. (Changing days and deleting old files is
//! tested in `logfile`'s unit tests, whose clock a test moves.)

use station::demo::Scale;

use crate::harness::*;

/// Every daily log file's text, oldest first (a test running over midnight has two).
fn daily_logs(dir: &std::path::Path) -> String {
    let files = station::logfile::daily_files(dir);
    files
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap_or_default())
        .collect()
}

#[test]
fn serve_logs_each_association_to_the_days_file_and_stderr_without_colour_codes() {
    let scratch = Scratch::new();
    let station = Station::start(scratch.path(), &Options::default());
    let day = demo_day(&scratch.join("day"), Scale::Small, 3);
    station
        .storescu("DR1", &[day[0].path.as_path()])
        .assert_success("storescu");
    let logs = station.data_dir.join("logs");
    let file = wait_for(
        "the association in the day's log file",
        WAIT_TIMEOUT,
        || {
            let text = daily_logs(&logs);
            text.contains("association ended").then_some(text)
        },
    );
    let today = chrono::Local::now().format("%Y-%m-%d").to_string();
    assert!(
        logs.join(format!("station.{today}.log")).is_file(),
        "named by the local date"
    );
    assert!(file.contains("DICOM listener ready"), "{file}");
    assert!(file.contains("DR1"), "the calling device is named: {file}");
    assert!(
        !file.contains('\x1b'),
        "no colour codes in the file: {file}"
    );
    let stderr = station.logs_text();
    assert!(stderr.contains("association ended"), "{stderr}");
    assert!(
        !stderr.contains('\x1b'),
        "no colour codes on a redirected stderr"
    );
}
