//! The desktop app (`station-desktop`): the engine in-process with the same configuration as
//! `station serve`, the web UI in a window, a tray icon with link and backlog state, OS
//! notifications, and one app per data directory. Closing the window hides it; receiving goes
//! on until "Quit" in the tray.
//!
//! Must never: hold logic of its own that the engine or the UI should have; it is a thin shell.

// No console window behind the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod bridge;
mod engine;
mod instance;
mod text;
mod tray;
mod window;

use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use station::options::ServeArgs;
use station::serve::ServeError;
use tauri::{AppHandle, Manager, RunEvent, WindowEvent};
use tauri_plugin_notification::NotificationExt;

pub use engine::Engine;
use text::Lang;
pub use window::show_main_window;

/// The same options as `station serve` (one definition in the engine).
#[derive(Parser)]
#[command(
    name = "station-desktop",
    version,
    about = "Clinic Imaging Station (基层影像采集站), desktop"
)]
struct Args {
    #[command(flatten)]
    serve: ServeArgs,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let lang = Lang::from_env();
    let config = args.serve.load()?;
    init_logging(&config.data_dir);
    let engine = match Engine::start(&config) {
        Ok(engine) => engine,
        Err(ServeError::AlreadyRunning(dir)) => {
            if instance::ask_running_app_to_show(&config.data_dir, Duration::from_secs(5)) {
                eprintln!("{}: already running; its window is shown.", lang.app_name());
                return Ok(());
            }
            anyhow::bail!(lang.already_running_headless(&dir));
        }
        Err(e) => return Err(e).context("starting the engine"),
    };
    tracing::info!(
        data_dir = %config.data_dir.display(),
        http = %engine.http_addr,
        "desktop app started"
    );
    let destinations = config.destinations.len();
    let data_dir = config.data_dir.clone();
    let told_still_receiving = AtomicBool::new(false);

    let app = tauri::Builder::default()
        .plugin(tauri_plugin_notification::init())
        .manage(engine)
        .invoke_handler(tauri::generate_handler![bridge::api_call])
        .setup(move |app| {
            let handle = app.handle();
            window::create_main(handle)?;
            bridge::spawn_event_forwarder(handle, lang);
            let db = handle.state::<Engine>().db.clone();
            match tray::Tray::build(handle, lang, db, destinations) {
                Ok(tray) => tray.spawn_refresher(handle),
                // No tray host (some desktops): the window and a second start still work.
                Err(e) => tracing::warn!(error = %e, "no tray icon"),
            }
            instance::watch_requests(handle.clone(), data_dir.clone());
            Ok(())
        })
        .on_window_event(move |window, event| {
            if let WindowEvent::CloseRequested { api, .. } = event {
                // Closing the window must not stop receiving: hide it instead.
                api.prevent_close();
                let _ = window.hide();
                if !told_still_receiving.swap(true, Ordering::Relaxed) {
                    let _ = window
                        .app_handle()
                        .notification()
                        .builder()
                        .title(lang.app_name())
                        .body(lang.still_receiving())
                        .show();
                }
            }
        })
        .build(tauri::generate_context!())
        .context("building the desktop window")?;
    app.run(|app, event| match event {
        // The last window closing asks to exit with no code: keep running in the tray.
        RunEvent::ExitRequested {
            code: None, api, ..
        } => api.prevent_exit(),
        RunEvent::Exit => app.state::<Engine>().shutdown(),
        _ => {}
    });
    Ok(())
}

/// Logs to stderr and to `<data dir>/logs/desktop.<date>.log` (14 days kept). Written
/// directly, not through a background writer: the event loop ends the process without
/// returning, so nothing would flush its last lines.
fn init_logging(data_dir: &Path) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let logs = data_dir.join("logs");
    let file = std::fs::create_dir_all(&logs).ok().and_then(|()| {
        tracing_appender::rolling::Builder::new()
            .rotation(tracing_appender::rolling::Rotation::DAILY)
            .filename_prefix("desktop")
            .filename_suffix("log")
            .max_log_files(14)
            .build(&logs)
            .ok()
    });
    tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(station::logfile::OneLine(std::io::stderr)),
        )
        .with(file.map(|f| {
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(station::logfile::OneLine(f))
        }))
        .init();
}

/// Stops the engine, then the app.
pub fn quit(app: &AppHandle) {
    app.state::<Engine>().shutdown();
    app.exit(0);
}
