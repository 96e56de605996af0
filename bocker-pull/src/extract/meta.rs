//! Owners, modes, times and xattrs of extracted entries.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use bocker_sys::sys;

use super::root::cstr;

/// What a tar entry says about a file beyond its content.
#[derive(Debug, Clone, Default)]
pub struct Meta {
    pub uid: u32,
    pub gid: u32,
    /// Permission bits including setuid/setgid/sticky.
    pub mode: u32,
    pub mtime_sec: i64,
    pub mtime_nsec: i64,
    pub xattrs: Vec<(String, Vec<u8>)>,
}

/// Extended attributes we carry over from layers. `trusted.*` is refused: in an overlay
/// diff it would let an image forge overlayfs metadata (opaque, redirect, metacopy).
pub fn xattr_allowed(name: &str) -> bool {
    name.starts_with("user.")
        || name == "security.capability"
        || name == "system.posix_acl_access"
        || name == "system.posix_acl_default"
}

fn times(m: &Meta) -> [libc::timespec; 2] {
    let ts = libc::timespec {
        tv_sec: m.mtime_sec as libc::time_t,
        tv_nsec: m.mtime_nsec as libc::c_long,
    };
    [ts, ts]
}

/// Apply owner, mode, xattrs and mtime to an open (non-O_PATH) file or directory.
/// chown first: it clears setuid/setgid, which the chmod after it restores.
pub fn apply_fd(fd: &OwnedFd, m: &Meta, with_time: bool) -> io::Result<()> {
    let raw = fd.as_raw_fd();
    sys::fchown(raw, m.uid, m.gid)?;
    sys::fchmod(raw, m.mode & 0o7777)?;
    for (k, v) in &m.xattrs {
        match sys::fsetxattr(raw, &cstr(k.as_bytes())?, v) {
            // A filesystem without xattr support loses them, as Docker does.
            Err(e) if e.raw_os_error() != Some(libc::ENOTSUP) => return Err(e),
            _ => {}
        }
    }
    if with_time {
        sys::futimens(raw, &times(m))?;
    }
    Ok(())
}

/// Owner and mtime of a name that must not be opened or followed (a symlink).
pub fn apply_nofollow(dir: RawFd, name: &CStr, m: &Meta) -> io::Result<()> {
    sys::lchown_at(dir, name, m.uid, m.gid)?;
    set_time_at(dir, name, m)
}

/// The mtime (and atime) of `name` in `dir`, not following it.
pub fn set_time_at(dir: RawFd, name: &CStr, m: &Meta) -> io::Result<()> {
    sys::lutimens_at(dir, name, &times(m))
}
