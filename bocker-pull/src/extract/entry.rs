//! One tar entry applied inside the root: files, dirs, links, fifos, device nodes and
//! whiteouts.

use std::ffi::{CStr, CString};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};

use bocker_sys::sys;
use std::os::unix::ffi::OsStrExt;

use super::meta::{self, Meta};
use super::root::{cstr, empty_dir, lstat_at, remove_all_at, RelPath, Root};
use super::{entry_meta, ExtractError, Layer, WhiteoutStyle};

const WH_PREFIX: &[u8] = b".wh.";
const WH_OPAQUE: &[u8] = b".wh..wh..opq";
const WH_META: &[u8] = b".wh..wh.";

impl Layer {
    pub(super) fn apply<R: Read>(&mut self, mut e: tar::Entry<R>) -> Result<(), ExtractError> {
        // A PAX sparse file is stored under a stand-in name; its real one comes first.
        let sparse = super::sparse::detect(&mut e)
            .map_err(ExtractError::at(&RelPath::clean(&e.path_bytes())))?;
        let raw = match &sparse {
            Some(s) => s
                .name
                .clone()
                .unwrap_or_else(|| super::sparse::real_name(&e.path_bytes())),
            None => e.path_bytes().into_owned(),
        };
        let path = RelPath::clean(&raw);
        let kind = e.header().entry_type();
        let name = path
            .file_name()
            .map(|n| n.as_bytes().to_vec())
            .unwrap_or_default();
        let is_file = matches!(
            kind,
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse
        );
        if !is_file || name.starts_with(WH_PREFIX) {
            self.parent_cache = None;
        }
        if name.starts_with(WH_PREFIX) {
            return self.whiteout(&path, &name);
        }
        let m = entry_meta(&mut e).map_err(ExtractError::at(&path))?;
        use tar::EntryType as T;
        let r = match kind {
            T::Directory => self.dir(&path, &m),
            T::Regular | T::Continuous | T::GNUSparse => {
                let layout = match (sparse, kind) {
                    (Some(s), _) => Some(s.layout),
                    (None, T::GNUSparse) => Some(super::sparse::Layout::Expanded),
                    (None, _) => None,
                };
                let stored = e.size();
                self.file(&path, &m, &mut e, stored, layout.as_ref())
            }
            T::Symlink => {
                let target = e.link_name_bytes().ok_or(ExtractError::Invalid(
                    path.display(),
                    "symlink without target",
                ))?;
                self.symlink(&path, &target, &m)
            }
            T::Link => {
                let target = e.link_name_bytes().ok_or(ExtractError::Invalid(
                    path.display(),
                    "hardlink without target",
                ))?;
                self.hardlink(&path, &RelPath::clean(&target))
            }
            T::Fifo => self.fifo(&path, &m),
            T::Char | T::Block => match device_numbers(e.header()) {
                Some(dev) => self.device(&path, kind == T::Block, dev, &m),
                None => Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "invalid device numbers",
                )),
            },
            // Global PAX headers, GNU volume labels and the like carry no file.
            _ => Ok(()),
        };
        r.map_err(ExtractError::at(&path))?;
        self.created.insert(path);
        Ok(())
    }

    /// Remove whatever is at `path` unless it is a directory and `keep_dir` is set.
    fn clear(&self, dir: &OwnedFd, name: &CStr, keep_dir: bool) -> io::Result<bool> {
        match lstat_at(dir.as_raw_fd(), name)? {
            Some(st) if keep_dir && st.st_mode & libc::S_IFMT == libc::S_IFDIR => Ok(true),
            Some(_) => remove_all_at(dir.as_raw_fd(), name).map(|_| false),
            None => Ok(false),
        }
    }

    fn dir(&mut self, path: &RelPath, m: &Meta) -> io::Result<()> {
        let fd = if path.is_root() {
            self.root
                .open_in(path, libc::O_RDONLY | libc::O_DIRECTORY)?
        } else {
            let (parent, name) = self.root.parent_of(path)?;
            if !self.clear(&parent, &name, true)? {
                sys::mkdirat(parent.as_raw_fd(), &name, 0o700)?;
            }
            super::root::open_dir_at(parent.as_raw_fd(), &name)?
        };
        meta::apply_fd(&fd, m, false)?;
        self.dir_times.push((path.clone(), m.clone()));
        Ok(())
    }

    /// A regular file from `data` (`stored` bytes in the tar); `sparse` files are written
    /// with their holes (see `sparse.rs`).
    fn file<R: Read>(
        &mut self,
        path: &RelPath,
        m: &Meta,
        data: &mut R,
        stored: u64,
        sparse: Option<&super::sparse::Layout>,
    ) -> io::Result<()> {
        let (parent, name) = self.file_parent(path)?;
        if lstat_at(parent.as_raw_fd(), &name)?.is_some() {
            // Replacing something may change the tree's shape: forget the cached parent.
            self.parent_cache = None;
            self.clear(&parent, &name, false)?;
        }
        // O_CREAT|O_EXCL|O_NOFOLLOW on a plain name: a fresh file, never a link.
        let fd = sys::openat(
            parent.as_raw_fd(),
            &name,
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW,
            0o600,
        )?;
        let mut f = File::from(fd);
        if let Some(layout) = sparse {
            self.file_bytes += super::sparse::write(&f, data, stored, layout, &mut self.buf)?;
            meta::apply_fd(&OwnedFd::from(f), m, true)?;
            self.parent_cache = Some((path.parent(), parent));
            return Ok(());
        }
        self.file_bytes += stored;
        loop {
            let n = match data.read(&mut self.buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            f.write_all(&self.buf[..n])?;
        }
        meta::apply_fd(&OwnedFd::from(f), m, true)?;
        self.parent_cache = Some((path.parent(), parent));
        Ok(())
    }

    /// The parent directory for a regular file. Runs of files in one directory reuse the
    /// resolved parent; every entry that is not a plain new file drops it (see `apply`).
    fn file_parent(&mut self, path: &RelPath) -> io::Result<(OwnedFd, CString)> {
        let name = cstr(path.file_name().map(|n| n.as_bytes()).unwrap_or_default())?;
        if let Some((dir, fd)) = self.parent_cache.take() {
            if path.0.len() == dir.0.len() + 1 && path.starts_with(&dir) {
                return Ok((fd, name));
            }
        }
        self.root.parent_of(path)
    }

    fn symlink(&mut self, path: &RelPath, target: &[u8], m: &Meta) -> io::Result<()> {
        let (parent, name) = self.root.parent_of(path)?;
        self.clear(&parent, &name, false)?;
        let t = cstr(target)?;
        sys::symlinkat(&t, parent.as_raw_fd(), &name)?;
        meta::apply_nofollow(parent.as_raw_fd(), &name, m)
    }

    fn hardlink(&mut self, path: &RelPath, target: &RelPath) -> io::Result<()> {
        if target == path || target.is_root() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "hardlink to itself or to the root",
            ));
        }
        let src = match self.root.open_in(target, libc::O_PATH | libc::O_NOFOLLOW) {
            Ok(fd) => fd,
            Err(e)
                if e.raw_os_error() == Some(libc::ENOENT)
                    && self.style == WhiteoutStyle::Overlay =>
            {
                // The target lives in a lower layer: copied up when the layer is finished.
                self.deferred.push((path.clone(), target.clone()));
                return Ok(());
            }
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("hardlink target '{}': {e}", target.display()),
                ))
            }
        };
        let (parent, name) = self.root.parent_of(path)?;
        self.clear(&parent, &name, false)?;
        link_fd(&src, &parent, &name)
    }

    fn fifo(&mut self, path: &RelPath, m: &Meta) -> io::Result<()> {
        let (parent, name) = self.root.parent_of(path)?;
        self.clear(&parent, &name, false)?;
        sys::mknodat(parent.as_raw_fd(), &name, libc::S_IFIFO | 0o600, 0)?;
        // A fifo opened O_PATH cannot be fchmod'ed; open it non-blocking instead, without
        // following a link in place of the name we just created.
        let fd = sys::openat(
            parent.as_raw_fd(),
            &name,
            libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOFOLLOW,
            0,
        )?;
        meta::apply_fd(&fd, m, true)
    }

    /// A character or block device node, as Docker extracts them: kept in the image, and
    /// the container's device cgroup policy (not the node's absence) keeps it from being
    /// opened (docs/PULL.md). Created with no permission bits, then given its owner and
    /// mode through an `O_PATH` fd of the very node created (never a link in its place).
    /// Extended attributes are not applied: the kernel refuses `user.*` on devices.
    fn device(
        &mut self,
        path: &RelPath,
        block: bool,
        dev: libc::dev_t,
        m: &Meta,
    ) -> io::Result<()> {
        let (parent, name) = self.root.parent_of(path)?;
        self.clear(&parent, &name, false)?;
        let kind = if block { libc::S_IFBLK } else { libc::S_IFCHR };
        sys::mknodat(parent.as_raw_fd(), &name, kind, dev)?;
        let fd = sys::openat(
            parent.as_raw_fd(),
            &name,
            libc::O_PATH | libc::O_NOFOLLOW,
            0,
        )?;
        let st = sys::fstat(fd.as_raw_fd())?;
        if st.st_mode & libc::S_IFMT != kind || st.st_rdev != dev {
            return Err(io::Error::other("device node replaced while being created"));
        }
        // The fd's magic link names the node's inode itself (an O_PATH fd takes no fchmod).
        let proc = std::path::PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()));
        std::os::unix::fs::chown(&proc, Some(m.uid), Some(m.gid))?;
        std::fs::set_permissions(
            &proc,
            std::os::unix::fs::PermissionsExt::from_mode(m.mode & 0o7777),
        )?;
        meta::set_time_at(parent.as_raw_fd(), &name, m)
    }

    fn whiteout(&mut self, path: &RelPath, name: &[u8]) -> Result<(), ExtractError> {
        let dir = path.parent();
        if name == WH_OPAQUE {
            return self.opaque(&dir).map_err(ExtractError::at(path));
        }
        if name.starts_with(WH_META) {
            return Ok(()); // aufs bookkeeping (.wh..wh.plnk etc.): nothing to apply
        }
        let victim = &name[WH_PREFIX.len()..];
        if victim.is_empty() || victim == b"." || victim == b".." {
            return Err(ExtractError::Invalid(
                path.display(),
                "invalid whiteout name",
            ));
        }
        let victim = CString::new(victim)
            .map_err(|_| ExtractError::Invalid(path.display(), "NUL in name"))?;
        let r = match self.style {
            WhiteoutStyle::Delete => {
                match self.root.open_in(&dir, libc::O_PATH | libc::O_DIRECTORY) {
                    Ok(parent) => remove_all_at(parent.as_raw_fd(), &victim),
                    Err(e)
                        if matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ENOTDIR)) =>
                    {
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            WhiteoutStyle::Overlay => self.root.mkdir_all(&dir).and_then(|parent| {
                remove_all_at(parent.as_raw_fd(), &victim)?;
                // A 0/0 character device is overlayfs' whiteout.
                sys::mknodat(parent.as_raw_fd(), &victim, libc::S_IFCHR, 0)
            }),
        };
        r.map_err(ExtractError::at(path))
    }

    fn opaque(&mut self, dir: &RelPath) -> io::Result<()> {
        match self.style {
            WhiteoutStyle::Delete => {
                let fd = match self.root.open_in(dir, libc::O_RDONLY | libc::O_DIRECTORY) {
                    Ok(fd) => fd,
                    Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(()),
                    Err(e) => return Err(e),
                };
                let created = &self.created;
                empty_dir(&fd, |n| {
                    created.contains(&dir.join(std::ffi::OsStr::from_bytes(n.to_bytes())))
                })
            }
            WhiteoutStyle::Overlay => {
                self.root.mkdir_all(dir)?;
                let fd = self.root.open_in(dir, libc::O_RDONLY | libc::O_DIRECTORY)?;
                sys::fsetxattr(fd.as_raw_fd(), c"trusted.overlay.opaque", b"y")
            }
        }
    }
}

/// A device entry's numbers. As Go's archive/tar (Docker's parser), an empty field
/// reads as 0; anything else must be octal.
fn device_numbers(h: &tar::Header) -> Option<libc::dev_t> {
    let field = |raw: Option<&[u8; 8]>, v: io::Result<Option<u32>>| match raw {
        Some(r) if r.iter().all(|&b| b == 0 || b == b' ') => Some(0),
        _ => v.ok().map(Option::unwrap_or_default),
    };
    let ustar = h.as_ustar().map(|u| (&u.dev_major, &u.dev_minor));
    let gnu = h.as_gnu().map(|g| (&g.dev_major, &g.dev_minor));
    let (ma, mi) = ustar.or(gnu).unzip();
    Some(libc::makedev(
        field(ma, h.device_major())?,
        field(mi, h.device_minor())?,
    ))
}

/// Hardlink the inode behind the O_PATH `src` as `name` in `dir`.
pub(super) fn link_fd(src: &OwnedFd, dir: &OwnedFd, name: &CStr) -> io::Result<()> {
    // AT_EMPTY_PATH links the fd's own inode (needs CAP_DAC_READ_SEARCH, root has it).
    let (src, dir) = (src.as_raw_fd(), dir.as_raw_fd());
    match sys::linkat(src, c"", dir, name, libc::AT_EMPTY_PATH) {
        Ok(()) => return Ok(()),
        Err(e) if !matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::EPERM)) => {
            return Err(e)
        }
        Err(_) => {}
    }
    // Without the capability: the fd's magic link in our own /proc names the same inode.
    let p = cstr(format!("/proc/self/fd/{src}").as_bytes())?;
    sys::linkat(libc::AT_FDCWD, &p, dir, name, libc::AT_SYMLINK_FOLLOW)
}

/// Set a directory's mtime after its contents were written; gone directories are skipped.
pub(super) fn set_dir_time(root: &Root, path: &RelPath, m: &Meta) -> io::Result<()> {
    if path.is_root() {
        return meta::set_time_at(root.raw(), c".", m);
    }
    let parent = match root.open_in(&path.parent(), libc::O_PATH | libc::O_DIRECTORY) {
        Ok(fd) => fd,
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ENOTDIR)) => {
            return Ok(())
        }
        Err(e) => return Err(e),
    };
    let name = cstr(path.file_name().map(|n| n.as_bytes()).unwrap_or(b"."))?;
    match lstat_at(parent.as_raw_fd(), &name)? {
        Some(st) if st.st_mode & libc::S_IFMT == libc::S_IFDIR => {
            meta::set_time_at(parent.as_raw_fd(), &name, m)
        }
        _ => Ok(()),
    }
}
