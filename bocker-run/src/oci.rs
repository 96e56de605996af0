//! The OCI runtime seam (`bocker-runtime`, docs/RUNTIME-OCI.md): start a container's init
//! from a plain `oci_spec::runtime::Spec` (no bocker [`crate::spec::Extras`], no
//! supervisor), and park it before `execve` behind a start gate.
//!
//! - [`refuse_unsupported`]: every field of the runtime spec this runtime cannot honour
//!   yet is refused with one line naming the field, never silently ignored.
//! - [`create`]: clone into the spec's namespaces (joining the cgroup whose v1 `tasks`
//!   files or v2 directory are given), build the rootfs, pivot, set hostname, rlimits,
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
    #[error(transparent)]
    Io(#[from] io::Error),
}

fn unsupported(field: &str) -> OciError {
    OciError::Unsupported(field.to_string())
}

/// Refuse every field of `spec` bocker's runtime cannot honour yet: user namespaces and
/// id mappings, AppArmor and SELinux labels, personality flags, an unknown rootfs
/// propagation, Intel RDT, `linux.resources` this host's cgroup version cannot take
/// ([`resources::settings`]: on v2 device allow rules beyond bocker-cgroups' own list),
/// and rdma. Namespaces, sysctls and mounts are checked by [`namespaces::plan`],
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
    if linux.uid_mappings().as_ref().is_some_and(|v| !v.is_empty())
        || linux.gid_mappings().as_ref().is_some_and(|v| !v.is_empty())
    {
        return Err(unsupported(
            "linux.uidMappings/gidMappings (user namespaces)",
        ));
    }
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

/// A `cgroup` mount of the spec as this host can make it. On cgroup v1 a bare `cgroup`
/// mount asks for every controller in one hierarchy, which the kernel refuses (`EBUSY`)
/// where they are mounted apart; so, as runc does, it becomes a tmpfs at the destination
/// and one `cgroup` mount per hierarchy of the host (`/proc/self/mountinfo`'s, under
/// /sys/fs/cgroup), each seen from the container's cgroup namespace. On cgroup v2 it is a
/// `cgroup2` mount. Other mounts are unchanged.
pub fn expand_cgroup_mounts(spec: &mut Spec) -> io::Result<()> {
    let Some(mounts) = spec.mounts().clone() else {
        return Ok(());
    };
    if !mounts.iter().any(|m| m.typ().as_deref() == Some("cgroup")) {
        return Ok(());
    }
    let info = std::fs::read_to_string("/proc/self/mountinfo")?;
    let v1: Vec<(String, String)> = info
        .lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let point = left.split_whitespace().nth(4)?;
            let mut r = right.split_whitespace();
            let fstype = r.next()?;
            let name = point.strip_prefix("/sys/fs/cgroup/")?;
            let opts = r.nth(1)?;
            let controllers: Vec<&str> = opts
                .split(',')
                .filter(|o| !matches!(*o, "rw" | "ro") && !o.contains("release_agent"))
                .collect();
            (fstype == "cgroup" && !name.contains('/'))
                .then(|| (name.to_string(), controllers.join(",")))
        })
        .collect();
    let mut out = Vec::new();
    for m in mounts {
        if m.typ().as_deref() != Some("cgroup") {
            out.push(m);
            continue;
        }
        let opts = m.options().clone().unwrap_or_default();
        let flags: Vec<String> = opts
            .iter()
            .filter(|o| matches!(o.as_str(), "ro" | "nosuid" | "nodev" | "noexec"))
            .cloned()
            .collect();
        if v1.is_empty() {
            let mut m2 = m.clone();
            m2.set_typ(Some("cgroup2".into()));
            m2.set_source(Some("cgroup2".into()));
            m2.set_options(Some(flags));
            out.push(m2);
            continue;
        }
        let mut tmpfs = m.clone();
        tmpfs.set_typ(Some("tmpfs".into()));
        tmpfs.set_source(Some("tmpfs".into()));
        let mut t_opts: Vec<String> = flags.iter().filter(|o| *o != "ro").cloned().collect();
        t_opts.push("mode=755".into());
        tmpfs.set_options(Some(t_opts));
        out.push(tmpfs);
        for (name, controllers) in &v1 {
            let mut c = m.clone();
            c.set_destination(m.destination().join(name));
            let mut o = flags.clone();
            o.push(controllers.clone());
            c.set_options(Some(o));
            out.push(c);
        }
    }
    spec.set_mounts(Some(out));
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
    /// The container's state JSON for the hooks the init runs (`createContainer`,
    /// `startContainer`), given the pid the init sees and the status.
    pub hook_state: &'a dyn Fn(i32, &str) -> Vec<u8>,
}

/// Create the container's init from `spec` (its `root.path` absolute) and return its pid
/// once it waits on `gate` (see [`open_gate`]), every set-up step done. A set-up failure
/// is [`OciError::Start`] and the init is reaped. The caller must be single-threaded.
pub fn create(
    spec: &Spec,
    gate: &OwnedFd,
    cgroup: CgroupJoin<'_>,
    opts: &InitOptions<'_>,
) -> Result<i32, OciError> {
    refuse_unsupported(spec)?;
    let mut spec = spec.clone();
    expand_cgroup_mounts(&mut spec)?;
    let spec = &spec;
    let process = spec.process().as_ref().ok_or(SpawnError::NoProcess)?;
    if process.terminal() == Some(true) && opts.console.is_none() {
        return Err(OciError::Unsupported(
            "process.terminal without --console-socket".into(),
        ));
    }
    let ns = namespaces::plan(spec).map_err(OciError::Unsupported)?;
    let sysctls = sysctl::plan(spec).map_err(OciError::Unsupported)?;
    let steps = rootfs::steps::plan(spec).map_err(SpawnError::from)?;
    let seccomp = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref());
    let confinement = OciConfinement::new(process, seccomp).map_err(OciError::Unsupported)?;
    let (ready_r, ready_w) = sys::pipe()?;
    let pid_join = namespaces::PidJoin::enter(&ns)?;
    let pid = sys::clone_child(ns.clone_flags, cgroup.v2_dir)?;
    if pid == 0 {
        drop(ready_r);
        let init = Init {
            spec,
            process,
            steps: &steps,
            namespaces: &ns,
            sysctls: &sysctls,
            v1_tasks: cgroup.v1_tasks,
            gate: gate.as_raw_fd(),
            ready: ready_w,
            confinement,
            opts,
        };
        let failure = match init.run() {
            Ok(never) => match never {},
            Err(f) => f,
        };
        sys::exit_now(failure.code);
    }
    drop(pid_join);
    drop(ready_w);
    let msg = sys::read_to_end(&ready_r)?;
    match msg.split_first() {
        Some((0, _)) => Ok(pid),
        Some((&code, text)) => {
            sys::wait_for_child(pid);
            Err(OciError::Start(StartFailure {
                code: i32::from(code),
                message: String::from_utf8_lossy(text).into_owned(),
            }))
        }
        None => {
            sys::wait_for_child(pid);
            Err(OciError::Start(StartFailure::engine(
                "the container's init died during set-up",
            )))
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
    /// Set up, report on the ready pipe (0 = waiting at the gate; else status + message),
    /// wait at the gate, exec. Returns only on failure.
    fn run(self) -> Result<Never, StartFailure> {
        let ready = self.ready.as_raw_fd();
        let failure = match self.set_up() {
            Ok(exec) => {
                let _ = sys::write_all(ready, &[0]);
                drop(self.ready);
                exec.wait_and_exec(self.gate, self.spec, &self.confinement, self.opts)
            }
            Err(f) => {
                let mut msg = vec![f.code as u8];
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
        sys::setsid().map_err(engine("setsid"))?;
        namespaces::join_in_child(self.namespaces).map_err(engine("linux.namespaces"))?;
        // Through the host's /proc/sys, from inside the new namespaces (oci::sysctl).
        sysctl::apply(self.sysctls).map_err(engine("linux.sysctl"))?;
        rootfs::make_private().map_err(engine("rootfs"))?;
        // Cgroup mounts were expanded into plain binds by `expand_cgroup_mounts`.
        let root = rootfs::prepare(spec, self.steps, &rootfs::cgroupfs::CgroupView::default())
            .map_err(engine("rootfs"))?;
        let who = spec_user(process);
        let cwd = process.cwd().to_string_lossy().into_owned();
        rootfs::make_workdir(root.as_raw_fd(), &cwd)
            .map_err(|e| StartFailure::engine(e.to_string()))?;
        crate::cgroup_step::join_self(self.v1_tasks).map_err(engine("cgroup"))?;
        if process::has_namespace(spec, oci_spec::runtime::LinuxNamespaceType::Cgroup)
            && !namespaces::joins(self.namespaces, libc::CLONE_NEWCGROUP)
        {
            sys::unshare(libc::CLONE_NEWCGROUP).map_err(engine("cgroup namespace"))?;
        }
        if let Some(adj) = process.oom_score_adj() {
            std::fs::write("/proc/self/oom_score_adj", adj.to_string())
                .map_err(engine("process.oomScoreAdj"))?;
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
