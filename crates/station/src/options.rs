//! The command-line options that choose a station's configuration, one definition for the
//! `station` binary's commands and the desktop app (`station-desktop`), so `station serve` and
//! the app take the same flags with the same meaning.
//!
//! Must never: hold a setting of its own; every option only overrides what `config` loads.

use std::path::PathBuf;

use crate::config::{Config, ConfigError, Overrides};

/// Which configuration to use: every command that opens a station takes these.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ConfigArgs {
    /// TOML configuration file; embedded defaults apply to anything it leaves out.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Where the database and the images are kept (overrides `data_dir`).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

impl ConfigArgs {
    /// The configuration file (or the defaults) with `overrides` and this data directory.
    pub fn load(&self, mut overrides: Overrides) -> Result<Config, ConfigError> {
        overrides.data_dir = self.data_dir.clone();
        Config::load(self.config.as_deref(), &overrides)
    }
}

/// Options of a running station (`station serve`, the desktop app): the configuration and the
/// addresses a clinic most often changes on the command line.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ServeArgs {
    /// Which configuration file and data directory (a doc comment on a `flatten` field does
    /// not reach `--help`).
    #[command(flatten)]
    pub config: ConfigArgs,
    /// The station's own DICOM AE title (overrides `dicom.ae_title`).
    #[arg(long)]
    pub ae_title: Option<String>,
    /// The DICOM listener's port (overrides `dicom.port`).
    #[arg(long)]
    pub dicom_port: Option<u16>,
    /// The HTTP API and web UI's port (overrides `http.port`).
    #[arg(long)]
    pub http_port: Option<u16>,
}

impl ServeArgs {
    /// The configuration with these flags applied over what the file (or the defaults) say.
    pub fn load(&self) -> Result<Config, ConfigError> {
        self.config.load(Overrides {
            ae_title: self.ae_title.clone(),
            dicom_port: self.dicom_port,
            http_port: self.http_port,
            ..Overrides::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    #[test]
    fn flags_override_the_loaded_configuration() {
        let cli = Cli::parse_from([
            "station",
            "--data-dir",
            "/tmp/station-options-test",
            "--ae-title",
            "CLINIC1",
            "--dicom-port",
            "11113",
            "--http-port",
            "8089",
        ]);
        let config = cli.serve.load().expect("config");
        assert_eq!(config.data_dir, PathBuf::from("/tmp/station-options-test"));
        assert_eq!(config.dicom.ae_title, "CLINIC1");
        assert_eq!(config.dicom.port, 11113);
        assert_eq!(config.http.port, 8089);
    }
}
