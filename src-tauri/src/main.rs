//! The desktop app (`station-desktop`): the engine in-process with the same configuration as
//! `station serve`, the web UI in a window, a tray icon with link and backlog state, OS
//! notifications, and one app per data directory. Closing the window hides it; receiving goes
//! on until "Quit" in the tray. When a station service already answers at the configured HTTP
//! address (the packaged service, any `station serve`), the app attaches to it instead: the
//! window shows that service's web UI and no engine starts here (attach.rs, attached.rs).
//!
//! Must never: hold logic of its own that the engine or the UI should have; it is a thin shell.

// No console window behind the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod attach;
mod attached;
mod bridge;
mod engine;
mod instance;
mod text;
mod tray;
mod window;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use station::options::ServeArgs;
use station::serve::ServeError;
use tauri::{AppHandle, Manager, RunEvent, WindowEvent};

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

/// How this start runs: its own engine, or the window on a station service's UI.
enum Mode {
    InProcess(Box<Engine>),
    Attached(String),
}

/// How long another desktop app on the same data directory has to show its window.
const SHOW_PATIENCE: Duration = Duration::from_secs(5);
/// How long a `station serve` holding the data directory has to answer over HTTP (it may be
/// starting).
const SERVICE_PATIENCE: Duration = Duration::from_secs(15);

fn run(args: Args) -> anyhow::Result<()> {
    let lang = Lang::from_env();
    let config = args.serve.load()?;
    let answering = attach::service_url(&config).filter(|base| attach::is_station(base));
    // Attached, the data directory is the service's: the app adds its log beside the service's
    // only where that folder already is, and creates nothing there.
    init_logging(&config.data_dir, answering.is_none());
    match choose_mode(&config, answering, lang)? {
        Some(Mode::InProcess(engine)) => run_in_process(&config, *engine, lang),
        Some(Mode::Attached(base)) => run_attached(&config, base, lang),
        None => {
            eprintln!("{}: already running; its window is shown.", lang.app_name());
            Ok(())
        }
    }
}

/// Attach when a station answers at the configured address (`answering`), else start the
/// engine here. `None`: another desktop app holds this data directory and has shown its window.
fn choose_mode(
    config: &station::config::Config,
    answering: Option<String>,
    lang: Lang,
) -> anyhow::Result<Option<Mode>> {
    if let Some(base) = answering {
        // A desktop app of this data directory answers there too: show its window instead.
        if instance::is_held(&config.data_dir)
            && instance::ask_running_app_to_show(&config.data_dir, SHOW_PATIENCE)
        {
            return Ok(None);
        }
        return Ok(Some(Mode::Attached(base)));
    }
    match Engine::start(config) {
        Ok(engine) => Ok(Some(Mode::InProcess(Box::new(engine)))),
        Err(ServeError::AlreadyRunning(dir)) => {
            if instance::ask_running_app_to_show(&config.data_dir, SHOW_PATIENCE) {
                return Ok(None);
            }
            // A headless `station serve` holds it: attach once it answers.
            let service = attach::service_url(config);
            match service.filter(|base| attach::wait_for_station(base, SERVICE_PATIENCE)) {
                Some(base) => Ok(Some(Mode::Attached(base))),
                None => anyhow::bail!(lang.already_running_headless(&dir)),
            }
        }
        Err(e) => Err(e).context("starting the engine"),
    }
}

/// The window on the service at `base`: no engine here; tray line and notifications come from
/// the page (attached.rs).
fn run_attached(config: &station::config::Config, base: String, lang: Lang) -> anyhow::Result<()> {
    tracing::info!(service = %base, "desktop app attached to a running station service");
    let state = attached::Attached { lang };
    run_app(state, config.data_dir.clone(), lang, move |handle| {
        attached::allow_service_origin(handle, &base)?;
        window::create_attached(handle, &base)?;
        match tray::Tray::build(handle, lang, true) {
            Ok(tray) => {
                tray.show_text(lang.attached_line());
                handle.manage(Arc::new(tray));
            }
            Err(e) => tracing::warn!(error = %e, "no tray icon"),
        }
        Ok(())
    })
}

fn run_in_process(
    config: &station::config::Config,
    engine: Engine,
    lang: Lang,
) -> anyhow::Result<()> {
    tracing::info!(
        data_dir = %config.data_dir.display(),
        http = %engine.http_addr,
        "desktop app started"
    );
    let destinations = config.destinations.len();
    run_app(engine, config.data_dir.clone(), lang, move |handle| {
        window::create_main(handle)?;
        bridge::spawn_event_forwarder(handle, lang);
        let db = handle.state::<Engine>().db.clone();
        match tray::Tray::build(handle, lang, false) {
            Ok(tray) => tray::Tray::spawn_refresher(Arc::new(tray), handle, db, destinations),
            // No tray host (some desktops): the window and a second start still work.
            Err(e) => tracing::warn!(error = %e, "no tray icon"),
        }
        Ok(())
    })
}

/// Builds and runs the app with `state` managed and `setup` making its window and tray; a
/// second start on `data_dir` shows the window (when this user may write there). The commands
/// are the same in both modes: which origin may call which is the capabilities' business.
fn run_app<S: Send + Sync + 'static>(
    state: S,
    data_dir: PathBuf,
    lang: Lang,
    setup: impl FnOnce(&AppHandle) -> tauri::Result<()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = tauri::Builder::default()
        .plugin(tauri_plugin_notification::init())
        .manage(state)
        .invoke_handler(tauri::generate_handler![
            bridge::api_call,
            attached::attached_links,
            attached::attached_event
        ])
        .setup(move |app| {
            let handle = app.handle();
            setup(handle)?;
            instance::watch_requests(handle.clone(), data_dir);
            Ok(())
        })
        .on_window_event(hide_on_close(lang))
        .build(tauri::generate_context!())
        .context("building the desktop window")?;
    app.run(keep_running);
    Ok(())
}

/// Closing the window must not stop receiving (nor, attached, the tray and notifications): it
/// hides instead, and says so once.
fn hide_on_close(lang: Lang) -> impl Fn(&tauri::Window, &WindowEvent) + Send + Sync + 'static {
    let told_still_receiving = AtomicBool::new(false);
    move |window, event| {
        if let WindowEvent::CloseRequested { api, .. } = event {
            api.prevent_close();
            let _ = window.hide();
            if !told_still_receiving.swap(true, Ordering::Relaxed) {
                bridge::notify(window.app_handle(), lang.app_name(), lang.still_receiving());
            }
        }
    }
}

fn keep_running(app: &AppHandle, event: RunEvent) {
    match event {
        // The last window closing asks to exit with no code: keep running in the tray.
        RunEvent::ExitRequested {
            code: None, api, ..
        } => api.prevent_exit(),
        RunEvent::Exit => {
            if let Some(engine) = app.try_state::<Engine>() {
                engine.shutdown();
            }
        }
        _ => {}
    }
}

/// Logs to stderr and to `<data dir>/logs/desktop.<date>.log` (14 days kept; `create`: the
/// folder is made when missing). Written directly, not through a background writer: the event
/// loop ends the process without returning, so nothing would flush its last lines.
fn init_logging(data_dir: &Path, create: bool) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let logs = data_dir.join("logs");
    let ready = if create {
        std::fs::create_dir_all(&logs).is_ok()
    } else {
        logs.is_dir()
    };
    let file = ready.then_some(()).and_then(|()| {
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

/// Stops the engine (when it runs here), then the app.
pub fn quit(app: &AppHandle) {
    if let Some(engine) = app.try_state::<Engine>() {
        engine.shutdown();
    }
    app.exit(0);
}
