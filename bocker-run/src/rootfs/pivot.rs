//! Entering the built root: `pivot_root` with the old root detached, and the working
//! directory, created and entered without following magic links.

use crate::safepath;
use crate::sys;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

fn err(what: &str, path: &str, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {path}: {e}"))
}

/// Create the working directory inside the root (Docker creates a missing WorkingDir).
/// Magic links (`/proc/self/fd/N`) are refused, so a leaked host fd can never become
/// the cwd (CVE-2024-21626 class).
pub fn make_workdir(root: RawFd, cwd: &str) -> io::Result<()> {
    safepath::mkdir_all(root, cwd, 0o755)
        .map(drop)
        .map_err(|e| err("working directory", cwd, e))
}

/// `pivot_root` into `root` and detach the old root (runc's `pivot_root(".", ".")`).
pub fn pivot(root: &OwnedFd) -> io::Result<()> {
    sys::fchdir(root.as_raw_fd())?;
    sys::pivot_root_dot().map_err(|e| err("pivot_root", ".", e))?;
    sys::umount_detach(c".").map_err(|e| err("detaching old root", ".", e))?;
    sys::chdir(c"/")
}

/// chdir into the working directory, resolved inside the new root without magic links.
pub fn enter_workdir(cwd: &str) -> io::Result<()> {
    let root = sys::open(c"/", libc::O_PATH | libc::O_DIRECTORY)?;
    let dir = safepath::open(root.as_raw_fd(), cwd, libc::O_PATH | libc::O_DIRECTORY)
        .map_err(|e| err("working directory", cwd, e))?;
    sys::fchdir(dir.as_raw_fd())
}
