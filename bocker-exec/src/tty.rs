//! `-t`: a pseudo-terminal from the container's own devpts (its /dev/pts/ptmx, opened
//! after entering its mount namespace, so the slave is a /dev/pts/N of the container),
//! the caller's terminal in raw mode while attached, and the window size passed through.

use crate::sys;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};

/// A pty pair: the master stays with us, the slave becomes the command's stdio.
pub struct Pty {
    pub master: OwnedFd,
    pub slave: OwnedFd,
}

/// Open a new pty in the devpts instance mounted at /dev/pts of the current mount
/// namespace (the container's), sized like the caller's terminal if there is one.
pub fn open() -> io::Result<Pty> {
    let master = sys::open(c"/dev/pts/ptmx", libc::O_RDWR | libc::O_NOCTTY)
        .map_err(|e| io::Error::new(e.kind(), format!("opening /dev/pts/ptmx: {e}")))?;
    // Opened with our privileges and outside the container's device cgroup: it must be
    // the multiplexer itself (char 5:2), nothing else the container could put there.
    let st = std::fs::File::from(master.try_clone()?).metadata()?;
    if !(st.file_type().is_char_device() && st.rdev() == libc::makedev(5, 2)) {
        return Err(io::Error::other("/dev/pts/ptmx is not the pty multiplexer"));
    }
    sys::unlock_pty(&master)?;
    let slave = sys::pty_peer(&master)?;
    pass_window_size(master.as_raw_fd());
    Ok(Pty { master, slave })
}

/// Copy the caller's window size (stdin's terminal, else stdout's) to the pty `master`;
/// the command's foreground group then gets SIGWINCH. Without a terminal, nothing.
pub fn pass_window_size(master: RawFd) {
    if let Some(ws) = [0, 1].into_iter().find_map(|fd| sys::window_size(fd).ok()) {
        let _ = sys::set_window_size(master, &ws);
    }
}

/// The caller's terminal in raw mode, restored when dropped (on every return path,
/// errors included: the binary never panics while attached).
pub struct RawMode {
    fd: RawFd,
    saved: libc::termios,
}

impl RawMode {
    /// Put the terminal on `fd` in raw mode; `None` when `fd` is not a terminal.
    pub fn enter(fd: RawFd) -> io::Result<Option<RawMode>> {
        if !sys::isatty(fd) {
            return Ok(None);
        }
        let saved = sys::termios(fd)?;
        sys::set_termios(fd, &sys::raw(&saved))?;
        Ok(Some(RawMode { fd, saved }))
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = sys::set_termios(self.fd, &self.saved);
    }
}
