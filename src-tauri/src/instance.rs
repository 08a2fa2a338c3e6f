//! One desktop app per data directory. The engine's lock file (`station.lock`, taken by
//! `Station::start`) decides who runs; a second start leaves a request file in the data
//! directory, the running app shows its window and deletes the file, and the second start
//! exits. No session bus or extra plugin is needed, so it works the same on every platform.
//!
//! Must never: start a second engine on the same data directory.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tauri::AppHandle;

const REQUEST: &str = "show-window.request";
const POLL: Duration = Duration::from_millis(300);

fn request_path(data_dir: &Path) -> PathBuf {
    data_dir.join(REQUEST)
}

/// Whether a running station holds the data directory's lock (a directory this user cannot
/// open, e.g. a service's, counts as not held: nothing here can ask its holder anything).
pub fn is_held(data_dir: &Path) -> bool {
    data_dir.is_dir() && matches!(station::disk::lock_data_dir(data_dir), Ok(None))
}

/// Asks the app holding the data directory to show its window. True when it answered within
/// `patience`; false when the holder is not a desktop app (e.g. a headless `station serve`).
pub fn ask_running_app_to_show(data_dir: &Path, patience: Duration) -> bool {
    let path = request_path(data_dir);
    if std::fs::write(&path, std::process::id().to_string()).is_err() {
        return false;
    }
    let deadline = Instant::now() + patience;
    while Instant::now() < deadline {
        if !path.exists() {
            return true;
        }
        std::thread::sleep(POLL);
    }
    // Nobody took it: leave no stale request for a later start to act on.
    let _ = std::fs::remove_file(&path);
    false
}

/// In the running app: shows the window whenever another start asks for it.
pub fn watch_requests(app: AppHandle, data_dir: PathBuf) {
    let path = request_path(&data_dir);
    let _ = std::fs::remove_file(&path);
    std::thread::spawn(move || loop {
        std::thread::sleep(POLL);
        if path.exists() {
            tracing::info!("another start asked for the window");
            crate::show_main_window(&app);
            let _ = std::fs::remove_file(&path);
        }
    });
}
