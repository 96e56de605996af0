//! The raw syscalls `exec` needs (pidfd, setns, fork, pipes, terminals, signals),
//! each behind a small typed wrapper; every `unsafe` block says why it is sound. The
//! calls other crates share are bocker-sys's, re-exported here under the same names.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use bocker_sys::sys::cvt;
pub use bocker_sys::sys::{
    chdir, dup2, exit_now, open, pipe, read, read_signal, setsid, sigprocmask, sigset, write_all,
};

fn cvt_long(r: libc::c_long) -> io::Result<libc::c_long> {
    if r == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Takes ownership of an fd the kernel just returned.
fn owned(fd: libc::c_long) -> OwnedFd {
    // SAFETY: callers pass a descriptor a syscall has just created; nothing else owns it.
    unsafe { OwnedFd::from_raw_fd(fd as RawFd) }
}

/// `pidfd_open(2)`: a handle on process `pid` that can never come to mean another
/// process, even after `pid` is recycled. ESRCH when no such process exists.
pub fn pidfd_open(pid: libc::pid_t) -> io::Result<OwnedFd> {
    // SAFETY: integer arguments only; the result is a new fd.
    let fd = cvt_long(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) })?;
    Ok(owned(fd))
}

/// True while the process behind `pidfd` has not been reaped (signal 0 only checks).
pub fn pidfd_alive(pidfd: &OwnedFd) -> bool {
    // SAFETY: signal 0 to a valid pidfd with no siginfo: nothing is delivered.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            0,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    r == 0
}

/// `setns(2)` on a pidfd with several `CLONE_NEW*` flags: the caller joins all those
/// namespaces of that process at once (Linux 5.8+), or none of them.
pub fn setns(pidfd: &OwnedFd, flags: libc::c_int) -> io::Result<()> {
    // SAFETY: a valid fd and integer flags.
    cvt(unsafe { libc::setns(pidfd.as_raw_fd(), flags) }).map(drop)
}

/// What `fork` returned on this side.
pub enum Fork {
    Child,
    Parent(libc::pid_t),
}

/// `fork(2)`. Only called while this process is single-threaded, so the child may run
/// any code of ours (no lock can be held by a thread that does not exist in it).
pub fn fork() -> io::Result<Fork> {
    // SAFETY: the process is single-threaded at this point (see above).
    match cvt(unsafe { libc::fork() })? {
        0 => Ok(Fork::Child),
        pid => Ok(Fork::Parent(pid)),
    }
}

/// Blocking `waitpid` for our own child; returns the raw wait status.
pub fn wait(pid: libc::pid_t) -> io::Result<libc::c_int> {
    let mut status = 0;
    loop {
        // SAFETY: waiting for our own child into a local.
        if unsafe { libc::waitpid(pid, &mut status, 0) } == pid {
            return Ok(status);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Non-blocking `waitpid`: the raw status once the child has exited.
pub fn try_wait(pid: libc::pid_t) -> Option<libc::c_int> {
    let mut status = 0;
    // SAFETY: non-blocking wait for our own child into a local.
    let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    (r == pid).then_some(status)
}

/// Send `sig` to our own child.
pub fn kill(pid: libc::pid_t, sig: libc::c_int) {
    // SAFETY: signalling a positive pid (our child); no memory involved.
    unsafe { libc::kill(pid, sig) };
}

/// Mark every fd from 3 up close-on-exec: nothing of the host reaches the command.
pub fn cloexec_from_3() -> io::Result<()> {
    // SAFETY: integer arguments; only sets a flag on our own descriptors.
    cvt(unsafe {
        libc::close_range(
            3,
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC as libc::c_int,
        )
    })
    .map(drop)
}

/// A signalfd for `signals` (which must be blocked).
pub fn signalfd(signals: &[libc::c_int]) -> io::Result<OwnedFd> {
    // SAFETY: a valid set; the result is a new fd.
    let fd = cvt(unsafe { libc::signalfd(-1, &sigset(signals), libc::SFD_CLOEXEC) })?;
    Ok(owned(fd.into()))
}

/// `poll(2)` retrying on EINTR; `timeout_ms` -1 waits forever.
pub fn poll(fds: &mut [libc::pollfd], timeout_ms: libc::c_int) -> io::Result<usize> {
    loop {
        // SAFETY: fds is a valid array of pollfd of the given length.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Terminal control is the runtime's (`run -t` uses the same calls).
pub use bocker_run::sys::tty::{isatty, raw, set_termios, set_window_size, termios, window_size};

/// Unlock a pty master's peer (what `unlockpt` does).
pub fn unlock_pty(master: &OwnedFd) -> io::Result<()> {
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK reads one int from a valid pointer.
    cvt(unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock) }).map(drop)
}

/// Open a pty master's peer through the master itself (TIOCGPTPEER, Linux 4.13+): no
/// path lookup in /dev/pts, so nothing in the container can swap the slave under us.
pub fn pty_peer(master: &OwnedFd) -> io::Result<OwnedFd> {
    let flags = libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC;
    // SAFETY: TIOCGPTPEER takes integer open flags and returns a new fd.
    let fd = cvt(unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGPTPEER, flags) })?;
    Ok(owned(fd.into()))
}

/// Make the terminal on `fd` the controlling terminal of this (new) session.
pub fn set_controlling_tty(fd: RawFd) -> io::Result<()> {
    // SAFETY: TIOCSCTTY takes an integer argument.
    cvt(unsafe { libc::ioctl(fd, libc::TIOCSCTTY, 0) }).map(drop)
}

/// One `write(2)`, retrying on EINTR; returns how much was written.
pub fn write(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    loop {
        // SAFETY: buf is a valid slice of the given length.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Set O_NONBLOCK on the open file description behind `fd`.
pub fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: F_GETFL/F_SETFL with integer flags on a valid fd.
    let flags = cvt(unsafe { libc::fcntl(fd, libc::F_GETFL) })?;
    // SAFETY: as above.
    cvt(unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) }).map(drop)
}
