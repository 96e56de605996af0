//! `bocker pause` / `unpause`: every process of the container frozen or thawed through
//! its cgroup (v1 `freezer.state`, v2 `cgroup.freeze`: bocker-cgroups), and the record
//! says so (`state.paused`, shown as `paused` by `ps`), as Docker's pause does.

use bocker_store::{liveness, ContainerId, Status, Store, StoreError};

use super::cgroups;

/// Why a pause or unpause was refused or failed. Messages are Docker's.
#[derive(Debug, thiserror::Error)]
pub enum PauseError {
    #[error("Container {0} is not running")]
    NotRunning(String),
    #[error("Container {0} is already paused")]
    AlreadyPaused(String),
    #[error("Container {0} is not paused")]
    NotPaused(String),
    #[error("container {0}: its cgroups have no freezer")]
    NoFreezer(String),
    #[error("container {id}: {source}")]
    Cgroup {
        id: String,
        source: bocker_cgroups::CgroupError,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Freezes container `id` and records it paused.
pub fn pause(store: &Store, id: &ContainerId) -> Result<(), PauseError> {
    let rec = store.read_container(id)?;
    if !liveness::is_running(&rec) {
        return Err(PauseError::NotRunning(id.0.clone()));
    }
    if rec.state.paused {
        return Err(PauseError::AlreadyPaused(id.0.clone()));
    }
    let cgroup = |source| PauseError::Cgroup {
        id: id.0.clone(),
        source,
    };
    let frozen = cgroups::freeze(&rec)
        .map_err(cgroup)?
        .ok_or_else(|| PauseError::NoFreezer(id.0.clone()))?;
    // Recorded before the guard is let go: a failure to record thaws it again.
    store.update_container(id, |r| r.state.paused = r.state.status == Status::Running)?;
    frozen.keep();
    Ok(())
}

/// Thaws container `id` and records it running.
pub fn unpause(store: &Store, id: &ContainerId) -> Result<(), PauseError> {
    let rec = store.read_container(id)?;
    if !liveness::is_running(&rec) {
        return Err(PauseError::NotRunning(id.0.clone()));
    }
    if !rec.state.paused {
        return Err(PauseError::NotPaused(id.0.clone()));
    }
    let thawed =
        bocker_cgroups::thaw(&cgroups::own(&rec)).map_err(|source| PauseError::Cgroup {
            id: id.0.clone(),
            source,
        })?;
    if !thawed {
        return Err(PauseError::NoFreezer(id.0.clone()));
    }
    store.update_container(id, |r| r.state.paused = false)?;
    Ok(())
}
