//! Pausing a container's group while something reads its files (`commit`, as Docker's
//! `--pause`): the freezer stops every task, and the returned guard thaws on drop.

use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::error::{CgroupError, Result};
use crate::fs;

/// How long a group may take to report itself frozen before the pause is given up.
const SETTLE: Duration = Duration::from_secs(2);

/// A frozen group; thawed when dropped (also on an error path of the caller), unless
/// it was frozen already (`bocker pause`): then it stays as it was found.
#[derive(Debug)]
pub struct Frozen {
    /// v1 `freezer.state` or v2 `cgroup.freeze`.
    file: PathBuf,
    thawed: &'static str,
    was_frozen: bool,
}

impl Frozen {
    /// Leaves the group frozen for good (`bocker pause`): nothing thaws it until
    /// [`thaw`] is called, by this process or a later one.
    pub fn keep(self) {
        std::mem::forget(self);
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        if self.was_frozen {
            return;
        }
        let _ = fs::write(&self.file, self.thawed);
    }
}

/// Freezes the container group among `paths` (its recorded cgroup directories): the
/// v1 `freezer` one (`freezer.state` = FROZEN) or a v2 one (`cgroup.freeze` = 1), and
/// waits until the kernel reports every task frozen. `Ok(None)` when none of the paths
/// offers a freezer (nothing is paused).
/// Errors: the state file cannot be written, or the group does not settle within 2 s
/// (then it is thawed again).
pub fn freeze(paths: &[&Path]) -> Result<Option<Frozen>> {
    for dir in paths {
        let v1 = dir.join("freezer.state");
        if v1.is_file() {
            let was_frozen = fs::read(&v1)?.trim() == "FROZEN";
            fs::write(&v1, "FROZEN")?;
            let guard = Frozen {
                file: v1.clone(),
                thawed: "THAWED",
                was_frozen,
            };
            settle(dir, || Ok(fs::read(&v1)?.trim() == "FROZEN"))?;
            return Ok(Some(guard));
        }
        let v2 = dir.join("cgroup.freeze");
        if v2.is_file() {
            let was_frozen = fs::read(&v2)?.trim() == "1";
            fs::write(&v2, "1")?;
            let guard = Frozen {
                file: v2,
                thawed: "0",
                was_frozen,
            };
            let events = dir.join("cgroup.events");
            settle(dir, || {
                Ok(fs::read(&events)?.lines().any(|l| l.trim() == "frozen 1"))
            })?;
            return Ok(Some(guard));
        }
    }
    Ok(None)
}

/// Thaws the container group among `paths` (`bocker unpause`): v1 `freezer.state` =
/// THAWED or v2 `cgroup.freeze` = 0. `Ok(false)` when none of the paths offers a freezer.
/// Errors: the state file cannot be written.
pub fn thaw(paths: &[&Path]) -> Result<bool> {
    for dir in paths {
        let v1 = dir.join("freezer.state");
        if v1.is_file() {
            fs::write(&v1, "THAWED")?;
            return Ok(true);
        }
        let v2 = dir.join("cgroup.freeze");
        if v2.is_file() {
            fs::write(&v2, "0")?;
            return Ok(true);
        }
    }
    Ok(false)
}

fn settle(dir: &Path, frozen: impl Fn() -> Result<bool>) -> Result<()> {
    let deadline = Instant::now() + SETTLE;
    while !frozen()? {
        if Instant::now() > deadline {
            return Err(CgroupError::io(
                "freezing",
                dir,
                std::io::Error::new(std::io::ErrorKind::TimedOut, "the group did not freeze"),
            ));
        }
        sleep(Duration::from_millis(2));
    }
    Ok(())
}
