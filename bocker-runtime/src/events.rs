//! `events [--interval D] ID`: runc's event stream of a live container, one JSON line
//! each: `{"type":"stats","id":…,"data":{…}}` now and every `interval`
//! ([`crate::control::stats_event`]), and `{"type":"oom","id":…}` whenever the
//! container's memory cgroup has an OOM kill (bocker-cgroups' [`OomWatch`]: v1
//! `memory.oom_control` eventfd, v2 `memory.events` `oom_kill`), as runc's `events`
//! prints them (its `types.Event`: `data` omitted when empty). The stream ends when the
//! container's init exits (a pidfd), its group is removed, or the container is deleted;
//! runc's goes on until killed.

use crate::control::{self, group, wrong};
use crate::lifecycle::LifecycleError;
use crate::state::{Record, StateError, Status};
use bocker_cgroups::{OomEvent, OomWatch};
use serde_json::{json, Value};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;
use std::time::{Duration, Instant};

type Result<T> = std::result::Result<T, LifecycleError>;

/// An OOM event of container `id` (runc's line).
pub fn oom_event(id: &str) -> Value {
    json!({"type": "oom", "id": id})
}

/// The stream: the OOM watch is registered before the first stats line is emitted, so a
/// caller that has read that line sees every later OOM.
pub fn events(
    root: &Path,
    id: &str,
    interval: Duration,
    mut emit: impl FnMut(&Value),
) -> Result<()> {
    let record = Record::load(root, id)?;
    if record.current().status == Status::Stopped {
        return Err(wrong("get events of", Status::Stopped));
    }
    // Without a memory controller there are no OOM events, only stats.
    let mut oom = OomWatch::open(&group(&record)?).ok();
    let init = bocker_exec::sys::pidfd_open(record.state.pid).ok();
    // The pidfd pins one process: if it is still the recorded init, it is for good.
    let init = init.filter(|_| record.current().status != Status::Stopped);
    let Some(init) = init else { return Ok(()) };
    loop {
        match control::stats(root, id) {
            Ok(v) => emit(&v),
            Err(LifecycleError::WrongStatus { .. })
            | Err(LifecycleError::State(StateError::NotFound)) => return Ok(()),
            Err(e) => return Err(e),
        }
        let next = Instant::now() + interval;
        while let Some(left) = next.checked_duration_since(Instant::now()) {
            match wait(oom.as_ref(), &init, left)? {
                Woke::Timeout => break,
                Woke::Oom => {}
                Woke::Exited => {
                    // An OOM kill of the init is counted before it dies: report it last.
                    if let Some(w) = oom.as_mut() {
                        if w.read()? == OomEvent::Oom {
                            emit(&oom_event(id));
                        }
                    }
                    return Ok(());
                }
            }
            if let Some(w) = oom.as_mut() {
                match w.read()? {
                    OomEvent::Oom => emit(&oom_event(id)),
                    OomEvent::Gone => return Ok(()),
                    OomEvent::None => {}
                }
            }
        }
    }
}

enum Woke {
    Timeout,
    Oom,
    Exited,
}

/// Wait up to `left` for the OOM watch or the init's exit.
fn wait(oom: Option<&OomWatch>, init: &OwnedFd, left: Duration) -> Result<Woke> {
    let fd = |raw| libc::pollfd {
        fd: raw,
        events: libc::POLLIN,
        revents: 0,
    };
    let mut fds = vec![fd(init.as_raw_fd())];
    if let Some(w) = oom {
        fds.push(fd(w.as_fd().as_raw_fd()));
    }
    let ms = libc::c_int::try_from(left.as_millis().max(1)).unwrap_or(libc::c_int::MAX);
    let n = bocker_exec::sys::poll(&mut fds, ms).map_err(|source| LifecycleError::Io {
        what: "waiting for events".into(),
        source,
    })?;
    Ok(match n {
        0 => Woke::Timeout,
        _ if fds[0].revents != 0 => Woke::Exited,
        _ => Woke::Oom,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oom_event_has_runcs_shape() {
        assert_eq!(
            serde_json::to_string(&oom_event("c1")).unwrap(),
            r#"{"id":"c1","type":"oom"}"#
        );
    }
}
