//! `bocker kill`: a signal to the container's first process, as Docker sends it. The
//! recorded pid is pinned with a pidfd and checked to be in the container's own cgroup
//! before the signal goes, so a recycled pid is never signalled. As for any PID 1, the
//! kernel delivers only the signals it has a handler for (and SIGKILL).

use bocker_store::{liveness, ContainerId, ContainerRecord, Store, StoreError};

use super::cgroups;
use crate::sys;

/// Why a signal was not sent. Messages are Docker's.
#[derive(Debug, thiserror::Error)]
pub enum KillError {
    #[error("Container {0} is not running")]
    NotRunning(String),
    #[error("Container {0} is paused. Unpause the container before stopping or killing")]
    Paused(String),
    #[error("signalling container {id}: {source}")]
    Signal { id: String, source: std::io::Error },
    #[error("thawing container {id}: {source}")]
    Thaw {
        id: String,
        source: bocker_cgroups::CgroupError,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Sends `sig` to container `id`'s first process. A paused container takes only
/// SIGKILL (Docker's rule), and is thawed so that it dies.
pub fn kill(store: &Store, id: &ContainerId, sig: libc::c_int) -> Result<(), KillError> {
    let rec = store.read_container(id)?;
    if rec.state.paused && sig != libc::SIGKILL && liveness::is_running(&rec) {
        return Err(KillError::Paused(id.0.clone()));
    }
    signal_and_thaw(store, &rec, sig)
}

/// Sends `sig` to the first process of the running container `rec`, then, if it is
/// paused, thaws it (and records it running) so that the signal is handled: Docker's
/// order for `stop` of a paused container (signal, then resume).
pub fn signal_and_thaw(
    store: &Store,
    rec: &ContainerRecord,
    sig: libc::c_int,
) -> Result<(), KillError> {
    signal_first_process(rec, sig)?;
    if rec.state.paused {
        bocker_cgroups::thaw(&cgroups::own(rec)).map_err(|source| KillError::Thaw {
            id: rec.id.clone(),
            source,
        })?;
        let id = ContainerId(rec.id.clone());
        store.update_container(&id, |r| r.state.paused = false)?;
    }
    Ok(())
}

/// Sends `sig` to the recorded first process of a running container, pinned by a pidfd
/// and found in the container's own cgroup. Errors: not running (also: it exited
/// meanwhile), or the signal could not be sent.
pub fn signal_first_process(rec: &ContainerRecord, sig: libc::c_int) -> Result<(), KillError> {
    let not_running = || KillError::NotRunning(rec.id.clone());
    let pid = match rec.state.pid {
        Some(p) if p > 0 && liveness::is_running(rec) => p,
        _ => return Err(not_running()),
    };
    let pidfd = sys::pidfd_open(pid).map_err(|_| not_running())?;
    // The pidfd names one process for good: if that pid is in the container's own
    // cgroup now, the pidfd is the container's process.
    if !cgroups::pids(rec).contains(&pid) {
        return Err(not_running());
    }
    match sys::pidfd_send_signal(&pidfd, sig) {
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Err(not_running()),
        Err(source) => Err(KillError::Signal {
            id: rec.id.clone(),
            source,
        }),
        Ok(()) => Ok(()),
    }
}
