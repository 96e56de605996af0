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

/// Sends `sig` to container `id`'s first process. A paused container gets the signal
/// and is then thawed so that it handles it, as Docker 20.10's `killWithSignal` does
/// (checked: `kill -s TERM` and `-s USR1` of a paused container run its traps) — except
/// when the image has a StopSignal and `sig` is another one (not SIGKILL): then it
/// stays paused, the signal pending, as Docker's.
pub fn kill(store: &Store, id: &ContainerId, sig: libc::c_int) -> Result<(), KillError> {
    let rec = store.read_container(id)?;
    let other_than_stop_signal = match rec.config.stop_signal.as_deref() {
        Some(s) if sig != libc::SIGKILL => super::signal::parse(s).ok() != Some(sig),
        _ => false,
    };
    if rec.state.paused && other_than_stop_signal {
        return signal_first_process(&rec, sig);
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
