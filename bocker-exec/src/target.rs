//! Finding the container to enter and a handle on its first process that cannot be
//! fooled by pid reuse: the recorded pid is opened as a pidfd, then checked to be in the
//! container's own cgroup while the pidfd still refers to a live process. (The seed
//! grepped `ps` for the command line, which matched any process.)

use crate::sys;
use bocker_store::liveness;
use bocker_store::{ContainerRecord, Store, StoreError};
use std::os::fd::OwnedFd;

/// Why there is nothing to enter. Messages are the seed's.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("Container '{0}' exists but is not running")]
    NotRunning(String),
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
    let pidfd = sys::pidfd_open(pid).map_err(|_| not_running())?;
    // The pidfd names one process for good. If that process is in the container's own
    // cgroup, and still alive after we looked, the pid we checked was that process.
    if !liveness::cgroup_pids(&record).contains(&pid) || !sys::pidfd_alive(&pidfd) {
        return Err(not_running());
    }
    Ok(Target { record, pid, pidfd })
}
