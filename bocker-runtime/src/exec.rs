//! `exec`: start another process in a running container, as runc's `exec` (containerd's
//! shim calls `exec --process F --detach --pid-file P [--console-socket S] ID`).
//!
//! The entering is bocker-exec's (one copy for `bocker exec` and this verb): a pidfd on
//! the container's init (checked against the recorded start time, so a recycled pid is
//! never entered), the container's cgroup files opened on the host, one `setns` into all
//! its namespaces (its user namespace too when it has one), then a fork (the child is
//! born in the container's pid namespace) that joins the cgroup and its namespace and
//! runs the OCI privilege sequence of the `process` object (`process.user` ids as given,
//! its capabilities, rlimits, `noNewPrivileges`, and the container's `linux.seccomp`).
//! Stdio is ours (the shim's), or with `process.terminal` a pty of the container's
//! devpts whose master goes to `--console-socket`. `--detach` returns once the process
//! has exec'd (it is reparented to the caller's subreaper); otherwise its exit status is
//! passed through. Paths given on the host (`--pid-file`, `--console-socket`) are opened
//! before entering the container's mount namespace.

use crate::lifecycle::{self, LifecycleError};
use crate::state::{self, Record, Status};
use bocker_exec::process::{self, Attached, Stdio};
use bocker_exec::runtime::OciConfinement;
use bocker_exec::{enter, identity, spec::ExecSpec, tty};
use oci_spec::runtime::Process;
use std::ffi::CString;
use std::fs;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

/// Why `exec` failed (one line each).
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    #[error(transparent)]
    State(#[from] state::StateError),
    #[error("cannot exec in a {0} container")]
    WrongStatus(&'static str),
    #[error("{what}: {source}")]
    Io { what: String, source: io::Error },
    #[error("--process {path}: {message}")]
    Process { path: PathBuf, message: String },
    #[error("process.terminal needs --console-socket (cannot allocate a tty without one)")]
    NoConsoleSocket,
    #[error("{0}")]
    Start(String),
    #[error("{0}")]
    Confinement(String),
    #[error(transparent)]
    Cgroup(#[from] bocker_cgroups::CgroupError),
}

fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> ExecError {
    let what = what.into();
    move |source| ExecError::Io { what, source }
}

/// `exec`'s options besides the process.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    pub console_socket: Option<PathBuf>,
    pub pid_file: Option<PathBuf>,
    pub detach: bool,
    pub preserve_fds: u32,
}

/// runc's flags that build a process without `--process`.
#[derive(Debug, Clone, Default)]
pub struct ProcessFlags {
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: Option<String>,
    /// `uid[:gid]`.
    pub user: Option<String>,
    pub additional_gids: Vec<u32>,
    pub tty: bool,
    pub no_new_privs: bool,
}

/// The process of `--process F` (a runtime-spec `process` object).
pub fn load_process(path: &Path) -> Result<Process, ExecError> {
    let text = fs::read(path).map_err(io_err(format!("--process {}", path.display())))?;
    serde_json::from_slice(&text).map_err(|e| ExecError::Process {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// The process runc builds from its flags: the container's `process` with `args`
/// replaced, `env` appended, and `cwd`, `user`, `terminal`, `noNewPrivileges` as given.
pub fn process_from_flags(base: &Process, f: &ProcessFlags) -> Result<Process, String> {
    let mut p = base.clone();
    if f.args.is_empty() {
        return Err("a command is required without --process".into());
    }
    p.set_args(Some(f.args.clone()));
    let mut env = p.env().clone().unwrap_or_default();
    env.extend(f.env.iter().cloned());
    p.set_env(Some(env));
    if let Some(cwd) = &f.cwd {
        p.set_cwd(cwd.into());
    }
    let mut user = p.user().clone();
    if let Some(u) = &f.user {
        let (uid, gid) = match u.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (u.as_str(), None),
        };
        let num = |s: &str| {
            s.parse::<u32>()
                .map_err(|_| format!("--user {u:?}: not uid[:gid]"))
        };
        user.set_uid(num(uid)?);
        if let Some(g) = gid {
            user.set_gid(num(g)?);
        }
    }
    if !f.additional_gids.is_empty() {
        user.set_additional_gids(Some(f.additional_gids.clone()));
    }
    p.set_user(user);
    p.set_terminal(Some(f.tty));
    if f.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    Ok(p)
}

/// Run `process` in container `id`; `Ok(None)` when detached, else its exit status
/// (128+N after signal N). Must be called single-threaded.
pub fn exec(
    root: &Path,
    id: &str,
    process: &Process,
    opts: &ExecOptions,
) -> Result<Option<i32>, ExecError> {
    let record = Record::load(root, id)?;
    let now = record.current();
    match now.status {
        Status::Running | Status::Created => {}
        other => return Err(ExecError::WrongStatus(other.as_str())),
    }
    let (spec, _) = lifecycle::load_spec(&record.state.bundle)?;
    let seccomp = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref());
    let confinement = OciConfinement::new(process, seccomp).map_err(ExecError::Confinement)?;
    let pid = now.pid;
    let pidfd = bocker_exec::sys::pidfd_open(pid).map_err(io_err("the container's init"))?;
    // The pidfd pins one process: if it is still the recorded init, it is for good.
    if record.current().status == Status::Stopped {
        return Err(ExecError::WrongStatus("stopped"));
    }
    let h = bocker_cgroups::Hierarchy::detect()?;
    let cg = bocker_cgroups::Cgroup::open(&h, &record.cgroup_parent, &record.cgroup_name)?;
    let cgroups =
        enter::CgroupFiles::open(&cg.paths()).map_err(io_err("the container's cgroup"))?;
    let terminal = process.terminal() == Some(true);
    let console = match (&opts.console_socket, terminal) {
        (Some(p), true) => Some(
            UnixStream::connect(p).map_err(io_err(format!("--console-socket {}", p.display())))?,
        ),
        (None, true) => return Err(ExecError::NoConsoleSocket),
        (_, false) => None,
    };
    let pid_file = opts.pid_file.as_deref().map(PidFile::open).transpose()?;

    enter::namespaces_with_user(&pidfd, pid).map_err(io_err("entering the container"))?;
    let user = exec_user(process)?;
    let pty = match terminal {
        true => Some(tty::open().map_err(io_err("allocating a terminal"))?),
        false => None,
    };
    if let (Some(p), Some(size)) = (&pty, process.console_size()) {
        let ws = libc::winsize {
            ws_row: size.height() as u16,
            ws_col: size.width() as u16,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let _ = bocker_run::sys::tty::set_window_size(p.master.as_raw_fd(), &ws);
    }
    let spec = ExecSpec {
        argv: process.args().clone().unwrap_or_default(),
        env: process.env().clone().unwrap_or_default(),
        cwd: process.cwd().to_string_lossy().into_owned(),
        user: String::new(),
        stdin: false,
        tty: terminal,
        detach: opts.detach,
        no_new_privileges: process.no_new_privileges() == Some(true),
        preserve_fds: opts.preserve_fds,
        // Unused here: the process JSON's own privileges confine it (`OciConfinement`).
        privileges: Default::default(),
    };
    if spec.argv.is_empty() {
        return Err(ExecError::Start("process.args is empty".into()));
    }
    let io = match pty {
        Some(p) => Stdio::Tty(p),
        None => Stdio::Inherit,
    };
    let join = || enter::cgroup(&cgroups, &pidfd);
    let started = process::spawn(&spec, &user, io, &confinement, join)
        .map_err(|f| ExecError::Start(f.message))?;
    if let (Attached::Tty(master), Some(sock)) = (&started.io, &console) {
        bocker_run::sys::tty::send_fd(sock.as_raw_fd(), master.as_raw_fd())
            .map_err(io_err("sending the pty to --console-socket"))?;
    }
    drop(started.io);
    if let Some(f) = pid_file {
        f.write(started.pid)?;
    }
    if opts.detach {
        return Ok(None);
    }
    let status = bocker_exec::sys::wait(started.pid).map_err(io_err("waiting"))?;
    Ok(Some(if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        libc::WEXITSTATUS(status)
    }))
}

/// `process.user`'s ids as given; `HOME` from the container's passwd entry of the uid
/// (as runc), its additional gids as given.
fn exec_user(process: &Process) -> Result<bocker_exec::runtime::ExecUser, ExecError> {
    let u = process.user();
    let mut who = identity::resolve(&format!("{}:{}", u.uid(), u.gid()))
        .map_err(|f| ExecError::Start(f.message))?;
    who.groups = u.additional_gids().clone().unwrap_or_default();
    Ok(who)
}

/// `--pid-file`, its directory opened on the host before we enter the container's mount
/// namespace; written temp + rename (the shim reads it as soon as we exit).
struct PidFile {
    dir: OwnedFd,
    name: CString,
    tmp: CString,
}

impl PidFile {
    fn open(path: &Path) -> Result<PidFile, ExecError> {
        let what = || format!("--pid-file {}", path.display());
        let name = path.file_name().ok_or_else(|| ExecError::Io {
            what: what(),
            source: io::Error::from(io::ErrorKind::InvalidInput),
        })?;
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let dir = fs::File::open(parent).map_err(io_err(what()))?;
        let cstr = |b: &[u8]| {
            CString::new(b).map_err(|_| ExecError::Io {
                what: what(),
                source: io::Error::from(io::ErrorKind::InvalidInput),
            })
        };
        let tmp = [b".", name.as_bytes(), b".tmp"].concat();
        Ok(PidFile {
            dir: OwnedFd::from(dir),
            name: cstr(name.as_bytes())?,
            tmp: cstr(&tmp)?,
        })
    }

    fn write(&self, pid: i32) -> Result<(), ExecError> {
        let err = |e| ExecError::Io {
            what: "--pid-file".into(),
            source: e,
        };
        let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC;
        // SAFETY: openat with a directory fd we own and a NUL-terminated name.
        let fd = unsafe { libc::openat(self.dir.as_raw_fd(), self.tmp.as_ptr(), flags, 0o644) };
        if fd < 0 {
            return Err(err(io::Error::last_os_error()));
        }
        // SAFETY: openat just returned this fd; nobody else owns it.
        let file = fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
        io::Write::write_all(&mut &file, pid.to_string().as_bytes()).map_err(err)?;
        drop(file);
        let d = self.dir.as_raw_fd();
        // SAFETY: renameat within one directory fd we own, NUL-terminated names.
        let r = unsafe { libc::renameat(d, self.tmp.as_ptr(), d, self.name.as_ptr()) };
        if r != 0 {
            return Err(err(io::Error::last_os_error()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_containers_process_as_runc() {
        let base: Process = serde_json::from_value(serde_json::json!({
            "args": ["sleep", "9"], "cwd": "/", "env": ["PATH=/bin"],
            "user": {"uid": 0, "gid": 0}, "terminal": false
        }))
        .unwrap();
        let f = ProcessFlags {
            args: vec!["sh".into(), "-c".into(), "id".into()],
            env: vec!["A=1".into()],
            cwd: Some("/tmp".into()),
            user: Some("1000:100".into()),
            additional_gids: vec![5, 6],
            tty: true,
            no_new_privs: true,
        };
        let p = process_from_flags(&base, &f).unwrap();
        assert_eq!(p.args().as_deref().unwrap(), ["sh", "-c", "id"]);
        assert_eq!(p.env().as_deref().unwrap(), ["PATH=/bin", "A=1"]);
        assert_eq!(p.cwd(), Path::new("/tmp"));
        assert_eq!((p.user().uid(), p.user().gid()), (1000, 100));
        assert_eq!(p.user().additional_gids().as_deref(), Some(&[5, 6][..]));
        assert_eq!(
            (p.terminal(), p.no_new_privileges()),
            (Some(true), Some(true))
        );
        let bad = ProcessFlags {
            user: Some("root".into()),
            ..f.clone()
        };
        assert!(process_from_flags(&base, &bad).is_err());
        assert!(process_from_flags(&base, &ProcessFlags::default()).is_err());
    }
}
