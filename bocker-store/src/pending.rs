//! Pending journals: what a running mutation created, so a crash can be undone.
//!
//! `pending/<token>` lists paths (relative to the store root), one per line, and is
//! flocked by its owner for as long as the mutation runs. A journal whose lock can be
//! taken belongs to a dead process: the garbage collector removes what it lists.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::error::{IoContext, Result, StoreError};
use crate::lock::{Lock, Mode};

/// A mutation in progress; see the module docs.
#[derive(Debug)]
pub struct Pending {
    lock: Lock,
    root: PathBuf,
    entries: Vec<PathBuf>,
}

impl Pending {
    /// Starts a journal under `<root>/pending`.
    pub(crate) fn begin(root: &Path) -> Result<Pending> {
        let dir = root.join("pending");
        loop {
            let token = crate::id::random(crate::id::Kind::Container);
            let tmp = dir.join(format!(".{token}.new"));
            let file = match OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_CLOEXEC | libc::O_APPEND)
                .open(&tmp)
            {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(StoreError::io("creating journal", &tmp, e)),
            };
            // Lock before the journal becomes visible under its real name, so the
            // collector can never mistake a live journal for a dead one.
            let path = dir.join(&token);
            let lock = Lock::from_file(file, path.clone(), Mode::Exclusive, false)
                .map_err(|e| StoreError::io("locking journal", &tmp, e))?;
            fs::rename(&tmp, &path).ctx("publishing journal", &path)?;
            return Ok(Pending {
                lock,
                root: root.to_path_buf(),
                entries: Vec::new(),
            });
        }
    }

    /// Registers `path` (inside the store root) to be removed if this process dies
    /// before `finish`.
    pub fn add(&mut self, path: &Path) -> Result<()> {
        let rel = path.strip_prefix(&self.root).unwrap_or(path);
        let mut line = rel.as_os_str().as_encoded_bytes().to_vec();
        line.push(b'\n');
        let mut f = self.lock.file();
        f.write_all(&line)
            .ctx("writing journal", self.lock.path())?;
        self.entries.push(path.to_path_buf());
        Ok(())
    }

    /// Paths registered so far.
    pub fn entries(&self) -> &[PathBuf] {
        &self.entries
    }

    /// The mutation completed: forget the journal.
    pub fn finish(self) -> Result<()> {
        // Empty it first: a collector that opened it just before the unlink must find
        // nothing to undo once it gets the lock.
        self.lock
            .file()
            .set_len(0)
            .ctx("truncating journal", self.lock.path())?;
        fs::remove_file(self.lock.path()).ctx("removing journal", self.lock.path())?;
        Ok(())
    }
}

/// Undoes the journals of dead processes under `<root>/pending`; returns how many.
pub(crate) fn undo_dead(root: &Path) -> Result<usize> {
    let dir = root.join("pending");
    let mut undone = 0;
    let Ok(rd) = fs::read_dir(&dir) else {
        return Ok(0);
    };
    for entry in rd.flatten() {
        let path = entry.path();
        let Ok(file) = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_CLOEXEC)
            .open(&path)
        else {
            continue;
        };
        let Ok(lock) = Lock::from_file(file, path.clone(), Mode::Exclusive, true) else {
            continue; // owner alive
        };
        // Finished (unlinked) in the meantime: nothing to undo.
        if lock
            .file()
            .metadata()
            .map(|m| m.nlink() == 0)
            .unwrap_or(true)
        {
            continue;
        }
        let text = fs::read(&path).ctx("reading journal", &path)?;
        for line in text.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            // SAFETY of the conversion: the bytes were written from an OsStr by `add`.
            let rel = Path::new(unsafe { std::ffi::OsStr::from_encoded_bytes_unchecked(line) });
            if rel.is_absolute()
                || rel
                    .components()
                    .any(|c| c == std::path::Component::ParentDir)
            {
                continue; // never follow a journal out of the store
            }
            crate::fsutil::remove_path(&root.join(rel))?;
        }
        fs::remove_file(&path).ctx("removing journal", &path)?;
        undone += 1;
    }
    Ok(undone)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir(d.path().join("pending")).unwrap();
        d
    }

    #[test]
    fn live_journal_is_left_alone_and_finish_forgets() {
        let r = root();
        let victim = r.path().join("half");
        fs::create_dir(&victim).unwrap();
        let mut p = Pending::begin(r.path()).unwrap();
        p.add(&victim).unwrap();
        assert_eq!(undo_dead(r.path()).unwrap(), 0);
        assert!(victim.exists());
        p.finish().unwrap();
        assert_eq!(fs::read_dir(r.path().join("pending")).unwrap().count(), 0);
        assert!(victim.exists(), "finish must not remove what it registered");
    }

    #[test]
    fn dead_journal_is_undone() {
        let r = root();
        let victim = r.path().join("half");
        fs::create_dir_all(victim.join("deep")).unwrap();
        fs::write(victim.join("deep/f"), b"x").unwrap();
        let mut p = Pending::begin(r.path()).unwrap();
        p.add(&victim).unwrap();
        // Simulate death: drop the lock without finishing.
        drop(p);
        assert_eq!(undo_dead(r.path()).unwrap(), 1);
        assert!(!victim.exists());
        assert_eq!(fs::read_dir(r.path().join("pending")).unwrap().count(), 0);
    }

    #[test]
    fn journal_cannot_point_outside_the_store() {
        let r = root();
        let outside = tempfile::tempdir().unwrap();
        let canary = outside.path().join("canary");
        fs::write(&canary, b"keep").unwrap();
        fs::write(
            r.path().join("pending/evil"),
            format!("../{}\n{}\n", canary.display(), canary.display()),
        )
        .unwrap();
        undo_dead(r.path()).unwrap();
        assert!(canary.exists());
    }
}
