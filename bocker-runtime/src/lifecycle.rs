//! The OCI lifecycle verbs on bocker-run's runtime library (runtime spec "Lifecycle",
//! runc's CLI): `create` (init parked at the start gate, `created`), `start` (`running`),
//! `kill`, `delete` (stopped only, unless `--force`), and `run` = create + start + wait +
//! delete. The container's directory `<root>/<id>` holds `state.json` ([`crate::state`])
//! and the gate `exec.fifo` (bocker_run::oci).

use crate::state::{self, Record, State, StateError, Status};
use bocker_run::cgroup_step::{CgroupError, ContainerCgroup};
use bocker_run::oci::{self, CgroupJoin, OciError};
use oci_spec::runtime::Spec;
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
}

type Result<T> = std::result::Result<T, LifecycleError>;

fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> LifecycleError {
    let what = what.into();
    move |source| LifecycleError::Io { what, source }
}

/// `create`'s options (runc's flags).
#[derive(Debug, Clone)]
pub struct CreateOptions {
    /// The bundle directory holding `config.json`.
    pub bundle: PathBuf,
    /// Where to write the init's pid (atomically: the shim reads it as soon as we exit).
    pub pid_file: Option<PathBuf>,
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
fn load_spec(bundle: &Path) -> Result<(Spec, PathBuf)> {
    let path = bundle.join("config.json");
    let config = |message: String| LifecycleError::Config {
        path: path.clone(),
        message,
    };
    let mut spec = Spec::load(&path).map_err(|e| config(e.to_string()))?;
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
    let mut cgroup = None;
    let result = create_in(root, &dir, id, opts, &mut cgroup);
    if result.is_err() {
        if let Some(cg) = cgroup {
            let _ = cg.destroy();
        }
        let _ = fs::remove_dir_all(&dir);
    }
    result
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
    let pid = oci::create(&spec, &gate, join)?;
    drop(gate);
    record.state.pid = pid;
    record.state.status = Status::Created;
    record.init_start_time = state::start_time_of(pid).unwrap_or(0);
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
    Ok(())
}

/// `kill`: send `signal` to the init of a `created`, `running` or `paused` container.
pub fn kill(root: &Path, id: &str, signal: libc::c_int) -> Result<()> {
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

/// `delete`: remove a `stopped` container's cgroup and state. A container that is not
/// stopped is refused (runtime spec: deleting one "MUST generate an error") unless
/// `force`, which SIGKILLs its init first and waits for it. A missing id with `force`
/// succeeds (runc's behaviour).
pub fn delete(root: &Path, id: &str, force: bool) -> Result<()> {
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
        wait_gone(&record)?;
    }
    if !record.cgroup_name.is_empty() {
        ContainerCgroup::destroy_named(&record.cgroup_parent, &record.cgroup_name)?;
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
    if let Err(e) = start(root, id) {
        let _ = delete(root, id, true);
        return Err(e);
    }
    let status = wait_child(record.state.pid);
    delete(root, id, true)?;
    Ok(status)
}

/// Reap our child `pid`; its exit status, 128+N after signal N.
fn wait_child(pid: i32) -> i32 {
    let mut status = 0;
    loop {
        // SAFETY: waiting for our own child; `status` is ours to write.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            break;
        }
        if r == -1 && io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            return 255;
        }
    }
    if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        libc::WEXITSTATUS(status)
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
