//! `linux.resources` of the spec ↔ the cgroup limits bocker-cgroups applies: memory
//! limit (bytes), CPU shares, CPU quota over a 100 ms period (`--cpus`), pids limit.

use bocker_cgroups::Limits;
use oci_spec::runtime::{LinuxCpu, LinuxMemory, LinuxPids, LinuxResources};

/// The CFS period Docker uses for `--cpus` (µs).
pub const CPU_PERIOD_US: u64 = 100_000;

/// The spec's resources for `limits`.
pub fn to_spec(limits: &Limits) -> LinuxResources {
    let mut r = LinuxResources::default();
    if let Some(bytes) = limits.memory_bytes {
        let mut m = LinuxMemory::default();
        m.set_limit(i64::try_from(bytes).ok());
        r.set_memory(Some(m));
    }
    if limits.cpu_shares.is_some() || limits.cpus.is_some() {
        let mut c = LinuxCpu::default();
        c.set_shares(limits.cpu_shares);
        if let Some(cpus) = limits.cpus {
            c.set_quota(Some((cpus * CPU_PERIOD_US as f64).round() as i64));
            c.set_period(Some(CPU_PERIOD_US));
        }
        r.set_cpu(Some(c));
    }
    if let Some(max) = limits.pids_max {
        let mut p = LinuxPids::default();
        p.set_limit(max);
        r.set_pids(Some(p));
    }
    r
}

/// The limits the spec's resources ask for (none when it has no `linux.resources`).
pub fn from_spec(r: Option<&LinuxResources>) -> Limits {
    let Some(r) = r else {
        return Limits::default();
    };
    let cpu = r.cpu().as_ref();
    let cpus = cpu.and_then(|c| match (c.quota(), c.period()) {
        (Some(q), Some(p)) if q > 0 && p > 0 => Some(q as f64 / p as f64),
        _ => None,
    });
    Limits {
        memory_bytes: r
            .memory()
            .as_ref()
            .and_then(|m| m.limit())
            .and_then(|l| u64::try_from(l).ok()),
        cpu_shares: cpu.and_then(|c| c.shares()),
        cpus,
        pids_max: r.pids().as_ref().map(|p| p.limit()).filter(|&l| l > 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_round_trip_through_the_spec() {
        let l = Limits {
            memory_bytes: Some(512_000_000),
            cpu_shares: Some(512),
            cpus: Some(1.5),
            pids_max: Some(64),
        };
        let r = to_spec(&l);
        assert_eq!(r.cpu().as_ref().unwrap().quota(), Some(150_000));
        assert_eq!(from_spec(Some(&r)), l);
    }
}
