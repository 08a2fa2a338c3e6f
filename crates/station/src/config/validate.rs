//! The checks every configuration passes, from a file at load or edited in memory from the
//! Settings page: each refusal names the setting at fault and says what would be accepted.
//!
//! Must never: touch the file system or the network (a path or a host is checked for shape
//! only; whether it exists is the business of the part that uses it).

use super::{device, Config, ConfigError, Setting, TurnaroundTarget, WatchFolder};

impl Config {
    /// The checks a config file gets at load, for a configuration edited in memory.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let ae = &self.dicom.ae_title;
        if ae.trim().is_empty()
            || ae.len() > 16
            || !ae
                .chars()
                .all(|c| c.is_ascii() && !c.is_ascii_control() && c != '\\')
        {
            return Err(ConfigError::invalid(
                Setting::AeTitle,
                format!(
                    "dicom.ae_title = {ae:?}: an AE title is 1 to 16 printable ASCII characters without backslash"
                ),
            ));
        }
        for caller in &self.dicom.allowed_callers {
            validate_caller(caller)?;
        }
        for caller in &self.dicom.worklist_callers {
            validate_worklist_caller(caller, &self.dicom.allowed_callers)?;
        }
        for caller in &self.dicom.query_callers {
            validate_query_caller(caller, &self.dicom.allowed_callers)?;
        }
        for (i, dest) in self.dicom.move_destinations.iter().enumerate() {
            validate_move_destination(dest)?;
            if self.dicom.move_destinations[..i]
                .iter()
                .any(|d| d.ae_title.trim() == dest.ae_title.trim())
            {
                return Err(ConfigError::invalid(
                    Setting::MoveDestinations,
                    format!(
                        "dicom.move_destinations: {:?} is listed twice",
                        dest.ae_title
                    ),
                ));
            }
        }
        if self.dicom.max_pdu_length < 4096 {
            return Err(ConfigError::invalid(
                Setting::MaxPduLength,
                format!(
                    "dicom.max_pdu_length = {}: must be at least 4096",
                    self.dicom.max_pdu_length
                ),
            ));
        }
        let d = &self.dicom;
        if d.max_associations == 0
            || d.max_per_address == 0
            || d.reserved_associations >= d.max_associations
        {
            return Err(ConfigError::invalid(
                Setting::MaxAssociations,
                format!(
                    "dicom.max_associations = {}, reserved_associations = {}, max_per_address = {}: \
                     at least 1 association and 1 per address, and fewer reserved than in all",
                    d.max_associations, d.reserved_associations, d.max_per_address
                ),
            ));
        }
        if self.dicom.artim_timeout_secs == 0 || self.dicom.idle_timeout_secs == 0 {
            return Err(ConfigError::invalid(
                Setting::DicomTimeouts,
                "dicom.artim_timeout_secs and dicom.idle_timeout_secs must be at least 1",
            ));
        }
        self.http.validate_tls()?;
        let storage = &self.storage;
        if (!storage.backup_time.trim().is_empty() && storage.backup_at().is_none())
            || storage.backup_keep == 0
        {
            return Err(ConfigError::invalid(
                Setting::Backup,
                format!(
                    "storage.backup_time = {:?}, storage.backup_keep = {}: the time is HH:MM (or empty for none), and at least 1 backup is kept",
                    storage.backup_time, storage.backup_keep
                ),
            ));
        }
        if self.studies.quiet_period_secs == 0 {
            return Err(ConfigError::invalid(
                Setting::QuietPeriod,
                "studies.quiet_period_secs must be at least 1",
            ));
        }
        if self.auth.session_ttl_secs == 0
            || self.auth.session_max_secs == 0
            || self.auth.max_failed_logins == 0
            || self.auth.max_failed_logins_per_address == 0
        {
            return Err(ConfigError::invalid(
                Setting::Auth,
                "auth.session_ttl_secs, auth.session_max_secs, auth.max_failed_logins and \
                 auth.max_failed_logins_per_address must be at least 1",
            ));
        }
        let st = &self.storage;
        if st.high_water_percent == 0
            || st.high_water_percent > 100
            || st.low_water_percent >= st.high_water_percent
        {
            return Err(ConfigError::invalid(
                Setting::Retention,
                format!(
                    "storage.high_water_percent = {} and low_water_percent = {}: high is 1 to 100 (100: never early), low below high",
                    st.high_water_percent, st.low_water_percent
                ),
            ));
        }
        let mut names = std::collections::HashSet::new();
        for d in &self.destinations {
            if d.name.trim().is_empty() || !names.insert(d.name.as_str()) {
                return Err(ConfigError::invalid(
                    Setting::DestinationName,
                    format!(
                        "destinations.name {:?}: each destination needs a unique, non-empty name",
                        d.name
                    ),
                ));
            }
            d.validate()?;
        }
        let r = &self.reports;
        if r.urgent_poll_secs == 0
            || r.recent_poll_secs == 0
            || r.idle_poll_secs == 0
            || r.batch_studies == 0
        {
            return Err(ConfigError::invalid(
                Setting::ReportPolling,
                "reports: urgent_poll_secs, recent_poll_secs, idle_poll_secs and batch_studies must be at least 1",
            ));
        }
        for t in &r.targets {
            t.validate()?;
        }
        for w in &self.watch {
            w.validate()?;
        }
        if let Some(root) = &self.station.uid_root {
            crate::dicom::uid::validate_root(root).map_err(|e| {
                ConfigError::invalid(
                    Setting::UidRoot,
                    format!("station.uid_root = {root:?}: {e}"),
                )
            })?;
        }
        if let Some(token) = &self.metrics.token {
            // A short token is guessed by anyone on the clinic network; say so at start.
            if token.0.trim().len() < 16 || token.0.trim() != token.0 {
                return Err(ConfigError::invalid(
                    Setting::MetricsToken,
                    "metrics.token: at least 16 characters, no spaces around it (or no token: the endpoint is off)",
                ));
            }
        }
        Ok(())
    }
}

/// One entry of `dicom.allowed_callers`.
pub fn validate_caller(caller: &str) -> Result<(), ConfigError> {
    if caller.trim().is_empty() || caller.len() > 16 {
        return Err(ConfigError::invalid(
            Setting::AllowedCallers,
            format!(
                "dicom.allowed_callers: {caller:?} is not a valid AE title (1 to 16 characters)"
            ),
        ));
    }
    Ok(())
}

/// One entry of `dicom.worklist_callers`: an AE title, and an allowed caller when the station
/// accepts only listed ones (else its query could never arrive).
pub fn validate_worklist_caller(caller: &str, allowed: &[String]) -> Result<(), ConfigError> {
    validate_listed_caller(
        Setting::WorklistCallers,
        "dicom.worklist_callers",
        caller,
        allowed,
    )
}

/// One entry of `dicom.query_callers`: an AE title, and an allowed caller when the station
/// accepts only listed ones.
pub fn validate_query_caller(caller: &str, allowed: &[String]) -> Result<(), ConfigError> {
    validate_listed_caller(
        Setting::QueryCallers,
        "dicom.query_callers",
        caller,
        allowed,
    )
}

/// One entry of a list of callers given a service (`key`): an AE title, and an allowed caller
/// when the station accepts only listed ones.
fn validate_listed_caller(
    setting: Setting,
    key: &str,
    caller: &str,
    allowed: &[String],
) -> Result<(), ConfigError> {
    if caller.trim().is_empty() || caller.len() > 16 {
        return Err(ConfigError::invalid(
            setting,
            format!("{key}: {caller:?} is not a valid AE title (1 to 16 characters)"),
        ));
    }
    if !allowed.is_empty() && !allowed.iter().any(|a| a.trim() == caller.trim()) {
        return Err(ConfigError::invalid(
            setting,
            format!(
                "{key}: {caller:?} is not in dicom.allowed_callers, so it cannot associate at all"
            ),
        ));
    }
    Ok(())
}

/// One `[[dicom.move_destinations]]`: a valid AE title, a host, a port.
fn validate_move_destination(dest: &super::MoveDestination) -> Result<(), ConfigError> {
    let ae = dest.ae_title.trim();
    let ae_ok = !ae.is_empty()
        && ae.len() <= 16
        && ae
            .chars()
            .all(|c| c.is_ascii() && !c.is_ascii_control() && c != '\\');
    if !ae_ok || dest.host.trim().is_empty() || dest.port == 0 {
        return Err(ConfigError::invalid(
            Setting::MoveDestinations,
            format!(
                "dicom.move_destinations {dest:?}: ae_title is 1 to 16 printable ASCII characters \
                 without backslash, host is not empty, port is 1 to 65535"
            ),
        ));
    }
    Ok(())
}

impl TurnaroundTarget {
    /// Checks that the priority is "urgent", "routine" or "*" and minutes at least 1.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !matches!(self.priority.as_str(), "urgent" | "routine" | "*") || self.minutes == 0 {
            return Err(ConfigError::invalid(
                Setting::TurnaroundTarget,
                format!(
                    "reports.targets {self:?}: priority is \"urgent\", \"routine\" or \"*\", minutes at least 1"
                ),
            ));
        }
        Ok(())
    }
}

impl WatchFolder {
    /// Checks for a non-empty path, a rescan period of at least 1 s and a valid device profile.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.path.as_os_str().is_empty() {
            return Err(ConfigError::invalid(
                Setting::WatchPath,
                "watch.path must not be empty",
            ));
        }
        if self.rescan_secs == 0 {
            return Err(ConfigError::invalid(
                Setting::WatchRescan,
                format!(
                    "watch.rescan_secs for {}: must be at least 1",
                    self.path.display()
                ),
            ));
        }
        if let Some(device) = &self.device {
            device::validate(device).map_err(|e| {
                ConfigError::invalid(
                    Setting::WatchDevice,
                    format!("watch.device for {}: {e}", self.path.display()),
                )
            })?;
        }
        Ok(())
    }
}
