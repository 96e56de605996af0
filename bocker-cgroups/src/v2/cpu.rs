//! v2 `cpu` controller: cpu.weight (from Docker's shares) and cpu.max.

use std::path::Path;

use crate::error::Result;
use crate::fs;
use crate::limits::{Limits, CPU_PERIOD_US};

/// Maps v1 shares [2, 262144] onto v2 weight [1, 10000] with the curve runc
/// (opencontainers/cgroups) and crun now use: it keeps the defaults aligned
/// (1024 -> 100) where the older linear formula gave 1024 -> 39.
pub fn shares_to_weight(shares: u64) -> u64 {
    match shares {
        0 => 0,
        1..=2 => 1,
        s if s >= 262_144 => 10_000,
        s => {
            let l = (s as f64).log2();
            let exponent = (l * l + 125.0 * l) / 612.0 - 7.0 / 34.0;
            10f64.powf(exponent).ceil() as u64
        }
    }
}

pub(crate) fn apply(dir: &Path, limits: &Limits) -> Result<()> {
    if let Some(shares) = limits.shares() {
        fs::write(
            &dir.join("cpu.weight"),
            &shares_to_weight(shares).to_string(),
        )?;
    }
    if let Some(quota) = limits.cpu_quota_us()? {
        fs::write(&dir.join("cpu.max"), &format!("{quota} {CPU_PERIOD_US}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::shares_to_weight;

    #[test]
    fn weight_curve_hits_the_fixed_points() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 100);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(shares_to_weight(512), 59);
        assert_eq!(shares_to_weight(2048), 174);
    }
}
