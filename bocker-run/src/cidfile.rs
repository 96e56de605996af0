//! `--cidfile FILE`, as Docker's CLI does it: refused when FILE exists, created before
//! the container, the container's full id written into it once created, removed again
//! when the container could not be created.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A reserved cid file.
#[derive(Debug)]
pub struct CidFile {
    path: PathBuf,
    file: File,
    written: bool,
}

impl CidFile {
    /// Create `path`; Docker's message when it exists already.
    pub fn create(path: &Path) -> Result<CidFile, String> {
        let file = match File::options().write(true).create_new(true).open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(format!(
                "container ID file found, make sure the other container isn't running or delete {}",
                path.display()
            ))
            }
            Err(e) => return Err(format!("failed to create the container ID file: {e}")),
        };
        Ok(CidFile {
            path: path.to_path_buf(),
            file,
            written: false,
        })
    }

    /// Write the container's id (no newline, as Docker).
    pub fn write(&mut self, id: &str) -> std::io::Result<()> {
        self.file.write_all(id.as_bytes())?;
        self.written = true;
        Ok(())
    }
}

impl Drop for CidFile {
    /// No container, no file (Docker removes it when the create failed).
    fn drop(&mut self) {
        if !self.written {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}
