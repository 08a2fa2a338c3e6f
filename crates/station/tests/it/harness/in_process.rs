//! The station started inside the test process (`station::serve::Station`), as the desktop app
//! runs it: for tests that listen on its event bus or stop it the way the app does. Ports are
//! picked by the station itself (0), the configuration comes from the same [`Options`].
//!
//! Never stops the station without the end-of-test check first (see [`super::station`]).

use std::ops::Deref;
use std::path::{Path, PathBuf};

use super::config::Options;
use super::data_dir;
use super::station::{ADMIN_PASSWORD, SETTLE_TIMEOUT};

pub struct InProcess {
    pub data_dir: PathBuf,
    station: Option<station::serve::Station>,
}

impl InProcess {
    /// Starts a station on `root/data` with `options`, its first-run `admin` password
    /// [`ADMIN_PASSWORD`].
    pub fn start(root: &Path, options: &Options) -> InProcess {
        InProcess::start_with(root, options, station::serve::Station::start)
    }

    /// As [`InProcess::start`], as the desktop app starts it (its window's own HTTP listener).
    pub fn start_for_window(root: &Path, options: &Options) -> InProcess {
        InProcess::start_with(root, options, station::serve::Station::start_for_window)
    }

    fn start_with(
        root: &Path,
        options: &Options,
        start: fn(
            &station::config::Config,
        ) -> Result<station::serve::Station, station::serve::ServeError>,
    ) -> InProcess {
        let data_dir = root.join("data");
        let mut config = options.config(&data_dir, 0, 0);
        config.auth.initial_admin_password = Some(ADMIN_PASSWORD.into());
        let station = start(&config).expect("station starts in-process");
        InProcess {
            data_dir,
            station: Some(station),
        }
    }

    pub fn dicom_port(&self) -> u16 {
        self.dicom_addr.port()
    }

    pub fn http_port(&self) -> u16 {
        self.http_addr.port()
    }

    /// The end-of-test check, then the station's own shutdown; fails the test (after the
    /// station stopped) when the data directory did not come to rest clean.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let Some(station) = self.station.take() else {
            return;
        };
        let check = if std::thread::panicking() {
            Ok(())
        } else {
            data_dir::wait_clean(&self.data_dir, SETTLE_TIMEOUT)
        };
        station.shutdown();
        if let Err(message) = check {
            panic!("{message}");
        }
    }
}

impl Deref for InProcess {
    type Target = station::serve::Station;
    fn deref(&self) -> &Self::Target {
        self.station.as_ref().expect("the station is running")
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        self.stop();
    }
}
