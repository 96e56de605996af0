//! The command's process: fork (the child is born in the container's pid namespace,
//! which `setns` only sets for children), then in the child the privilege sequence of
//! the container's first process ([`Confine`]: bocker's own for `bocker exec`, the OCI
//! spec's for `bocker-runtime exec`), up to `execve`. A close-on-exec
//! error pipe tells the parent how the start went: EOF means the exec succeeded,
//! otherwise one status byte (125/126/127) and a message.

use crate::runtime::{self, exit_code, ExecUser, StartFailure};
use crate::spec::ExecSpec;
use crate::sys::{self, Fork};
use crate::tty::Pty;
use std::convert::Infallible;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

/// Signals the parent handles through a signalfd while attached: the child's exit, the
/// caller's window size, and those forwarded to the command. Blocked before the fork
/// so none is lost; the child unblocks everything before its exec.
pub const HANDLED: [libc::c_int; 6] = [
    libc::SIGCHLD,
    libc::SIGWINCH,
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
];

/// The parent's ends of the command's stdio.
pub enum Attached {
    /// `-d`: the command reads and writes the container's /dev/null.
    Detached,
    /// Pipes: stdin (`-i` only), stdout, stderr.
    Pipes {
        stdin: Option<OwnedFd>,
        stdout: OwnedFd,
        stderr: OwnedFd,
    },
    /// `-t`: the pty master.
    Tty(OwnedFd),
}

/// A started command.
pub struct Started {
    pub pid: libc::pid_t,
    pub io: Attached,
}

/// Where the command's stdio comes from.
pub enum Stdio {
    /// The container's /dev/null (`bocker exec -d`).
    Null,
    /// New pipes, stdin too when asked (`-i`).
    Pipes { stdin: bool },
    /// A pty's slave (`-t`); the master is returned in [`Attached::Tty`].
    Tty(Pty),
    /// Ours, as they are (`bocker-runtime exec`: the shim's pipes or fifos).
    Inherit,
}

impl Stdio {
    /// `bocker exec`'s choice: `-d` the null device, `-t` the pty, else pipes.
    pub fn for_exec(spec: &ExecSpec, pty: Option<Pty>) -> Stdio {
        match (spec.detach, pty) {
            (true, _) => Stdio::Null,
            (false, Some(p)) => Stdio::Tty(p),
            (false, None) => Stdio::Pipes { stdin: spec.stdin },
        }
    }
}

/// The privilege sequence of a command in the container, in runc's order: the child
/// calls [`Confine::drop_privileges`], enters the working directory as the user, marks
/// fds close-on-exec, then [`Confine::seal`] right before `execve`.
pub trait Confine {
    /// From the privileged runtime to `who`.
    fn drop_privileges(&self, who: &ExecUser) -> Result<(), StartFailure>;
    /// The last steps before `execve` (`no_new_privs`, a late filter, signal actions).
    fn seal(&self) -> Result<(), StartFailure>;
}

impl Confine for runtime::Confinement {
    fn drop_privileges(&self, who: &ExecUser) -> Result<(), StartFailure> {
        runtime::Confinement::drop_privileges(self, who)
            .map_err(|e| StartFailure::engine(e.to_string()))
    }

    fn seal(&self) -> Result<(), StartFailure> {
        runtime::Confinement::seal(self).map_err(|e| StartFailure::engine(e.to_string()))
    }
}

impl Confine for runtime::OciConfinement {
    fn drop_privileges(&self, who: &ExecUser) -> Result<(), StartFailure> {
        runtime::OciConfinement::drop_privileges(self, who)
            .map_err(|e| StartFailure::engine(e.to_string()))
    }

    fn seal(&self) -> Result<(), StartFailure> {
        let sealed = runtime::OciConfinement::seal(self).and_then(|()| {
            runtime::default_signal_actions();
            self.late_filter()
        });
        sealed.map_err(|e| StartFailure::engine(e.to_string()))
    }
}

/// The child's ends.
enum ChildIo {
    Null,
    Pipes {
        stdin: Option<OwnedFd>,
        stdout: OwnedFd,
        stderr: OwnedFd,
    },
    Tty(OwnedFd),
    Inherit,
}

fn engine(what: &'static str) -> impl Fn(io::Error) -> StartFailure {
    move |e| StartFailure::engine(format!("{what}: {e}"))
}

/// Fork the command with its stdio from `io`, confined by `confine`, and wait until it
/// has exec'd. Must be called single-threaded, after entering the container; `join`
/// runs first in the child (it joins the container's cgroup).
pub fn spawn(
    spec: &ExecSpec,
    user: &ExecUser,
    io: Stdio,
    confine: &dyn Confine,
    join: impl FnOnce() -> io::Result<()>,
) -> Result<Started, StartFailure> {
    let (io, child_io) = stdio(io).map_err(engine("creating stdio"))?;
    let (err_r, err_w) = sys::pipe().map_err(engine("creating a pipe"))?;
    sys::sigprocmask(libc::SIG_BLOCK, &sys::sigset(&HANDLED)).map_err(engine("signals"))?;
    let pid = match sys::fork().map_err(engine("fork"))? {
        Fork::Child => {
            drop((io, err_r));
            let failure = match join()
                .map_err(engine("cgroup"))
                .and_then(|()| child(spec, user, child_io, confine))
            {
                Ok(never) => match never {},
                Err(f) => f,
            };
            let mut msg = vec![failure.code as u8];
            msg.extend_from_slice(failure.message.as_bytes());
            let _ = sys::write_all(err_w.as_raw_fd(), &msg);
            sys::exit_now(failure.code);
        }
        Fork::Parent(pid) => pid,
    };
    drop((child_io, err_w));
    let mut msg = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n @ 1..) = sys::read(err_r.as_raw_fd(), &mut buf) {
        msg.extend_from_slice(&buf[..n]);
    }
    if let Some((&code, text)) = msg.split_first() {
        let _ = sys::wait(pid);
        return Err(StartFailure {
            code: i32::from(code),
            message: String::from_utf8_lossy(text).into_owned(),
        });
    }
    Ok(Started { pid, io })
}

fn stdio(io: Stdio) -> io::Result<(Attached, ChildIo)> {
    let stdin = match io {
        Stdio::Null => return Ok((Attached::Detached, ChildIo::Null)),
        Stdio::Inherit => return Ok((Attached::Detached, ChildIo::Inherit)),
        Stdio::Tty(p) => return Ok((Attached::Tty(p.master), ChildIo::Tty(p.slave))),
        Stdio::Pipes { stdin } => stdin,
    };
    let (stdin_r, stdin_w) = match stdin {
        true => sys::pipe().map(|(r, w)| (Some(r), Some(w)))?,
        false => (None, None),
    };
    let (out_r, out_w) = sys::pipe()?;
    let (err_r, err_w) = sys::pipe()?;
    Ok((
        Attached::Pipes {
            stdin: stdin_w,
            stdout: out_r,
            stderr: err_r,
        },
        ChildIo::Pipes {
            stdin: stdin_r,
            stdout: out_w,
            stderr: err_w,
        },
    ))
}

/// The child, from fork to execve; returns only on failure.
fn child(
    spec: &ExecSpec,
    user: &ExecUser,
    io: ChildIo,
    confinement: &dyn Confine,
) -> Result<Infallible, StartFailure> {
    // Its own session: the caller's terminal signals reach us, and we forward them.
    sys::setsid().map_err(engine("setsid"))?;
    child_stdio(io).map_err(engine("stdio"))?;
    let mut env = spec.env.clone();
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={}", user.home));
    }
    let path = runtime::lookup(&spec.argv[0], &env)?;
    let (argv, envp) = (
        runtime::to_cstrings(&spec.argv)?,
        runtime::to_cstrings(&env)?,
    );
    let cwd = CString::new(spec.cwd.as_str())
        .map_err(|_| StartFailure::engine("NUL byte in the working directory"))?;
    // The container's confinement, in runc's order.
    confinement.drop_privileges(user)?;
    // As the user, like runc: Docker reports a bad -w as an exec failure (126).
    sys::chdir(&cwd).map_err(|e| StartFailure {
        code: exit_code::CANNOT_INVOKE,
        message: format!("chdir to {}: {e}", spec.cwd),
    })?;
    runtime::preserve_fds(spec.preserve_fds).map_err(engine("close_range"))?;
    confinement.seal()?;
    sys::sigprocmask(libc::SIG_SETMASK, &sys::sigset(&[])).map_err(engine("signal mask"))?;
    Err(runtime::execve(&path, &argv, &envp))
}

fn child_stdio(io: ChildIo) -> io::Result<()> {
    match io {
        ChildIo::Tty(slave) => {
            for fd in 0..3 {
                sys::dup2(slave.as_raw_fd(), fd)?;
            }
            sys::set_controlling_tty(0)
        }
        ChildIo::Pipes {
            stdin,
            stdout,
            stderr,
        } => {
            match stdin {
                Some(r) => sys::dup2(r.as_raw_fd(), 0)?,
                None => null_to(&[0])?,
            }
            sys::dup2(stdout.as_raw_fd(), 1)?;
            sys::dup2(stderr.as_raw_fd(), 2)
        }
        ChildIo::Null => null_to(&[0, 1, 2]),
        ChildIo::Inherit => Ok(()),
    }
}

/// Point `fds` at the container's /dev/null (never a host fd).
fn null_to(fds: &[i32]) -> io::Result<()> {
    let null = sys::open(c"/dev/null", libc::O_RDWR)?;
    fds.iter()
        .try_for_each(|&fd| sys::dup2(null.as_raw_fd(), fd))
}

/// A [`StartFailure`] as an error type: its message, and the status to exit with.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Failed {
    pub code: i32,
    pub message: String,
}

impl From<StartFailure> for Failed {
    fn from(f: StartFailure) -> Self {
        Failed {
            code: f.code,
            message: f.message,
        }
    }
}
