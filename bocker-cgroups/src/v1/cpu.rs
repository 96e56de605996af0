//! v1 `cpu` controller: cpu.shares and the CFS quota for `--cpus`.

use std::path::Path;

use crate::error::Result;
use crate::fs;
use crate::limits::{Limits, CPU_PERIOD_US};

pub(crate) fn apply(dir: &Path, limits: &Limits) -> Result<()> {
    if let Some(shares) = limits.shares() {
        fs::write(&dir.join("cpu.shares"), &shares.to_string())?;
    }
    if let Some(quota) = limits.cpu_quota_us()? {
        // Period first: the quota is interpreted against it.
        fs::write(&dir.join("cpu.cfs_period_us"), &CPU_PERIOD_US.to_string())?;
        fs::write(&dir.join("cpu.cfs_quota_us"), &quota.to_string())?;
    }
    Ok(())
}
