//! The supervisor: holds the container's stdout/stderr pipes, copies each chunk to its
//! attached caller (or, without one, to its own stdout/stderr) and to the container log,
//! forwards SIGINT/SIGTERM/SIGHUP/SIGQUIT, and waits for the container's first process.
//! It runs in the supervisor process of [`crate::attach`], foreground or `-d` alike; when
//! the caller goes away it detaches and goes on logging.

use super::Started;
use crate::attach::Link;
use crate::exit_code;
use crate::sys;
use bocker_store::log::{LogWriter, Stream};
use std::io;
use std::os::fd::{AsRawFd, RawFd};

/// Signals passed on to the container.
pub const FORWARDED: [libc::c_int; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];

/// Block the forwarded signals and SIGCHLD so they queue for the supervisor's signalfd.
/// Must run before the child is cloned (the child unblocks them before its exec).
pub fn block_signals() -> io::Result<()> {
    sys::sigprocmask(libc::SIG_BLOCK, &handled_set())
}

fn handled_set() -> libc::sigset_t {
    let mut list = FORWARDED.to_vec();
    list.push(libc::SIGCHLD);
    sys::sigset(&list)
}

/// Copy output and forward signals until the container's first process has exited and
/// both pipes are closed; returns its exit status (128+N after signal N).
pub fn supervise(
    child: Started,
    mut log: Option<&mut LogWriter>,
    link: &mut Link,
) -> io::Result<i32> {
    let sig = sys::signalfd(&handled_set())?;
    let mut status: Option<i32> = None;
    // `-t`: the pty master is the container's stdout (its stderr pipe stays silent).
    let out_fd = child.pty.as_ref().unwrap_or(&child.stdout).as_raw_fd();
    let tty_in = |on: bool, fd: RawFd| if on && child.pty.is_some() { fd } else { -1 };
    let mut fds = [
        libc::pollfd {
            fd: out_fd,
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: child.stderr.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: sig.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: link.hold.as_ref().map_or(-1, |h| h.as_raw_fd()),
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: tty_in(link.stdin, 0),
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: tty_in(true, link.ctl.as_ref().map_or(-1, |c| c.as_raw_fd())),
            events: libc::POLLIN,
            revents: 0,
        },
        // `bocker attach` callers knock here (`-d`, or a foreground run whose caller
        // has gone); an attached one's keys come next.
        libc::pollfd {
            fd: link.listener.as_ref().map_or(-1, |l| l.as_raw_fd()),
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: -1,
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    let mut buf = vec![0u8; 64 * 1024];
    // SIGCHLD may have been queued before the signalfd existed: check once up front.
    status = status.or_else(|| try_reap(child.pid));
    while fds[0].fd >= 0 || fds[1].fd >= 0 || status.is_none() {
        sys::poll(&mut fds)?;
        for (i, stream, out_fd) in [(0, Stream::Stdout, 1), (1, Stream::Stderr, 2)] {
            if fds[i].fd < 0 || fds[i].revents == 0 {
                continue;
            }
            let n = sys::read(fds[i].fd, &mut buf).unwrap_or(0);
            if n == 0 {
                fds[i].fd = -1;
                continue;
            }
            // The caller may be gone: the log still gets everything.
            let to = match (link.has_caller(), i) {
                (false, _) => Some(out_fd),
                (true, 0) => link.out.as_ref().map(|f| f.as_raw_fd()),
                (true, _) => link.err.as_ref().map(|f| f.as_raw_fd()),
            };
            if let Some(to) = to {
                if sys::write_all(to, &buf[..n]).is_err() && link.has_caller() {
                    link.detach_stdio();
                    fds[3].fd = -1;
                    fds[6].fd = link.listen_late();
                }
            }
            if let Some(log) = log.as_deref_mut() {
                log.write(stream, &buf[..n])?;
            }
        }
        if fds[3].revents != 0 {
            // The caller hung up: detached from now on, and attachable.
            link.detach_stdio();
            fds[3].fd = -1;
            fds[6].fd = link.listen_late();
        }
        if let (true, Some(master)) = (fds[4].revents != 0, &child.pty) {
            // The caller's keys, to the pty (its line discipline makes ^C a SIGINT).
            let n = sys::read(0, &mut buf).unwrap_or(0);
            if n == 0 || sys::write_all(master.as_raw_fd(), &buf[..n]).is_err() {
                fds[4].fd = -1;
            }
        }
        if let (true, Some(master)) = (fds[5].revents != 0, &child.pty) {
            // Window sizes: 4 bytes each, rows and columns (u16, native order).
            let n = sys::read(fds[5].fd, &mut buf[..64]).unwrap_or(0);
            if n == 0 {
                fds[5].fd = -1;
            }
            for ws in buf[..n - n % 4].chunks(4) {
                let size = libc::winsize {
                    ws_row: u16::from_ne_bytes([ws[0], ws[1]]),
                    ws_col: u16::from_ne_bytes([ws[2], ws[3]]),
                    ws_xpixel: 0,
                    ws_ypixel: 0,
                };
                let _ = sys::tty::set_window_size(master.as_raw_fd(), &size);
            }
        }
        if fds[6].revents != 0 && link.accept() {
            let fd = |f: &Option<std::os::fd::OwnedFd>| f.as_ref().map_or(-1, |f| f.as_raw_fd());
            fds[3].fd = fd(&link.hold);
            fds[5].fd = tty_in(true, fd(&link.ctl));
            fds[7].fd = fd(&link.keys);
        }
        if fds[7].revents != 0 {
            // An attached caller's keys: to the pty, else to the held stdin pipe.
            let to = child.pty.as_ref().or(link.stdin_w.as_ref());
            let n = sys::read(fds[7].fd, &mut buf).unwrap_or(0);
            if n == 0 || to.is_none_or(|t| sys::write_all(t.as_raw_fd(), &buf[..n]).is_err()) {
                link.keys = None;
                fds[7].fd = -1;
            }
        }
        if link.hold.is_none() {
            // Detached (again): nothing of a gone caller is polled.
            fds[7].fd = -1;
        }
        if fds[2].revents != 0 {
            handle_signal(sig.as_raw_fd(), child.pid, &mut status)?;
        }
    }
    Ok(status.unwrap_or(exit_code::ENGINE))
}

fn try_reap(pid: libc::pid_t) -> Option<i32> {
    sys::try_wait(pid).map(|(_, st)| exit_code::from_wait_status(st))
}

fn handle_signal(fd: RawFd, pid: libc::pid_t, status: &mut Option<i32>) -> io::Result<()> {
    let Some(signo) = sys::read_signal(fd) else {
        return Ok(());
    };
    if signo == libc::SIGCHLD {
        if status.is_none() {
            *status = try_reap(pid);
        }
    } else if status.is_none() {
        // Our own child; it may have exited meanwhile.
        let _ = sys::kill(pid, signo);
    }
    Ok(())
}
