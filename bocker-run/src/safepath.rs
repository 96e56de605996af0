//! Resolving image- and user-supplied paths inside a container's rootfs, never following
//! a symlink (or `..`, or a /proc magic link) out of it: every lookup is `openat2` with
//! `RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS` on an fd of the rootfs, and every mount then
//! targets `/proc/self/fd/N` of the fd so opened (the runc approach).

use crate::sys::{self, cstr};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

const RESOLVE: u64 = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;

fn rel(path: &str) -> &str {
    let p = path.trim_start_matches('/');
    if p.is_empty() {
        "."
    } else {
        p
    }
}

/// Open `path` (relative to the root, symlinks resolved within it) with `flags`.
pub fn open(root: RawFd, path: &str, flags: libc::c_int) -> io::Result<OwnedFd> {
    sys::openat2(
        root,
        &cstr(rel(path))?,
        (flags | libc::O_CLOEXEC) as u64,
        0,
        RESOLVE,
    )
}

/// Open an existing path as an `O_PATH` handle.
pub fn open_path(root: RawFd, path: &str) -> io::Result<OwnedFd> {
    open(root, path, libc::O_PATH)
}

fn split_parent(path: &str) -> (&str, &str) {
    let p = rel(path).trim_end_matches('/');
    match p.rsplit_once('/') {
        Some((parent, name)) => (parent, name),
        None => (".", p),
    }
}

/// `mkdir -p` inside the root; returns an `O_PATH` handle of the directory. A dangling
/// symlink on the way is followed *inside the root* (its target is created there).
pub fn mkdir_all(root: RawFd, path: &str, mode: libc::mode_t) -> io::Result<OwnedFd> {
    mkdir_all_depth(root, path, mode, 0)
}

/// Symlinks followed while creating one path before giving up (as the kernel's 40).
const MAX_LINKS: u32 = 40;

fn mkdir_all_depth(root: RawFd, path: &str, mode: libc::mode_t, links: u32) -> io::Result<OwnedFd> {
    if links > MAX_LINKS {
        return Err(io::Error::from_raw_os_error(libc::ELOOP));
    }
    match open(root, path, libc::O_PATH | libc::O_DIRECTORY) {
        Ok(fd) => return Ok(fd),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
        Err(e) => return Err(e),
    }
    let (parent, name) = split_parent(path);
    if name == "." || name == ".." || name.is_empty() {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    let pfd = mkdir_all_depth(root, parent, mode, links)?;
    // mkdirat never follows a symlink in its final component, and `pfd` is inside the root.
    // SAFETY: valid fd and C string.
    let r = unsafe { libc::mkdirat(pfd.as_raw_fd(), cstr(name)?.as_ptr(), mode) };
    if r == -1 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EEXIST) {
            return Err(e);
        }
        if let Some(target) = readlink_at(pfd.as_raw_fd(), name) {
            // A dangling symlink: create what it points to, resolved inside the root.
            let next = if target.starts_with('/') {
                target
            } else {
                format!("{parent}/{target}")
            };
            return mkdir_all_depth(root, &next, mode, links + 1);
        }
    }
    open(root, path, libc::O_PATH | libc::O_DIRECTORY)
}

fn readlink_at(dir: RawFd, name: &str) -> Option<String> {
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: buf is writable for its length.
    let n = unsafe {
        libc::readlinkat(
            dir,
            cstr(name).ok()?.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n <= 0 {
        return None;
    }
    buf.truncate(n as usize);
    String::from_utf8(buf).ok()
}

/// Make sure a regular file (or whatever already resolves there inside the root) exists at
/// `path`; returns an `O_PATH` handle of it.
pub fn touch(root: RawFd, path: &str) -> io::Result<OwnedFd> {
    match open_path(root, path) {
        Ok(fd) => return Ok(fd),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
        Err(e) => return Err(e),
    }
    let (parent, name) = split_parent(path);
    let pfd = mkdir_all(root, parent, 0o755)?;
    let flags = libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: valid fd and C string; the new fd is closed right away.
    let fd = unsafe { libc::openat(pfd.as_raw_fd(), cstr(name)?.as_ptr(), flags, 0o644) };
    if fd >= 0 {
        // SAFETY: we own fd.
        unsafe { libc::close(fd) };
    }
    open_path(root, path)
}

/// The mode bits (`S_IFMT`) of an open fd.
pub fn file_type(fd: RawFd) -> io::Result<libc::mode_t> {
    // SAFETY: st is written by fstat.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: fstat fills the zeroed stat buffer we own; fd is open.
    sys::cvt(unsafe { libc::fstat(fd, &mut st) })?;
    Ok(st.st_mode & libc::S_IFMT)
}
