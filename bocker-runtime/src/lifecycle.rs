//! The OCI lifecycle verbs on bocker-run's runtime library (runtime spec "Lifecycle",
//! runc's CLI): `create` (init parked at the start gate, `created`), `start` (`running`),
//! `kill`, `delete` (stopped only, unless `--force`), and `run` = create + start + wait +
//! delete. The container's directory `<root>/<id>` holds `state.json` ([`crate::state`])
//! and the gate `exec.fifo` (bocker_run::oci).

use crate::state::{self, Record, State, StateError, Status};
use bocker_run::cgroup_step::{CgroupError, ContainerCgroup};
use bocker_run::oci::{self, CgroupJoin, InitOptions, OciError};
use oci_spec::runtime::{Hook, Hooks, Spec};
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The gate's file name in the container's directory.
const GATE: &str = "exec.fifo";
/// The cgroup parent of containers whose `linux.cgroupsPath` is empty or relative.
const CGROUP_PARENT: &str = "bocker-runtime";

/// Why a lifecycle verb failed (each a one-line message, runc's words where it has them).
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("container with id exists: {0}")]
    Exists(String),
    #[error("{path}: {message}")]
    Config { path: PathBuf, message: String },
    #[error(transparent)]
    Oci(#[from] OciError),
    #[error("cgroup: {0}")]
    Cgroup(#[from] CgroupError),
    #[error(transparent)]
    CgroupCreate(#[from] bocker_run::container::cgroups::CreateError),
    #[error("{what}: {source}")]
    Io { what: String, source: io::Error },
    #[error("cannot {verb} a container that is {status}")]
    WrongStatus {
        verb: &'static str,
        status: &'static str,
    },
    #[error("cannot delete container {0} that is not stopped: {1}")]
    NotStopped(String, &'static str),
    #[error("the container's init did not exit after SIGKILL")]
    KillTimeout,
    #[error("{0}")]
    Hook(#[from] oci::hooks::HookError),
}

type Result<T> = std::result::Result<T, LifecycleError>;

fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> LifecycleError {
    let what = what.into();
    move |source| LifecycleError::Io { what, source }
}

/// `create`'s options (runc's flags).
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// The bundle directory holding `config.json`.
    pub bundle: PathBuf,
    /// Where to write the init's pid (atomically: the shim reads it as soon as we exit).
    pub pid_file: Option<PathBuf>,
    /// `--console-socket`: the unix socket the pty master is sent to (`process.terminal`).
    pub console_socket: Option<PathBuf>,
    /// `--preserve-fds N`: fds 3..3+N stay open in the container's process.
    pub preserve_fds: u32,
}

/// A container's lock: `flock(LOCK_EX)` on its directory, held while a verb reads and
/// changes its state, so concurrent `start`/`kill`/`delete`/`pause`… of one container
/// run one after the other (runc holds the same). Released when dropped (explicitly:
/// see its `Drop`).
pub struct Lock {
    _file: fs::File,
}

impl Drop for Lock {
    /// Unlock explicitly: a container's init forked while the lock was held shares the
    /// lock's open file description, and closing our fd alone would leave it locked.
    fn drop(&mut self) {
        // SAFETY: flock on an fd we own; no memory involved.
        unsafe { libc::flock(self._file.as_raw_fd(), libc::LOCK_UN) };
    }
}

/// Take `<root>/<id>`'s lock (blocking). A missing directory is "container does not
/// exist".
pub fn lock(root: &Path, id: &str) -> Result<Lock> {
    let dir = state::container_dir(root, id)?;
    let f = match fs::File::open(&dir) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(StateError::NotFound.into()),
        Err(e) => return Err(io_err(dir.display().to_string())(e)),
    };
    loop {
        // SAFETY: flock on an fd we own; no memory involved.
        if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } == 0 {
            return Ok(Lock { _file: f });
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(io_err(format!("locking {}", dir.display()))(e));
        }
    }
}

/// The state JSON a hook reads on its stdin: `state` as it is, with `pid` and `status`.
pub fn hook_state(state: &State, pid: i32, status: &str) -> Vec<u8> {
    let mut v = serde_json::to_value(state).unwrap_or_default();
    v["pid"] = pid.into();
    v["status"] = status.into();
    serde_json::to_vec(&v).unwrap_or_default()
}

/// Hooks of one kind from the record's (or spec's) hooks.
fn hooks_of(hooks: &Option<Hooks>, pick: impl Fn(&Hooks) -> &Option<Vec<Hook>>) -> &[Hook] {
    hooks
        .as_ref()
        .and_then(|h| pick(h).as_deref())
        .unwrap_or_default()
}

/// Run hooks whose failure is only a warning (`poststart`, `poststop`): each one, a
/// failure warned and the rest run "as if the hook had succeeded" (runtime spec
/// "Lifecycle"; runc 1.1 stops at the first failure).
fn run_hooks_warning(hooks: &[Hook], state: &[u8], kind: &str) {
    for hook in hooks {
        if let Err(e) = oci::hooks::run(hook, state) {
            eprintln!("bocker-runtime: warning: {kind} {e}");
        }
    }
}

/// `linux.cgroupsPath` → (parent, name) for bocker-cgroups: absolute as given (its last
/// component the group), relative under `bocker-runtime/`, empty `bocker-runtime/<id>`.
pub fn cgroup_names(cgroups_path: Option<&Path>, id: &str) -> (String, String) {
    let path = cgroups_path
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (absolute, rel) = match path.strip_prefix('/') {
        Some(r) => (true, r.trim_end_matches('/')),
        None => (false, path.trim_end_matches('/')),
    };
    if rel.is_empty() {
        return (CGROUP_PARENT.to_string(), id.to_string());
    }
    let (dir, name) = match rel.rsplit_once('/') {
        Some((d, n)) => (d.to_string(), n.to_string()),
        None => (String::new(), rel.to_string()),
    };
    let parent = match (absolute, dir.is_empty()) {
        (true, _) => dir,
        (false, true) => CGROUP_PARENT.to_string(),
        (false, false) => format!("{CGROUP_PARENT}/{dir}"),
    };
    (parent, name)
}

/// The spec's `linux.resources` beyond bocker-cgroups' limits (cpuset, CFS period,
/// realtime, memory reservation/swap, blkio, hugetlb, v2 `unified`: bocker_run's
/// `oci::resources`) written into the new group before the init joins it.
fn write_resources(
    cg: &ContainerCgroup,
    r: Option<&oci_spec::runtime::LinuxResources>,
) -> Result<()> {
    let Some(r) = r else { return Ok(()) };
    let v2 = cg.v2_dir().is_some();
    let settings = oci::resources::settings(r, v2).map_err(OciError::Unsupported)?;
    for s in settings {
        cg.write_setting(&s.file, &s.value)?;
    }
    Ok(())
}

/// Load `<bundle>/config.json` and make `root.path` absolute inside the bundle.
pub fn load_spec(bundle: &Path) -> Result<(Spec, PathBuf)> {
    let path = bundle.join("config.json");
    let config = |message: String| LifecycleError::Config {
        path: path.clone(),
        message,
    };
    let mut spec = Spec::load(&path).map_err(|e| match fs::symlink_metadata(&path) {
        // runc's words for a bundle without one.
        Err(m) if m.kind() == io::ErrorKind::NotFound => {
            config("JSON specification file config.json not found".into())
        }
        // oci-spec's message names only the kind of failure; its cause says which.
        _ => config(match std::error::Error::source(&e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        }),
    })?;
    let mut root = spec
        .root()
        .clone()
        .ok_or_else(|| config("no \"root\"".into()))?;
    let rootfs = bundle.join(root.path());
    let rootfs = fs::canonicalize(&rootfs)
        .map_err(|e| config(format!("root.path {}: {e}", rootfs.display())))?;
    root.set_path(rootfs.clone());
    spec.set_root(Some(root));
    Ok((spec, rootfs))
}

/// `create`: set the container up and leave its init waiting at the gate; returns its
/// record (`created`). Refuses an existing id; on failure leaves nothing behind.
pub fn create(root: &Path, id: &str, opts: &CreateOptions) -> Result<Record> {
    let dir = state::container_dir(root, id)?;
    create_root(root)?;
    match fs::create_dir(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Err(LifecycleError::Exists(id.to_string()))
        }
        Err(e) => return Err(io_err(dir.display().to_string())(e)),
    }
    let _lock = lock(root, id)?;
    let mut cgroup = None;
    let result = create_in(root, &dir, id, opts, &mut cgroup);
    if result.is_err() {
        if let Some(cg) = cgroup {
            let _ = cg.destroy();
            poststop_after_failed_create(root, id);
        }
        let _ = fs::remove_dir_all(&dir);
    }
    result
}

/// A `create` that failed once the container existed (its cgroup made, e.g. a
/// `createRuntime` hook failed) still runs the spec's `poststop` hooks, the container
/// stopped: runtime spec "Lifecycle" (a failing create hook continues "at step 12"),
/// as runc's destroy does.
fn poststop_after_failed_create(root: &Path, id: &str) {
    let Ok(record) = Record::load(root, id) else {
        return;
    };
    let Ok((spec, _)) = load_spec(&record.state.bundle) else {
        return;
    };
    let hooks = spec.hooks().clone();
    let poststop = hooks_of(&hooks, |h| h.poststop());
    if !poststop.is_empty() {
        let state_json = hook_state(&record.state, 0, "stopped");
        run_hooks_warning(poststop, &state_json, "poststop");
    }
}

fn create_root(root: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o711)
        .create(root)
        .map_err(io_err(root.display().to_string()))
}

fn create_in(
    root: &Path,
    dir: &Path,
    id: &str,
    opts: &CreateOptions,
    cgroup: &mut Option<ContainerCgroup>,
) -> Result<Record> {
    let created = humantime::format_rfc3339_nanos(std::time::SystemTime::now()).to_string();
    let bundle = fs::canonicalize(&opts.bundle)
        .map_err(io_err(format!("bundle {}", opts.bundle.display())))?;
    let (spec, rootfs) = load_spec(&bundle)?;
    oci::refuse_unsupported(&spec)?;
    let linux = spec.linux().as_ref();
    let (parent, name) = cgroup_names(linux.and_then(|l| l.cgroups_path().as_deref()), id);
    let limits = bocker_run::spec::resources::from_spec(linux.and_then(|l| l.resources().as_ref()));
    let mut record = Record {
        state: State {
            oci_version: spec.version().clone(),
            id: id.to_string(),
            pid: 0,
            status: Status::Creating,
            bundle,
            rootfs,
            created,
            owner: String::new(),
            annotations: spec
                .annotations()
                .clone()
                .unwrap_or_default()
                .into_iter()
                .collect::<BTreeMap<_, _>>(),
        },
        init_start_time: 0,
        cgroup_parent: parent.clone(),
        cgroup_name: name.clone(),
        hooks: None,
    };
    record.save(root)?;
    let cg = cgroup.insert(ContainerCgroup::create(&parent, &name, &limits)?);
    write_resources(cg, linux.and_then(|l| l.resources().as_ref()))?;
    let v2_dir = cg.v2_dir();
    let v1_tasks = cg.self_join_files();
    let gate = oci::open_gate(&dir.join(GATE)).map_err(io_err("exec fifo"))?;
    let join = CgroupJoin {
        v2_dir: v2_dir.as_ref().map(|f| f.as_raw_fd()),
        v1_tasks: &v1_tasks,
    };
    let console = match &opts.console_socket {
        Some(p) => Some(
            std::os::unix::net::UnixStream::connect(p)
                .map_err(io_err(format!("--console-socket {}", p.display())))?,
        ),
        None => None,
    };
    let state_now = record.state.clone();
    let init_state = move |pid: i32, status: &str| hook_state(&state_now, pid, status);
    let init_opts = InitOptions {
        console: console.as_ref().map(|c| c.as_raw_fd()),
        preserve_fds: opts.preserve_fds,
        hook_state: &init_state,
    };
    let pid = oci::create(&spec, &gate, join, &init_opts)?;
    drop(gate);
    drop(console);
    record.state.pid = pid;
    record.init_start_time = state::start_time_of(pid).unwrap_or(0);
    // prestart (deprecated) and createRuntime ran inside `oci::create`: in the
    // runtime's namespaces, the container's mounts made, before its pivot_root.
    record.hooks = spec.hooks().clone();
    record.state.status = Status::Created;
    let saved = record.save(root).map_err(LifecycleError::from);
    if let Err(e) = saved.and_then(|()| write_pid_file(opts, pid)) {
        let _ = bocker_run::sys::kill(pid, libc::SIGKILL);
        return Err(e);
    }
    Ok(record)
}

fn write_pid_file(opts: &CreateOptions, pid: i32) -> Result<()> {
    let Some(path) = &opts.pid_file else {
        return Ok(());
    };
    let what = || format!("--pid-file {}", path.display());
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    fs::write(&tmp, pid.to_string()).map_err(io_err(what()))?;
    fs::rename(&tmp, path).map_err(io_err(what()))
}

/// `start`: release a `created` container's init to `execve` its process; `running`.
pub fn start(root: &Path, id: &str) -> Result<()> {
    let _lock = lock(root, id)?;
    let mut record = Record::load(root, id)?;
    let status = record.current().status;
    if status != Status::Created {
        return Err(LifecycleError::WrongStatus {
            verb: "start",
            status: status.as_str(),
        });
    }
    let gate = state::container_dir(root, id)?.join(GATE);
    oci::release(&gate).map_err(io_err(
        "the container's init is not waiting at the start gate",
    ))?;
    let _ = fs::remove_file(&gate);
    record.state.status = Status::Running;
    record.save(root)?;
    let poststart = hooks_of(&record.hooks, |h| h.poststart());
    if !poststart.is_empty() {
        let state_json = hook_state(&record.state, record.state.pid, "running");
        run_hooks_warning(poststart, &state_json, "poststart");
    }
    Ok(())
}

/// `kill`: send `signal` to the init of a `created`, `running` or `paused` container.
pub fn kill(root: &Path, id: &str, signal: libc::c_int) -> Result<()> {
    let _lock = lock(root, id)?;
    let record = Record::load(root, id)?;
    let now = record.current();
    if now.status == Status::Stopped {
        return Err(LifecycleError::WrongStatus {
            verb: "kill",
            status: "stopped",
        });
    }
    bocker_run::sys::kill(now.pid, signal).map_err(io_err(format!("kill {}", now.pid)))
}

/// `kill --all`: send `signal` to every process in the container's cgroup (a frozen
/// group is thawed after a SIGKILL, so the processes can die).
pub fn kill_all(root: &Path, id: &str, signal: libc::c_int) -> Result<()> {
    let _lock = lock(root, id)?;
    let record = Record::load(root, id)?;
    if record.current().status == Status::Stopped {
        return Err(LifecycleError::WrongStatus {
            verb: "kill",
            status: "stopped",
        });
    }
    let h = bocker_cgroups::Hierarchy::detect()?;
    let cg = bocker_cgroups::Cgroup::open(&h, &record.cgroup_parent, &record.cgroup_name)?;
    for pid in cg.procs()? {
        let _ = bocker_run::sys::kill(pid, signal);
    }
    if signal == libc::SIGKILL && record.state.status == Status::Paused {
        let dirs = cg.paths();
        let refs: Vec<&Path> = dirs.iter().map(PathBuf::as_path).collect();
        bocker_cgroups::thaw(&refs)?;
    }
    Ok(())
}

/// `delete`: remove a `stopped` container's cgroup and state. A container that is not
/// stopped is refused (runtime spec: deleting one "MUST generate an error") unless
/// `force`, which SIGKILLs its init first and waits for it. A missing id with `force`
/// succeeds (runc's behaviour).
pub fn delete(root: &Path, id: &str, force: bool) -> Result<()> {
    let _lock = match lock(root, id) {
        Ok(l) => l,
        Err(LifecycleError::State(StateError::NotFound)) if force => return Ok(()),
        Err(e) => return Err(e),
    };
    let record = match Record::load(root, id) {
        Ok(r) => r,
        Err(StateError::NotFound) if force => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let now = record.current();
    if now.status != Status::Stopped {
        if !force {
            return Err(LifecycleError::NotStopped(
                id.to_string(),
                now.status.as_str(),
            ));
        }
        let _ = bocker_run::sys::kill(now.pid, libc::SIGKILL);
        if now.status == Status::Paused {
            // A frozen init cannot die until thawed.
            if let Ok(Some(cg)) = ContainerCgroup::open(&record.cgroup_parent, &record.cgroup_name)
            {
                let dirs = cg.paths();
                let refs: Vec<&Path> = dirs.iter().map(PathBuf::as_path).collect();
                let _ = bocker_cgroups::thaw(&refs);
            }
        }
        wait_gone(&record)?;
    }
    if !record.cgroup_name.is_empty() {
        ContainerCgroup::destroy_named(&record.cgroup_parent, &record.cgroup_name)?;
    }
    let poststop = hooks_of(&record.hooks, |h| h.poststop());
    if !poststop.is_empty() {
        let state_json = hook_state(&record.state, 0, "stopped");
        run_hooks_warning(poststop, &state_json, "poststop");
    }
    let dir = state::container_dir(root, id)?;
    fs::remove_dir_all(&dir).map_err(io_err(dir.display().to_string()))
}

/// `ps`: the pids in a container's cgroup (runc reads the same `cgroup.procs`), sorted.
pub fn pids(root: &Path, id: &str) -> Result<Vec<i32>> {
    let record = Record::load(root, id)?;
    let h = bocker_cgroups::Hierarchy::detect()?;
    let mut pids =
        match bocker_cgroups::Cgroup::open(&h, &record.cgroup_parent, &record.cgroup_name) {
            Ok(cg) => cg.procs()?,
            Err(CgroupError::NotFound(_)) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
    pids.sort_unstable();
    Ok(pids)
}

/// `ps`'s table: the header and the rows of `ps -ef` (`ps_ef`) whose PID is in `pids`.
pub fn ps_table(ps_ef: &str, pids: &[i32]) -> String {
    let mut lines = ps_ef.lines();
    let Some(header) = lines.next() else {
        return String::new();
    };
    let col = header
        .split_whitespace()
        .position(|h| h == "PID")
        .unwrap_or(1);
    let mut out = format!("{header}\n");
    for line in lines {
        let pid = line
            .split_whitespace()
            .nth(col)
            .and_then(|p| p.parse().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Wait (up to 10 s) until the record's init no longer runs (exited, or a zombie).
fn wait_gone(record: &Record) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while record.current().status != Status::Stopped {
        if Instant::now() > deadline {
            return Err(LifecycleError::KillTimeout);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}

/// `run`: create, start, wait for the init (our child), delete; returns its exit status
/// (128+N after signal N, as a shell's).
pub fn run(root: &Path, id: &str, opts: &CreateOptions) -> Result<i32> {
    let record = create(root, id, opts)?;
    // From here every signal sent to us goes to the init, as runc's foreground `run`
    // forwards them (after `create`: the init must not inherit the mask).
    let forwarded = forwarded_signals();
    let mut old = forwarded;
    // SAFETY: valid sets; only this thread's mask changes (the runtime is single-threaded).
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &forwarded, &mut old) };
    if let Err(e) = start(root, id) {
        let _ = delete(root, id, true);
        return Err(e);
    }
    let status = forward_until_exit(record.state.pid, &forwarded);
    // SAFETY: restoring the mask saved above.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
    delete(root, id, true)?;
    Ok(status)
}

/// Every signal but those the kernel raises for a fault of our own (never blockable in
/// practice) and SIGKILL/SIGSTOP (never blockable at all).
fn forwarded_signals() -> libc::sigset_t {
    let mut set = bocker_run::sys::sigset_all();
    for sig in [
        libc::SIGSEGV,
        libc::SIGBUS,
        libc::SIGFPE,
        libc::SIGILL,
        libc::SIGTRAP,
        libc::SIGSYS,
        libc::SIGKILL,
        libc::SIGSTOP,
    ] {
        // SAFETY: `set` is an initialised sigset_t of ours.
        unsafe { libc::sigdelset(&mut set, sig) };
    }
    set
}

/// Wait for our child `pid` (`set` blocked by the caller), passing every other signal
/// of `set` on to it (runc's foreground `run`); its exit status, 128+N after signal N.
fn forward_until_exit(pid: i32, set: &libc::sigset_t) -> i32 {
    loop {
        // A SIGCHLD that came before the mask was set is lost: look first, then wait.
        if let Some((_, status)) = bocker_run::sys::try_wait(pid) {
            return if libc::WIFSIGNALED(status) {
                128 + libc::WTERMSIG(status)
            } else {
                libc::WEXITSTATUS(status)
            };
        }
        match bocker_run::sys::sigwaitinfo(set) {
            Ok(libc::SIGCHLD) => {}
            Ok(sig) => {
                let _ = bocker_run::sys::kill(pid, sig);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return 255,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ps_table_keeps_the_containers_rows() {
        let ef = "UID PID PPID C STIME TTY TIME CMD\nroot 1 0 0 10:00 ? 00:00:01 init\nroot 42 1 0 10:01 ? 00:00:00 sleep 60\n";
        let t = ps_table(ef, &[42]);
        assert_eq!(
            t,
            "UID PID PPID C STIME TTY TIME CMD\nroot 42 1 0 10:01 ? 00:00:00 sleep 60\n"
        );
    }

    #[test]
    fn cgroups_path_to_parent_and_name() {
        let n = |p: Option<&str>| cgroup_names(p.map(Path::new), "c1");
        let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(n(None), pair("bocker-runtime", "c1"));
        assert_eq!(n(Some("")), pair("bocker-runtime", "c1"));
        assert_eq!(n(Some("/default/c1")), pair("default", "c1"));
        assert_eq!(n(Some("/a/b/c")), pair("a/b", "c"));
        assert_eq!(n(Some("x")), pair("bocker-runtime", "x"));
        assert_eq!(n(Some("x/y")), pair("bocker-runtime/x", "y"));
    }
}
