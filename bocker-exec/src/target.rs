//! Finding the container to enter and a handle on its first process that cannot be
//! fooled by pid reuse: the recorded pid is opened as a pidfd, then checked to be in the
//! container's own cgroup, past its start sequence, while the pidfd still refers to a
//! live process. (The seed grepped `ps` for the command line, which matched any
//! process.)

use crate::sys;
use bocker_store::liveness;
use bocker_store::{ContainerRecord, Store, StoreError};
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

/// Why there is nothing to enter. Messages are the seed's.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("Container '{0}' exists but is not running")]
    NotRunning(String),
    /// Docker 20.10's message (the container as named): a frozen container cannot run
    /// the command.
    #[error("Container {0} is paused, unpause the container before exec")]
    Paused(String),
}

/// A running container: its record and a pidfd on its first process.
pub struct Target {
    pub record: ContainerRecord,
    pub pid: libc::pid_t,
    pub pidfd: OwnedFd,
}

/// Resolve `query` (id, prefix or name) to a running container and pin its first process.
pub fn find(store: &Store, query: &str) -> Result<Target, TargetError> {
    let id = store.resolve_container(query)?;
    let record = store.read_container(&id)?;
    let not_running = || TargetError::NotRunning(query.to_string());
    let pid = match record.state.pid {
        Some(p) if p > 0 && liveness::is_running(&record) => p,
        _ => return Err(not_running()),
    };
    if record.state.paused {
        // Docker refuses; entering a frozen cgroup would hang.
        return Err(TargetError::Paused(query.to_string()));
    }
    let pidfd = sys::pidfd_open(pid).map_err(|_| not_running())?;
    // The pidfd names one process for good. If that process is in the container's own
    // cgroup, and still alive after we looked, the pid we checked was that process.
    let deadline = Instant::now() + START_WAIT;
    loop {
        let unconfined = bocker_run::spec::recorded::of(&record.config).seccomp_unconfined;
        let ready = bocker_run::container::cgroups::pids(&record).contains(&pid)
            && start_finished(pid, unconfined);
        if !sys::pidfd_alive(&pidfd) {
            return Err(not_running());
        }
        if ready {
            return Ok(Target { record, pid, pidfd });
        }
        if Instant::now() >= deadline {
            return Err(not_running());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// How long a container recorded as running may still be finishing its start.
const START_WAIT: Duration = Duration::from_secs(10);

/// True once the container's first process has finished run's start sequence. The
/// record says "running" as soon as the process exists, while it is still building
/// its root (joining its cgroup, pivot_root, sethostname…): entering its mount
/// namespace then would see the host's filesystem. Its last step before the exec (or
/// before `--init` starts its loop) installs the seccomp filter, so "Seccomp: 2" in
/// /proc/<pid>/status means it is done.
///
/// A container without a filter (`--privileged`, `seccomp=unconfined`) is done once its
/// first process has exec'd its command: its executable is no longer `bocker-run`. (With
/// `--init` it never execs, so exec waits for [`START_WAIT`] and refuses.)
fn start_finished(pid: libc::pid_t, unconfined: bool) -> bool {
    if unconfined {
        let exe = std::fs::read_link(format!("/proc/{pid}/exe"));
        return exe.is_ok_and(|e| e.file_name().is_some_and(|n| n != "bocker-run"));
    }
    std::fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|s| {
        s.lines()
            .any(|l| l.strip_prefix("Seccomp:").map(str::trim) == Some("2"))
    })
}
