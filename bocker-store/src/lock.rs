//! File locks (flock): shared for creators, exclusive for deleters, per-record locks.
//!
//! Lock files are opened close-on-exec so no lock fd ever reaches a container.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::error::{IoContext, Result, StoreError};

/// How a lock is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Shared,
    Exclusive,
}

/// A held flock; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct Lock {
    file: File,
    path: PathBuf,
}

impl Lock {
    /// Blocks until the lock at `path` is held in `mode` (creating the file if needed).
    pub fn acquire(path: &Path, mode: Mode) -> Result<Lock> {
        let file = open(path)?;
        flock(&file, mode, false).ctx("locking", path)?;
        Ok(Lock {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Takes the lock only if nobody holds a conflicting one; `Ok(None)` when busy.
    pub fn try_acquire(path: &Path, mode: Mode) -> Result<Option<Lock>> {
        let file = open(path)?;
        match flock(&file, mode, true) {
            Ok(()) => Ok(Some(Lock {
                file,
                path: path.to_path_buf(),
            })),
            Err(e) if e.raw_os_error() == Some(libc::EWOULDBLOCK) => Ok(None),
            Err(e) => Err(StoreError::io("locking", path, e)),
        }
    }

    /// [`Lock::try_acquire`] of a lock file that is not created when missing: a lock
    /// nobody ever took is free without costing a file.
    pub fn try_acquire_existing(path: &Path, mode: Mode) -> Result<Attempt> {
        let file = match OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_CLOEXEC)
            .open(path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Attempt::Missing),
            Err(e) => return Err(StoreError::io("opening lock", path, e)),
        };
        match flock(&file, mode, true) {
            Ok(()) => Ok(Attempt::Held(Lock {
                file,
                path: path.to_path_buf(),
            })),
            Err(e) if e.raw_os_error() == Some(libc::EWOULDBLOCK) => Ok(Attempt::Busy),
            Err(e) => Err(StoreError::io("locking", path, e)),
        }
    }

    /// Wraps an already open file whose lock is being taken by the caller.
    pub(crate) fn from_file(
        file: File,
        path: PathBuf,
        mode: Mode,
        nonblocking: bool,
    ) -> std::io::Result<Lock> {
        flock(&file, mode, nonblocking)?;
        Ok(Lock { file, path })
    }

    /// The locked file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The locked file, for callers that keep data in it (journals).
    pub fn file(&self) -> &File {
        &self.file
    }
}

/// What [`Lock::try_acquire_existing`] found.
#[derive(Debug)]
pub enum Attempt {
    /// No lock file: nobody ever took this lock.
    Missing,
    /// Someone holds a conflicting lock.
    Busy,
    /// Taken.
    Held(Lock),
}

fn open(path: &Path) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_CLOEXEC)
        .open(path)
        .ctx("opening lock", path)
}

fn flock(file: &File, mode: Mode, nonblocking: bool) -> std::io::Result<()> {
    let mut op = match mode {
        Mode::Shared => libc::LOCK_SH,
        Mode::Exclusive => libc::LOCK_EX,
    };
    if nonblocking {
        op |= libc::LOCK_NB;
    }
    use std::os::fd::AsFd;
    bocker_sys::sys::flock(file.as_fd(), op)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_existing_lock_is_tried_without_making_its_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("l");
        assert!(matches!(
            Lock::try_acquire_existing(&p, Mode::Exclusive).unwrap(),
            Attempt::Missing
        ));
        assert!(!p.exists(), "trying made the lock file");
        let shared = Lock::acquire(&p, Mode::Shared).unwrap();
        assert!(matches!(
            Lock::try_acquire_existing(&p, Mode::Exclusive).unwrap(),
            Attempt::Busy
        ));
        drop(shared);
        let held = Lock::try_acquire_existing(&p, Mode::Exclusive).unwrap();
        assert!(matches!(held, Attempt::Held(_)));
        assert!(Lock::try_acquire(&p, Mode::Shared).unwrap().is_none());
    }

    #[test]
    fn shared_locks_coexist_and_exclude_exclusive() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("lock");
        let a = Lock::acquire(&p, Mode::Shared).unwrap();
        let b = Lock::try_acquire(&p, Mode::Shared).unwrap();
        assert!(b.is_some(), "readers must not block each other");
        assert!(Lock::try_acquire(&p, Mode::Exclusive).unwrap().is_none());
        drop(a);
        drop(b);
        let x = Lock::try_acquire(&p, Mode::Exclusive).unwrap();
        assert!(x.is_some());
        assert!(Lock::try_acquire(&p, Mode::Shared).unwrap().is_none());
    }

    #[test]
    fn lock_fd_is_close_on_exec() {
        let dir = tempfile::tempdir().unwrap();
        let l = Lock::acquire(&dir.path().join("lock"), Mode::Shared).unwrap();
        let flags = nix::fcntl::fcntl(l.file(), nix::fcntl::FcntlArg::F_GETFD).unwrap();
        assert_ne!(flags & libc::FD_CLOEXEC, 0);
    }

    #[test]
    fn exclusive_blocks_until_released_across_threads() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("lock");
        let held = Lock::acquire(&p, Mode::Exclusive).unwrap();
        let p2 = p.clone();
        let t = std::thread::spawn(move || {
            let _l = Lock::acquire(&p2, Mode::Exclusive).unwrap();
            std::time::Instant::now()
        });
        std::thread::sleep(std::time::Duration::from_millis(100));
        let released = std::time::Instant::now();
        drop(held);
        let got = t.join().unwrap();
        assert!(
            got >= released,
            "second holder got the lock before the first released it"
        );
    }
}
