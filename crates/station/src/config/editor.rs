//! Writes the sections an admin edits on the Settings page (allowed and worklist callers, studies' quiet
//! period and hold, watched folders, destinations, turnaround targets) back into the station's
//! configuration file, keeping everything else in it as the admin wrote it: other keys,
//! comments, layout. Entries are matched to the file's own (a destination by name, a folder by
//! path) so their comments survive too.
//!
//! Must never: leave a half-written or invalid file (a temporary file is written, synced,
//! loaded back, then renamed over the old one), or make a file holding secrets readable by
//! others.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use toml_edit::{ArrayOfTables, DocumentMut, Item, Table};

use super::{Config, ConfigError, Destination, Overrides, Setting, TurnaroundTarget, WatchFolder};

const NEW_FILE_HEADER: &str = "# Clinic Imaging Station: settings saved from the Settings page.\n\
# The embedded defaults (`station config` shows them) apply to anything not set here.\n";

/// The editable sections, shaped as in the file.
#[derive(Serialize)]
struct Editable<'a> {
    dicom: EditableDicom<'a>,
    studies: EditableStudies,
    reports: EditableReports<'a>,
    registration: EditableRegistration<'a>,
    watch: &'a [WatchFolder],
    destinations: &'a [Destination],
}

#[derive(Serialize)]
struct EditableDicom<'a> {
    allowed_callers: &'a [String],
    worklist_callers: &'a [String],
    query_callers: &'a [String],
}

#[derive(Serialize)]
struct EditableStudies {
    quiet_period_secs: u64,
    hold_unmatched: bool,
    hold_on_mismatch: bool,
    send_while_receiving: bool,
}

#[derive(Serialize)]
struct EditableRegistration<'a> {
    procedures: &'a std::collections::BTreeMap<String, Vec<String>>,
}

#[derive(Serialize)]
struct EditableReports<'a> {
    targets: &'a [TurnaroundTarget],
}

/// Writes `config`'s editable sections into the file at `path` (created if missing).
pub fn write_editable(path: &Path, config: &Config) -> Result<(), ConfigError> {
    let parse_error = |path: &Path, e: &dyn std::fmt::Display| ConfigError::Parse {
        path: path.to_owned(),
        message: e.to_string(),
    };
    let existing = match std::fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.to_owned(),
                source,
            })
        }
    };
    let mut doc: DocumentMut = existing
        .as_deref()
        .unwrap_or(NEW_FILE_HEADER)
        .parse()
        .map_err(|e| parse_error(path, &e))?;
    let edits = Editable {
        dicom: EditableDicom {
            allowed_callers: &config.dicom.allowed_callers,
            worklist_callers: &config.dicom.worklist_callers,
            query_callers: &config.dicom.query_callers,
        },
        studies: EditableStudies {
            quiet_period_secs: config.studies.quiet_period_secs,
            hold_unmatched: config.studies.hold_unmatched,
            hold_on_mismatch: config.studies.hold_on_mismatch,
            send_while_receiving: config.studies.send_while_receiving,
        },
        reports: EditableReports {
            targets: &config.reports.targets,
        },
        registration: EditableRegistration {
            procedures: &config.registration.procedures,
        },
        watch: &config.watch,
        destinations: &config.destinations,
    };
    let text =
        toml::to_string(&edits).map_err(|e| ConfigError::invalid(Setting::File, e.to_string()))?;
    let edits: DocumentMut = text.parse().map_err(|e| parse_error(path, &e))?;
    for section in ["dicom", "studies", "reports", "registration"] {
        if let Some(Item::Table(new)) = edits.get(section) {
            let old = doc
                .entry(section)
                .or_insert_with(|| {
                    // A header only if it gets keys of its own ([[reports.targets]] needs none).
                    let mut t = Table::new();
                    t.set_implicit(true);
                    Item::Table(t)
                })
                .as_table_mut()
                .ok_or_else(|| parse_error(path, &format!("{section} is not a table")))?;
            for (key, item) in new.iter() {
                set_item(old, key, item);
            }
        }
    }
    for list in ["watch", "destinations"] {
        match edits.get(list) {
            Some(item @ Item::ArrayOfTables(_)) => set_item(doc.as_table_mut(), list, item),
            // None is the default: leave no `watch = []` behind.
            _ => {
                doc.remove(list);
            }
        }
    }
    replace_file(path, doc.to_string().as_bytes())
}

/// Sets `key` in `table` to `new`, keeping what can be kept of the old item: a value equal to
/// the new one is left alone (with its comment), tables are updated key by key, and an array of
/// tables keeps each old entry that is the same entry ([`same_entry`]).
fn set_item(table: &mut Table, key: &str, new: &Item) {
    let new = match new {
        // An empty list serializes to nothing; in the file it must say "none" so the defaults
        // (two turnaround targets, for instance) do not come back.
        Item::None => Item::Value(toml_edit::Array::new().into()),
        other => other.clone(),
    };
    match (table.get_mut(key), new) {
        (Some(Item::Value(old)), Item::Value(new)) => {
            if plain(old) != plain(&new) {
                let decor = old.decor().clone();
                *old = new;
                *old.decor_mut() = decor;
            }
        }
        (Some(Item::Table(old)), Item::Table(new)) => update_table(old, &new, key),
        (Some(Item::ArrayOfTables(old)), Item::ArrayOfTables(new)) => {
            let mut kept: Vec<Option<Table>> = old.iter().cloned().map(Some).collect();
            let mut out = ArrayOfTables::new();
            for n in new.iter() {
                let found = kept
                    .iter_mut()
                    .find(|o| o.as_ref().is_some_and(|o| same_entry(key, o, n)))
                    .and_then(Option::take);
                match found {
                    Some(mut o) => {
                        update_table(&mut o, n, key);
                        out.push(o);
                    }
                    None => {
                        let mut fresh = Table::new();
                        update_table(&mut fresh, n, key);
                        out.push(fresh);
                    }
                }
            }
            *old = out;
        }
        (_, new) => {
            table.insert(key, new);
        }
    }
}

/// Updates `old` to hold `new`'s keys, an entry of the list `list`. A key the entry does not
/// have yet is left out when its value is the default anyway, so a destination added from the
/// UI reads like one written by hand.
fn update_table(old: &mut Table, new: &Table, list: &str) {
    let stale: Vec<String> = old
        .iter()
        .map(|(k, _)| k.to_owned())
        .filter(|k| !new.contains_key(k))
        .collect();
    for k in stale {
        old.remove(&k);
    }
    let defaults = entry_defaults(list);
    for (key, item) in new.iter() {
        let is_default = match (defaults.as_ref().and_then(|d| d.get(key)), item) {
            (Some(Item::Value(d)), Item::Value(v)) => plain(d) == plain(v),
            _ => false,
        };
        if is_default && !old.contains_key(key) {
            continue;
        }
        set_item(old, key, item);
    }
}

/// The values serde fills in for an entry of `list` that gives only what it must.
fn entry_defaults(list: &str) -> Option<Table> {
    fn table_of<T: serde::de::DeserializeOwned + Serialize>(minimal: &str) -> Option<Table> {
        let value: T = toml::from_str(minimal).ok()?;
        let text = toml::to_string(&value).ok()?;
        let doc: DocumentMut = text.parse().ok()?;
        Some(doc.as_table().clone())
    }
    match list {
        "destinations" => table_of::<Destination>("name = \"\"\nurl = \"\""),
        "watch" => table_of::<WatchFolder>("path = \"\""),
        _ => None,
    }
}

/// A value as TOML without its comments and spacing, for comparing.
fn plain(v: &toml_edit::Value) -> String {
    let mut v = v.clone();
    v.decor_mut().clear();
    v.to_string()
}

/// Whether two entries of the list `key` are one entry edited: a destination is its name, a
/// watched folder its path, a turnaround target its modality and priority.
fn same_entry(key: &str, a: &Table, b: &Table) -> bool {
    let ids: &[&str] = match key {
        "destinations" => &["name"],
        "watch" => &["path"],
        "targets" => &["modality", "priority"],
        _ => return false,
    };
    let id = |t: &Table, k: &str| t.get(k).and_then(|i| i.as_value()).map(plain);
    ids.iter()
        .all(|k| id(a, k).is_some() && id(a, k) == id(b, k))
}

/// Temporary file beside the target, synced, checked by loading it, then renamed over it.
fn replace_file(path: &Path, bytes: &[u8]) -> Result<(), ConfigError> {
    let write_error = |source: std::io::Error| ConfigError::Read {
        path: path.to_owned(),
        source,
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "station.toml".into());
    let tmp: PathBuf = path.with_file_name(format!(".{name}.saving"));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(write_error)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    // Destination passwords and tokens live in this file: only the station's user reads it.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = (|| {
        let mut f = options.open(&tmp)?;
        if let Ok(meta) = std::fs::metadata(path) {
            f.set_permissions(meta.permissions())?;
        }
        f.write_all(bytes)?;
        f.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(write_error(e));
    }
    if let Err(e) = Config::load(Some(&tmp), &Overrides::default()) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path).map_err(write_error)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // The settings are in place either way; a lost sync only risks the old file after a
        // power cut.
        let _ = crate::disk::sync_dir(dir);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
