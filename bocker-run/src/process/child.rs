//! The child's side of [`super::spawn`]: everything between clone and execve, read from
//! the spec: stdio, session, the rootfs and the spec's mounts up to the cgroupfs (while
//! the parent makes the cgroup), the cgroup, the remaining mounts, the user, the network wait, `pivot_root`, hostname, then
//! the [`Confinement`] in runc's order (seccomp while still privileged unless
//! `noNewPrivileges`, rlimits, capabilities, user, working directory, `noNewPrivileges`
//! and a late seccomp, default signal actions), then execve (or the `--init` reaper).

use super::execve::{self, StartFailure};
use super::reaper;
use crate::rootfs::{self, MountStep};
use crate::security::{user, Confinement};
use crate::spec::Bundle;
use crate::{exit_code, oci, safepath, sys};
use oci_spec::runtime::{LinuxNamespaceType, Process};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::PathBuf;

/// What the child needs: the bundle, its process, the mount steps computed before the
/// clone, the v1 cgroup `tasks` files to join, and its ends of the pipes.
pub struct Child<'a> {
    pub bundle: &'a Bundle,
    pub process: &'a Process,
    pub steps: &'a [MountStep],
    pub cgroup_tasks: &'a [PathBuf],
    /// Wait for the parent's "cgroup ready" before joining `cgroup_tasks` (the parent
    /// makes the groups while the child mounts its rootfs).
    pub group_later: bool,
    pub sync: OwnedFd,
    pub out: OwnedFd,
    pub err: OwnedFd,
    /// `process.terminal`: where the pty master goes (to the supervisor).
    pub pty: Option<OwnedFd>,
    pub mount_hook: super::MountHook<'a>,
    /// A network namespace made ahead ([`super::netns`]) to join instead of a new one.
    pub netns: Option<std::os::fd::BorrowedFd<'a>>,
}

/// A value that cannot exist: [`Child::run`] only returns on failure.
pub enum Never {}

pub(crate) fn engine(what: &str) -> impl FnOnce(io::Error) -> StartFailure + '_ {
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

impl Child<'_> {
    /// The process user: the Docker `-u` form resolved against the image's passwd and
    /// group files when the bundle has one, else `process.user` as the spec gives it.
    fn user(&self, root: RawFd) -> Result<user::ExecUser, StartFailure> {
        let Some(docker_user) = &self.bundle.extras.user else {
            let u = self.process.user();
            // The spec's ids as numbers, through the same rules (range included).
            let groups = u.additional_gids().clone().unwrap_or_default();
            let mut who = user::resolve(&format!("{}:{}", u.uid(), u.gid()), "", "")
                .map_err(|e| StartFailure::engine(e.to_string()))?;
            who.groups = groups;
            return Ok(who);
        };
        let passwd = read_image_file(root, "/etc/passwd")?;
        let group = read_image_file(root, "/etc/group")?;
        user::resolve(docker_user, &passwd, &group).map_err(|e| StartFailure::engine(e.to_string()))
    }

    /// The init sequence; returns only on failure (with the status to report).
    pub fn run(self) -> Result<Never, StartFailure> {
        let spec = &self.bundle.spec;
        let extras = &self.bundle.extras;
        let process = self.process;
        sys::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0)
            .map_err(engine("pdeathsig"))?;
        if let Some(ns) = self.netns {
            // Our network namespace, before anything can look at it.
            sys::setns(ns, libc::CLONE_NEWNET).map_err(engine("network namespace"))?;
        }
        self.stdio().map_err(engine("stdio"))?;
        // Its own session: the user's terminal signals (^C, ^Z) reach the supervisor,
        // which forwards them, not the container directly.
        sys::setsid().map_err(engine("setsid"))?;
        // The rootfs (overlay) mount while the parent makes our cgroup: nothing of the
        // image runs and no cgroupfs is mounted yet.
        rootfs::make_private().map_err(engine("rootfs"))?;
        (self.mount_hook)().map_err(engine("mounting rootfs"))?;
        let cgroups = if super::has_namespace(spec, LinuxNamespaceType::Cgroup) {
            // We join our cgroup before the namespace, so it is the namespace's root.
            rootfs::CgroupView::of_host(self.cgroup_tasks).map_err(engine("cgroup view"))?
        } else {
            // Without one, the host's tree would show: no cgroupfs inside.
            rootfs::CgroupView::None
        };
        // Into our cgroup (v1; on v2 we were born there) and our cgroup namespace before
        // the cgroupfs is mounted (it must show our group as its root) and before
        // anything of the image runs; the spec's mounts before it go on meanwhile.
        let mut joined = false;
        let mut join = || -> io::Result<()> {
            if joined {
                return Ok(());
            }
            if self.group_later {
                wait_for(self.sync.as_raw_fd()).map_err(|f| io::Error::other(f.message))?;
            }
            oci::steps::enter_cgroup(spec, self.cgroup_tasks)
                .map_err(|e| io::Error::new(e.kind(), format!("cgroup: {e}")))?;
            joined = true;
            Ok(())
        };
        let root = rootfs::prepare_joining(spec, self.steps, &cgroups, &mut join)
            .map_err(engine("rootfs"))?;
        join().map_err(engine("rootfs"))?;
        let who = self.user(root.as_raw_fd())?;
        let cwd = process.cwd().to_string_lossy().into_owned();
        rootfs::make_workdir(root.as_raw_fd(), &cwd)
            .map_err(|e| StartFailure::engine(e.to_string()))?;
        let confinement = Confinement::with_seccomp(process, self.bundle.seccomp())
            .map_err(|e| StartFailure::engine(e.to_string()))?;
        wait_for(self.sync.as_raw_fd())?;
        rootfs::pivot(&root).map_err(engine("pivot_root"))?;
        drop(root);
        if !extras.stdin {
            // The container's own /dev/null, not a host fd.
            let null = sys::open(c"/dev/null", libc::O_RDONLY).map_err(engine("/dev/null"))?;
            sys::dup2(null.as_raw_fd(), 0).map_err(engine("stdin"))?;
        }
        if let Some(sock) = &self.pty {
            // `-t`: a pty of the container's own devpts is its stdio and controlling
            // terminal; the master goes to the supervisor.
            oci::steps::console(sock.as_raw_fd(), process).map_err(engine("pty"))?;
        }
        oci::steps::set_hostname(spec).map_err(engine("sethostname"))?;

        let args = process.args().as_deref().unwrap_or_default();
        let mut env = process.env().clone().unwrap_or_default();
        if !env.iter().any(|e| e.starts_with("HOME=")) {
            env.push(format!("HOME={}", who.home));
        }
        let path = if extras.init {
            String::new()
        } else {
            execve::lookup(args.first().map_or("", String::as_str), &env)?
        };
        let (argv, envp) = (execve::to_cstrings(args)?, execve::to_cstrings(&env)?);

        // runc's order (see `Confinement`): filter (when no_new_privs is off), rlimits,
        // bounding set, user, capabilities for that user.
        confinement
            .drop_privileges(&who)
            .map_err(|e| StartFailure::engine(e.to_string()))?;
        rootfs::enter_workdir(&cwd).map_err(|e| StartFailure {
            code: exit_code::CANNOT_INVOKE,
            message: e.to_string(),
        })?;
        // The error pipe stays usable until exec.
        sys::close_fds_above_stdio(libc::CLOSE_RANGE_CLOEXEC as libc::c_int)
            .map_err(engine("close_range"))?;
        confinement
            .seal()
            .map_err(|e| StartFailure::engine(e.to_string()))?;
        if extras.init {
            // Signals stay blocked: the init waits for them with sigwaitinfo, so none
            // forwarded meanwhile is lost. Close everything above stdio (it never execs);
            // the error pipe's EOF tells the supervisor the container started.
            drop(self);
            let _ = sys::close_fds_above_stdio(0);
            reaper::pid1(args, &env);
        }
        // Signals the supervisor forwarded meanwhile are pending: the command gets them.
        sys::sigprocmask(libc::SIG_SETMASK, &sys::sigset(&[])).map_err(engine("signal mask"))?;
        Err(execve::execve(&path, &argv, &envp))
    }

    fn stdio(&self) -> io::Result<()> {
        sys::dup2(self.out.as_raw_fd(), 1)?;
        sys::dup2(self.err.as_raw_fd(), 2)?;
        Ok(())
    }
}
