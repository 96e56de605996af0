//! v1 `freezer` controller: stop a group so it cannot fork while being killed.

use std::path::Path;
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::error::Result;
use crate::fs;

/// Asks the group to freeze and waits briefly until it reports FROZEN.
/// A group that does not settle in time is killed anyway by the caller's loop.
pub(crate) fn freeze(dir: &Path) -> Result<()> {
    let state = dir.join("freezer.state");
    fs::write(&state, "FROZEN")?;
    let deadline = Instant::now() + Duration::from_secs(1);
    while fs::read(&state)? != "FROZEN" && Instant::now() < deadline {
        sleep(Duration::from_millis(5));
    }
    Ok(())
}

pub(crate) fn thaw(dir: &Path) -> Result<()> {
    fs::write(&dir.join("freezer.state"), "THAWED")
}
