//! Durable writes on a clinic PC's disk, whatever its system: the fsync of a directory that
//! makes a rename into it survive a power cut; the data directory kept private, and locked by
//! the one process that may change it wholesale.
//!
//! Must never: report a directory synced that was not (on Windows, where no directory handle
//! can be flushed, NTFS's metadata journal is what makes the rename durable: documented, not
//! pretended).

use std::io;
use std::path::Path;

/// Makes the entries of `dir` (a file just renamed into it) durable. On Unix, an fsync of the
/// directory (without it, a power cut can lose the rename though the file's bytes were synced).
#[cfg(not(windows))]
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// On Windows a directory cannot be opened for flushing without backup privileges; NTFS logs
/// the rename in its metadata journal, so there is nothing to do. A missing directory is still
/// an error, as on Unix.
#[cfg(windows)]
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{} is not a directory", dir.display()),
        ))
    }
}

/// Writes `bytes` to `path` as a whole or not at all (a temporary file beside it, synced, then
/// renamed over it, and the rename made durable), readable by the station's user only.
pub fn write_private_durably(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    let tmp = path.with_file_name(name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => sync_dir(dir),
        None => Ok(()),
    }
}

/// Makes `dir` (the data directory: patients' images, the index, passwords' hashes) readable
/// by the station's own user only, at every start, so an install made before this rule is
/// fixed too. On Windows the directory keeps the ACL it inherits (not verified there).
pub fn make_private(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Makes every file and directory this process creates from now on its user's only (umask
/// 077: files 0600, directories 0700): instance files, previews, the index and its journal,
/// backups, logs. Called first thing by `station serve` (and the desktop app, through it) and
/// the command line. On Windows files inherit the data directory's ACL (not verified there).
pub fn private_files() {
    #[cfg(unix)]
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
}

/// The lock a running station holds on its data directory (`station.lock`): taken by
/// `station serve` for as long as it runs, and by `station restore` while it replaces the index.
/// `Ok(None)` when another process holds it; the OS releases it when its holder dies.
pub fn lock_data_dir(dir: &Path) -> io::Result<Option<std::fs::File>> {
    use fs4::fs_std::FileExt;
    let lock = std::fs::File::create(dir.join("station.lock"))?;
    Ok(matches!(lock.try_lock_exclusive(), Ok(true)).then_some(lock))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_syncs_and_a_missing_one_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("a.dcm"), b"x").expect("file");
        sync_dir(dir.path()).expect("synced");
        assert!(sync_dir(&dir.path().join("gone")).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn a_data_directory_made_readable_by_all_is_made_private_again() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        std::fs::create_dir(&data).expect("dir");
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        make_private(&data).expect("private");
        let mode = std::fs::metadata(&data).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}
