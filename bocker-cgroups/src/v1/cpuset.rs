//! v1 `cpuset` controller: a new group starts with empty cpus/mems and no
//! task may join until they are filled, so copy them from the parent.

use std::path::Path;

use crate::error::Result;
use crate::fs;

/// Fills cpuset.cpus and cpuset.mems of `dir` from its parent when empty.
pub(crate) fn inherit(dir: &Path) -> Result<()> {
    let Some(parent) = dir.parent() else {
        return Ok(());
    };
    for file in ["cpuset.cpus", "cpuset.mems"] {
        let own = dir.join(file);
        if !own.exists() || !fs::read(&own)?.is_empty() {
            continue;
        }
        let value = fs::read(&parent.join(file))?;
        fs::write(&own, &value)?;
    }
    Ok(())
}
