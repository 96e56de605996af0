//! Copying a directory tree into the store with everything that makes a rootfs:
//! owners, modes (setuid/setgid/sticky), mtimes, symlinks, hardlinks, xattrs, devices.
//!
//! The source is a directory the administrator named on `bocker init`, but parts of it
//! may belong to other users who could swap a file or directory for a symlink while we
//! copy. The source is therefore walked through directory fds (`openat` with
//! `O_NOFOLLOW`, `fstatat`, `readlinkat`): a symlink is always copied as a link and the
//! walk never leaves the source tree. The destination is ours (inside the 0700 store).

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{lchown, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::dir::Dir;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{fstat, fstatat, utimensat, FileStat, Mode, SFlag, UtimensatFlags};
use nix::sys::time::TimeSpec;

use crate::error::{IoContext, Result, StoreError};

/// Copies the contents of directory `src` into existing directory `dst`; returns the
/// apparent size of the regular files copied (hardlinked inodes counted once).
///
/// Depth costs neither stack nor fds: the walk is a loop over an explicit stack that
/// holds open fds for its deepest [`WINDOW`] levels only; a level beyond it is reopened
/// through `..` of its child and checked to be the same inode (issue 9 item 18).
pub fn copy_tree(src: &Path, dst: &Path) -> Result<u64> {
    let fd = nix::fcntl::open(
        src,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| {
        let e = if e == nix::errno::Errno::ENOTDIR {
            std::io::Error::from(std::io::ErrorKind::NotADirectory)
        } else {
            e.into()
        };
        StoreError::io("importing", src, e)
    })?;
    let st = fstat(&fd).ctx("reading", src)?;
    let dfd = nix::fcntl::open(
        dst,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ctx("opening", dst)?;
    let mut c = Copier {
        links: HashMap::new(),
        bytes: 0,
        dst_root: dfd.try_clone().ctx("opening", dst)?,
    };
    c.walk(fd, dfd, st, src)?;
    Ok(c.bytes)
}

/// Directory levels of the walk that keep their fds open.
const WINDOW: usize = 64;

struct Copier {
    /// (dev, ino) of multiply linked sources -> first copy, relative to `dst_root`.
    links: HashMap<(u64, u64), PathBuf>,
    bytes: u64,
    dst_root: OwnedFd,
}

/// One directory being copied: its fds (closed when outside the window), its identity
/// (to check a reopen through `..`), its own stat and the names still to copy.
struct Frame {
    fds: Option<(OwnedFd, OwnedFd)>,
    id: (u64, u64),
    name: std::ffi::OsString,
    st: FileStat,
    names: Vec<std::ffi::OsString>,
}

/// The path of `name` in the open directory `dir` (or of `dir` itself) through
/// /proc/self/fd: it resolves no symlink but the final one, which l*xattr calls keep.
/// `dir` itself is reached as `/proc/self/fd/N/.`: l*xattr on the bare magic link would
/// read the link's (empty) attributes and drop a directory's, such as overlay's opaque
/// marker.
fn proc_path(dir: BorrowedFd<'_>, name: Option<&OsStr>) -> PathBuf {
    let p = PathBuf::from(format!("/proc/self/fd/{}", dir.as_raw_fd()));
    p.join(name.unwrap_or(OsStr::new(".")))
}

fn changed(shown: &Path) -> StoreError {
    StoreError::io(
        "importing",
        shown,
        std::io::Error::other("it changed while being copied"),
    )
}

fn open_at(dir: BorrowedFd<'_>, name: &OsStr, extra: OFlag, shown: &Path) -> Result<OwnedFd> {
    nix::fcntl::openat(
        dir,
        name,
        OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC | extra,
        Mode::empty(),
    )
    .map_err(|e| match e {
        nix::errno::Errno::ELOOP | nix::errno::Errno::ENOTDIR => changed(shown),
        e => StoreError::io("opening", shown, e.into()),
    })
}

/// Opens `name` in `dir` without following it and checks it is the inode `st` describes.
fn open_same(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    extra: OFlag,
    st: &FileStat,
    shown: &Path,
) -> Result<OwnedFd> {
    let fd = open_at(dir, name, extra, shown)?;
    let now = fstat(&fd).ctx("reading", shown)?;
    if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino) {
        return Err(changed(shown));
    }
    Ok(fd)
}

/// The names in directory `dir`, sorted, reversed (the walk pops them in order).
fn list(dir: BorrowedFd<'_>, shown: &Path) -> Result<Vec<std::ffi::OsString>> {
    let listing = nix::fcntl::openat(
        dir,
        ".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ctx("listing", shown)?;
    let mut names = Vec::new();
    for e in Dir::from_fd(listing).ctx("listing", shown)?.iter() {
        let e = e.ctx("listing", shown)?;
        let n = e.file_name().to_bytes();
        if n != b"." && n != b".." {
            names.push(OsStr::from_bytes(n).to_os_string());
        }
    }
    names.sort();
    names.reverse();
    Ok(names)
}

impl Copier {
    fn walk(&mut self, src: OwnedFd, dst: OwnedFd, st: FileStat, top: &Path) -> Result<()> {
        let mut shown = top.to_path_buf();
        let mut rel = PathBuf::new();
        let names = list(src.as_fd(), &shown)?;
        let mut stack = vec![Frame {
            fds: Some((src, dst)),
            id: (st.st_dev, st.st_ino),
            name: Default::default(),
            st,
            names,
        }];
        let mut lowest_open = 0;
        while let Some(frame) = stack.last_mut() {
            // Invariant: the deepest frame's fds are always open (reopened below).
            let (s, d) = frame.fds.as_ref().expect("deepest frame open");
            let (s, d) = (s.as_fd(), d.as_fd());
            let Some(n) = frame.names.pop() else {
                let done = stack.pop().expect("a frame");
                let (s, d) = done.fds.expect("deepest frame open");
                let Some(parent) = stack.last_mut() else {
                    return self.finish_node(
                        &proc_path(s.as_fd(), None),
                        &proc_path(d.as_fd(), None),
                        &done.st,
                    );
                };
                if parent.fds.is_none() {
                    let ps = open_at(s.as_fd(), OsStr::new(".."), OFlag::O_DIRECTORY, &shown)?;
                    let now = fstat(&ps).ctx("reading", &shown)?;
                    if (now.st_dev, now.st_ino) != parent.id {
                        return Err(changed(shown.parent().unwrap_or(&shown)));
                    }
                    let pd = open_at(d.as_fd(), OsStr::new(".."), OFlag::O_DIRECTORY, &shown)?;
                    parent.fds = Some((ps, pd));
                    lowest_open = stack.len() - 1;
                }
                let (ps, pd) = stack.last().and_then(|f| f.fds.as_ref()).expect("reopened");
                let name = Some(done.name.as_os_str());
                self.finish_node(
                    &proc_path(ps.as_fd(), name),
                    &proc_path(pd.as_fd(), name),
                    &done.st,
                )?;
                shown.pop();
                rel.pop();
                continue;
            };
            shown.push(&n);
            rel.push(&n);
            let m =
                fstatat(s, n.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW).ctx("reading", &shown)?;
            if m.st_mode & libc::S_IFMT != libc::S_IFDIR {
                self.copy_leaf(s, d, &n, &m, &shown, &rel)?;
                shown.pop();
                rel.pop();
                continue;
            }
            let cs = open_same(s, &n, OFlag::O_DIRECTORY, &m, &shown)?;
            nix::sys::stat::mkdirat(d, n.as_os_str(), Mode::from_bits_truncate(0o700))
                .ctx("creating", &shown)?;
            let cd = open_at(d, &n, OFlag::O_DIRECTORY, &shown)?;
            // Like `cp -x`: a filesystem mounted in the source (a chroot's /proc, /sys,
            // /dev, a bind mount) becomes an empty mount point, never its contents.
            // (A btrfs subvolume has its own st_dev but is no mount: it is copied.)
            let names = if crate::fsutil::is_mount_root(s, Path::new(&n)) {
                Vec::new()
            } else {
                list(cs.as_fd(), &shown)?
            };
            stack.push(Frame {
                fds: Some((cs, cd)),
                id: (m.st_dev, m.st_ino),
                name: n,
                st: m,
                names,
            });
            if stack.len() - lowest_open > WINDOW {
                stack[lowest_open].fds = None;
                lowest_open += 1;
            }
        }
        Ok(())
    }

    /// Copies the non-directory `name` of `dir` into `dst` (`shown` names it in errors,
    /// `rel` is its path inside the tree).
    fn copy_leaf(
        &mut self,
        dir: BorrowedFd<'_>,
        dst: BorrowedFd<'_>,
        name: &OsStr,
        m: &FileStat,
        shown: &Path,
        rel: &Path,
    ) -> Result<()> {
        let kind = SFlag::from_bits_truncate(m.st_mode & libc::S_IFMT);
        if m.st_nlink > 1 {
            let key = (m.st_dev, m.st_ino);
            if let Some(first) = self.links.get(&key) {
                return nix::unistd::linkat(
                    &self.dst_root,
                    first.as_path(),
                    dst,
                    name,
                    AtFlags::empty(),
                )
                .ctx("linking", shown);
            }
            self.links.insert(key, rel.to_path_buf());
        }
        if kind == SFlag::S_IFLNK {
            let target = nix::fcntl::readlinkat(dir, name).ctx("reading link", shown)?;
            nix::unistd::symlinkat(target.as_os_str(), dst, name).ctx("creating link", shown)?;
        } else if kind == SFlag::S_IFREG {
            let fd = open_same(dir, name, OFlag::empty(), m, shown)?;
            let mut from = fs::File::from(fd);
            let to = nix::fcntl::openat(
                dst,
                name,
                OFlag::O_WRONLY
                    | OFlag::O_CREAT
                    | OFlag::O_EXCL
                    | OFlag::O_NOFOLLOW
                    | OFlag::O_CLOEXEC,
                Mode::from_bits_truncate(0o600),
            )
            .ctx("creating", shown)?;
            std::io::copy(&mut from, &mut fs::File::from(to)).ctx("copying", shown)?;
            self.bytes += u64::try_from(m.st_size).unwrap_or(0);
        } else {
            // Character and block devices, fifos and sockets keep their type and number.
            nix::sys::stat::mknodat(
                dst,
                name,
                kind,
                Mode::from_bits_truncate(m.st_mode & 0o7777),
                m.st_rdev,
            )
            .ctx("creating node", shown)?;
        }
        self.finish_node(&proc_path(dir, Some(name)), &proc_path(dst, Some(name)), m)
    }

    /// Owner, then mode (chown clears setuid bits), xattrs, then times (last, as
    /// everything before touches them). `src` reaches the source without following it.
    fn finish_node(&mut self, src: &Path, dst: &Path, m: &FileStat) -> Result<()> {
        lchown(dst, Some(m.st_uid), Some(m.st_gid)).ctx("setting owner of", dst)?;
        if m.st_mode & libc::S_IFMT != libc::S_IFLNK {
            fs::set_permissions(dst, fs::Permissions::from_mode(m.st_mode & 0o7777))
                .ctx("setting mode of", dst)?;
        }
        copy_xattrs(src, dst)?;
        copy_times(dst, m)
    }
}
/// Copies the extended attributes of `src` onto `dst` (symlinks' own, not their targets').
fn copy_xattrs(src: &Path, dst: &Path) -> Result<()> {
    let names = match xattr::list(src) {
        Ok(n) => n,
        Err(e) if e.raw_os_error() == Some(libc::ENOTSUP) => return Ok(()),
        Err(e) => return Err(StoreError::io("listing xattrs of", src, e)),
    };
    for name in names {
        if let Some(value) = xattr::get(src, &name).ctx("reading xattr of", src)? {
            match xattr::set(dst, &name, &value) {
                Ok(()) => {}
                // A namespace the destination filesystem does not store.
                Err(e) if e.raw_os_error() == Some(libc::ENOTSUP) => {}
                Err(e) => return Err(StoreError::io("setting xattr on", dst, e)),
            }
        }
    }
    Ok(())
}

/// Sets `dst`'s access and modification times to those in `m`.
fn copy_times(dst: &Path, m: &FileStat) -> Result<()> {
    let atime = TimeSpec::new(m.st_atime, m.st_atime_nsec);
    let mtime = TimeSpec::new(m.st_mtime, m.st_mtime_nsec);
    utimensat(
        nix::fcntl::AT_FDCWD,
        dst,
        &atime,
        &mtime,
        UtimensatFlags::NoFollowSymlink,
    )
    .ctx("setting times of", dst)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::stat::mknod;
    use std::os::unix::fs::{symlink, MetadataExt};

    #[test]
    fn preserves_types_modes_owners_links_xattrs_times() {
        let s = tempfile::tempdir().unwrap();
        let d = tempfile::tempdir().unwrap();
        let src = s.path();
        fs::create_dir(src.join("dir")).unwrap();
        fs::write(src.join("dir/file"), b"hello").unwrap();
        lchown(src.join("dir/file"), Some(1000), Some(1000)).unwrap();
        fs::set_permissions(src.join("dir/file"), fs::Permissions::from_mode(0o4755)).unwrap();
        fs::hard_link(src.join("dir/file"), src.join("hard")).unwrap();
        symlink("dir/file", src.join("rel")).unwrap();
        symlink("/nonexistent/abs", src.join("dangling")).unwrap();
        fs::create_dir(src.join("sticky")).unwrap();
        fs::set_permissions(src.join("sticky"), fs::Permissions::from_mode(0o1777)).unwrap();
        mknod(
            &src.join("null"),
            SFlag::S_IFCHR,
            Mode::from_bits_truncate(0o666),
            nix::sys::stat::makedev(1, 3),
        )
        .unwrap();
        let has_xattr = xattr::set(src.join("dir/file"), "user.bocker", b"v").is_ok();
        utimensat(
            nix::fcntl::AT_FDCWD,
            &src.join("dir"),
            &TimeSpec::new(1000, 0),
            &TimeSpec::new(2000, 0),
            UtimensatFlags::NoFollowSymlink,
        )
        .unwrap();

        let bytes = copy_tree(src, d.path()).unwrap();
        let dst = d.path();
        assert_eq!(bytes, 5, "hardlinked data counted once");
        let f = fs::symlink_metadata(dst.join("dir/file")).unwrap();
        assert_eq!(f.mode() & 0o7777, 0o4755, "setuid survives chown");
        assert_eq!((f.uid(), f.gid()), (1000, 1000));
        let h = fs::symlink_metadata(dst.join("hard")).unwrap();
        assert_eq!(h.ino(), f.ino(), "hardlink identity kept");
        assert_eq!(
            fs::read_link(dst.join("rel")).unwrap(),
            Path::new("dir/file")
        );
        assert_eq!(
            fs::read_link(dst.join("dangling")).unwrap(),
            Path::new("/nonexistent/abs")
        );
        assert_eq!(
            fs::symlink_metadata(dst.join("sticky")).unwrap().mode() & 0o7777,
            0o1777
        );
        let n = fs::symlink_metadata(dst.join("null")).unwrap();
        assert_eq!(n.rdev(), nix::sys::stat::makedev(1, 3));
        assert_eq!(
            fs::symlink_metadata(dst.join("dir")).unwrap().mtime(),
            2000,
            "dir mtime set after children"
        );
        if has_xattr {
            assert_eq!(
                xattr::get(dst.join("dir/file"), "user.bocker")
                    .unwrap()
                    .unwrap(),
                b"v"
            );
        }
    }

    #[test]
    fn filesystems_mounted_in_the_source_are_not_copied() {
        let s = tempfile::tempdir().unwrap();
        let d = tempfile::tempdir().unwrap();
        let outside = s.path().join("outside");
        fs::create_dir(&outside).unwrap();
        fs::write(outside.join("host-file"), b"host").unwrap();
        let src = s.path().join("src");
        fs::create_dir_all(src.join("proc")).unwrap();
        fs::create_dir_all(src.join("mnt")).unwrap();
        fs::write(src.join("kept"), b"x").unwrap();
        nix::mount::mount(
            Some("tmpfs"),
            &src.join("proc"),
            Some("tmpfs"),
            nix::mount::MsFlags::empty(),
            None::<&str>,
        )
        .unwrap();
        fs::write(src.join("proc/kmsg"), b"never read").unwrap();
        nix::mount::mount(
            Some(&outside),
            &src.join("mnt"),
            None::<&str>,
            nix::mount::MsFlags::MS_BIND,
            None::<&str>,
        )
        .unwrap();
        let r = copy_tree(&src, d.path());
        for m in ["proc", "mnt"] {
            let _ = nix::mount::umount2(&src.join(m), nix::mount::MntFlags::MNT_DETACH);
        }
        r.unwrap();
        assert!(d.path().join("kept").exists());
        assert!(d.path().join("proc").is_dir() && d.path().join("mnt").is_dir());
        assert!(
            !d.path().join("proc/kmsg").exists(),
            "copied a mounted filesystem"
        );
        assert!(
            !d.path().join("mnt/host-file").exists(),
            "copied a bind mount"
        );
    }

    #[test]
    fn copies_a_30000_deep_tree_without_recursion() {
        // Issue 9 item 18: `bocker init DIR` and `bocker commit` copy trees a user or a
        // container made. A 64 KiB thread stack makes any recursion on depth crash, and
        // 30000 levels are more fds than the limit: the walk must bound both.
        let s = tempfile::tempdir_in("/dev/shm")
            .or_else(|_| tempfile::tempdir())
            .unwrap();
        let src = s.path().join("src");
        let dst = s.path().join("dst");
        fs::create_dir(&src).unwrap();
        fs::create_dir(&dst).unwrap();
        let mut cur = fs::File::open(&src).unwrap();
        for _ in 0..30_000 {
            nix::sys::stat::mkdirat(&cur, "d", Mode::from_bits_truncate(0o750)).unwrap();
            cur = fs::File::from(
                open_at(cur.as_fd(), OsStr::new("d"), OFlag::O_DIRECTORY, &src).unwrap(),
            );
        }
        let f = nix::fcntl::openat(
            &cur,
            "f",
            OFlag::O_CREAT | OFlag::O_WRONLY,
            Mode::from_bits_truncate(0o640),
        )
        .unwrap();
        nix::unistd::write(&f, b"deep").unwrap();
        drop((f, cur));
        let (s2, d2) = (src.clone(), dst.clone());
        let bytes = std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || copy_tree(&s2, &d2))
            .unwrap()
            .join()
            .unwrap()
            .unwrap();
        assert_eq!(bytes, 4);
        let mut cur = fs::File::open(&dst).unwrap();
        for _ in 0..30_000 {
            let next = open_at(cur.as_fd(), OsStr::new("d"), OFlag::O_DIRECTORY, &dst).unwrap();
            assert_eq!(fstat(&next).unwrap().st_mode & 0o7777, 0o750);
            cur = fs::File::from(next);
        }
        let f = open_at(cur.as_fd(), OsStr::new("f"), OFlag::empty(), &dst).unwrap();
        assert_eq!(std::io::read_to_string(fs::File::from(f)).unwrap(), "deep");
        drop(cur);
        crate::fsutil::remove_path(&src).unwrap();
        crate::fsutil::remove_path(&dst).unwrap();
    }

    #[test]
    fn refuses_a_non_directory() {
        let s = tempfile::tempdir().unwrap();
        fs::write(s.path().join("f"), b"x").unwrap();
        assert!(copy_tree(&s.path().join("f"), s.path()).is_err());
    }

    #[test]
    fn a_file_swapped_for_a_symlink_is_never_followed() {
        let s = tempfile::tempdir().unwrap();
        let secret = s.path().join("secret");
        fs::write(&secret, b"SECRET").unwrap();
        let src = s.path().join("src");
        fs::create_dir(&src).unwrap();
        fs::write(src.join("f"), b"x").unwrap();
        // The same for a directory: src/d/f must never become secret_dir/f.
        let secret_dir = s.path().join("secret_dir");
        fs::create_dir(&secret_dir).unwrap();
        fs::write(secret_dir.join("f"), b"SECRET").unwrap();
        fs::create_dir(src.join("d")).unwrap();
        fs::write(src.join("d/f"), b"x").unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let attacker = {
            let (src, secret, stop) = (src.clone(), secret.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = fs::rename(src.join("f"), src.join("g"));
                    let _ = symlink(&secret, src.join("f"));
                    let _ = fs::remove_file(src.join("f"));
                    let _ = fs::rename(src.join("g"), src.join("f"));
                    let _ = fs::rename(src.join("d"), src.join("e"));
                    let _ = symlink(&secret_dir, src.join("d"));
                    let _ = fs::remove_file(src.join("d"));
                    let _ = fs::rename(src.join("e"), src.join("d"));
                }
            })
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        let mut leaked = false;
        while std::time::Instant::now() < deadline && !leaked {
            let d = tempfile::tempdir().unwrap();
            let _ = copy_tree(&src, d.path());
            for n in ["f", "g", "d/f", "e/f"] {
                let p = d.path().join(n);
                // A copied symlink may point at the secret: only real copies count.
                let parent_is_dir =
                    fs::symlink_metadata(p.parent().unwrap()).is_ok_and(|m| m.is_dir());
                if parent_is_dir && fs::symlink_metadata(&p).is_ok_and(|m| m.is_file()) {
                    leaked |= fs::read(&p).unwrap() == b"SECRET";
                }
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        attacker.join().unwrap();
        assert!(!leaked, "import followed a symlink swapped in for a file");
    }
}
