//! The resource limits a container asks for, and their checked kernel values.

use crate::error::{CgroupError, Result};

/// CFS period used for `--cpus` (Docker's default, 100ms).
pub const CPU_PERIOD_US: u64 = 100_000;

/// Resource limits for one container; `None` leaves the kernel default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Limits {
    /// Hard memory limit in bytes (`--memory`, see [`crate::parse_memory`]).
    pub memory_bytes: Option<u64>,
    /// Relative CPU weight in v1 shares (`--cpu-shares`, 2..=262144; 0 = default).
    pub cpu_shares: Option<u64>,
    /// CPU quota in CPUs (`--cpus 1.5` = 150ms per 100ms period).
    pub cpus: Option<f64>,
    /// Maximum number of tasks (`--pids-limit`; 0 or negative = unlimited).
    pub pids_max: Option<i64>,
}

impl Limits {
    /// Rejects values the kernel would refuse or silently misread.
    pub(crate) fn check(&self) -> Result<()> {
        if let Some(m) = self.memory_bytes {
            // The kernel rounds to pages; below a few pages nothing can run.
            if m < 6 * 1024 * 1024 {
                return Err(CgroupError::InvalidValue {
                    what: "memory limit",
                    value: m.to_string(),
                    reason: "minimum memory limit is 6MB",
                });
            }
        }
        if let Some(s) = self.cpu_shares {
            if s == 1 || s > 262_144 {
                return Err(CgroupError::InvalidValue {
                    what: "cpu shares",
                    value: s.to_string(),
                    reason: "must be between 2 and 262144 (0 means default)",
                });
            }
        }
        self.cpu_quota_us().map(|_| ())
    }

    /// `--cpus` as a CFS quota per [`CPU_PERIOD_US`]; at least 1ms as the kernel requires.
    pub(crate) fn cpu_quota_us(&self) -> Result<Option<u64>> {
        let Some(c) = self.cpus else { return Ok(None) };
        let quota = (c * CPU_PERIOD_US as f64).round();
        if !c.is_finite() || !(1000.0..=1e12).contains(&quota) {
            return Err(CgroupError::InvalidValue {
                what: "cpus",
                value: c.to_string(),
                reason: "must be at least 0.01 and finite",
            });
        }
        Ok(Some(quota as u64))
    }

    /// Shares to write, if any (0 means "leave the default", as in Docker).
    pub(crate) fn shares(&self) -> Option<u64> {
        self.cpu_shares.filter(|&s| s != 0)
    }

    /// `pids.max` value: a positive number, or "max" for 0/negative.
    pub(crate) fn pids_value(&self) -> Option<String> {
        self.pids_max.map(|p| {
            if p > 0 {
                p.to_string()
            } else {
                "max".to_string()
            }
        })
    }

    pub(crate) fn wants_cpu(&self) -> bool {
        self.shares().is_some() || self.cpus.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpus_become_quota_and_bad_values_fail() {
        let l = Limits {
            cpus: Some(1.5),
            ..Default::default()
        };
        assert_eq!(l.cpu_quota_us().unwrap(), Some(150_000));
        for bad in [0.0, -1.0, 0.001, f64::NAN, f64::INFINITY] {
            let l = Limits {
                cpus: Some(bad),
                ..Default::default()
            };
            assert!(l.check().is_err(), "{bad}");
        }
        let l = Limits {
            cpu_shares: Some(1),
            ..Default::default()
        };
        assert!(l.check().is_err());
        let l = Limits {
            memory_bytes: Some(4096),
            ..Default::default()
        };
        assert!(l.check().is_err());
    }

    #[test]
    fn pids_zero_or_negative_is_unlimited() {
        let v = |p| {
            Limits {
                pids_max: Some(p),
                ..Default::default()
            }
            .pids_value()
        };
        assert_eq!(v(5).as_deref(), Some("5"));
        assert_eq!(v(0).as_deref(), Some("max"));
        assert_eq!(v(-1).as_deref(), Some("max"));
    }
}
