//! `bocker wait`: block until a container has exited and give its exit code, from its
//! record (which its supervisor writes last). A waiter holds the container's waiters'
//! lock (shared) while it reads, and a `--rm` container's supervisor records the exit
//! before it takes that lock (exclusive) to remove the record: a wait begun before the
//! exit prints the code (Docker's), one begun after the removal finds no container. A container whose supervisor died is
//! reclaimed on the way ([`crate::reclaim`]): it reads `exited (137)` then.

use std::time::{Duration, Instant};

use bocker_store::lock::Mode;
use bocker_store::{liveness, ContainerId, Status, Store, StoreError};

/// How a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The container exited with this code (128+N after signal N).
    Exited(i32),
    /// Its record is gone (`--rm`, or removed by `rm -f`): it has ended, its code is lost.
    Removed,
}

/// How often the record is read while waiting.
const POLL: Duration = Duration::from_millis(10);

/// Waits until container `id` is no longer running ([`wait_for`] without a timeout).
pub fn wait(store: &Store, id: &ContainerId) -> Result<Ended, StoreError> {
    wait_for(store, id, None).map(|e| e.unwrap_or(Ended::Removed))
}

/// Waits until container `id` has ended, or `timeout` has passed (`Ok(None)`).
/// Errors: the record cannot be read (other than being gone).
pub fn wait_for(
    store: &Store,
    id: &ContainerId,
    timeout: Option<Duration>,
) -> Result<Option<Ended>, StoreError> {
    let deadline = timeout.map(|t| Instant::now() + t);
    // Held while we read: a `--rm` container's supervisor removes the record only once
    // every waiter has seen the exit it recorded first.
    let _waiting = match store.lock_container_waiters(id, Mode::Shared) {
        Ok(l) => l,
        Err(StoreError::NoSuchContainer(_)) => return Ok(Some(Ended::Removed)),
        Err(e) => return Err(e),
    };
    let mut reclaimed = false;
    loop {
        let rec = match store.read_container(id) {
            Ok(r) => r,
            Err(StoreError::NoSuchContainer(_)) => return Ok(Some(Ended::Removed)),
            Err(e) => return Err(e),
        };
        match rec.state.status {
            Status::Exited => return Ok(Some(Ended::Exited(rec.state.exit_code.unwrap_or(0)))),
            Status::Running if !liveness::supervisor_alive(&rec) && !reclaimed => {
                // Its supervisor died: finish it as the next `run` would.
                crate::reclaim::reclaim(store);
                reclaimed = true;
                continue;
            }
            _ => {}
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(None);
        }
        std::thread::sleep(POLL);
    }
}
