//! Removing a tree that a container, an image or a user wrote: at any depth, with no
//! recursion, a bounded number of open fds, and never following a symlink out of it.
//!
//! The walk flattens the tree instead of descending it: every subdirectory found is
//! renamed (`renameat2`, `RENAME_NOREPLACE`) up into the directory being removed, under a
//! fresh name, and queued; the directory it came from is then empty of directories and is
//! removed at once. So a 30000-deep chain costs one queue entry at a time and two open
//! fds, where a recursive walk overflows the stack (issue 9 item 18; GNU rm's fts and Go's
//! `os.RemoveAll` bound the depth the same way, by not recursing on it).
//!
//! Every step is relative to a directory fd opened with `O_NOFOLLOW`: a directory swapped
//! for a symlink while we walk is unlinked (the link, never its target). A rename moves
//! only an entry of a directory we hold open into another we hold open, both inside the
//! tree being removed. A filesystem mounted inside the tree is never walked: the caller's
//! `cross` hook decides (detach it, destroy a btrfs subvolume, or refuse).

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use crate::sys::{self, cstr};

/// What the `cross` hook of [`remove_tree_at`] did with a directory that is a mount root
/// or sits on another device than its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crossing {
    /// It is gone (a detached mount's directory is still there: say [`Crossing::Walk`]).
    Gone,
    /// It is a plain directory now (a mount detached, a subvolume): walk and remove it.
    Walk,
}

/// The default hook: a mount is detached (lazily, through the fd) and must then be gone;
/// a directory on another device that is no mount (a btrfs subvolume) is walked.
pub fn detach_mounts(dir: BorrowedFd<'_>, name: &CStr, _st: &libc::stat) -> io::Result<Crossing> {
    if sys::is_mount_root(dir.as_raw_fd(), name) {
        let _ = sys::detach_at(dir.as_raw_fd(), name);
        if sys::is_mount_root(dir.as_raw_fd(), name) {
            // Never walk into a mounted filesystem: its files are not ours.
            return Err(io::Error::other(
                "a filesystem is mounted there and cannot be detached",
            ));
        }
    }
    Ok(Crossing::Walk)
}

/// Remove `name` in `dir`, whatever it is (a directory with everything below it); missing
/// is fine. Mounts inside are detached as [`detach_mounts`] does.
pub fn remove_all_at(dir: RawFd, name: &CStr) -> io::Result<()> {
    // SAFETY: the caller holds `dir` open for the duration of this call.
    let dir = unsafe { BorrowedFd::borrow_raw(dir) };
    remove_tree_at(dir, name, &mut detach_mounts)
}

/// Remove every entry of `dir` for which `keep(name)` is false.
pub fn empty_dir(dir: &OwnedFd, keep: impl Fn(&CStr) -> bool) -> io::Result<()> {
    for n in sys::list_dir(dir.as_fd())? {
        if !keep(&n) {
            remove_all_at(dir.as_raw_fd(), &n)?;
        }
    }
    Ok(())
}

/// How often a directory that refills while we empty it is emptied again before giving up
/// (a live process writing into it forever).
const MAX_REFILLS: u32 = 100;

/// One queued directory: its name in the group's top directory.
struct Queued {
    group: usize,
    name: CString,
    refills: u32,
}

/// One group: a directory whose subdirectories are flattened into it. A new group starts
/// where the tree crosses onto another device (a btrfs subvolume), since `rename` cannot.
struct Group {
    top: OwnedFd,
    dev: u64,
    /// Where the top itself is removed from once its group is empty: (group, name).
    /// `None` for the first group, which the caller's `dir`/`name` removes.
    parent: Option<(usize, CString)>,
    pending: usize,
}

/// Remove `name` in `dir` and everything below it; `cross` is asked about every directory
/// that is a mount root or on another device than its parent before it is walked.
///
/// Errors: the first failing syscall (with its errno), `ENOTEMPTY` if a directory kept
/// refilling; on error part of the tree may be gone and the rest renamed inside it.
pub fn remove_tree_at(
    dir: BorrowedFd<'_>,
    name: &CStr,
    cross: &mut dyn FnMut(BorrowedFd<'_>, &CStr, &libc::stat) -> io::Result<Crossing>,
) -> io::Result<()> {
    let Some(st) = sys::lstat_at(dir.as_raw_fd(), name)? else {
        return Ok(());
    };
    if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
        return unlink_missing_ok(dir.as_raw_fd(), name, 0);
    }
    let dir_dev = sys::fstat(dir.as_raw_fd())?.st_dev;
    if (st.st_dev != dir_dev || sys::is_mount_root(dir.as_raw_fd(), name))
        && cross(dir, name, &st)? == Crossing::Gone
    {
        return Ok(());
    }
    let top = match sys::open_dir_at(dir.as_raw_fd(), name) {
        Ok(fd) => fd,
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(()),
        // Not a directory any more: a symlink or file swapped in. Unlink it, only it.
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTDIR) | Some(libc::ELOOP)) => {
            return unlink_missing_ok(dir.as_raw_fd(), name, 0)
        }
        Err(e) => return Err(e),
    };
    let dev = sys::fstat(top.as_raw_fd())?.st_dev;
    let mut w = Walk {
        groups: vec![Group {
            top,
            dev,
            parent: None,
            pending: 1,
        }],
        queue: vec![Queued {
            group: 0,
            name: c".".to_owned(),
            refills: 0,
        }],
        serial: 0,
    };
    w.run(cross)?;
    drop(w);
    unlink_missing_ok(dir.as_raw_fd(), name, libc::AT_REMOVEDIR)
}

fn unlink_missing_ok(dir: RawFd, name: &CStr, flags: libc::c_int) -> io::Result<()> {
    match sys::unlinkat(dir, name, flags) {
        Err(e) if e.raw_os_error() != Some(libc::ENOENT) => Err(e),
        _ => Ok(()),
    }
}

struct Walk {
    groups: Vec<Group>,
    queue: Vec<Queued>,
    serial: u64,
}

impl Walk {
    fn run(
        &mut self,
        cross: &mut dyn FnMut(BorrowedFd<'_>, &CStr, &libc::stat) -> io::Result<Crossing>,
    ) -> io::Result<()> {
        while let Some(q) = self.queue.pop() {
            let g = q.group;
            let top = self.groups[g].top.as_raw_fd();
            let d = match sys::open_dir_at(top, &q.name) {
                Ok(fd) => fd,
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                    self.done(g)?;
                    continue;
                }
                // A symlink or file swapped in: unlink it, only it.
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTDIR) | Some(libc::ELOOP)) => {
                    unlink_missing_ok(top, &q.name, 0)?;
                    self.done(g)?;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let dev = sys::fstat(d.as_raw_fd())?.st_dev;
            if q.name.as_bytes() != b"." && dev != self.groups[g].dev {
                // Another device (a btrfs subvolume): rename cannot cross into it, so it
                // heads a group of its own, removed from here once that group is empty.
                self.groups.push(Group {
                    top: d,
                    dev,
                    parent: Some((g, q.name)),
                    pending: 1,
                });
                self.queue.push(Queued {
                    group: self.groups.len() - 1,
                    name: c".".to_owned(),
                    refills: 0,
                });
                continue;
            }
            self.empty_one(g, &d, cross)?;
            drop(d);
            if q.name.as_bytes() != b"." {
                match sys::unlinkat(top, &q.name, libc::AT_REMOVEDIR) {
                    Ok(()) => {}
                    Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
                    // Something was written into it meanwhile: empty it again.
                    Err(e)
                        if e.raw_os_error() == Some(libc::ENOTEMPTY) && q.refills < MAX_REFILLS =>
                    {
                        self.queue.push(Queued {
                            refills: q.refills + 1,
                            ..q
                        });
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
            self.done(g)?;
        }
        Ok(())
    }

    /// One queued item of group `g` finished: when the group is empty, remove its top
    /// from its parent group (the first group's top is the caller's to remove).
    fn done(&mut self, mut g: usize) -> io::Result<()> {
        loop {
            self.groups[g].pending -= 1;
            if self.groups[g].pending > 0 {
                return Ok(());
            }
            let Some((pg, name)) = self.groups[g].parent.take() else {
                return Ok(());
            };
            let ptop = self.groups[pg].top.as_raw_fd();
            unlink_missing_ok(ptop, &name, libc::AT_REMOVEDIR)?;
            g = pg;
        }
    }

    /// Unlink every non-directory in `d` (a directory of group `g`); rename each
    /// subdirectory up into the group's top and queue it.
    fn empty_one(
        &mut self,
        g: usize,
        d: &OwnedFd,
        cross: &mut dyn FnMut(BorrowedFd<'_>, &CStr, &libc::stat) -> io::Result<Crossing>,
    ) -> io::Result<()> {
        let d_dev = sys::fstat(d.as_raw_fd())?.st_dev;
        for n in sys::list_dir(d.as_fd())? {
            match sys::unlinkat(d.as_raw_fd(), &n, 0) {
                Ok(()) => continue,
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => continue,
                Err(e) if matches!(e.raw_os_error(), Some(libc::EISDIR) | Some(libc::EPERM)) => {}
                Err(e) => return Err(e),
            }
            let Some(st) = sys::lstat_at(d.as_raw_fd(), &n)? else {
                continue;
            };
            if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
                // Replaced by a non-directory meanwhile, or undeletable (EPERM): say so.
                unlink_missing_ok(d.as_raw_fd(), &n, 0)?;
                continue;
            }
            let crosses = st.st_dev != d_dev || sys::is_mount_root(d.as_raw_fd(), &n);
            if crosses && cross(d.as_fd(), &n, &st)? == Crossing::Gone {
                continue;
            }
            let fresh = self.fresh_name(g, d, &n)?;
            self.groups[g].pending += 1;
            self.queue.push(Queued {
                group: g,
                name: fresh,
                refills: 0,
            });
        }
        Ok(())
    }

    /// Rename `n` of `d` into the top of group `g` under an unused name (or keep it in
    /// place when `d` is that top).
    fn fresh_name(&mut self, g: usize, d: &OwnedFd, n: &CStr) -> io::Result<CString> {
        let top = self.groups[g].top.as_raw_fd();
        if same_dir(top, d.as_raw_fd())? {
            return Ok(n.to_owned());
        }
        loop {
            self.serial += 1;
            let fresh = cstr(format!(".bocker-rm-{}", self.serial).as_bytes())?;
            match sys::rename_noreplace(d.as_raw_fd(), n, top, &fresh) {
                Ok(()) => return Ok(fresh),
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

/// True when two fds are the same directory.
fn same_dir(a: RawFd, b: RawFd) -> io::Result<bool> {
    let (x, y) = (sys::fstat(a)?, sys::fstat(b)?);
    Ok((x.st_dev, x.st_ino) == (y.st_dev, y.st_ino))
}

#[cfg(test)]
mod tests;
