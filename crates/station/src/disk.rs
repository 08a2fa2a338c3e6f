//! Durable writes on a clinic PC's disk, whatever its system: the fsync of a directory that
//! makes a rename into it survive a power cut.
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
}
