//! The running station's log file: one file a day, `station.YYYY-MM-DD.log` named by the
//! clinic's local date, plain text (no terminal colour codes), with the files older than
//! `keep_days` deleted as each new day's file opens. `station serve` writes every log line here
//! and to stderr (which the journal keeps when it runs as a service).
//!
//! Every line goes through [`OneLine`]: a value holding a line break cannot forge a line.
//!
//! Must never: stop or slow the station because its log cannot be written (a full disk or a
//! removed directory costs log lines, never images), or delete a file that is not one of its
//! own daily files.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{Days, NaiveDate};

const PREFIX: &str = "station.";
const SUFFIX: &str = ".log";

/// What day it is for the log; the clinic's local date, or a test's.
pub type Today = Box<dyn Fn() -> NaiveDate + Send + Sync>;

/// The daily log files in one directory. Give it to `tracing_subscriber` as a writer.
pub struct DailyLog {
    dir: PathBuf,
    keep_days: u32,
    today: Today,
    open: Mutex<Option<(NaiveDate, File)>>,
}

impl DailyLog {
    /// Daily files in `dir` (created if missing), by the local date, kept `keep_days`.
    pub fn open(dir: &Path, keep_days: u32) -> io::Result<DailyLog> {
        DailyLog::with_clock(
            dir,
            keep_days,
            Box::new(|| chrono::Local::now().date_naive()),
        )
    }

    /// As [`DailyLog::open`], with the day given by `today`: how a test makes days pass.
    pub fn with_clock(dir: &Path, keep_days: u32, today: Today) -> io::Result<DailyLog> {
        fs::create_dir_all(dir)?;
        let log = DailyLog {
            dir: dir.to_path_buf(),
            keep_days,
            today,
            open: Mutex::new(None),
        };
        // The first file opens now, so a directory the station cannot write is known at start.
        let day = (log.today)();
        let file = log.open_day(day)?;
        *log.lock() = Some((day, file));
        Ok(log)
    }

    /// The file for `day`'s lines.
    pub fn path_for(&self, day: NaiveDate) -> PathBuf {
        self.dir
            .join(format!("{PREFIX}{}{SUFFIX}", day.format("%Y-%m-%d")))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(NaiveDate, File)>> {
        // A writer that panicked mid-line leaves nothing inconsistent: keep logging.
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Opens (appending) the file for `day` and deletes the files past `keep_days`.
    fn open_day(&self, day: NaiveDate) -> io::Result<File> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path_for(day))?;
        self.delete_old(day);
        Ok(file)
    }

    /// Deletes this log's daily files dated more than `keep_days` before `today`.
    fn delete_old(&self, today: NaiveDate) {
        let Some(oldest_kept) = today.checked_sub_days(Days::new(u64::from(self.keep_days))) else {
            return;
        };
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(day) = name.to_str().and_then(day_of) else {
                continue;
            };
            if day < oldest_kept {
                // A file that cannot be deleted now is tried again tomorrow.
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    /// Writes one formatted line to today's file, moving to a new file when the day changed.
    fn write_line(&self, line: &[u8]) -> io::Result<()> {
        let day = (self.today)();
        let mut open = self.lock();
        if open.as_ref().map(|(d, _)| *d) != Some(day) {
            *open = None;
            *open = Some((day, self.open_day(day)?));
        }
        match open.as_mut() {
            Some((_, file)) => file.write_all(line),
            None => Ok(()),
        }
    }
}

/// The daily log files in `dir`, oldest first (none when the directory is missing).
pub fn daily_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<(NaiveDate, PathBuf)> = fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter_map(|e| {
                    let day = day_of(e.file_name().to_str()?)?;
                    Some((day, e.path()))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files.into_iter().map(|(_, p)| p).collect()
}

/// The date in one of our file names (`station.2026-12-03.log`), or None for any other file.
fn day_of(name: &str) -> Option<NaiveDate> {
    let date = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()
}

/// One log event's writer, as `tracing_subscriber` asks for it.
pub struct LineWriter<'a>(&'a DailyLog);

impl Write for LineWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // A line that cannot be written is dropped: the station goes on (and stderr has it).
        let _ = self.0.write_line(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for DailyLog {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter(self)
    }
}

/// Keeps each log event on one line: a line break or other control character inside a value
/// (a device's UID, a file name, a hub's error text) is written escaped (`\n`, `\x07`), so no
/// one can forge log lines. Wraps any writer `tracing_subscriber` is given; it writes each event
/// in one call, ending in its own line break, which stays.
pub struct OneLine<M>(pub M);

/// The writer of one event through [`OneLine`].
pub struct OneLineWriter<W>(W);

impl<'a, M: tracing_subscriber::fmt::MakeWriter<'a>> tracing_subscriber::fmt::MakeWriter<'a>
    for OneLine<M>
{
    type Writer = OneLineWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        OneLineWriter(self.0.make_writer())
    }
}

impl<W: Write> Write for OneLineWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write_all(&escape_controls(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// `buf` with every control character but tabs and a final line break escaped.
pub fn escape_controls(buf: &[u8]) -> Vec<u8> {
    let (body, end) = match buf.strip_suffix(b"\n") {
        Some(body) => (body, &b"\n"[..]),
        None => (buf, &b""[..]),
    };
    let mut out = Vec::with_capacity(buf.len());
    for &b in body {
        match b {
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.push(b),
            0..=0x1F | 0x7F => out.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
            _ => out.push(b),
        }
    }
    out.extend_from_slice(end);
    out
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicI64, Ordering};
    use std::sync::Arc;

    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).expect("a December day")
    }

    /// A log whose day is `clock`'s value, as a day of December 2026.
    fn log_at(dir: &Path, keep_days: u32, clock: &Arc<AtomicI64>) -> DailyLog {
        let clock = Arc::clone(clock);
        DailyLog::with_clock(
            dir,
            keep_days,
            Box::new(move || day(clock.load(Ordering::SeqCst) as u32)),
        )
        .expect("log opens")
    }

    fn write(log: &DailyLog, text: &str) {
        use tracing_subscriber::fmt::MakeWriter;
        log.make_writer().write_all(text.as_bytes()).expect("write");
    }

    #[test]
    fn a_line_break_inside_an_event_is_escaped_and_its_own_end_kept() {
        assert_eq!(
            escape_controls(b"C-STORE refused sop=1.2\nINFO forged\r\x1b[31m\tok\n"),
            b"C-STORE refused sop=1.2\\nINFO forged\\r\\x1b[31m\tok\n".to_vec()
        );
        assert_eq!(escape_controls("王^小明".as_bytes()), "王^小明".as_bytes());
    }

    #[test]
    fn a_new_day_starts_a_new_file_and_files_past_the_kept_days_go() {
        let dir = tempfile::tempdir().expect("tempdir");
        let logs = dir.path().join("logs");
        fs::create_dir_all(&logs).expect("dir");
        // Not ours, though in the same directory: never touched.
        fs::write(logs.join("station.db.log"), "x").expect("other");
        fs::write(logs.join("notes-2026-11-01.log"), "x").expect("other");
        let clock = Arc::new(AtomicI64::new(1));
        let log = log_at(&logs, 2, &clock);
        write(&log, "first day\n");
        clock.store(2, Ordering::SeqCst);
        write(&log, "second day\n");
        write(&log, "second day again\n");
        assert_eq!(
            fs::read_to_string(log.path_for(day(1))).expect("day 1"),
            "first day\n"
        );
        assert_eq!(
            fs::read_to_string(log.path_for(day(2))).expect("day 2"),
            "second day\nsecond day again\n"
        );

        // Day 4 keeps two days back (2, 3, 4): day 1's file goes, day 2's stays.
        clock.store(4, Ordering::SeqCst);
        write(&log, "fourth day\n");
        assert!(!log.path_for(day(1)).exists(), "day 1 deleted");
        assert!(log.path_for(day(2)).exists(), "day 2 kept");
        assert!(log.path_for(day(4)).exists());
        assert!(logs.join("station.db.log").exists());
        assert!(logs.join("notes-2026-11-01.log").exists());
    }

    #[test]
    fn a_restart_appends_to_the_days_file_and_deletes_old_ones_at_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let clock = Arc::new(AtomicI64::new(20));
        fs::create_dir_all(dir.path()).expect("dir");
        fs::write(dir.path().join("station.2026-12-01.log"), "old\n").expect("old");
        fs::write(
            dir.path().join("station.2026-12-20.log"),
            "before restart\n",
        )
        .expect("today");
        let log = log_at(dir.path(), 14, &clock);
        write(&log, "after restart\n");
        assert!(!dir.path().join("station.2026-12-01.log").exists());
        assert_eq!(
            fs::read_to_string(log.path_for(day(20))).expect("today"),
            "before restart\nafter restart\n"
        );
    }

    #[test]
    fn names_of_other_files_are_not_dates() {
        assert_eq!(day_of("station.2026-12-03.log"), Some(day(3)));
        for other in [
            "station.log",
            "station.2026-13-03.log",
            "station.2026-12-03.log.1",
            "x.2026-12-03.log",
        ] {
            assert_eq!(day_of(other), None, "{other}");
        }
    }
}
