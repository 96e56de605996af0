//! The OCI runtime seam (`bocker-runtime`, docs/RUNTIME-OCI.md): start a container's init
//! from a plain `oci_spec::runtime::Spec` (no bocker [`crate::spec::Extras`], no
//! supervisor), and park it before `execve` behind a start gate.
//!
//! - [`refuse_unsupported`]: every field of the runtime spec this runtime cannot honour
//!   yet is refused with one line naming the field, never silently ignored.
//! - [`create`]: clone into the spec's namespaces (joining the cgroup whose v1 `tasks`
//!   files or v2 directory are given; with a user namespace through a helper that makes
//!   or joins it first, the runtime writing its id maps: [`namespaces::UserNs`]), build
//!   the rootfs, let the runtime run `prestart`/`createRuntime`, run `createContainer`,
//!   pivot, set hostname, rlimits,
//!   `oomScoreAdj`, capabilities, user, working directory and `noNewPrivileges`, report
//!   "ready", then block reading the gate (runc's exec fifo). The init has no
//!   parent-death signal: it outlives `create` and is reparented to the caller's subreaper
//!   (containerd's shim). Its stdio is the caller's, as the runtime spec's.
//! - [`open_gate`] / [`release`]: the fifo `create` passes (opened `O_RDWR`, so the init is
//!   its reader and never blocks opening it) and `start`'s write of one byte to it.
//!   `O_NONBLOCK` for the writer tells "no init waiting" (`ENXIO`) from a waiting one.

mod bpf;
pub mod confine;
pub mod hooks;
pub mod namespaces;
pub mod personality;
pub mod propagation;
pub mod resources;
pub mod seccomp;
pub mod steps;
pub mod sysctl;

use crate::process::child::engine;
use crate::process::execve::{self, StartFailure};
use crate::process::{self, SpawnError};
use crate::rootfs::{self, MountStep};
use crate::security::user;
use crate::{exit_code, sys};
use confine::OciConfinement;
use oci_spec::runtime::{Process, Spec};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Why a container could not be created.
#[derive(Debug, Error)]
pub enum OciError {
    /// A field of the spec this runtime does not support yet (named in runc's JSON terms).
    #[error("{0}: not supported by bocker-runtime yet")]
    Unsupported(String),
    #[error(transparent)]
    Spawn(#[from] SpawnError),
    /// The init failed during set-up (status, one line, as [`StartFailure`]).
    #[error("{}", .0.message)]
    Start(StartFailure),
    /// A spec the runtime spec (or runc's validation) says is wrong.
    #[error("{0}")]
    Invalid(String),
    /// A `prestart` or `createRuntime` hook failed (the init is killed).
    #[error(transparent)]
    Hook(#[from] hooks::HookError),
    #[error(transparent)]
    Io(#[from] io::Error),
}

fn unsupported(field: &str) -> OciError {
    OciError::Unsupported(field.to_string())
}

/// Refuse every field of `spec` bocker's runtime cannot honour yet (AppArmor and SELinux labels, personality flags, an unknown rootfs
/// propagation, Intel RDT, `linux.resources` this host's cgroup version cannot take
/// ([`resources::settings`]: on v2 device allow rules beyond bocker-cgroups' own list),
/// and rdma), and a user namespace against runc's rules ([`namespaces::user_plan`]:
/// mappings without a user namespace, a new one without both, a path with them).
/// Namespaces, sysctls and mounts are checked by [`namespaces::plan`],
/// [`sysctl::plan`] and [`rootfs::steps::plan`] in [`create`]; a terminal without
/// `--console-socket` there too. `mountLabel` is ignored (no SELinux on this host; runc
/// ignores it without SELinux too).
pub fn refuse_unsupported(spec: &Spec) -> Result<(), OciError> {
    let process = spec.process().as_ref().ok_or(SpawnError::NoProcess)?;
    if process
        .apparmor_profile()
        .as_deref()
        .is_some_and(|p| !p.is_empty())
    {
        return Err(unsupported("process.apparmorProfile"));
    }
    if process
        .selinux_label()
        .as_deref()
        .is_some_and(|p| !p.is_empty())
    {
        return Err(unsupported("process.selinuxLabel"));
    }
    let Some(linux) = spec.linux() else {
        return Ok(());
    };
    namespaces::user_plan(spec).map_err(OciError::Invalid)?;
    personality::plan(spec).map_err(|e| unsupported(&e))?;
    if linux.intel_rdt().is_some() {
        return Err(unsupported("linux.intelRdt"));
    }
    if let Some(p) = linux.rootfs_propagation().as_deref() {
        if propagation::flags(p).is_none() {
            return Err(unsupported(&format!("linux.rootfsPropagation {p:?}")));
        }
    }
    if let Some(r) = linux.resources() {
        refuse_resources(r)?;
    }
    Ok(())
}

/// Refuse `linux.resources` fields this host's cgroups cannot apply (see [`refuse_unsupported`]).
pub fn refuse_resources(r: &oci_spec::runtime::LinuxResources) -> Result<(), OciError> {
    let v2 = bocker_cgroups::Hierarchy::detect().is_ok_and(|h| h.version() == 2);
    resources::settings(r, v2).map_err(|e| unsupported(&e))?;
    if r.rdma().as_ref().is_some_and(|v| !v.is_empty()) {
        return Err(unsupported("linux.resources.rdma"));
    }
    Ok(())
}

/// The start gate's fifo at `path` (mode 0600, created if missing), opened `O_RDWR`
/// close-on-exec: the init reads it, so it never blocks opening it.
pub fn open_gate(path: &Path) -> io::Result<OwnedFd> {
    let c = sys::cpath(path)?;
    // SAFETY: mkfifo with a valid NUL-terminated path.
    let r = unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
    if r != 0 && io::Error::last_os_error().raw_os_error() != Some(libc::EEXIST) {
        return Err(io::Error::last_os_error());
    }
    sys::open(&c, libc::O_RDWR | libc::O_CLOEXEC)
}

/// `start`: let the init waiting on the gate at `path` go on to `execve`. `ENXIO`: no
/// init is waiting (it died, or was already started).
pub fn release(path: &Path) -> io::Result<()> {
    let c = sys::cpath(path)?;
    let fd = sys::open(&c, libc::O_WRONLY | libc::O_NONBLOCK | libc::O_CLOEXEC)?;
    sys::write_all(fd.as_raw_fd(), b"0")
}

/// Where the container's cgroup is joined: v1 `tasks` files (the init moves itself) or a
/// v2 directory (`clone3(CLONE_INTO_CGROUP)`).
pub struct CgroupJoin<'a> {
    pub v2_dir: Option<RawFd>,
    pub v1_tasks: &'a [PathBuf],
}

/// What `create` gives the init besides the spec.
pub struct InitOptions<'a> {
    /// `--console-socket`, connected: with `process.terminal` the init opens a pty of the
    /// container's devpts, makes it its controlling terminal and stdio, and sends the
    /// master over this socket (`SCM_RIGHTS`, as runc). Required with a terminal.
    pub console: Option<RawFd>,
    /// `--preserve-fds N`: fds 3..3+N of the caller stay open across `execve`.
    pub preserve_fds: u32,
    /// The container's state JSON for the hooks, given a pid and the status: the init
    /// runs `createContainer` and `startContainer` with the pid it sees, [`create`]
    /// `prestart` and `createRuntime` with the init's host pid.
    pub hook_state: &'a dyn Fn(i32, &str) -> Vec<u8>,
}

/// Tags of the init's messages on the ready pipe (runtime ← init).
mod tag {
    /// Set up, waiting at the gate.
    pub const READY: u8 = b'R';
    /// Mounts done, before `pivot_root`: run `prestart` and `createRuntime`, then resume.
    pub const HOOKS: u8 = b'H';
    /// Failed: a status byte and a message follow.
    pub const FAILED: u8 = b'E';
    /// Runtime → helper/init on the resume pipe: go on.
    pub const GO: u8 = b'G';
    /// Helper → runtime: its user namespace exists, write its maps.
    pub const MAP: u8 = b'M';
    /// Helper → runtime: the init's pid follows (4 bytes, native order).
    pub const PID: u8 = b'P';
}

/// Create the container's init from `spec` (its `root.path` absolute) and return its pid
/// once it waits on `gate` (see [`open_gate`]), every set-up step done. A set-up failure
/// is [`OciError::Start`] and the init is reaped. The caller must be single-threaded.
///
/// The runtime's own part of the sequence (runtime spec "Lifecycle", runc's order): with
/// a user namespace, the helper's maps ([`namespaces::UserNs`]); once the init has made
/// its mounts and before its `pivot_root`, the `prestart` and `createRuntime` hooks here,
/// in the runtime's namespaces, status `creating` (a failure kills the init).
pub fn create(
    spec: &Spec,
    gate: &OwnedFd,
    cgroup: CgroupJoin<'_>,
    opts: &InitOptions<'_>,
) -> Result<i32, OciError> {
    refuse_unsupported(spec)?;
    let process = spec.process().as_ref().ok_or(SpawnError::NoProcess)?;
    if process.terminal() == Some(true) && opts.console.is_none() {
        return Err(OciError::Unsupported(
            "process.terminal without --console-socket".into(),
        ));
    }
    let ns = namespaces::plan(spec).map_err(OciError::Invalid)?;
    let sysctls = sysctl::plan(spec).map_err(OciError::Unsupported)?;
    let steps = rootfs::steps::plan(spec).map_err(SpawnError::from)?;
    let seccomp = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref());
    let confinement = OciConfinement::new(process, seccomp).map_err(OciError::Unsupported)?;
    #[allow(deprecated)]
    let runtime_hooks: Vec<oci_spec::runtime::Hook> = [
        hooks_of(spec, |h| h.prestart()),
        hooks_of(spec, |h| h.create_runtime()),
    ]
    .concat();
    let (ready_r, ready_w) = sys::pipe()?;
    let (go_r, go_w) = sys::pipe()?;
    let init = Init {
        spec,
        process,
        steps: &steps,
        namespaces: &ns,
        sysctls: &sysctls,
        v1_tasks: cgroup.v1_tasks,
        gate: gate.as_raw_fd(),
        ready: ready_w,
        go: go_r,
        runtime_hooks: !runtime_hooks.is_empty(),
        helped: ns.has_user(),
        confinement,
        opts,
    };
    let pid_join = namespaces::PidJoin::enter(&ns)?;
    let pid = match ns.has_user() {
        true => spawn_with_helper(init, &ns, cgroup.v2_dir, &go_w),
        false => spawn(init, ns.clone_flags, cgroup.v2_dir),
    };
    drop(pid_join);
    let pid = pid?;
    let fail = |e: OciError| {
        let _ = sys::kill(pid, libc::SIGKILL);
        sys::wait_for_child(pid);
        e
    };
    loop {
        let mut b = [0u8; 1];
        let n = read_retrying(&ready_r, &mut b).map_err(|e| fail(e.into()))?;
        match (n, b[0]) {
            (1, tag::READY) => return Ok(pid),
            (1, tag::HOOKS) => {
                let state = (opts.hook_state)(pid, "creating");
                hooks::run_all(&runtime_hooks, &state).map_err(|e| fail(e.into()))?;
                sys::write_all(go_w.as_raw_fd(), &[tag::GO]).map_err(|e| fail(e.into()))?;
            }
            (1, tag::FAILED) => {
                let msg = sys::read_to_end(&ready_r).unwrap_or_default();
                sys::wait_for_child(pid);
                let (code, text) = msg.split_first().unwrap_or((&1, &[]));
                return Err(OciError::Start(StartFailure {
                    code: i32::from(*code),
                    message: String::from_utf8_lossy(text).into_owned(),
                }));
            }
            _ => {
                sys::wait_for_child(pid);
                return Err(OciError::Start(StartFailure::engine(
                    "the container's init died during set-up",
                )));
            }
        }
    }
}

fn read_retrying(fd: &OwnedFd, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match sys::read(fd.as_raw_fd(), buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Clone the init straight into the namespaces to create (no user namespace).
fn spawn(init: Init<'_>, flags: u64, v2_dir: Option<RawFd>) -> Result<i32, OciError> {
    let pid = sys::clone_child(flags, v2_dir)?;
    if pid == 0 {
        init.run_and_exit();
    }
    Ok(pid)
}

/// With a user namespace: fork a helper that, as the host's root, joins the cgroup (v1)
/// and the namespaces given by path, then joins or creates the user namespace (the
/// runtime writes the maps of a new one while the helper waits), then clones the init
/// into the namespaces to create, which the user namespace thereby owns; `CLONE_PARENT`
/// makes the init the runtime's child, as runc's stage-2. The helper sends the init's
/// pid and exits.
fn spawn_with_helper(
    init: Init<'_>,
    ns: &namespaces::Plan,
    v2_dir: Option<RawFd>,
    go_w: &OwnedFd,
) -> Result<i32, OciError> {
    let (to_rt_r, to_rt_w) = sys::pipe()?;
    let helper = sys::fork()?;
    if helper == 0 {
        drop(to_rt_r);
        let failure = match init.helper(&to_rt_w, ns.clone_flags, v2_dir) {
            Ok(()) => sys::exit_now(0),
            Err(f) => f,
        };
        let mut msg = vec![tag::FAILED, failure.code as u8];
        msg.extend_from_slice(failure.message.as_bytes());
        let _ = sys::write_all(to_rt_w.as_raw_fd(), &msg);
        sys::exit_now(failure.code);
    }
    drop(to_rt_w);
    drop(init);
    let result = talk_to_helper(helper, &to_rt_r, ns, go_w);
    sys::wait_for_child(helper);
    result
}

/// The runtime's side of [`spawn_with_helper`]: maps on request, then the init's pid.
fn talk_to_helper(
    helper: libc::pid_t,
    from: &OwnedFd,
    ns: &namespaces::Plan,
    go_w: &OwnedFd,
) -> Result<i32, OciError> {
    let died = || {
        OciError::Start(StartFailure::engine(
            "the container's helper died during set-up",
        ))
    };
    loop {
        let mut b = [0u8; 1];
        if read_retrying(from, &mut b)? != 1 {
            return Err(died());
        }
        match b[0] {
            tag::MAP => {
                if let namespaces::UserNs::New { uid_map, gid_map } = &ns.user {
                    let mapped = namespaces::write_id_maps(helper, uid_map, gid_map);
                    if let Err(e) = mapped {
                        let _ = sys::kill(helper, libc::SIGKILL);
                        return Err(OciError::Start(StartFailure::engine(format!(
                            "linux.uidMappings/gidMappings: {e}"
                        ))));
                    }
                }
                sys::write_all(go_w.as_raw_fd(), &[tag::GO])?;
            }
            tag::PID => {
                let mut p = [0u8; 4];
                let mut got = 0;
                while got < 4 {
                    match read_retrying(from, &mut p[got..])? {
                        0 => return Err(died()),
                        n => got += n,
                    }
                }
                return Ok(i32::from_ne_bytes(p));
            }
            tag::FAILED => {
                let msg = sys::read_to_end(from).unwrap_or_default();
                let (code, text) = msg.split_first().unwrap_or((&1, &[]));
                return Err(OciError::Start(StartFailure {
                    code: i32::from(*code),
                    message: String::from_utf8_lossy(text).into_owned(),
                }));
            }
            _ => return Err(died()),
        }
    }
}

/// `process.user` as the spec gives it (numeric ids, no passwd lookup; `HOME` is the
/// caller's business, containerd sets it).
pub fn spec_user(process: &Process) -> user::ExecUser {
    let u = process.user();
    user::ExecUser {
        uid: u.uid(),
        gid: u.gid(),
        groups: u.additional_gids().clone().unwrap_or_default(),
        home: "/".into(),
    }
}

/// Keep fds 3..3+`n` open across `execve` (`--preserve-fds`) and mark every fd above
/// them close-on-exec.
pub fn preserve_fds(n: u32) -> io::Result<()> {
    for fd in 3..3 + n {
        // SAFETY: F_SETFD on an fd number; an fd that is not open fails with EBADF.
        let r = unsafe { libc::fcntl(fd as RawFd, libc::F_SETFD, 0) };
        if r == -1 {
            let e = io::Error::last_os_error();
            return Err(io::Error::new(
                e.kind(),
                format!("--preserve-fds: fd {fd}: {e}"),
            ));
        }
    }
    let flags = libc::CLOSE_RANGE_CLOEXEC as libc::c_int;
    // SAFETY: only marks our own fds above the preserved ones close-on-exec.
    sys::cvt(unsafe { libc::close_range(3 + n, libc::c_uint::MAX, flags) }).map(drop)
}

enum Never {}

struct Init<'a> {
    spec: &'a Spec,
    process: &'a Process,
    steps: &'a [MountStep],
    namespaces: &'a namespaces::Plan,
    sysctls: &'a [sysctl::Sysctl],
    v1_tasks: &'a [PathBuf],
    gate: RawFd,
    ready: OwnedFd,
    /// The runtime's "go on" (after the maps, after its hooks).
    go: OwnedFd,
    /// Whether the runtime has `prestart`/`createRuntime` hooks to run before pivot_root.
    runtime_hooks: bool,
    /// Whether a helper joined the cgroup and namespaces already (a user namespace).
    helped: bool,
    confinement: OciConfinement,
    opts: &'a InitOptions<'a>,
}

fn hooks_of(
    spec: &Spec,
    pick: impl Fn(&oci_spec::runtime::Hooks) -> &Option<Vec<oci_spec::runtime::Hook>>,
) -> &[oci_spec::runtime::Hook] {
    spec.hooks()
        .as_ref()
        .and_then(|h| pick(h).as_deref())
        .unwrap_or_default()
}

impl Init<'_> {
    /// [`Init::run`] in the cloned child, exiting with the failure's status.
    fn run_and_exit(self) -> ! {
        let failure = match self.run() {
            Ok(never) => match never {},
            Err(f) => f,
        };
        sys::exit_now(failure.code)
    }

    /// The helper of [`spawn_with_helper`] (see there); returns once the init's pid is
    /// sent.
    fn helper(
        self,
        to_rt: &OwnedFd,
        flags: u64,
        v2_dir: Option<RawFd>,
    ) -> Result<(), StartFailure> {
        crate::cgroup_step::join_self(self.v1_tasks).map_err(engine("cgroup"))?;
        // Inherited by the init; written while we are the host's root (a process of the
        // container's root is not dumpable after its setresuid, so its /proc files are
        // the host root's), as runc's nsexec does.
        set_oom_score_adj(self.process)?;
        namespaces::join_in_child(self.namespaces).map_err(engine("linux.namespaces"))?;
        // Into the rootfs while its path may be walked: the init's cwd is its copy in
        // the new mount namespace (`rootfs::prepare_cwd`).
        let rootfs = self
            .spec
            .root()
            .as_ref()
            .map(|r| r.path().clone())
            .unwrap_or_default();
        sys::chdir(&sys::cpath(&rootfs).map_err(engine("root.path"))?)
            .map_err(|e| StartFailure::engine(format!("root.path {}: {e}", rootfs.display())))?;
        namespaces::join_user(self.namespaces).map_err(engine("linux.namespaces"))?;
        if let namespaces::UserNs::New { .. } = self.namespaces.user {
            sys::unshare(libc::CLONE_NEWUSER).map_err(engine("user namespace"))?;
            sys::write_all(to_rt.as_raw_fd(), &[tag::MAP]).map_err(engine("sync"))?;
            self.wait_go("the runtime did not write the id maps")?;
        }
        let pid =
            sys::clone_child(flags | libc::CLONE_PARENT as u64, v2_dir).map_err(engine("clone"))?;
        if pid == 0 {
            self.run_and_exit();
        }
        let mut msg = vec![tag::PID];
        msg.extend_from_slice(&pid.to_ne_bytes());
        sys::write_all(to_rt.as_raw_fd(), &msg).map_err(engine("sync"))
    }

    /// Block until the runtime says go on (EOF or anything else: `what` failed).
    fn wait_go(&self, what: &str) -> Result<(), StartFailure> {
        let mut b = [0u8; 1];
        match read_retrying(&self.go, &mut b) {
            Ok(1) if b[0] == tag::GO => Ok(()),
            _ => Err(StartFailure::engine(what)),
        }
    }

    /// Set up, report on the ready pipe ([`tag`]), wait at the gate, exec. Returns only
    /// on failure.
    fn run(self) -> Result<Never, StartFailure> {
        let ready = self.ready.as_raw_fd();
        let failure = match self.set_up() {
            Ok(exec) => {
                let _ = sys::write_all(ready, &[tag::READY]);
                drop(self.ready);
                drop(self.go);
                exec.wait_and_exec(self.gate, self.spec, &self.confinement, self.opts)
            }
            Err(f) => {
                let mut msg = vec![tag::FAILED, f.code as u8];
                msg.extend_from_slice(f.message.as_bytes());
                let _ = sys::write_all(ready, &msg);
                return Err(f);
            }
        };
        // After the gate nobody reads the ready pipe: the container's stderr gets it.
        let _ = sys::write_all(
            2,
            format!("bocker-runtime: {}\n", failure.message).as_bytes(),
        );
        Err(failure)
    }

    fn set_up(&self) -> Result<Exec, StartFailure> {
        let spec = self.spec;
        let process = self.process;
        if self.helped {
            // The helper joined the cgroup and the namespaces given by path; we were
            // born in the user namespace's others.
            namespaces::become_root().map_err(engine("user namespace"))?;
        } else {
            // The host's cgroupfs paths first: a mount namespace joined by path would
            // resolve them in the container's mounts.
            crate::cgroup_step::join_self(self.v1_tasks).map_err(engine("cgroup"))?;
            namespaces::join_in_child(self.namespaces).map_err(engine("linux.namespaces"))?;
        }
        sys::setsid().map_err(engine("setsid"))?;
        // In our cgroup first, then our own cgroup namespace: its root is our group, and
        // the spec's cgroup mount shows it (as `process/child.rs` for bocker's own).
        let own_cgroupns =
            process::has_namespace(spec, oci_spec::runtime::LinuxNamespaceType::Cgroup)
                && !namespaces::joins(self.namespaces, libc::CLONE_NEWCGROUP);
        if own_cgroupns {
            sys::unshare(libc::CLONE_NEWCGROUP).map_err(engine("cgroup namespace"))?;
        }
        let cgroups = match own_cgroupns {
            true => rootfs::CgroupView::of_host(self.v1_tasks),
            false => rootfs::CgroupView::binds_of_host(self.v1_tasks),
        }
        .map_err(engine("cgroup view"))?;
        // Through the host's /proc/sys, from inside the new namespaces (oci::sysctl).
        sysctl::apply(self.sysctls).map_err(engine("linux.sysctl"))?;
        rootfs::make_private().map_err(engine("rootfs"))?;
        let root = match self.helped {
            true => rootfs::prepare_cwd(self.steps, &cgroups),
            false => rootfs::prepare(spec, self.steps, &cgroups),
        }
        .map_err(engine("rootfs"))?;
        let who = spec_user(process);
        let cwd = process.cwd().to_string_lossy().into_owned();
        rootfs::make_workdir(root.as_raw_fd(), &cwd)
            .map_err(|e| StartFailure::engine(e.to_string()))?;
        if !self.helped {
            set_oom_score_adj(process)?;
        }
        // prestart and createRuntime: the runtime runs them now, in its namespaces, the
        // mounts made and before pivot_root (runtime spec "Lifecycle" steps 3-4, runc).
        if self.runtime_hooks {
            sys::write_all(self.ready.as_raw_fd(), &[tag::HOOKS]).map_err(engine("sync"))?;
            self.wait_go("a prestart or createRuntime hook failed")?;
        }
        // createContainer: in the container's namespaces, its mounts made, before
        // pivot_root (the hook's path resolves as in the runtime's namespace).
        let create_hooks = hooks_of(spec, |h| h.create_container());
        if !create_hooks.is_empty() {
            let state = (self.opts.hook_state)(std::process::id() as i32, "creating");
            hooks::run_all(create_hooks, &state)
                .map_err(|e| StartFailure::engine(e.to_string()))?;
        }
        rootfs::pivot(&root).map_err(engine("pivot_root"))?;
        drop(root);
        propagation::apply(spec).map_err(engine("linux.rootfsPropagation"))?;
        if let (Some(sock), true) = (self.opts.console, process.terminal() == Some(true)) {
            steps::console(sock, process).map_err(engine("--console-socket"))?;
        }
        steps::set_hostname(spec).map_err(engine("sethostname"))?;
        let args = process.args().as_deref().unwrap_or_default();
        let env = process.env().clone().unwrap_or_default();
        let (path, argv, envp) = steps::exec_args(args, &env)?;
        let persona = personality::plan(spec).map_err(StartFailure::engine)?;
        personality::apply(persona).map_err(engine("linux.personality"))?;
        // The working directory is entered as root, before the user switch: the spec's
        // seccomp profile may deny what its safe lookup (openat2) needs.
        rootfs::enter_workdir(&cwd).map_err(|e| StartFailure {
            code: exit_code::CANNOT_INVOKE,
            message: e.to_string(),
        })?;
        // Before any filter: a profile may deny close_range.
        preserve_fds(self.opts.preserve_fds).map_err(engine("close_range"))?;
        sys::sigprocmask(libc::SIG_SETMASK, &sys::sigset(&[])).map_err(engine("signal mask"))?;
        self.confinement
            .drop_privileges(&who)
            .map_err(|e| StartFailure::engine(e.to_string()))?;
        self.confinement
            .seal()
            .map_err(|e| StartFailure::engine(e.to_string()))?;
        Ok(Exec { path, argv, envp })
    }
}

/// `process.oomScoreAdj`, for this process and the ones it forks.
fn set_oom_score_adj(process: &Process) -> Result<(), StartFailure> {
    match process.oom_score_adj() {
        Some(adj) => std::fs::write("/proc/self/oom_score_adj", adj.to_string())
            .map_err(engine("process.oomScoreAdj")),
        None => Ok(()),
    }
}

struct Exec {
    path: String,
    argv: Vec<std::ffi::CString>,
    envp: Vec<std::ffi::CString>,
}

impl Exec {
    /// Block on the gate until `start` writes to it, run the `startContainer` hooks, put
    /// on the late filter and exec (fds above the preserved ones were marked
    /// close-on-exec, the gate's with them).
    fn wait_and_exec(
        self,
        gate: RawFd,
        spec: &Spec,
        confinement: &OciConfinement,
        opts: &InitOptions<'_>,
    ) -> StartFailure {
        let mut b = [0u8; 1];
        loop {
            match sys::read(gate, &mut b) {
                Ok(1) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                _ => return StartFailure::engine("the start gate closed"),
            }
        }
        let start_hooks = hooks_of(spec, |h| h.start_container());
        if !start_hooks.is_empty() {
            let state = (opts.hook_state)(std::process::id() as i32, "created");
            if let Err(e) = hooks::run_all(start_hooks, &state) {
                return StartFailure::engine(e.to_string());
            }
        }
        // Last: the hooks above may have ignored SIGPIPE; the command gets defaults.
        sys::default_signal_actions();
        if let Err(e) = confinement.late_filter() {
            return StartFailure::engine(e.to_string());
        }
        execve::execve(&self.path, &self.argv, &self.envp)
    }
}
