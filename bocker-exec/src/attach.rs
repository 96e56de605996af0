//! Attached to a started command until it exits: its output copied to ours, our stdin
//! copied to it (`-i`), signals forwarded, window size passed on (`-t`); returns its
//! exit status (128+N after signal N).
//!
//! One poll loop, no threads: after `setns` into the container's pid namespace the
//! kernel refuses to create threads (EINVAL), and a loop cannot deadlock anyway: our
//! writes to the command are non-blocking and buffered, so a command that writes much
//! before it reads is still drained.

use crate::process::{Attached, Started, HANDLED};
use crate::runtime::exit_code;
use crate::{sys, tty};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// How long to keep draining a pty once the command has exited: only a background
/// process of the command still holding the terminal makes us wait this long.
const PTY_DRAIN_MS: libc::c_int = 200;

/// Our stdin on its way to the command: what was read and not yet written.
struct Input {
    to: OwnedFd,
    pending: Vec<u8>,
    /// Pipes are closed at our EOF (the command then sees EOF); a pty master is kept.
    close_at_eof: bool,
    eof: bool,
}

impl Input {
    fn new(to: OwnedFd, close_at_eof: bool) -> io::Result<Input> {
        sys::set_nonblocking(to.as_raw_fd())?;
        Ok(Input {
            to,
            pending: Vec::new(),
            close_at_eof,
            eof: false,
        })
    }

    /// What to poll: our stdin while nothing is pending, else the command's side.
    fn pollfd(&self) -> libc::pollfd {
        let (fd, events) = match self.pending.is_empty() {
            true => (0, libc::POLLIN),
            false => (self.to.as_raw_fd(), libc::POLLOUT),
        };
        libc::pollfd {
            fd,
            events,
            revents: 0,
        }
    }

    /// Move data one step; false once this input is finished.
    fn step(&mut self, buf: &mut [u8]) -> bool {
        if self.pending.is_empty() {
            match sys::read(0, buf) {
                Ok(n @ 1..) => self.pending.extend_from_slice(&buf[..n]),
                _ => self.eof = true,
            }
        }
        if !self.pending.is_empty() {
            match sys::write(self.to.as_raw_fd(), &self.pending) {
                Ok(n) => drop(self.pending.drain(..n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return false, // the command stopped reading
            }
        }
        !(self.eof && self.pending.is_empty())
    }
}

/// Wait for the command, relaying its I/O; `stdin` says whether ours goes to it.
pub fn attach(started: Started, stdin: bool) -> io::Result<i32> {
    let signals = sys::signalfd(&HANDLED)?;
    let pid = started.pid;
    // (source, our fd it goes to); a source is dropped at its EOF.
    let mut outputs: Vec<(OwnedFd, RawFd)> = Vec::new();
    let mut input: Option<Input> = None;
    let mut pty: Option<RawFd> = None;
    let mut _raw = None;
    match started.io {
        Attached::Detached => return Ok(0),
        Attached::Pipes {
            stdin: to_cmd,
            stdout,
            stderr,
        } => {
            if let Some(w) = to_cmd {
                input = Some(Input::new(w, true)?);
            }
            outputs.push((stdout, 1));
            outputs.push((stderr, 2));
        }
        Attached::Tty(master) => {
            if stdin {
                _raw = tty::RawMode::enter(0)?;
                input = Some(Input::new(master.try_clone()?, false)?);
            }
            pty = Some(master.as_raw_fd());
            outputs.push((master, 1));
        }
    }
    let mut status = sys::try_wait(pid);
    let mut buf = vec![0u8; 64 * 1024];
    while !outputs.is_empty() || status.is_none() {
        let mut fds: Vec<libc::pollfd> = outputs
            .iter()
            .map(|(fd, _)| libc::pollfd {
                fd: fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            })
            .chain([libc::pollfd {
                fd: signals.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            }])
            .chain(input.iter().filter(|i| !i.eof).map(Input::pollfd))
            .collect();
        let timeout = match (status, pty) {
            (Some(_), Some(_)) => PTY_DRAIN_MS,
            _ => -1,
        };
        if sys::poll(&mut fds, timeout)? == 0 {
            break; // exited, and its terminal quiet: what is left is a background holder's
        }
        let mut closed = Vec::new();
        for (i, (src, dst)) in outputs.iter().enumerate() {
            if fds[i].revents == 0 {
                continue;
            }
            match sys::read(src.as_raw_fd(), &mut buf) {
                // Our own stdout may be gone: the command still runs to its end.
                Ok(n @ 1..) => drop(sys::write_all(*dst, &buf[..n])),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // EOF, or EIO from a pty master whose every slave is closed.
                _ => closed.push(i),
            }
        }
        let sig_at = outputs.len();
        for i in closed.into_iter().rev() {
            outputs.remove(i);
        }
        if fds.get(sig_at + 1).is_some_and(|f| f.revents != 0) {
            if let Some(inp) = input.as_mut() {
                if !inp.step(&mut buf) {
                    // Finished: a pipe is closed; a pty master stays (it is our output).
                    inp.eof = true;
                    inp.pending.clear();
                    if inp.close_at_eof {
                        input = None;
                    }
                }
            }
        }
        if fds[sig_at].revents != 0 {
            match sys::read_signal(signals.as_raw_fd()) {
                Some(libc::SIGCHLD) => status = status.or_else(|| sys::try_wait(pid)),
                Some(libc::SIGWINCH) => {
                    if let Some(m) = pty {
                        tty::pass_window_size(m);
                    }
                }
                Some(sig) if status.is_none() => sys::kill(pid, sig),
                _ => {}
            }
        }
    }
    let status = match status {
        Some(s) => s,
        None => sys::wait(pid)?,
    };
    Ok(exit_code::from_wait_status(status))
}
