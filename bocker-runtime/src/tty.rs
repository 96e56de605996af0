//! A terminal without `--console-socket`: runc's "new terminal" in the foreground
//! (runc `docs/terminals.md`). `run` of a spec with `process.terminal` and no socket
//! takes the pty master itself (over a socket of its own, through the same
//! `--console-socket` path the init always uses), starts the container and relays the
//! pty to its own stdio until the container exits: the caller's terminal in raw mode
//! while attached (restored on every return path), its window size passed on at start
//! and on SIGWINCH, SIGINT/SIGTERM/SIGHUP/SIGQUIT forwarded to the init (bocker-exec's
//! [`attach`](bocker_exec::attach::attach) loop, the one `bocker exec -it` uses).
//! Detached (`create`, `run -d`) a terminal needs a socket: runc's error, [`DETACHED`].

use crate::lifecycle::{self, CreateOptions, LifecycleError};
use bocker_exec::process::{Attached, Started, HANDLED};
use bocker_run::oci::OciError;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

type Result<T> = std::result::Result<T, LifecycleError>;

/// runc's error for a terminal with nowhere to go (`create`, `run -d` without
/// `--console-socket`).
pub const DETACHED: &str = "cannot allocate tty if runc will detach without setting console socket";

/// Whether `e` is the init's refusal of a terminal without a console socket (shown to
/// the user as [`DETACHED`]).
pub fn is_detached_terminal(e: &LifecycleError) -> bool {
    matches!(e, LifecycleError::Oci(OciError::Unsupported(m)) if m.starts_with("process.terminal"))
}

/// Whether the bundle's spec asks for a terminal (false when it cannot be read: `create`
/// then reports why).
pub fn wants_terminal(bundle: &Path) -> bool {
    lifecycle::load_spec(bundle)
        .ok()
        .and_then(|(spec, _)| spec.process().as_ref().and_then(|p| p.terminal()))
        .unwrap_or(false)
}

/// A private directory for our console socket, removed when dropped.
struct SocketDir(PathBuf);

impl SocketDir {
    fn new() -> Result<SocketDir> {
        use std::os::unix::fs::DirBuilderExt;
        let name = format!(
            "bocker-runtime-tty-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0)
        );
        let dir = std::env::temp_dir().join(name);
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(io_err(dir.display().to_string()))?;
        Ok(SocketDir(dir))
    }

    fn socket(&self) -> PathBuf {
        self.0.join("console")
    }
}

impl Drop for SocketDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(self.socket());
        let _ = std::fs::remove_dir(&self.0);
    }
}

fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> LifecycleError {
    let what = what.into();
    move |source| LifecycleError::Io { what, source }
}

/// `run` in the foreground on a new terminal: create with our own console socket, take
/// the master, start, relay until the init exits, delete; the init's status (128+N
/// after signal N).
pub fn run(root: &Path, id: &str, opts: &CreateOptions) -> Result<i32> {
    let dir = SocketDir::new()?;
    let listener = UnixListener::bind(dir.socket()).map_err(io_err("the console socket"))?;
    let opts = CreateOptions {
        console_socket: Some(dir.socket()),
        ..opts.clone()
    };
    let record = lifecycle::create(root, id, &opts)?;
    drop(dir);
    let status = attach(root, id, record.state.pid, &listener);
    let deleted = lifecycle::delete(root, id, true);
    let status = status?;
    deleted.map(|()| status)
}

fn attach(root: &Path, id: &str, pid: i32, listener: &UnixListener) -> Result<i32> {
    // `create` connected before it cloned the init, and the init sent the master
    // before reporting ready: both are queued by now, nothing blocks.
    listener
        .set_nonblocking(true)
        .map_err(io_err("the console socket"))?;
    let (conn, _) = listener
        .accept()
        .map_err(io_err("the container's terminal"))?;
    let master = bocker_run::sys::tty::recv_fd(conn.as_raw_fd())
        .map_err(io_err("the container's terminal"))?
        .ok_or_else(|| {
            io_err("the container's terminal")(io::Error::other("no pty master received"))
        })?;
    bocker_exec::tty::pass_window_size(master.as_raw_fd());
    lifecycle::start(root, id)?;
    // Blocked for the attach loop's signalfd (forwarded or handled there), after `start`
    // so that poststart hooks do not inherit the mask. A SIGCHLD before this is not
    // lost: the loop looks for the init's exit first.
    bocker_exec::sys::sigprocmask(libc::SIG_BLOCK, &bocker_exec::sys::sigset(&HANDLED))
        .map_err(io_err("signal mask"))?;
    let started = Started {
        pid,
        io: Attached::Tty(master),
    };
    bocker_exec::attach::attach(started, true).map_err(io_err("the container's terminal"))
}
