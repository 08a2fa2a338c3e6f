//! Watched folders, for devices that can only export files (ECG carts, older DR consoles,
//! ultrasound export). Each folder gets a thread that learns of files from `notify` events and
//! from a full rescan at start and every `rescan_secs` (network shares send no events, events
//! can be lost). A file is taken once its size and mtime have not changed for `settle_ms`, goes
//! through the one ingest path, and is then moved to `<folder>/done/` (same subpath), or to
//! `<folder>/quarantine/` with a `.reason.txt` when it is not an object we can store. Transient
//! failures (disk full, I/O, database) leave it in place, retried with backoff. A folder that is
//! missing or broken is logged and retried every rescan period; it never stops the others.
//!
//! Must never: take a file that is still being written (or has an in-progress name), take
//! anything from its own `done/` or `quarantine/`, delete a file (files are only moved, and
//! only after the index or the quarantine has recorded them), or panic on what it finds.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use notify::{RecommendedWatcher, RecursiveMode, Watcher};

use crate::config::WatchFolder;
use crate::convert::Converter;
use crate::ingest::quarantine::{quarantine_file, unique_dest};
use crate::ingest::{Ingest, IngestError, Outcome};
use crate::store::Source;

const TICK: Duration = Duration::from_millis(200);
const FIRST_BACKOFF: Duration = Duration::from_secs(2);
const MAX_BACKOFF: Duration = Duration::from_secs(300);
const DONE: &str = "done";
const QUARANTINE: &str = "quarantine";

type Events = notify::Result<notify::Event>;

/// Starts one watcher thread per folder. Each returns when `shutdown` is set (checked at least
/// every 500 ms, and between files). Exports of folders with a device profile are converted
/// into DICOM under `uid_root` (see `convert`).
pub fn spawn_watchers(
    ingest: Arc<Ingest>,
    folders: &[WatchFolder],
    uid_root: Option<&str>,
    shutdown: Arc<AtomicBool>,
) -> Vec<JoinHandle<()>> {
    let mut handles = Vec::new();
    let converter = Arc::new(Converter::new(ingest, uid_root));
    for folder in folders {
        let (converter, folder, shutdown) = (
            Arc::clone(&converter),
            folder.clone(),
            Arc::clone(&shutdown),
        );
        let shown = folder.path.display().to_string();
        let spawned = std::thread::Builder::new()
            .name(format!("watch {shown}"))
            .spawn(move || FolderWatch::new(converter, folder).run(&shutdown));
        match spawned {
            Ok(handle) => handles.push(handle),
            Err(e) => {
                tracing::error!(folder = %shown, error = %e, "cannot start folder watcher thread")
            }
        }
    }
    handles
}

/// Size and mtime as last seen, and since when they have not changed.
struct Seen {
    size: u64,
    mtime: Option<SystemTime>,
    stable_since: Instant,
}

struct Retry {
    at: Instant,
    failures: u32,
}

struct FolderWatch {
    ingest: Arc<Ingest>,
    converter: Arc<Converter>,
    folder: WatchFolder,
    root: PathBuf,
    /// `root` resolved, for event paths reported in canonical form (macOS).
    canon: Option<PathBuf>,
    shown: String,
    settle: Duration,
    rescan: Duration,
    watcher: Option<RecommendedWatcher>,
    tx: Sender<Events>,
    events: Receiver<Events>,
    /// Files not yet taken, by path relative to `root`.
    candidates: HashMap<PathBuf, Seen>,
    retry: HashMap<PathBuf, Retry>,
    /// Disk full: nothing is tried in this folder before then.
    paused_until: Option<Instant>,
    last_error: Option<String>,
}

impl FolderWatch {
    fn new(converter: Arc<Converter>, folder: WatchFolder) -> FolderWatch {
        let (tx, events) = mpsc::channel();
        FolderWatch {
            ingest: Arc::clone(converter.ingest()),
            converter,
            folder: folder.clone(),
            root: folder.path.clone(),
            canon: None,
            shown: folder.path.display().to_string(),
            settle: Duration::from_millis(folder.settle_ms),
            rescan: Duration::from_secs(folder.rescan_secs.max(1)),
            watcher: None,
            tx,
            events,
            candidates: HashMap::new(),
            retry: HashMap::new(),
            paused_until: None,
            last_error: None,
        }
    }

    fn run(mut self, shutdown: &AtomicBool) {
        tracing::info!(folder = %self.shown, settle_ms = self.settle.as_millis() as u64, rescan_secs = self.rescan.as_secs(), "watching folder");
        let mut last_rescan: Option<Instant> = None;
        let mut next_rescan = Instant::now();
        while !shutdown.load(Ordering::Relaxed) {
            if Instant::now() >= next_rescan {
                self.rescan(shutdown);
                last_rescan = Some(Instant::now());
                next_rescan = Instant::now() + self.rescan;
            }
            if self.drain_events(shutdown) {
                // Soon, but never in a loop faster than every 2 s.
                let earliest =
                    last_rescan.map_or_else(Instant::now, |t| t + Duration::from_secs(2));
                next_rescan = next_rescan.min(earliest);
            }
            self.take_settled(shutdown);
            std::thread::sleep(TICK);
        }
        tracing::info!(folder = %self.shown, "folder watcher stopped");
    }

    fn fail(&mut self, error: String) {
        self.watcher = None;
        if self.last_error.as_deref() != Some(error.as_str()) {
            tracing::error!(folder = %self.shown, %error, retry_secs = self.rescan.as_secs(), "watched folder is not available; retrying every rescan period");
        } else {
            tracing::debug!(folder = %self.shown, %error, "watched folder still not available");
        }
        self.last_error = Some(error);
    }

    /// Full walk of the folder; also (re)starts the change watcher when it is not running.
    fn rescan(&mut self, shutdown: &AtomicBool) {
        match std::fs::metadata(&self.root) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return self.fail("the path is not a directory".into()),
            Err(e) => return self.fail(e.to_string()),
        }
        if self.last_error.take().is_some() {
            tracing::info!(folder = %self.shown, "watched folder is available again");
        }
        self.canon = std::fs::canonicalize(&self.root).ok();
        if self.watcher.is_none() {
            let watched = notify::recommended_watcher(self.tx.clone())
                .and_then(|mut w| w.watch(&self.root, RecursiveMode::Recursive).map(|()| w));
            match watched {
                Ok(w) => self.watcher = Some(w),
                Err(e) => {
                    tracing::warn!(folder = %self.shown, error = %e, "cannot watch folder for changes; relying on the periodic rescan")
                }
            }
        }
        let root = self.root.clone();
        self.walk(&root, shutdown);
    }

    /// Notes every eligible file under `dir` (inside `root`).
    fn walk(&mut self, dir: &Path, shutdown: &AtomicBool) {
        let root = self.root.clone();
        let walker = walkdir::WalkDir::new(dir).into_iter().filter_entry(|e| {
            e.path()
                .strip_prefix(&root)
                .is_ok_and(|rel| rel.as_os_str().is_empty() || eligible_dir(rel))
        });
        for entry in walker {
            if shutdown.load(Ordering::Relaxed) {
                return;
            }
            match entry {
                Ok(e) if e.file_type().is_file() => {
                    if let Ok(rel) = e.path().strip_prefix(&root) {
                        self.note(rel.to_path_buf());
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(folder = %self.shown, error = %e, "cannot read part of watched folder")
                }
            }
        }
    }

    /// Starts tracking a file (relative path) if it may be taken and is not tracked yet.
    fn note(&mut self, rel: PathBuf) {
        if !eligible_file(&rel) || self.candidates.contains_key(&rel) {
            return;
        }
        if let Some((size, mtime)) = stat(&self.root.join(&rel)) {
            self.candidates.insert(
                rel,
                Seen {
                    size,
                    mtime,
                    stable_since: Instant::now(),
                },
            );
        }
    }

    /// Handles queued change events. Returns whether a rescan is needed.
    fn drain_events(&mut self, shutdown: &AtomicBool) -> bool {
        let mut rescan = false;
        let mut paths = Vec::new();
        while let Ok(event) = self.events.try_recv() {
            match event {
                Ok(ev) => {
                    rescan |= ev.need_rescan();
                    paths.extend(ev.paths);
                }
                Err(e) => {
                    tracing::warn!(folder = %self.shown, error = %e, "folder change watcher failed; rescanning");
                    self.watcher = None;
                    rescan = true;
                }
            }
        }
        for path in paths {
            let rel = path
                .strip_prefix(&self.root)
                .ok()
                .or_else(|| self.canon.as_ref().and_then(|c| path.strip_prefix(c).ok()))
                .map(Path::to_path_buf);
            match rel {
                // The folder itself changed (removed, replaced): watch it afresh.
                Some(rel) if rel.as_os_str().is_empty() => {
                    self.watcher = None;
                    rescan = true;
                }
                // A directory moved in brings files that raise no events of their own.
                Some(rel) if eligible_dir(&rel) && self.root.join(&rel).is_dir() => {
                    self.walk(&self.root.join(&rel), shutdown);
                }
                Some(rel) => self.note(rel),
                None => {}
            }
        }
        rescan
    }

    /// Takes every tracked file that has been unchanged for the settle time.
    fn take_settled(&mut self, shutdown: &AtomicBool) {
        let now = Instant::now();
        if self.paused_until.is_some_and(|t| t > now) {
            return;
        }
        let (root, settle, retry) = (&self.root, self.settle, &self.retry);
        let mut ready = Vec::new();
        self.candidates.retain(|rel, seen| {
            if retry.get(rel).is_some_and(|r| r.at > now) {
                return true;
            }
            let Some((size, mtime)) = stat(&root.join(rel)) else {
                return false; // gone, or no longer a file
            };
            if (size, mtime) != (seen.size, seen.mtime) {
                *seen = Seen {
                    size,
                    mtime,
                    stable_since: now,
                };
            } else if now.duration_since(seen.stable_since) >= settle {
                ready.push(rel.clone());
            }
            true
        });
        let candidates = &self.candidates;
        self.retry.retain(|rel, _| candidates.contains_key(rel));
        ready.sort();
        for rel in ready {
            if shutdown.load(Ordering::Relaxed)
                || self.paused_until.is_some_and(|t| t > Instant::now())
            {
                return;
            }
            self.take(&rel);
        }
    }

    fn take(&mut self, rel: &Path) {
        let path = self.root.join(rel);
        let before = stat(&path);
        let source = Source::Folder {
            path: path.display().to_string(),
        };
        match self.converter.ingest_file(&self.folder, &path, &source) {
            Ok(outcome) => {
                let after = stat(&path);
                if after != before {
                    tracing::warn!(folder = %self.shown, "file changed while it was being taken; left in place to be taken again once settled");
                    if let (Some(seen), Some((size, mtime))) = (self.candidates.get_mut(rel), after)
                    {
                        *seen = Seen {
                            size,
                            mtime,
                            stable_since: Instant::now(),
                        };
                    }
                    return;
                }
                let (what, id) = match outcome {
                    Outcome::Stored { instance_id, .. } => ("stored", instance_id),
                    Outcome::Duplicate { existing_id } => ("duplicate", existing_id),
                    Outcome::StoredForReview { instance_id, .. } => {
                        ("stored for review", instance_id)
                    }
                };
                match move_to_done(&self.root, rel) {
                    Ok(dest) => {
                        tracing::info!(folder = %self.shown, outcome = what, instance = id, "took file from watched folder");
                        tracing::debug!(file = %path.display(), to = %dest.display(), "moved to done");
                        self.forget(rel);
                    }
                    Err(e) => {
                        tracing::error!(folder = %self.shown, instance = id, error = %e, "file stored but not moved to done/; it will be taken again and acknowledged as a duplicate");
                        self.backoff(rel);
                    }
                }
            }
            Err(IngestError::Unreadable(refusal)) => {
                let dir = self.root.join(QUARANTINE);
                match quarantine_file(self.ingest.store(), &path, &dir, &refusal, false) {
                    Ok(_) => self.forget(rel),
                    Err(e) => {
                        tracing::error!(folder = %self.shown, error = %e, "cannot quarantine unreadable file; will retry");
                        self.backoff(rel);
                    }
                }
            }
            Err(e) => {
                let delay = self.backoff(rel);
                if matches!(e, IngestError::DiskFull { .. }) {
                    self.paused_until = Some(Instant::now() + delay);
                }
                tracing::warn!(folder = %self.shown, error = %e, retry_secs = delay.as_secs(), "could not take file; it stays in place and will be retried");
            }
        }
    }

    fn forget(&mut self, rel: &Path) {
        self.candidates.remove(rel);
        self.retry.remove(rel);
    }

    /// Schedules the next attempt for `rel`, doubling the wait each time. Returns the wait.
    fn backoff(&mut self, rel: &Path) -> Duration {
        let r = self.retry.entry(rel.to_path_buf()).or_insert(Retry {
            at: Instant::now(),
            failures: 0,
        });
        r.failures = r.failures.saturating_add(1);
        let delay = FIRST_BACKOFF
            .saturating_mul(1 << (r.failures - 1).min(10))
            .min(MAX_BACKOFF);
        r.at = Instant::now() + delay;
        delay
    }
}

fn stat(path: &Path) -> Option<(u64, Option<SystemTime>)> {
    let m = std::fs::metadata(path).ok()?;
    m.is_file().then(|| (m.len(), m.modified().ok()))
}

/// A directory (relative to the folder) whose files may be taken: not `done/` or `quarantine/`
/// at the top, nothing hidden.
fn eligible_dir(rel: &Path) -> bool {
    let mut parts = Vec::new();
    for c in rel.components() {
        match c {
            Component::Normal(s) => parts.push(s.to_string_lossy()),
            _ => return false,
        }
    }
    let reserved = |p: &str| p.eq_ignore_ascii_case(DONE) || p.eq_ignore_ascii_case(QUARANTINE);
    !parts.first().is_some_and(|p| reserved(p)) && !parts.iter().any(|p| p.starts_with('.'))
}

/// A file (relative to the folder) that may be taken once settled: in an eligible directory,
/// and not named like a file still being written.
fn eligible_file(rel: &Path) -> bool {
    let Some(name) = rel.file_name().map(|n| n.to_string_lossy().to_lowercase()) else {
        return false;
    };
    let in_progress = [".tmp", ".part", ".partial", "~"]
        .iter()
        .any(|s| name.ends_with(s));
    eligible_dir(rel) && !in_progress
}

/// Moves `root/rel` to `root/done/rel` (a unique name if taken).
fn move_to_done(root: &Path, rel: &Path) -> std::io::Result<PathBuf> {
    let src = root.join(rel);
    let dir = match rel.parent() {
        Some(p) => root.join(DONE).join(p),
        None => root.join(DONE),
    };
    std::fs::create_dir_all(&dir)?;
    let dest = unique_dest(&dir, &src);
    if std::fs::rename(&src, &dest).is_err() {
        // Across filesystems: copy, then remove the original.
        if let Err(e) = std::fs::copy(&src, &dest) {
            let _ = std::fs::remove_file(&dest); // our own partial copy, never the original
            return Err(e);
        }
        std::fs::remove_file(&src)?;
    }
    Ok(dest)
}

#[cfg(test)]
mod tests;
