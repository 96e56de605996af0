//! `bocker stop`: the container's stop signal (`-s`, else the image's `StopSignal`
//! recorded at create, else SIGTERM) to its first process, then SIGKILL if it has not
//! exited after the timeout (default 10 s; negative: wait for ever), as Docker stops a
//! container. A paused container gets its stop signal and is then thawed, so that it
//! handles it (Docker 20.10's `killWithSignal`: signal, then resume). A container that
//! is not running is already stopped: success.

use std::time::Duration;

use bocker_store::{liveness, ContainerId, Store, StoreError};

use super::kill::{self, KillError};
use super::signal::{self, InvalidSignal};
use super::wait::{self, Ended};

/// Docker's default `stop -t`, seconds.
pub const DEFAULT_TIMEOUT: i64 = 10;

/// `-t` when given, else [`recorded_timeout`] of container `id` (seconds): the wait of
/// `stop` and `restart`, Docker's rule for both.
pub fn timeout_for(store: &Store, id: &ContainerId, given: Option<i64>) -> Result<i64, StoreError> {
    match given {
        Some(t) => Ok(t),
        None => Ok(recorded_timeout(&store.read_container(id)?)),
    }
}

/// The container's `run --stop-timeout` (its record's `stop_timeout`), else
/// [`DEFAULT_TIMEOUT`]: what `stop` and `restart` wait without `-t`, as Docker.
pub fn recorded_timeout(rec: &bocker_store::ContainerRecord) -> i64 {
    let recorded = rec.config.extra.get("stop_timeout");
    recorded
        .and_then(serde_json::Value::as_i64)
        .unwrap_or(DEFAULT_TIMEOUT)
}

/// Why a stop failed.
#[derive(Debug, thiserror::Error)]
pub enum StopError {
    #[error("the container's stop signal: {0}")]
    Signal(#[from] InvalidSignal),
    #[error(transparent)]
    Kill(#[from] KillError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Stops container `id`: `sig` (or its recorded stop signal, or SIGTERM), then SIGKILL
/// after `timeout_s` seconds (negative: never); returns once it has ended.
pub fn stop(
    store: &Store,
    id: &ContainerId,
    sig: Option<libc::c_int>,
    timeout_s: i64,
) -> Result<Ended, StopError> {
    let rec = store.read_container(id)?;
    if !liveness::is_running(&rec) {
        // Ended already (a dead supervisor's container is reclaimed on the way).
        let ended = wait::wait_for(store, id, Some(Duration::ZERO))?;
        return Ok(ended.unwrap_or(Ended::Exited(rec.state.exit_code.unwrap_or(0))));
    }
    let sig = match (sig, rec.config.stop_signal.as_deref()) {
        (Some(s), _) => s,
        (None, Some(s)) => signal::parse(s)?,
        (None, None) => libc::SIGTERM,
    };
    // Paused: thawed right after the signal, so it is handled (Docker's order).
    match kill::signal_and_thaw(store, &rec, sig) {
        Ok(()) | Err(KillError::NotRunning(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let timeout = u64::try_from(timeout_s).ok().map(Duration::from_secs);
    if let Some(ended) = wait::wait_for(store, id, timeout)? {
        return Ok(ended);
    }
    let ended = kill_and_wait(store, id, None)?;
    Ok(ended.unwrap_or(Ended::Removed))
}

/// SIGKILL to container `id` (thawed if paused), then wait for its end, at most
/// `timeout` (`Ok(None)` when it has not ended by then).
pub fn kill_and_wait(
    store: &Store,
    id: &ContainerId,
    timeout: Option<Duration>,
) -> Result<Option<Ended>, StopError> {
    match kill::kill(store, id, libc::SIGKILL) {
        Ok(()) | Err(KillError::NotRunning(_)) => {}
        Err(KillError::Store(StoreError::NoSuchContainer(_))) => return Ok(Some(Ended::Removed)),
        Err(e) => return Err(e.into()),
    }
    Ok(wait::wait_for(store, id, timeout)?)
}
