//! The container's network namespace, made ahead of its process. Creating one is the
//! slowest part of the container's `clone` (every per-namespace subsystem sets itself
//! up: ~0.7 ms on the benchmark VM, docs/BENCHMARKS.md), and nothing in it depends on
//! the container: a thread of the supervisor makes it (`unshare(CLONE_NEWNET)`) while
//! the supervisor does the store's work, then the child joins it (`setns`) first thing
//! instead of creating one. Same owner (the host's user namespace, as a clone from
//! this process gives) and same end: the supervisor lets go of it once the child has
//! exec'd, so it lives exactly as long as the container's processes.

use crate::sys;
use std::io;
use std::os::fd::OwnedFd;
use std::thread::JoinHandle;

/// A network namespace being made on a thread of its own ([`ahead`]).
pub struct Ahead {
    thread: JoinHandle<io::Result<OwnedFd>>,
}

/// Starts making a new network namespace; [`Ahead::join`] gives it. Its interfaces
/// (`lo` too) are the network step's, as for one made by the clone.
pub fn ahead() -> io::Result<Ahead> {
    let thread = std::thread::Builder::new()
        .name("netns".into())
        .spawn(make)?;
    Ok(Ahead { thread })
}

impl Ahead {
    /// The namespace (`/proc/thread-self/ns/net` of the thread that made it), once made.
    pub fn join(self) -> io::Result<OwnedFd> {
        self.thread
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }
}

/// On its own thread (namespaces are per thread; this one ends right after): a new
/// network namespace for it, named by an fd that outlives it.
fn make() -> io::Result<OwnedFd> {
    // Never this thread's signals: the supervisor's go to its signalfd once it has
    // blocked them, which happens while this thread may still live.
    let all: Vec<libc::c_int> = (1..=libc::SIGRTMAX()).collect();
    sys::sigprocmask(libc::SIG_BLOCK, &sys::sigset(&all))?;
    sys::unshare(libc::CLONE_NEWNET)?;
    Ok(OwnedFd::from(std::fs::File::open(
        "/proc/thread-self/ns/net",
    )?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn a_namespace_made_ahead_is_new_and_ours_stays() {
        let ours = std::fs::metadata("/proc/thread-self/ns/net").unwrap();
        let Ok(ahead) = ahead() else { return };
        let ns = match ahead.join() {
            Ok(ns) => ns,
            // Not root: no namespace to make here.
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => return,
            Err(e) => panic!("{e}"),
        };
        let made = std::fs::metadata(format!("/proc/self/fd/{}", ns.as_raw_fd())).unwrap();
        assert_ne!((made.dev(), made.ino()), (ours.dev(), ours.ino()));
        // This thread never moved.
        let still = std::fs::metadata("/proc/thread-self/ns/net").unwrap();
        assert_eq!(still.ino(), ours.ino());
    }
}
