//! Creating the container's first process: `clone` into the namespaces of the spec's
//! `linux.namespaces`, then, in the child, the container init sequence up to `execve`
//! ([`child`]). The parent keeps two pipes to the child: a sync pipe (the child waits for
//! "cgroup ready" on v1, then "network ready") and a close-on-exec error pipe (EOF = the exec succeeded; else a
//! status and a message). [`execve`] is the exec itself, [`reaper`] the `--init` PID 1,
//! [`supervisor`] the parent's loop once the container runs.
//!
//! CVE-2019-5736: the child runs bocker-run's code only until its `execve`; nothing of
//! the image runs while /proc/<pid>/exe of any container process still points at our
//! binary. With `--init`, PID 1 stays ours (it never execs: our binary is dynamically
//! linked and the image need not have a loader), so before it forks anything of the
//! image it makes itself non-dumpable: /proc/1/exe, /proc/1/mem, /proc/1/map_files then
//! need CAP_SYS_PTRACE, which containers do not have. No fd above 2 survives into the
//! container (`close_range`: CLOEXEC before exec, closed outright by the init).

pub mod child;
pub mod execve;
pub mod netns;
pub mod reaper;
pub mod supervisor;

use crate::rootfs::{self, StepError};
use crate::spec::Bundle;
use crate::sys;
use execve::StartFailure;
use oci_spec::runtime::{LinuxNamespaceType, Spec};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use thiserror::Error;

/// Mounts the container's rootfs (the snapshot driver's step), run inside the child's
/// mount namespace so the mount dies with it.
pub type MountHook<'a> = &'a dyn Fn() -> io::Result<()>;

/// Why the container's process could not be created: what was refused and why.
#[derive(Debug, Error)]
pub enum SpawnError {
    #[error("the spec has no process")]
    NoProcess,
    #[error("namespace {0:?}: {1} is not supported by bocker's runtime")]
    Namespace(LinuxNamespaceType, &'static str),
    #[error("the spec's mounts: {0}")]
    Mounts(#[from] StepError),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// A child created and waiting on its sync pipe.
pub struct Pending {
    pub pid: libc::pid_t,
    sync: Option<OwnedFd>,
    errors: OwnedFd,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
    /// `process.terminal`: the child sends its pty master here.
    pty: Option<OwnedFd>,
    mount_ns: Option<OwnedFd>,
}

/// The container's first process, exec'd.
pub struct Started {
    pub pid: libc::pid_t,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
    /// `process.terminal`: the master of the pty that is the container's stdio (opened
    /// in its own devpts).
    pub pty: Option<OwnedFd>,
    /// The container's mount namespace (`/proc/<pid>/ns/mnt`, opened at clone). While it
    /// is held, the exit of the container's last process does not tear the namespace
    /// down (every mount of the container, an RCU grace period or two: 1-3 ms here):
    /// that happens when this is dropped, which a `--rm` run does once its caller has
    /// the exit status. Dropping it early is the old order; never hold it past the
    /// start of another run of the same container (its overlay would be mounted twice).
    pub mount_ns: Option<OwnedFd>,
}

/// The `CLONE_NEW*` flag of a namespace created at clone time. The cgroup namespace is
/// unshared later, once the child is in its cgroup (which then becomes its root).
fn clone_flag(t: LinuxNamespaceType) -> Result<libc::c_int, SpawnError> {
    Ok(match t {
        LinuxNamespaceType::Mount => libc::CLONE_NEWNS,
        LinuxNamespaceType::Uts => libc::CLONE_NEWUTS,
        LinuxNamespaceType::Ipc => libc::CLONE_NEWIPC,
        LinuxNamespaceType::Pid => libc::CLONE_NEWPID,
        LinuxNamespaceType::Network => libc::CLONE_NEWNET,
        LinuxNamespaceType::Cgroup => 0,
        other => return Err(SpawnError::Namespace(other, "creating it")),
    })
}

/// The clone flags of the spec's `linux.namespaces`. A new mount namespace is required:
/// the rootfs is built in it.
pub fn namespace_flags(spec: &Spec) -> Result<u64, SpawnError> {
    let namespaces = spec.linux().as_ref().and_then(|l| l.namespaces().as_ref());
    let mut flags = 0;
    for ns in namespaces.into_iter().flatten() {
        if ns.path().is_some() {
            return Err(SpawnError::Namespace(ns.typ(), "joining an existing one"));
        }
        flags |= clone_flag(ns.typ())?;
    }
    if flags & libc::CLONE_NEWNS == 0 {
        let refused = SpawnError::Namespace(LinuxNamespaceType::Mount, "running without it");
        return Err(refused);
    }
    Ok(flags as u64)
}

/// Whether the spec asks for a namespace of type `t`.
pub fn has_namespace(spec: &Spec, t: LinuxNamespaceType) -> bool {
    spec.linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|v| v.iter().any(|n| n.typ() == t))
}

/// Where the child's cgroup is: a v2 directory it is born in (`dir`), else the v1
/// `tasks` files it writes itself, with `later` once [`Pending::group_ready`] says the
/// groups exist.
pub struct CgroupPlace<'a> {
    pub dir: Option<RawFd>,
    pub tasks: &'a [PathBuf],
    pub later: bool,
}

/// Clone the child into `cgroup`. It joins `netns` (a namespace made ahead, when the
/// spec asks for a new one) first thing, mounts the container's rootfs, joins its
/// cgroup, builds the rest of the container's filesystem, then waits for
/// [`Pending::release_exec`].
pub fn spawn(
    bundle: &Bundle,
    mount_hook: MountHook<'_>,
    cgroup: CgroupPlace<'_>,
    netns: Option<std::os::fd::BorrowedFd<'_>>,
) -> Result<Pending, SpawnError> {
    let CgroupPlace {
        dir: cgroup_dir,
        tasks: cgroup_tasks,
        later: group_later,
    } = cgroup;
    let process = bundle
        .spec
        .process()
        .as_ref()
        .ok_or(SpawnError::NoProcess)?;
    let mut flags = namespace_flags(&bundle.spec)?;
    // A namespace made ahead replaces the new one the spec asks for, and only that.
    let netns = netns.filter(|_| flags & libc::CLONE_NEWNET as u64 != 0);
    if netns.is_some() {
        flags &= !(libc::CLONE_NEWNET as u64);
    }
    // Mounts as data: computed (and refused) here, before any process exists.
    let steps = rootfs::steps::plan(&bundle.spec)?;
    let (sync_r, sync_w) = sys::pipe()?;
    let (err_r, err_w) = sys::pipe()?;
    let (out_r, out_w) = sys::pipe()?;
    let (serr_r, serr_w) = sys::pipe()?;
    let terminal = process.terminal() == Some(true);
    let (pty_ours, pty_child) = match terminal.then(sys::tty::socketpair).transpose()? {
        Some((a, b)) => (Some(a), Some(b)),
        None => (None, None),
    };
    let pid = sys::clone_child(flags, cgroup_dir)?;
    if pid != 0 {
        // Held from here on, before it can run anything of the image. A child that has
        // failed already, or a host without /proc: not held, its exit pays the teardown.
        let mount_ns = std::fs::File::open(format!("/proc/{pid}/ns/mnt"))
            .ok()
            .map(OwnedFd::from);
        return Ok(Pending {
            pid,
            sync: Some(sync_w),
            errors: err_r,
            stdout: out_r,
            stderr: serr_r,
            pty: pty_ours,
            mount_ns,
        });
    }
    // The child.
    {
        drop((sync_w, err_r, out_r, serr_r, pty_ours));
        let ctx = child::Child {
            bundle,
            process,
            steps: &steps,
            cgroup_tasks,
            group_later,
            sync: sync_r,
            out: out_w,
            err: serr_w,
            pty: pty_child,
            mount_hook,
            netns,
        };
        let failure = match ctx.run() {
            Ok(never) => match never {},
            Err(f) => f,
        };
        let mut msg = vec![failure.code as u8];
        msg.extend_from_slice(failure.message.as_bytes());
        let _ = sys::write_all(err_w.as_raw_fd(), &msg);
        sys::exit_now(failure.code)
    }
}

impl Pending {
    /// Tell a child spawned with `group_later` that its cgroups exist (limits and device
    /// rules applied): it joins them now. If it died meanwhile, [`Pending::release_exec`]
    /// says why.
    pub fn group_ready(&self) {
        if let Some(s) = &self.sync {
            let _ = sys::write_all(s.as_raw_fd(), b"g");
        }
    }

    /// Tell the child the network is ready and wait for its exec (or its failure).
    pub fn release_exec(mut self) -> Result<Started, StartFailure> {
        if let Some(s) = self.sync.take() {
            // If the child already died, the error pipe below says why.
            let _ = sys::write_all(s.as_raw_fd(), b"n");
        }
        let msg = sys::read_to_end(&self.errors)
            .map_err(|e| StartFailure::engine(format!("reading child status: {e}")))?;
        if let Some((&code, text)) = msg.split_first() {
            sys::wait_for_child(self.pid);
            return Err(StartFailure {
                code: i32::from(code),
                message: String::from_utf8_lossy(text).into_owned(),
            });
        }
        // Sent before the exec: queued in the socket.
        let pty = match &self.pty {
            Some(sock) => Some(
                sys::tty::recv_fd(sock.as_raw_fd())
                    .ok()
                    .flatten()
                    .ok_or_else(|| StartFailure::engine("the container's pty never came"))?,
            ),
            None => None,
        };
        Ok(Started {
            pid: self.pid,
            stdout: self.stdout,
            stderr: self.stderr,
            pty,
            mount_ns: self.mount_ns,
        })
    }

    /// Abandon the child after a setup step in the parent failed with `err`. If the child
    /// had already failed by itself (which may be why ours failed), its reason wins.
    pub fn abort(mut self, err: StartFailure) -> StartFailure {
        let _ = sys::kill(self.pid, libc::SIGKILL);
        sys::wait_for_child(self.pid);
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
