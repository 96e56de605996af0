//! The safe-path layer over raw fds and `&str` paths, for a container's rootfs: the API
//! bocker-run's mount and `-w` code uses (`open`, `open_path`, `mkdir_all`, `touch`,
//! `file_type`). Every lookup is `openat2` with `RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS`
//! on an fd of the rootfs; a caller then mounts onto `/proc/self/fd/N` of the fd so
//! opened (the runc approach), so no path is resolved twice.
//!
//! Nothing here allocates more than the path itself or takes a lock, so it is usable in
//! the container's child between clone and execve.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use crate::root::{self, RelPath, RESOLVE};
use crate::sys::{self, cstr};

fn rel(path: &str) -> &str {
    let p = path.trim_start_matches('/');
    if p.is_empty() {
        "."
    } else {
        p
    }
}

/// Open `path` (relative to the root `root`, symlinks resolved within it) with `flags`
/// (`O_CLOEXEC` added). `..` is resolved by the kernel and clamps at the root.
pub fn open(root: RawFd, path: &str, flags: libc::c_int) -> io::Result<OwnedFd> {
    sys::openat2(root, &cstr(rel(path).as_bytes())?, flags as u64, 0, RESOLVE)
}

/// Open an existing path as an `O_PATH` handle.
pub fn open_path(root: RawFd, path: &str) -> io::Result<OwnedFd> {
    open(root, path, libc::O_PATH)
}

/// `mkdir -p` inside the root (the path cleaned as Docker's `filepath.Clean`); returns an
/// `O_PATH` handle of the directory. A dangling symlink on the way is followed *inside the
/// root* (its target is created there). Errors: `ELOOP` after 40 symlinks.
pub fn mkdir_all(root: RawFd, path: &str, mode: libc::mode_t) -> io::Result<OwnedFd> {
    root::mkdir_all_in(root, &RelPath::clean(path.as_bytes()), mode)
}

/// Make sure a regular file (or whatever already resolves there inside the root) exists at
/// `path`; returns an `O_PATH` handle of it. Missing parents are created 0755, the file
/// 0644.
pub fn touch(root: RawFd, path: &str) -> io::Result<OwnedFd> {
    match open_path(root, path) {
        Ok(fd) => return Ok(fd),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
        Err(e) => return Err(e),
    }
    let p = RelPath::clean(path.as_bytes());
    let Some(name) = p.file_name() else {
        return Err(io::Error::from_raw_os_error(libc::EISDIR));
    };
    let pfd = root::mkdir_all_in(root, &p.parent(), 0o755)?;
    use std::os::unix::ffi::OsStrExt;
    let flags = libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_NOFOLLOW;
    match sys::openat(pfd.as_raw_fd(), &cstr(name.as_bytes())?, flags, 0o644) {
        // Created, or raced by someone else's create: either way it resolves now.
        Ok(_) => {}
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
        Err(e) => return Err(e),
    }
    open_path(root, path)
}

/// The type bits (`S_IFMT` of `st_mode`) of an open fd.
pub fn file_type(fd: RawFd) -> io::Result<libc::mode_t> {
    Ok(sys::fstat(fd)?.st_mode & libc::S_IFMT)
}
