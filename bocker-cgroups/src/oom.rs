//! OOM notifications of a group's memory controller, as runc's `events` reads them:
//!
//! - cgroup v1: an eventfd registered for `memory.oom_control` by writing
//!   `"<eventfd> <oom_control fd>"` to the group's `cgroup.event_control` (kernel
//!   `Documentation/admin-guide/cgroup-v1/memory.rst` §9 "OOM Control"); the kernel counts
//!   one on the eventfd per OOM in the group, and once more when the group is removed
//!   (runc tells the two apart by `cgroup.event_control` still existing, as here);
//! - cgroup v2: inotify on the group's `memory.events`, whose `oom_kill` counter grows by
//!   one per process the OOM killer killed in the group (`cgroup-v2.rst`
//!   "memory.events"); a change of the counter is one event, as runc counts.
//!
//! [`OomWatch::as_fd`] is pollable (readable when something may have happened) and
//! [`OomWatch::read`] never blocks, so the caller can wait on it beside other fds.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::{CgroupError, Result};
use crate::{Cgroup, Inner};

/// What [`OomWatch::read`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OomEvent {
    /// Nothing new (a spurious wake-up, or a `memory.events` change other than
    /// `oom_kill`).
    None,
    /// The group hit its memory limit and the OOM killer acted (one or more times since
    /// the last read).
    Oom,
    /// The group was removed: no event will come any more.
    Gone,
}

/// A registration for one group's OOM notifications.
#[derive(Debug)]
pub struct OomWatch {
    how: How,
}

#[derive(Debug)]
enum How {
    V1 {
        eventfd: OwnedFd,
        /// Kept open for the registration's lifetime.
        _oom_control: File,
        /// `cgroup.event_control`: gone once the group is removed.
        event_control: PathBuf,
    },
    V2 {
        inotify: OwnedFd,
        events: PathBuf,
        /// The `oom_kill` count last seen.
        seen: u64,
    },
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> CgroupError + 'a {
    move |e| CgroupError::io(op, path, e)
}

fn no_memory(cg: &Cgroup) -> CgroupError {
    CgroupError::InvalidValue {
        what: "cgroup",
        value: format!("{}/{}", cg.parent(), cg.name()),
        reason: "no memory controller for this group: no OOM notifications",
    }
}

impl OomWatch {
    /// Register for `cg`'s OOM notifications. Errors: the group has no memory controller
    /// ([`CgroupError::InvalidValue`]), or the kernel refused the registration (`Io`).
    pub fn open(cg: &Cgroup) -> Result<OomWatch> {
        match &cg.inner {
            Inner::V1(g) => Self::v1(&g.dir_of("memory").ok_or_else(|| no_memory(cg))?),
            Inner::V2(g) => Self::v2(&g.dir_for("memory")?.ok_or_else(|| no_memory(cg))?),
        }
    }

    /// The v1 registration on the memory directory `dir`.
    fn v1(dir: &Path) -> Result<OomWatch> {
        let control = dir.join("memory.oom_control");
        let oom_control = File::open(&control).map_err(io_err("open", &control))?;
        // SAFETY: eventfd takes two integers and returns a new fd or -1.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(CgroupError::io("eventfd", dir, io::Error::last_os_error()));
        }
        // SAFETY: eventfd just returned this fd; nobody else owns it.
        let eventfd = unsafe { OwnedFd::from_raw_fd(fd) };
        let event_control = dir.join("cgroup.event_control");
        let line = format!("{} {}", eventfd.as_raw_fd(), oom_control.as_raw_fd());
        std::fs::write(&event_control, line).map_err(io_err("write", &event_control))?;
        Ok(OomWatch {
            how: How::V1 {
                eventfd,
                _oom_control: oom_control,
                event_control,
            },
        })
    }

    /// The v2 watch on `dir/memory.events` (a directory of a real or a test tree).
    fn v2(dir: &Path) -> Result<OomWatch> {
        let events = dir.join("memory.events");
        // SAFETY: inotify_init1 takes flags and returns a new fd or -1.
        let fd = unsafe { libc::inotify_init1(libc::IN_CLOEXEC | libc::IN_NONBLOCK) };
        if fd < 0 {
            return Err(CgroupError::io("inotify", dir, io::Error::last_os_error()));
        }
        // SAFETY: inotify_init1 just returned this fd; nobody else owns it.
        let inotify = unsafe { OwnedFd::from_raw_fd(fd) };
        let c = std::ffi::CString::new(events.as_os_str().as_bytes())
            .map_err(|_| CgroupError::io("watch", &events, io::ErrorKind::InvalidInput.into()))?;
        // SAFETY: a valid NUL-terminated path; the fd is ours.
        let wd =
            unsafe { libc::inotify_add_watch(inotify.as_raw_fd(), c.as_ptr(), libc::IN_MODIFY) };
        if wd < 0 {
            return Err(CgroupError::io(
                "watch",
                &events,
                io::Error::last_os_error(),
            ));
        }
        let seen = oom_kills(&events)?;
        Ok(OomWatch {
            how: How::V2 {
                inotify,
                events,
                seen,
            },
        })
    }

    /// What happened since the last read; never blocks.
    pub fn read(&mut self) -> Result<OomEvent> {
        match &mut self.how {
            How::V1 {
                eventfd,
                event_control,
                ..
            } => {
                let mut count = [0u8; 8];
                if !drain(eventfd, &mut count)? {
                    return Ok(OomEvent::None);
                }
                // The kernel also signals the eventfd when the group is removed.
                match event_control.exists() {
                    true => Ok(OomEvent::Oom),
                    false => Ok(OomEvent::Gone),
                }
            }
            How::V2 {
                inotify,
                events,
                seen,
            } => {
                let mut buf = [0u8; 4096];
                while drain(inotify, &mut buf)? {}
                let now = match oom_kills(events) {
                    Ok(n) => n,
                    Err(CgroupError::Io { source, .. })
                        if source.kind() == io::ErrorKind::NotFound =>
                    {
                        return Ok(OomEvent::Gone)
                    }
                    Err(e) => return Err(e),
                };
                let before = std::mem::replace(seen, now);
                Ok(if now > before {
                    OomEvent::Oom
                } else {
                    OomEvent::None
                })
            }
        }
    }
}

impl AsFd for OomWatch {
    /// Readable when [`OomWatch::read`] may have something.
    fn as_fd(&self) -> BorrowedFd<'_> {
        match &self.how {
            How::V1 { eventfd, .. } => eventfd.as_fd(),
            How::V2 { inotify, .. } => inotify.as_fd(),
        }
    }
}

/// One non-blocking read of `fd` into `buf`; false when there was nothing (EAGAIN).
fn drain(fd: &OwnedFd, buf: &mut [u8]) -> Result<bool> {
    loop {
        // SAFETY: `buf` is ours and its length is passed with it.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n > 0 {
            return Ok(true);
        }
        if n == 0 {
            return Ok(false);
        }
        let e = io::Error::last_os_error();
        match e.kind() {
            io::ErrorKind::Interrupted => continue,
            io::ErrorKind::WouldBlock => return Ok(false),
            _ => return Err(CgroupError::io("read", "OOM notification fd", e)),
        }
    }
}

/// The `oom_kill` count of a v2 `memory.events` file (0 when the kernel has no such
/// line).
fn oom_kills(events: &Path) -> Result<u64> {
    let text = std::fs::read_to_string(events).map_err(io_err("read", events))?;
    Ok(text
        .lines()
        .filter_map(|l| l.split_once(' '))
        .find(|(k, _)| *k == "oom_kill")
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch directory of this test, removed on drop.
    struct Dir(PathBuf);

    impl Dir {
        fn new(tag: &str) -> Dir {
            let p = std::env::temp_dir().join(format!("bocker-oom-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
        fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn events(dir: &Path, oom: u64, kills: u64) {
        std::fs::write(
            dir.join("memory.events"),
            format!("low 0\nhigh 0\nmax 3\noom {oom}\noom_kill {kills}\noom_group_kill 0\n"),
        )
        .unwrap();
    }

    #[test]
    fn v2_counts_oom_kill_changes_only() {
        let d = Dir::new("count");
        // Kills before the watch started are not events.
        events(d.path(), 1, 1);
        let mut w = OomWatch::v2(d.path()).unwrap();
        assert_eq!(w.read().unwrap(), OomEvent::None);
        // `oom` alone (the limit hit, nothing killed) is not an OOM kill.
        events(d.path(), 2, 1);
        assert_eq!(w.read().unwrap(), OomEvent::None);
        events(d.path(), 3, 2);
        assert_eq!(w.read().unwrap(), OomEvent::Oom);
        assert_eq!(w.read().unwrap(), OomEvent::None);
        std::fs::remove_file(d.path().join("memory.events")).unwrap();
        assert_eq!(w.read().unwrap(), OomEvent::Gone);
    }

    #[test]
    fn v2_fd_is_readable_after_a_change() {
        let d = Dir::new("poll");
        events(d.path(), 0, 0);
        let w = OomWatch::v2(d.path()).unwrap();
        let mut pfd = libc::pollfd {
            fd: w.as_fd().as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, no wait.
        assert_eq!(unsafe { libc::poll(&mut pfd, 1, 0) }, 0);
        events(d.path(), 1, 1);
        // SAFETY: one valid pollfd, no wait.
        assert_eq!(unsafe { libc::poll(&mut pfd, 1, 0) }, 1);
    }

    #[test]
    fn a_missing_memory_events_file_is_an_error() {
        let d = Dir::new("missing");
        assert!(OomWatch::v2(d.path()).is_err());
        assert!(OomWatch::v1(d.path()).is_err());
    }
}
