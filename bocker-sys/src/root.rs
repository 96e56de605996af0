//! A directory used as a root: every path is resolved inside it by the kernel.
//!
//! Resolution uses `openat2(2)` with `RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS`: `..` and
//! absolute symlinks are clamped at the root and `/proc` magic links are refused, so no
//! path from an image or a user (nor a symlink an earlier entry planted) reaches outside
//! it, and there is no check-then-use race because the kernel resolves and opens in one
//! step (the approach of runc's and umoci's securejoin/openat2 code). The final component
//! of every create/unlink/link is a plain name handled by an `*at` call on the resolved
//! parent, so it is never followed.

use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

use crate::sys::{self, cstr};

/// How every lookup inside a root resolves.
pub const RESOLVE: u64 = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;

/// Symlinks followed while creating one path before giving up (the kernel's limit, 40).
const MAX_LINKS: u32 = 40;

/// A path inside a root, lexically cleaned: no empty, `.` or `..` components.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RelPath(pub Vec<OsString>);

impl RelPath {
    /// Clean a path as Docker does (`filepath.Clean("/" + name)`): `..` cannot climb
    /// above the root, a leading `/` means the root.
    pub fn clean(raw: &[u8]) -> RelPath {
        let mut out: Vec<OsString> = Vec::new();
        for c in raw.split(|&b| b == b'/') {
            match c {
                b"" | b"." => {}
                b".." => {
                    out.pop();
                }
                name => out.push(OsString::from_vec(name.to_vec())),
            }
        }
        RelPath(out)
    }

    /// True for the root itself.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The final component (`None` for the root).
    pub fn file_name(&self) -> Option<&OsStr> {
        self.0.last().map(OsString::as_os_str)
    }

    /// The path without its final component (the root's parent is the root).
    pub fn parent(&self) -> RelPath {
        RelPath(self.0[..self.0.len().saturating_sub(1)].to_vec())
    }

    /// This path with one more component.
    pub fn join(&self, name: &OsStr) -> RelPath {
        let mut v = self.0.clone();
        v.push(name.to_os_string());
        RelPath(v)
    }

    /// True when `other`'s components are a prefix of this path's.
    pub fn starts_with(&self, other: &RelPath) -> bool {
        self.0.len() >= other.0.len() && self.0[..other.0.len()] == other.0[..]
    }

    /// `a/b/c` as bytes (`.` for the root), the form the kernel resolves.
    pub fn to_bytes(&self) -> Vec<u8> {
        if self.0.is_empty() {
            return b".".to_vec();
        }
        let mut v = Vec::new();
        for (i, c) in self.0.iter().enumerate() {
            if i > 0 {
                v.push(b'/');
            }
            v.extend_from_slice(c.as_bytes());
        }
        v
    }

    /// For messages.
    pub fn display(&self) -> String {
        String::from_utf8_lossy(&self.to_bytes()).into_owned()
    }
}

/// Open `rel` inside the root `root` with `flags`; symlinks clamp at the root.
pub fn open_in(root: RawFd, rel: &RelPath, flags: libc::c_int) -> io::Result<OwnedFd> {
    sys::openat2(root, &cstr(&rel.to_bytes())?, flags as u64, 0, RESOLVE)
}

/// Open the directory `rel` inside `root`, creating missing directories with `mode` on the
/// way; returns an `O_PATH` handle. Symlinks met on the way are followed inside the root,
/// also dangling ones, whose target directories are then created inside the root (as
/// runc's MkdirAllInRoot). Iterative: the depth of `rel` costs no stack.
///
/// Errors: `ELOOP` after 40 symlinks, `ENOTDIR` when a component is not a directory.
pub fn mkdir_all_in(root: RawFd, rel: &RelPath, mode: libc::mode_t) -> io::Result<OwnedFd> {
    let dir = libc::O_PATH | libc::O_DIRECTORY;
    // Usually the directory exists: one lookup.
    match open_in(root, rel, dir) {
        Ok(fd) => return Ok(fd),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
        Err(e) => return Err(e),
    }
    let mut comps = rel.0.clone();
    let mut hops = 0;
    let mut i = 0;
    let mut cur = open_in(root, &RelPath(Vec::new()), dir)?;
    while i < comps.len() {
        let prefix = RelPath(comps[..=i].to_vec());
        match open_in(root, &prefix, dir) {
            Ok(fd) => {
                cur = fd;
                i += 1;
                continue;
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return Err(e),
        }
        match sys::mkdirat(cur.as_raw_fd(), &cstr(comps[i].as_bytes())?, mode) {
            Ok(()) => continue, // reopened through open_in on the next turn
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
            Err(e) => return Err(e),
        }
        // It exists but did not resolve: a dangling symlink. Expand it lexically (inside
        // the root) and go on creating its target.
        let target = sys::readlinkat(&cur, &comps[i])?;
        hops += 1;
        if hops > MAX_LINKS {
            return Err(io::Error::from_raw_os_error(libc::ELOOP));
        }
        let mut joined: Vec<u8> = if target.as_bytes().starts_with(b"/") {
            Vec::new()
        } else {
            RelPath(comps[..i].to_vec()).to_bytes()
        };
        joined.push(b'/');
        joined.extend_from_slice(target.as_bytes());
        for rest in &comps[i + 1..] {
            joined.push(b'/');
            joined.extend_from_slice(rest.as_bytes());
        }
        comps = RelPath::clean(&joined).0;
        i = 0;
        cur = open_in(root, &RelPath(Vec::new()), dir)?;
    }
    Ok(cur)
}

/// An open directory that all resolution is confined to.
pub struct Root {
    fd: OwnedFd,
}

impl Root {
    /// Open the directory `path` (a trusted path: the store's, or one the user named)
    /// as a root.
    pub fn open(path: &Path) -> io::Result<Root> {
        let c = cstr(path.as_os_str().as_bytes())?;
        let fd = sys::openat(libc::AT_FDCWD, &c, libc::O_PATH | libc::O_DIRECTORY, 0)?;
        Ok(Root { fd })
    }

    /// A root from a directory fd already open.
    pub fn from_fd(fd: OwnedFd) -> Root {
        Root { fd }
    }

    /// The root's fd.
    pub fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Open `rel` inside the root with `flags` (`O_CLOEXEC` added).
    pub fn open_in(&self, rel: &RelPath, flags: i32) -> io::Result<OwnedFd> {
        open_in(self.raw(), rel, flags)
    }

    /// [`mkdir_all_in`] with mode 0755.
    pub fn mkdir_all(&self, rel: &RelPath) -> io::Result<OwnedFd> {
        mkdir_all_in(self.raw(), rel, 0o755)
    }

    /// The resolved parent directory of `rel` (created if missing) and `rel`'s final name.
    pub fn parent_of(&self, rel: &RelPath) -> io::Result<(OwnedFd, CString)> {
        let name = rel
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the root has no parent"))?;
        let dir = self.mkdir_all(&rel.parent())?;
        Ok((dir, cstr(name.as_bytes())?))
    }
}

impl AsFd for Root {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests;
