//! A directory used as a root: every path is resolved inside it by the kernel.
//!
//! Resolution uses `openat2(2)` with `RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS`: `..` and
//! absolute symlinks are clamped at the root, so no path in a layer (nor a symlink an
//! earlier entry planted) can reach outside it, and there is no check-then-use race
//! because the kernel resolves and opens in one step. The final component of every
//! create/unlink/link is a plain name handled by an `*at` call on the resolved parent,
//! so it is never followed.

use std::ffi::{CStr, CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
const RESOLVE_IN_ROOT: u64 = 0x10;

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// A path inside a layer, lexically cleaned: no empty, `.` or `..` components.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RelPath(pub Vec<OsString>);

impl RelPath {
    /// Clean a path from a tar header as Docker does (`filepath.Clean("/" + name)`):
    /// `..` cannot climb above the root, a leading `/` means the root.
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

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    pub fn file_name(&self) -> Option<&OsStr> {
        self.0.last().map(OsString::as_os_str)
    }

    pub fn parent(&self) -> RelPath {
        RelPath(self.0[..self.0.len().saturating_sub(1)].to_vec())
    }

    pub fn join(&self, name: &OsStr) -> RelPath {
        let mut v = self.0.clone();
        v.push(name.to_os_string());
        RelPath(v)
    }

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

    pub fn display(&self) -> String {
        String::from_utf8_lossy(&self.to_bytes()).into_owned()
    }
}

pub fn cstr(b: &[u8]) -> io::Result<CString> {
    CString::new(b).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL byte in path"))
}

pub fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// An open directory that all resolution is confined to.
pub struct Root {
    fd: OwnedFd,
}

impl Root {
    pub fn open(path: &Path) -> io::Result<Root> {
        let c = cstr(path.as_os_str().as_bytes())?;
        // SAFETY: c is a valid NUL-terminated string; the returned fd is owned below.
        let fd = cvt(unsafe {
            libc::open(
                c.as_ptr(),
                libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        })?;
        // SAFETY: fd was just returned by open and is owned by nobody else.
        Ok(Root {
            // SAFETY: openat2 just returned this fd and nothing else owns it.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    pub fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Open `rel` inside the root with `flags` (O_CLOEXEC added); symlinks clamp at the root.
    pub fn open_in(&self, rel: &RelPath, flags: i32) -> io::Result<OwnedFd> {
        let c = cstr(&rel.to_bytes())?;
        let how = OpenHow {
            flags: (flags | libc::O_CLOEXEC) as u64,
            mode: 0,
            resolve: RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        loop {
            // SAFETY: openat2 with a valid dirfd, NUL-terminated path and a correctly sized open_how.
            let r = unsafe {
                libc::syscall(
                    libc::SYS_openat2,
                    self.fd.as_raw_fd(),
                    c.as_ptr(),
                    &how as *const OpenHow,
                    std::mem::size_of::<OpenHow>(),
                )
            };
            if r >= 0 {
                // SAFETY: the kernel returned a new fd that we now own.
                return Ok(unsafe { OwnedFd::from_raw_fd(r as RawFd) });
            }
            let e = io::Error::last_os_error();
            // EAGAIN: a concurrent rename raced the lookup; the kernel asks us to retry.
            if e.raw_os_error() != Some(libc::EAGAIN) {
                return Err(e);
            }
        }
    }

    /// Open the directory `rel`, creating missing directories (0755, root-owned) on the way.
    /// Symlinks met on the way are followed inside the root, also dangling ones, whose target
    /// directories are then created inside the root.
    pub fn mkdir_all(&self, rel: &RelPath) -> io::Result<OwnedFd> {
        // Usually the directory exists: one lookup.
        match self.open_in(rel, libc::O_PATH | libc::O_DIRECTORY) {
            Ok(fd) => return Ok(fd),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return Err(e),
        }
        let mut comps = rel.0.clone();
        let mut hops = 0;
        let mut i = 0;
        let mut cur = self.open_in(&RelPath(Vec::new()), libc::O_PATH | libc::O_DIRECTORY)?;
        while i < comps.len() {
            let prefix = RelPath(comps[..=i].to_vec());
            match self.open_in(&prefix, libc::O_PATH | libc::O_DIRECTORY) {
                Ok(fd) => {
                    cur = fd;
                    i += 1;
                    continue;
                }
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
                Err(e) => return Err(e),
            }
            let name = cstr(comps[i].as_bytes())?;
            // SAFETY: cur is an open directory fd, name a plain component.
            let r = unsafe { libc::mkdirat(cur.as_raw_fd(), name.as_ptr(), 0o755) };
            if r == 0 {
                continue; // reopen through open_in on the next turn
            }
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EEXIST) {
                return Err(e);
            }
            // It exists but did not resolve: a dangling symlink. Expand it lexically (inside
            // the root) and go on creating its target.
            let target = readlinkat(&cur, &comps[i])?;
            hops += 1;
            if hops > 40 {
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
            cur = self.open_in(&RelPath(Vec::new()), libc::O_PATH | libc::O_DIRECTORY)?;
        }
        Ok(cur)
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

pub fn readlinkat(dir: &OwnedFd, name: &OsStr) -> io::Result<OsString> {
    let c = cstr(name.as_bytes())?;
    let mut buf = vec![0u8; 4096];
    // SAFETY: buf is writable for its length; dir is an open fd.
    let n = unsafe {
        libc::readlinkat(
            dir.as_raw_fd(),
            c.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    buf.truncate(n as usize);
    Ok(OsString::from_vec(buf))
}

/// `fstatat(dir, name, AT_SYMLINK_NOFOLLOW)`; None when it does not exist.
pub fn lstat_at(dir: RawFd, name: &CStr) -> io::Result<Option<libc::stat>> {
    // SAFETY: zeroed stat is a valid out-buffer.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: dir is an open fd, name NUL-terminated, st writable.
    let r = unsafe { libc::fstatat(dir, name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) };
    if r == 0 {
        return Ok(Some(st));
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::ENOENT) {
        Ok(None)
    } else {
        Err(e)
    }
}

/// Remove `name` in `dir`, recursively if it is a directory, never following symlinks.
pub fn remove_all_at(dir: RawFd, name: &CStr) -> io::Result<()> {
    let Some(st) = lstat_at(dir, name)? else {
        return Ok(());
    };
    if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
        // SAFETY: plain unlinkat of a name in an open dir.
        return cvt(unsafe { libc::unlinkat(dir, name.as_ptr(), 0) }).map(drop);
    }
    let sub = open_dir_at(dir, name)?;
    empty_dir(&sub, |_| false)?;
    // SAFETY: as above, removing the now empty directory.
    cvt(unsafe { libc::unlinkat(dir, name.as_ptr(), libc::AT_REMOVEDIR) }).map(drop)
}

/// Open directory `name` in `dir` for reading, refusing symlinks.
pub fn open_dir_at(dir: RawFd, name: &CStr) -> io::Result<OwnedFd> {
    // SAFETY: openat with O_NOFOLLOW on a plain name; the fd is owned below.
    let fd = cvt(unsafe {
        libc::openat(
            dir,
            name.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    })?;
    // SAFETY: a fresh fd from openat.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Names in an open directory (without `.` and `..`).
pub fn list_dir(dir: &OwnedFd) -> io::Result<Vec<CString>> {
    // The /proc/self/fd link points at the directory we already hold open: no path race.
    let mut names = Vec::new();
    for e in std::fs::read_dir(format!("/proc/self/fd/{}", dir.as_raw_fd()))? {
        names.push(cstr(e?.file_name().as_bytes())?);
    }
    Ok(names)
}

/// Remove every entry of `dir` for which `keep(name)` is false.
pub fn empty_dir(dir: &OwnedFd, keep: impl Fn(&CStr) -> bool) -> io::Result<()> {
    for n in list_dir(dir)? {
        if !keep(&n) {
            remove_all_at(dir.as_raw_fd(), &n)?;
        }
    }
    Ok(())
}
