//! A volume's first mount takes the image's content at its destination, as Docker's
//! does (`docker run -v new:/etc/app` shows the image's /etc/app in the new volume):
//! when the volume is empty and the image has a directory there, its tree is copied in
//! (files, directories and symlinks with their modes, owners and times; device nodes,
//! fifos and sockets are skipped). The image is hostile: the source is opened inside the
//! root (`RESOLVE_IN_ROOT`), every entry below it with `O_NOFOLLOW` through its parent's
//! fd, symlinks are copied as text and never followed, and the depth is bounded.

use crate::safepath;
use bocker_sys::sys::{self, cstr};
use std::ffi::CStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Deeper trees are refused (an image could nest directories past any stack).
const MAX_DEPTH: usize = 256;

/// Copy the root's tree at `dest` into the host directory `volume` when `volume` is
/// empty; nothing happens when it is not, or when the image has no directory at `dest`.
pub fn copy_up(root: RawFd, dest: &str, volume: &Path) -> io::Result<()> {
    let vol = sys::open(
        &cstr(volume.as_os_str().as_bytes())?,
        libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW,
    )?;
    if !sys::list_dir(vol.as_fd())?.is_empty() {
        return Ok(());
    }
    let src = match safepath::open(root, dest, libc::O_RDONLY | libc::O_DIRECTORY) {
        Ok(fd) => fd,
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR)) => return Ok(()),
        Err(e) => return Err(e),
    };
    let st = sys::fstat(src.as_raw_fd())?;
    copy_dir(&src, &vol, 0)?;
    // The volume's top takes the image directory's owner and mode (Docker's
    // `copyOwnership`), last so that a read-only mode does not stop the copy.
    sys::fchown(vol.as_raw_fd(), st.st_uid, st.st_gid)?;
    sys::fchmod(vol.as_raw_fd(), st.st_mode & 0o7777)
}

fn copy_dir(src: &OwnedFd, dst: &OwnedFd, depth: usize) -> io::Result<()> {
    if depth > MAX_DEPTH {
        return Err(io::Error::other("directory tree too deep to copy"));
    }
    for name in sys::list_dir(src.as_fd())? {
        let Some(st) = sys::lstat_at(src.as_raw_fd(), &name)? else {
            continue;
        };
        copy_entry(src, dst, &name, &st, depth)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", name.to_string_lossy())))?;
    }
    Ok(())
}

fn copy_entry(
    src: &OwnedFd,
    dst: &OwnedFd,
    name: &CStr,
    st: &libc::stat,
    depth: usize,
) -> io::Result<()> {
    let (s, d) = (src.as_raw_fd(), dst.as_raw_fd());
    let mode = st.st_mode & 0o7777;
    match st.st_mode & libc::S_IFMT {
        libc::S_IFDIR => {
            sys::mkdirat(d, name, 0o700)?;
            let from = sys::open_dir_at(s, name)?;
            let to = sys::open_dir_at(d, name)?;
            copy_dir(&from, &to, depth + 1)?;
            finish(to.as_raw_fd(), st, mode)
        }
        libc::S_IFREG => {
            let from = sys::openat(s, name, libc::O_RDONLY | libc::O_NOFOLLOW, 0)?;
            let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW;
            let to = sys::openat(d, name, flags, 0o600)?;
            io::copy(&mut File::from(from), &mut File::from(to.try_clone()?))?;
            finish(to.as_raw_fd(), st, mode)
        }
        libc::S_IFLNK => {
            let target = sys::readlinkat(src, std::ffi::OsStr::from_bytes(name.to_bytes()))?;
            sys::symlinkat(&cstr(target.as_bytes())?, d, name)?;
            sys::lchown_at(d, name, st.st_uid, st.st_gid)?;
            sys::lutimens_at(d, name, &times(st))
        }
        // Devices, fifos and sockets: not content a volume carries.
        _ => Ok(()),
    }
}

/// Owner, then mode (chown clears set-id bits), then times.
fn finish(fd: RawFd, st: &libc::stat, mode: libc::mode_t) -> io::Result<()> {
    sys::fchown(fd, st.st_uid, st.st_gid)?;
    sys::fchmod(fd, mode)?;
    sys::futimens(fd, &times(st))
}

fn times(st: &libc::stat) -> [libc::timespec; 2] {
    [
        libc::timespec {
            tv_sec: st.st_atime,
            tv_nsec: st.st_atime_nsec,
        },
        libc::timespec {
            tv_sec: st.st_mtime,
            tv_nsec: st.st_mtime_nsec,
        },
    ]
}
