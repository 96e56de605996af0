//! Creating the container's first process: `clone` into new namespaces, then, in the
//! child, the container init sequence up to `execve`. The parent keeps two pipes to the
//! child: a sync pipe (the child waits for "network ready") and
//! a close-on-exec error pipe (EOF = the exec succeeded; else a status and a message).
//!
//! CVE-2019-5736: the child runs bocker-run's code only until its `execve`; nothing of
//! the image runs while /proc/<pid>/exe of any container process still points at our
//! binary. With `--init`, PID 1 stays ours (it never execs: our binary is dynamically
//! linked and the image need not have a loader), so before it forks anything of the
//! image it makes itself non-dumpable: /proc/1/exe, /proc/1/mem, /proc/1/map_files then
//! need CAP_SYS_PTRACE, which containers do not have. No fd above 2 survives into the
//! container (`close_range`: CLOEXEC before exec, closed outright by the init).

use crate::exec::{self, StartFailure};
use crate::network::NetworkMode;
use crate::spec::RunSpec;
use crate::sys;
use crate::{exit_code, init, rootfs, safepath, seccomp, security, user};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// Mounts the container's rootfs (the snapshot driver's step), run inside the child's
/// mount namespace so the mount dies with it.
pub type MountHook<'a> = &'a dyn Fn() -> io::Result<()>;

/// A child created and waiting on its sync pipe.
pub struct Pending {
    pub pid: libc::pid_t,
    sync: Option<OwnedFd>,
    errors: OwnedFd,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
}

/// The container's first process, exec'd.
pub struct Started {
    pub pid: libc::pid_t,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
}

fn namespace_flags(mode: NetworkMode) -> u64 {
    let mut f = libc::CLONE_NEWNS | libc::CLONE_NEWUTS | libc::CLONE_NEWIPC | libc::CLONE_NEWPID;
    if mode.own_netns() {
        f |= libc::CLONE_NEWNET;
    }
    f as u64
}

/// clone3's flag (libc's constant is a 32-bit int that cannot hold it).
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// `struct clone_args` of clone3(2), up to `cgroup` (CLONE_ARGS_SIZE_VER2).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// A fork-like clone (no CLONE_VM, no new stack) into new namespaces. With a cgroup v2
/// directory fd, `clone3(CLONE_INTO_CGROUP)`: the child is born in its group, so there is
/// no migration to wait for.
fn clone_child(mode: NetworkMode, cgroup_dir: Option<RawFd>) -> io::Result<libc::pid_t> {
    let flags = namespace_flags(mode);
    let pid = match cgroup_dir {
        Some(fd) => {
            let args = CloneArgs {
                flags: flags | CLONE_INTO_CGROUP,
                exit_signal: libc::SIGCHLD as u64,
                cgroup: fd as u64,
                ..Default::default()
            };
            // SAFETY: valid clone_args of the given size; fork semantics (no stack).
            unsafe {
                libc::syscall(
                    libc::SYS_clone3,
                    &args as *const CloneArgs,
                    std::mem::size_of::<CloneArgs>(),
                )
            }
        }
        // SAFETY: fork-like clone of this single-threaded process.
        None => unsafe { libc::syscall(libc::SYS_clone, flags | libc::SIGCHLD as u64, 0, 0, 0, 0) },
    };
    sys::cvt_long(pid).map(|p| p as libc::pid_t)
}

/// Clone the child (born in `cgroup_dir` when given, a cgroup v2 directory; else it joins
/// `spec.cgroup_tasks` itself). It builds the container's filesystem, joins its cgroup,
/// then waits for [`Pending::release_exec`].
pub fn spawn(
    spec: &RunSpec,
    mount_hook: MountHook<'_>,
    cgroup_dir: Option<RawFd>,
) -> io::Result<Pending> {
    let (sync_r, sync_w) = sys::pipe()?;
    let (err_r, err_w) = sys::pipe()?;
    let (out_r, out_w) = sys::pipe()?;
    let (serr_r, serr_w) = sys::pipe()?;
    let pid = clone_child(spec.network, cgroup_dir)?;
    if pid == 0 {
        drop((sync_w, err_r, out_r, serr_r));
        let ctx = Child {
            spec,
            sync: sync_r,
            out: out_w,
            err: serr_w,
            mount_hook,
        };
        let failure = match ctx.run() {
            Ok(never) => match never {},
            Err(f) => f,
        };
        let mut msg = vec![failure.code as u8];
        msg.extend_from_slice(failure.message.as_bytes());
        let _ = sys::write_all(err_w.as_raw_fd(), &msg);
        // SAFETY: leave without running destructors/atexit of the parent's copy.
        unsafe { libc::_exit(failure.code) };
    }
    Ok(Pending {
        pid: pid as libc::pid_t,
        sync: Some(sync_w),
        errors: err_r,
        stdout: out_r,
        stderr: serr_r,
    })
}

impl Pending {
    /// Tell the child the network is ready and wait for its exec (or its failure).
    pub fn release_exec(mut self) -> Result<Started, StartFailure> {
        if let Some(s) = self.sync.take() {
            // If the child already died, the error pipe below says why.
            let _ = sys::write_all(s.as_raw_fd(), b"n");
        }
        let msg = sys::read_to_end(&self.errors)
            .map_err(|e| StartFailure::engine(format!("reading child status: {e}")))?;
        if let Some((&code, text)) = msg.split_first() {
            reap(self.pid);
            return Err(StartFailure {
                code: i32::from(code),
                message: String::from_utf8_lossy(text).into_owned(),
            });
        }
        Ok(Started {
            pid: self.pid,
            stdout: self.stdout,
            stderr: self.stderr,
        })
    }

    /// Abandon the child after a setup step in the parent failed with `err`. If the child
    /// had already failed by itself (which may be why ours failed), its reason wins.
    pub fn abort(mut self, err: StartFailure) -> StartFailure {
        // SAFETY: signalling and reaping our own child.
        unsafe { libc::kill(self.pid, libc::SIGKILL) };
        reap(self.pid);
        self.sync.take();
        match sys::read_to_end(&self.errors) {
            Ok(msg) if !msg.is_empty() => StartFailure {
                code: i32::from(msg[0]),
                message: String::from_utf8_lossy(&msg[1..]).into_owned(),
            },
            _ => err,
        }
    }
}

fn reap(pid: libc::pid_t) {
    let mut status = 0;
    // SAFETY: waiting for our own child.
    while unsafe { libc::waitpid(pid, &mut status, 0) } == -1
        && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted
    {}
}

/// The child's side: everything between clone and execve.
struct Child<'a> {
    spec: &'a RunSpec,
    sync: OwnedFd,
    out: OwnedFd,
    err: OwnedFd,
    mount_hook: MountHook<'a>,
}

fn engine(what: &str) -> impl FnOnce(io::Error) -> StartFailure + '_ {
    move |e| StartFailure::engine(format!("{what}: {e}"))
}

/// Read one byte; EOF means the supervisor is gone.
fn wait_for(fd: RawFd) -> Result<(), StartFailure> {
    let mut b = [0u8; 1];
    match sys::read(fd, &mut b) {
        Ok(1) => Ok(()),
        _ => Err(StartFailure::engine("supervisor went away")),
    }
}

/// Read a small file of the image (passwd, group), or "" when it does not exist.
fn read_image_file(root: RawFd, path: &str) -> Result<String, StartFailure> {
    match safepath::open(root, path, libc::O_RDONLY) {
        Ok(fd) => {
            let mut text = String::new();
            let f = std::fs::File::from(fd);
            io::Read::read_to_string(&mut io::Read::take(f, 1 << 20), &mut text)
                .map_err(engine(path))?;
            Ok(text)
        }
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(String::new()),
        Err(e) => Err(StartFailure::engine(format!("{path}: {e}"))),
    }
}

enum Never {}

impl Child<'_> {
    fn run(self) -> Result<Never, StartFailure> {
        let spec = self.spec;
        sys::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0)
            .map_err(engine("pdeathsig"))?;
        self.stdio().map_err(engine("stdio"))?;
        // Its own session: the user's terminal signals (^C, ^Z) reach the supervisor,
        // which forwards them, not the container directly.
        // SAFETY: plain syscall.
        sys::cvt(unsafe { libc::setsid() }).map_err(engine("setsid"))?;
        rootfs::make_private().map_err(engine("rootfs"))?;
        (self.mount_hook)().map_err(engine("mounting rootfs"))?;
        let root = rootfs::prepare(spec).map_err(engine("rootfs"))?;
        let passwd = read_image_file(root.as_raw_fd(), "/etc/passwd")?;
        let group = read_image_file(root.as_raw_fd(), "/etc/group")?;
        let who = user::resolve(&spec.user, &passwd, &group)
            .map_err(|e| StartFailure::engine(e.to_string()))?;
        rootfs::make_workdir(root.as_raw_fd(), &spec.cwd)
            .map_err(|e| StartFailure::engine(e.to_string()))?;
        let filters =
            seccomp::compile().map_err(|e| StartFailure::engine(format!("seccomp: {e}")))?;
        // Into our cgroup (v1; on v2 we were born there), before anything of the image runs.
        crate::cgroup_step::join_self(&spec.cgroup_tasks).map_err(engine("cgroup"))?;
        // SAFETY: plain syscall; we are in our cgroup now, so it becomes the ns root.
        sys::cvt(unsafe { libc::unshare(libc::CLONE_NEWCGROUP) })
            .map_err(engine("cgroup namespace"))?;
        wait_for(self.sync.as_raw_fd())?;
        rootfs::pivot(&root).map_err(engine("pivot_root"))?;
        drop(root);
        if !spec.stdin {
            // The container's own /dev/null, not a host fd.
            let null = sys::open(c"/dev/null", libc::O_RDONLY).map_err(engine("/dev/null"))?;
            sys::dup2(null.as_raw_fd(), 0).map_err(engine("stdin"))?;
        }
        let host = spec.hostname.as_bytes();
        // SAFETY: pointer/length of a byte slice.
        sys::cvt(unsafe { libc::sethostname(host.as_ptr().cast(), host.len()) })
            .map_err(engine("sethostname"))?;

        let mut env = spec.env.clone();
        if !env.iter().any(|e| e.starts_with("HOME=")) {
            env.push(format!("HOME={}", who.home));
        }
        let path = if spec.init {
            String::new()
        } else {
            exec::lookup(&spec.argv[0], &env)?
        };
        let (argv, envp) = (exec::to_cstrings(&spec.argv)?, exec::to_cstrings(&env)?);

        security::set_rlimits().map_err(engine("rlimits"))?;
        security::drop_bounding_set().map_err(engine("capability bounding set"))?;
        security::switch_user(&who).map_err(engine("switching user"))?;
        security::set_caps().map_err(engine("capabilities"))?;
        rootfs::enter_workdir(&spec.cwd).map_err(|e| StartFailure {
            code: exit_code::CANNOT_INVOKE,
            message: e.to_string(),
        })?;
        security::set_no_new_privs().map_err(engine("no_new_privs"))?;
        // SAFETY: marks every fd >= 3 close-on-exec; the error pipe stays usable until exec.
        sys::cvt(unsafe {
            libc::close_range(
                3,
                libc::c_uint::MAX,
                libc::CLOSE_RANGE_CLOEXEC as libc::c_int,
            )
        })
        .map_err(engine("close_range"))?;
        seccomp::install(&filters).map_err(|e| StartFailure::engine(format!("seccomp: {e}")))?;
        if spec.init {
            // Signals stay blocked: the init waits for them with sigwaitinfo, so none
            // forwarded meanwhile is lost. Close everything above stdio (it never execs);
            // the error pipe's EOF tells the supervisor the container started.
            drop(self);
            // SAFETY: closes fds >= 3 of this process (nothing here uses them any more).
            unsafe { libc::close_range(3, libc::c_uint::MAX, 0) };
            init::pid1(&spec.argv, &env);
        }
        // Signals the supervisor forwarded meanwhile are pending: the command gets them.
        sys::sigprocmask(libc::SIG_SETMASK, &sys::sigset(&[])).map_err(engine("signal mask"))?;
        Err(exec::execve(&path, &argv, &envp))
    }

    fn stdio(&self) -> io::Result<()> {
        sys::dup2(self.out.as_raw_fd(), 1)?;
        sys::dup2(self.err.as_raw_fd(), 2)?;
        Ok(())
    }
}
