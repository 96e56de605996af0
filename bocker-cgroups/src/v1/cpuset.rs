//! v1 `cpuset` controller: a new group starts with empty cpus/mems and no
//! task may join until they are filled, so copy them from the parent.

use std::path::Path;

use crate::error::Result;
use crate::fs;

/// Fills cpuset.cpus and cpuset.mems of `dir` from its parent when empty, the parent's
/// first when that is empty too (a level made by another tool, or before bocker set
/// `cgroup.clone_children` on the levels it makes), up to the hierarchy's root, which is
/// never empty. A directory without cpuset files (another hierarchy) is left alone.
pub(crate) fn inherit(dir: &Path) -> Result<()> {
    for file in ["cpuset.cpus", "cpuset.mems"] {
        let own = dir.join(file);
        let value = match fs::read(&own) {
            Ok(v) => v,
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Err(e),
        };
        if !value.is_empty() {
            continue;
        }
        let Some(parent) = dir.parent() else {
            continue;
        };
        let mut from = fs::read(&parent.join(file))?;
        if from.is_empty() {
            inherit(parent)?;
            from = fs::read(&parent.join(file))?;
        }
        fs::write(&own, &from)?;
    }
    Ok(())
}
