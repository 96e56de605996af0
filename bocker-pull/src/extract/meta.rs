//! Owners, modes, times and xattrs of extracted entries.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use super::root::{cstr, cvt};

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
    // SAFETY: raw is an open fd for the calls below.
    cvt(unsafe { libc::fchown(raw, m.uid, m.gid) })?;
    // SAFETY: fchmod on an fd we hold open.
    cvt(unsafe { libc::fchmod(raw, m.mode & 0o7777) })?;
    for (k, v) in &m.xattrs {
        let name = cstr(k.as_bytes())?;
        // SAFETY: valid name and value buffers.
        let r = unsafe { libc::fsetxattr(raw, name.as_ptr(), v.as_ptr().cast(), v.len(), 0) };
        if r < 0 {
            let e = io::Error::last_os_error();
            // A filesystem without xattr support loses them, as Docker does.
            if e.raw_os_error() != Some(libc::ENOTSUP) {
                return Err(e);
            }
        }
    }
    if with_time {
        // SAFETY: times() is a valid [timespec; 2].
        cvt(unsafe { libc::futimens(raw, times(m).as_ptr()) })?;
    }
    Ok(())
}

/// Owner and mtime of a name that must not be opened or followed (a symlink).
pub fn apply_nofollow(dir: RawFd, name: &CStr, m: &Meta) -> io::Result<()> {
    // SAFETY: dir open, name a plain component, AT_SYMLINK_NOFOLLOW so nothing is followed.
    cvt(unsafe { libc::fchownat(dir, name.as_ptr(), m.uid, m.gid, libc::AT_SYMLINK_NOFOLLOW) })?;
    set_time_at(dir, name, m)
}

pub fn set_time_at(dir: RawFd, name: &CStr, m: &Meta) -> io::Result<()> {
    // SAFETY: as above.
    cvt(unsafe {
        libc::utimensat(
            dir,
            name.as_ptr(),
            times(m).as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })
    .map(drop)
}
