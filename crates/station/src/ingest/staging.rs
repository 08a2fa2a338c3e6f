//! Staging files: bytes are written under `tmp/` with a running SHA-256, then fsynced. A staged
//! file that is dropped without being committed is deleted, so nothing half-written remains.
//!
//! Must never: write outside the data directory's `tmp/`.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// An open staging file. Write the object's bytes, then [`Staging::finish`].
pub struct Staging {
    file: BufWriter<File>,
    path: PathBuf,
    hasher: Sha256,
    size: u64,
    finished: bool,
}

/// A staged file that is complete and on disk, waiting to be committed.
#[derive(Debug)]
pub struct StagedFile {
    pub path: PathBuf,
    pub size: u64,
    pub sha256: String,
    consumed: bool,
}

impl Staging {
    pub fn create(tmp_dir: &Path) -> io::Result<Staging> {
        let name = format!("{}-{:016x}.part", std::process::id(), rand::random::<u64>());
        let path = tmp_dir.join(name);
        let file = File::options().write(true).create_new(true).open(&path)?;
        Ok(Staging {
            file: BufWriter::with_capacity(256 * 1024, file),
            path,
            hasher: Sha256::new(),
            size: 0,
            finished: false,
        })
    }

    /// Flushes and fsyncs; the bytes are durable when this returns.
    pub fn finish(mut self) -> io::Result<StagedFile> {
        self.file.flush()?;
        self.file.get_ref().sync_all()?;
        self.finished = true;
        let hasher = std::mem::take(&mut self.hasher);
        Ok(StagedFile {
            path: self.path.clone(),
            size: self.size,
            sha256: hex::encode(hasher.finalize()),
            consumed: false,
        })
    }
}

impl Write for Staging {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.finished {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl StagedFile {
    /// Hands the file over to its final place; from now on the caller owns the path.
    pub fn mark_consumed(&mut self) {
        self.consumed = true;
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        if !self.consumed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}
