//! `bocker rm` of a container: refuse a running one unless forced; else kill it and
//! release what it holds ([`super::release`]), then drop its record and storage from the
//! store. The store alone only ever drops data.

use bocker_store::{liveness, ContainerId, Status, Store, StoreError};

use super::cgroups::ContainerCgroup;

/// Why a removal was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum RemoveError {
    #[error("container {0} is running: stop it first or use -f")]
    Running(String),
    #[error("container {id} could not be released: {why}")]
    Unreleased { id: String, why: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How long `rm -f` lets a killed container's supervisor finish before it releases
/// what the container holds itself.
const FORCE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Removes container `id`: refuses a running one unless `force`, which kills it.
pub fn remove(store: &Store, id: &ContainerId, force: bool) -> Result<(), RemoveError> {
    let mut rec = store.read_container(id)?;
    if force && liveness::is_running(&rec) {
        // Killed first, so its supervisor releases what it holds and records the end
        // (a `--rm` one removes itself: then there is nothing left to do).
        if let Ok(Some(_)) = super::stop::kill_and_wait(store, id, Some(FORCE_WAIT)) {
            match store.read_container(id) {
                Err(StoreError::NoSuchContainer(_)) => return Ok(()),
                r => rec = r?,
            }
        }
    }
    let entry = store.read_live(id)?;
    if !force && rec.state.status == Status::Running {
        // Running: its supervisor lives, or (supervisor killed) processes are left in
        // its cgroup. A dead container is removed without -f.
        let in_cgroup = entry
            .as_ref()
            .and_then(|e| e.cgroup_parent.as_deref())
            .and_then(|p| ContainerCgroup::open(p, &id.0).ok().flatten())
            .is_some_and(|cg| cg.has_processes());
        if liveness::supervisor_alive(&rec) || in_cgroup {
            return Err(RemoveError::Running(id.0.clone()));
        }
    }
    if let Some(entry) = &entry {
        let failed = super::release::release(store, id, entry);
        if !failed.is_empty() {
            return Err(RemoveError::Unreleased {
                id: id.0.clone(),
                why: failed.join("; "),
            });
        }
    }
    match store.remove_container_record(id) {
        // A `--rm` container's supervisor removed it meanwhile: removed all the same.
        Err(StoreError::NoSuchContainer(_)) if force => return Ok(()),
        r => r?,
    }
    if entry.is_some() {
        let failed = super::release::forget(store, id, Vec::new());
        if !failed.is_empty() {
            return Err(RemoveError::Unreleased {
                id: id.0.clone(),
                why: failed.join("; "),
            });
        }
    }
    Ok(())
}
