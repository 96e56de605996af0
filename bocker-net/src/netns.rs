//! Naming another process's network namespace and running code inside it.

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::MetadataExt;

use nix::sched::{setns, CloneFlags};

use crate::error::{IoContext, NetError, Result};

/// A network namespace: an open `/proc/PID/ns/net` (or any nsfs) file, or a pid.
#[derive(Debug, Clone, Copy)]
pub enum Netns<'a> {
    Fd(BorrowedFd<'a>),
    Pid(i32),
}

impl<'a> From<BorrowedFd<'a>> for Netns<'a> {
    fn from(fd: BorrowedFd<'a>) -> Self {
        Netns::Fd(fd)
    }
}

impl From<i32> for Netns<'_> {
    fn from(pid: i32) -> Self {
        Netns::Pid(pid)
    }
}

/// A namespace held open for the length of an operation.
pub(crate) enum Held<'a> {
    Borrowed(BorrowedFd<'a>),
    Owned(OwnedFd),
}

impl Held<'_> {
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        match self {
            Held::Borrowed(fd) => *fd,
            Held::Owned(fd) => fd.as_fd(),
        }
    }

    /// Refuse the caller's own namespace: plumbing "eth0" into the host's
    /// namespace would take over the host's network.
    pub(crate) fn check_not_own(&self) -> Result<()> {
        let theirs = std::fs::metadata(format!("/proc/self/fd/{}", self.fd().as_raw_fd()))
            .ctx(|| "inspecting the target network namespace".to_string())?;
        let ours = std::fs::metadata("/proc/thread-self/ns/net")
            .ctx(|| "inspecting our own network namespace".to_string())?;
        if (theirs.dev(), theirs.ino()) == (ours.dev(), ours.ino()) {
            return Err(NetError::HostNamespace);
        }
        Ok(())
    }
}

impl<'a> Netns<'a> {
    pub(crate) fn hold(self) -> Result<Held<'a>> {
        match self {
            Netns::Fd(fd) => Ok(Held::Borrowed(fd)),
            Netns::Pid(pid) => {
                let path = format!("/proc/{pid}/ns/net");
                let file =
                    File::open(&path).ctx(|| format!("opening the network namespace {path}"))?;
                Ok(Held::Owned(OwnedFd::from(file)))
            }
        }
    }
}

/// Run `f` on a short-lived thread that has joined the namespace `ns`; sockets
/// it opens live in that namespace. The calling thread never moves.
pub(crate) fn in_netns<T: Send>(
    ns: BorrowedFd<'_>,
    f: impl FnOnce() -> Result<T> + Send,
) -> Result<T> {
    std::thread::scope(|s| {
        s.spawn(move || {
            setns(ns, CloneFlags::CLONE_NEWNET)
                .map_err(|e| NetError::io("entering the network namespace", e.into()))?;
            f()
        })
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}
