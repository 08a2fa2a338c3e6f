//! Quarantine: files we cannot store are moved aside with a reason file beside each, and
//! recorded in the index so a person sees them.
//!
//! Must never: delete a file. A quarantined file is kept until a person decides.

use std::path::{Path, PathBuf};

use super::{IngestError, Refusal};
use crate::store::{self, Store};

/// Moves (or, for `station import`, copies) `file` into `dir`, writes `<name>.reason.txt` next
/// to it, and records it. Returns where the file now is.
pub fn quarantine_file(
    store: &Store,
    file: &Path,
    dir: &Path,
    refusal: &Refusal,
    keep_original: bool,
) -> Result<PathBuf, IngestError> {
    std::fs::create_dir_all(dir)?;
    let dest = unique_dest(dir, file);
    if keep_original {
        std::fs::copy(file, &dest)?;
    } else if std::fs::rename(file, &dest).is_err() {
        // Across filesystems (a network share): copy, then remove.
        std::fs::copy(file, &dest)?;
        std::fs::remove_file(file)?;
    }
    let mut reason_path = dest.clone().into_os_string();
    reason_path.push(".reason.txt");
    std::fs::write(&reason_path, format!("{}\n", refusal.detail))?;
    store::insert_quarantine(
        &store.lock(),
        &file.display().to_string(),
        &dest.display().to_string(),
        refusal.reason,
        &refusal.detail,
    )?;
    tracing::warn!(file = %file.display(), to = %dest.display(), reason = %refusal.reason, detail = %refusal.detail, "file quarantined");
    Ok(dest)
}

/// `dir/name`, or `dir/name.1`, `.2`… when taken: a second bad file of the same name must not
/// overwrite the first.
pub(crate) fn unique_dest(dir: &Path, file: &Path) -> PathBuf {
    let name = file
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "unnamed".into());
    let mut dest = dir.join(&name);
    let mut n = 1;
    while dest.exists() && n < 100_000 {
        let mut candidate = name.clone();
        candidate.push(format!(".{n}"));
        dest = dir.join(candidate);
        n += 1;
    }
    dest
}
