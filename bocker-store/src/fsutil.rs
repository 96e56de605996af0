//! Small filesystem facts and removal that understands mounts and btrfs subvolumes.

use std::fs;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use std::ffi::{CStr, OsStr};

use bocker_sys::remove::Crossing;
use nix::fcntl::OFlag;

use crate::error::{IoContext, Result, StoreError};

/// `statfs` magic of btrfs.
pub const BTRFS_MAGIC: i64 = 0x9123_683e;
/// `statfs` magic of overlayfs.
pub const OVERLAY_MAGIC: i64 = 0x794c_7630;
/// Inode number of every btrfs subvolume root.
pub const BTRFS_FIRST_FREE_OBJECTID: u64 = 256;

/// The filesystem type (statfs magic) holding `path`.
pub fn fs_magic(path: &Path) -> Result<i64> {
    let st = nix::sys::statfs::statfs(path).ctx("inspecting filesystem of", path)?;
    // The field's integer type differs between libcs; the magic fits in 32 bits.
    #[allow(clippy::unnecessary_cast)]
    Ok(st.filesystem_type().0 as i64)
}

/// True when `path` is the root of a btrfs subvolume.
pub fn is_subvolume(path: &Path) -> bool {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() && m.ino() == BTRFS_FIRST_FREE_OBJECTID => {
            fs_magic(path).map(|t| t == BTRFS_MAGIC).unwrap_or(false)
        }
        _ => false,
    }
}

/// `FS_TOPDIR_FL` (linux/fs.h, `chattr +T`).
const FS_TOPDIR_FL: libc::c_int = 0x0002_0000;

/// Marks `dir` as the top of directory hierarchies (`chattr +T`), so ext2/3/4's Orlov
/// allocator spreads its sub-directories over block groups instead of packing them
/// into its own (ext4 `find_group_orlov`). Each container directory is such a
/// hierarchy, made and removed at every `run --rm`; packed into one group, their
/// freed inodes pile up there and, on ext4 without a journal, every new inode of the
/// group is found only after skipping each one freed in the last minute
/// (`recently_deleted` in `find_inode_bit`). Returns whether the flag is set now;
/// a filesystem without it (tmpfs, btrfs, xfs) is left alone.
pub fn mark_top_dir(dir: &Path) -> Result<bool> {
    let fd = open_dir_at(nix::fcntl::AT_FDCWD, dir, false).ctx("opening", dir)?;
    let mut flags: libc::c_int = 0;
    // SAFETY: FS_IOC_GETFLAGS writes one int (the kernel's `unsigned int`, despite the
    // `long` in its number) to `flags`, which outlives the call; `fd` is open.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::FS_IOC_GETFLAGS, &mut flags) } != 0 {
        return Ok(false);
    }
    if flags & FS_TOPDIR_FL != 0 {
        return Ok(true);
    }
    flags |= FS_TOPDIR_FL;
    // SAFETY: FS_IOC_SETFLAGS reads one int from `flags`, which outlives the call.
    let set = unsafe { libc::ioctl(fd.as_raw_fd(), libc::FS_IOC_SETFLAGS, &flags) } == 0;
    Ok(set)
}

/// Removes `path` whatever it is: detaches a mount on it, destroys btrfs subvolumes
/// (fast, without walking them), removes trees. Missing paths are fine.
///
/// `path` itself is trusted (a store path); what lies below it may be written by a
/// container. The walk is bocker-sys's depth-safe removal: relative to open directory
/// fds, never following a symlink (even one swapped in for a directory while we walk),
/// and without recursion, so a container's 30000-deep tree costs no stack (issue 9
/// item 18; it used to overflow it, status 134).
pub fn remove_path(path: &Path) -> Result<()> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(StoreError::io("inspecting", path, e)),
    };
    if !meta.is_dir() {
        return fs::remove_file(path)
            .or_else(ignore_missing)
            .ctx("removing", path);
    }
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(StoreError::io(
            "removing",
            path,
            io::Error::from(io::ErrorKind::InvalidInput),
        ));
    };
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let parent_fd = open_dir_at(nix::fcntl::AT_FDCWD, parent, false).ctx("opening", parent)?;
    let name = std::ffi::CString::new(name.as_bytes())
        .map_err(|e| StoreError::io("removing", path, e.into()))?;
    bocker_sys::remove::remove_tree_at(parent_fd.as_fd(), &name, &mut crossing)
        .ctx("removing", path)
}

/// True when `name` in `dir` is the root of a mount (statx's STATX_ATTR_MOUNT_ROOT).
pub(crate) fn is_mount_root(dir: BorrowedFd<'_>, name: &Path) -> bool {
    std::ffi::CString::new(name.as_os_str().as_bytes())
        .is_ok_and(|c| bocker_sys::sys::is_mount_root(dir.as_raw_fd(), &c))
}

/// What removal does with directory `name` of `dir` when it is a mount root or on another
/// device: a mount is detached (an error if it cannot be: its files are not ours), a btrfs
/// subvolume is destroyed whole, anything else is walked.
fn crossing(dir: BorrowedFd<'_>, name: &CStr, st: &libc::stat) -> io::Result<Crossing> {
    if bocker_sys::sys::is_mount_root(dir.as_raw_fd(), name) {
        return bocker_sys::remove::detach_mounts(dir, name, st);
    }
    let destroyed = st.st_ino == BTRFS_FIRST_FREE_OBJECTID
        && crate::driver::btrfs::destroy_subvolume_at(
            dir,
            Path::new(OsStr::from_bytes(name.to_bytes())),
        )
        .is_ok();
    Ok(if destroyed {
        Crossing::Gone
    } else {
        Crossing::Walk
    })
}

fn open_dir_at<Fd: AsFd>(dir: Fd, name: &Path, nofollow: bool) -> nix::Result<OwnedFd> {
    let mut flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    if nofollow {
        flags |= OFlag::O_NOFOLLOW;
    }
    nix::fcntl::openat(dir, name, flags, nix::sys::stat::Mode::empty())
}

fn ignore_missing(e: io::Error) -> io::Result<()> {
    if e.kind() == io::ErrorKind::NotFound {
        Ok(())
    } else {
        Err(e)
    }
}

/// Refuses a store root another user could change under root's feet (issue 9 item 19:
/// a user who owned the root swapped a layer for a symlink, and root's next container
/// showed a chosen host directory as `/`).
///
/// The root, when it exists, must be a directory owned by the effective uid and not
/// writable by group or others; every existing ancestor up to `/` must not be writable by
/// others unless it has the sticky bit (as `/tmp`), the check Docker and containerd make
/// of their roots. Called before anything is read from the root. Errors: one line naming
/// the path and the fix.
pub fn check_root_safe(root: &Path) -> Result<()> {
    let refuse = |path: &Path, why: String| {
        Err(StoreError::io(
            "refusing the store root at",
            path,
            io::Error::other(why),
        ))
    };
    let euid = nix::unistd::geteuid().as_raw();
    let mut path = match fs::canonicalize(root) {
        Ok(real) => {
            let m = fs::metadata(&real).ctx("inspecting", root)?;
            if !m.is_dir() {
                return refuse(root, "it is not a directory".into());
            }
            if m.uid() != euid {
                return refuse(
                    root,
                    format!(
                        "it is owned by uid {}, not by uid {euid} who runs bocker; \
                         fix: chown {euid}:{euid} {r} && chmod 0700 {r}",
                        m.uid(),
                        r = root.display()
                    ),
                );
            }
            if m.mode() & 0o022 != 0 {
                return refuse(
                    root,
                    format!(
                        "it is writable by group or others (mode {:04o}); fix: chmod 0700 {}",
                        m.mode() & 0o7777,
                        root.display()
                    ),
                );
            }
            real.parent().map(Path::to_path_buf)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            // A store yet to be made: check from its nearest existing ancestor up.
            root.ancestors()
                .skip(1)
                .find_map(|a| fs::canonicalize(a).ok())
        }
        Err(e) => return Err(StoreError::io("inspecting", root, e)),
    };
    while let Some(p) = path {
        let m = fs::metadata(&p).ctx("inspecting", &p)?;
        if m.mode() & 0o002 != 0 && m.mode() & 0o1000 == 0 {
            return refuse(
                root,
                format!(
                    "its parent {} is writable by others without the sticky bit; \
                     fix: chmod o-w {} or choose another BOCKER_ROOT",
                    p.display(),
                    p.display()
                ),
            );
        }
        path = p.parent().map(Path::to_path_buf);
    }
    Ok(())
}

/// Apparent size of the regular files under `path` (each hardlinked inode once);
/// unreadable parts count 0.
///
/// Depth costs neither stack nor fds (issue 9 item 18): a loop over an explicit stack
/// that keeps fds for its 64 deepest levels and reopens a parent through `..`, checked to
/// be the same inode (a tree that changes meanwhile stops the count there).
pub fn tree_size(path: &Path) -> u64 {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    const WINDOW: usize = 64;
    struct Frame {
        fd: Option<OwnedFd>,
        id: (u64, u64),
        names: Vec<CString>,
    }
    let frame = |fd: OwnedFd| -> Option<Frame> {
        let st = bocker_sys::sys::fstat(fd.as_raw_fd()).ok()?;
        let names = bocker_sys::sys::list_dir(fd.as_fd()).ok()?;
        Some(Frame {
            id: (st.st_dev, st.st_ino),
            fd: Some(fd),
            names,
        })
    };
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
        return 0;
    };
    let Some(top) = bocker_sys::sys::open_dir_at(libc::AT_FDCWD, &c)
        .ok()
        .and_then(frame)
    else {
        return 0;
    };
    let mut seen = std::collections::HashSet::new();
    let mut total = 0;
    let mut stack = vec![top];
    let mut lowest_open = 0;
    while let Some(f) = stack.last_mut() {
        let Some(dir) = f.fd.as_ref().map(|fd| fd.as_raw_fd()) else {
            break; // invariant: the deepest frame is open
        };
        let Some(n) = f.names.pop() else {
            let done = stack.pop().and_then(|f| f.fd);
            let Some(parent) = stack.last_mut() else {
                break;
            };
            if parent.fd.is_none() {
                let dotdot =
                    done.and_then(|d| bocker_sys::sys::open_dir_at(d.as_raw_fd(), c"..").ok());
                let Some(up) = dotdot else { break };
                match bocker_sys::sys::fstat(up.as_raw_fd()) {
                    Ok(st) if (st.st_dev, st.st_ino) == parent.id => parent.fd = Some(up),
                    _ => break,
                }
                lowest_open = stack.len() - 1;
            }
            continue;
        };
        let Ok(Some(st)) = bocker_sys::sys::lstat_at(dir, &n) else {
            continue;
        };
        match st.st_mode & libc::S_IFMT {
            libc::S_IFDIR => {
                if let Some(child) = bocker_sys::sys::open_dir_at(dir, &n).ok().and_then(frame) {
                    stack.push(child);
                    if stack.len() - lowest_open > WINDOW {
                        stack[lowest_open].fd = None;
                        lowest_open += 1;
                    }
                }
            }
            libc::S_IFREG if st.st_nlink == 1 || seen.insert((st.st_dev, st.st_ino)) => {
                total += u64::try_from(st.st_size).unwrap_or(0);
            }
            _ => {}
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_stores_containers_dir_is_a_top_dir_on_ext4() {
        let d = tempfile::tempdir().unwrap();
        let s = crate::Store::open_at(&d.path().join("s"), Some("overlay")).unwrap();
        let containers = s.root().join("containers");
        let ext4 = fs_magic(&containers).unwrap() == 0xEF53;
        let fd = open_dir_at(nix::fcntl::AT_FDCWD, &containers, false).unwrap();
        let mut flags: libc::c_int = 0;
        // SAFETY: FS_IOC_GETFLAGS writes one int to `flags`; `fd` is open.
        let got = unsafe { libc::ioctl(fd.as_raw_fd(), libc::FS_IOC_GETFLAGS, &mut flags) };
        if ext4 {
            assert_eq!(got, 0);
            assert_ne!(flags & FS_TOPDIR_FL, 0, "containers/ lacks chattr +T");
        }
        // Again is a no-op that still says yes (no error on a flag already set).
        if ext4 {
            assert!(mark_top_dir(&containers).unwrap());
        }
    }

    #[test]
    fn removes_trees_files_and_missing_paths() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path().join("t");
        fs::create_dir_all(t.join("a/b")).unwrap();
        fs::write(t.join("a/b/f"), b"1234").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", t.join("a/link")).unwrap();
        assert_eq!(tree_size(&t), 4);
        remove_path(&t).unwrap();
        assert!(!t.exists());
        assert!(
            Path::new("/etc/passwd").exists(),
            "symlink target must survive"
        );
        remove_path(&t).unwrap();
    }

    #[test]
    fn removes_a_30000_deep_tree_without_recursion() {
        // Issue 9 item 18: `bocker rm` of a container that built this tree overflowed the
        // stack (status 134). A 64 KiB thread stack makes any recursion on depth crash.
        let d = tempfile::tempdir_in("/dev/shm")
            .or_else(|_| tempfile::tempdir())
            .unwrap();
        let t = d.path().join("t");
        fs::create_dir(&t).unwrap();
        let mut cur = fs::File::open(&t).unwrap();
        for _ in 0..30_000 {
            nix::sys::stat::mkdirat(&cur, "d", nix::sys::stat::Mode::from_bits_truncate(0o755))
                .unwrap();
            cur = fs::File::from(open_dir_at(&cur, Path::new("d"), true).unwrap());
        }
        nix::fcntl::openat(
            &cur,
            "f",
            OFlag::O_CREAT | OFlag::O_WRONLY,
            nix::sys::stat::Mode::from_bits_truncate(0o644),
        )
        .map(|f| nix::unistd::write(&f, b"12345").unwrap())
        .unwrap();
        drop(cur);
        assert_eq!(tree_size(&t), 5, "the file at the bottom is counted");
        let t2 = t.clone();
        std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(move || remove_path(&t2))
            .unwrap()
            .join()
            .unwrap()
            .unwrap();
        assert!(!t.exists());
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 0);
    }

    #[test]
    fn tree_size_counts_hardlinks_once() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("a"), vec![0u8; 100]).unwrap();
        fs::hard_link(d.path().join("a"), d.path().join("b")).unwrap();
        assert_eq!(tree_size(d.path()), 100);
    }

    #[test]
    fn removal_never_follows_a_directory_swapped_for_a_symlink() {
        // A container process that outlives its record may swap a directory of its
        // upper dir for a symlink to the host while we remove it.
        let d = tempfile::tempdir().unwrap();
        let victim = d.path().join("victim");
        fs::create_dir(&victim).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
        while std::time::Instant::now() < deadline {
            for i in 0..20 {
                fs::write(victim.join(format!("canary{i}")), b"keep").unwrap();
            }
            let t = d.path().join("t");
            fs::create_dir_all(t.join("a")).unwrap();
            for i in 0..20 {
                fs::write(t.join("a").join(format!("canary{i}")), b"x").unwrap();
            }
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let attacker = {
                let (t, victim, stop) = (t.clone(), victim.clone(), stop.clone());
                std::thread::spawn(move || {
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        if fs::rename(t.join("a"), t.join("x")).is_ok() {
                            let _ = std::os::unix::fs::symlink(&victim, t.join("a"));
                            let _ = fs::remove_file(t.join("a"));
                            let _ = fs::rename(t.join("x"), t.join("a"));
                        }
                    }
                })
            };
            let _ = remove_path(&t);
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            attacker.join().unwrap();
            let _ = remove_path(&t);
            let _ = fs::remove_dir_all(&t);
            for i in 0..20 {
                assert!(
                    victim.join(format!("canary{i}")).exists(),
                    "removal followed a symlink out of the tree"
                );
            }
        }
    }

    #[test]
    fn removal_detaches_mounts_and_never_empties_them() {
        let d = tempfile::tempdir().unwrap();
        let outside = d.path().join("outside");
        fs::create_dir(&outside).unwrap();
        fs::write(outside.join("keep"), b"keep").unwrap();
        for target in ["t", "t/deep/m"] {
            let t = d.path().join("t");
            let m = d.path().join(target);
            fs::create_dir_all(&m).unwrap();
            // A bind mount on the same filesystem: same st_dev as its parent.
            nix::mount::mount(
                Some(&outside),
                &m,
                None::<&str>,
                nix::mount::MsFlags::MS_BIND,
                None::<&str>,
            )
            .unwrap();
            let r = remove_path(&t);
            let _ = nix::mount::umount2(&m, nix::mount::MntFlags::MNT_DETACH);
            r.unwrap();
            assert!(
                outside.join("keep").exists(),
                "emptied a mount under {target}"
            );
            assert!(!t.exists());
        }
    }
}
