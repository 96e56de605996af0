//! `linux.resources` beyond bocker-cgroups' [`bocker_cgroups::Limits`] (memory limit, CPU
//! shares, pids limit, which [`crate::spec::resources::from_spec`] maps): each field as
//! the control file and value runc writes (runtime spec config-linux.md "Control
//! groups"; runc's libcontainer/cgroups/fs and fs2), written into the container's group
//! by [`bocker_cgroups::Cgroup::write_setting`] before its init joins it.
//!
//! | field | cgroup v1 | cgroup v2 |
//! |---|---|---|
//! | `cpu.cpus` / `mems` | `cpuset.cpus` / `cpuset.mems` | the same |
//! | `cpu.period`, `quota` | `cpu.cfs_period_us`, `cpu.cfs_quota_us` (as given) | `cpu.max` `"<quota or max> <period>"` |
//! | `cpu.realtimePeriod` / `Runtime` | `cpu.rt_period_us` / `cpu.rt_runtime_us` | refused (no RT groups on v2) |
//! | `cpu.idle` | `cpu.idle` | `cpu.idle` |
//! | `memory.reservation` | `memory.soft_limit_in_bytes` | `memory.low` |
//! | `memory.swap` (memory+swap) | `memory.memsw.limit_in_bytes` | `memory.swap.max` = swap − limit |
//! | `memory.swappiness` | `memory.swappiness` | refused (v2 has none) |
//! | `memory.disableOOMKiller` | `memory.oom_control` = 1 | refused |
//! | `memory.kernelTCP` | `memory.kmem.tcp.limit_in_bytes` | ignored, as runc (no such file on v2) |
//! | `memory.kernel` | ignored, as runc 1.1 (the kernel deprecated kmem limits; 6.x reads back "unlimited") | ignored |
//! | `blockIO.weight`, `leafWeight`, `weightDevice`, `throttle*` | `blkio.weight`, `blkio.leaf_weight`, `blkio.weight_device` (`maj:min w`), `blkio.throttle.*_device` (`maj:min rate`) | refused (not built) |
//! | `hugepageLimits` | `hugetlb.<size>.limit_in_bytes` | `hugetlb.<size>.max` |
//! | `network.classID` / `priorities` | `net_cls.classid` / `net_prio.ifpriomap` | refused (no such controllers on v2) |
//! | `unified` | refused (runc: "cannot use unified on cgroup v1") | each key as its file, as given |
//! | `devices` | each rule to `devices.allow`/`devices.deny` in order (`a`/`b`/`c maj:min rwm`, `*` for none), then bocker-cgroups' default allow list again, as runc appends its defaults | allow rules beyond the default list refused (the eBPF program is bocker-cgroups' own) |
//!
//! A setting whose controller the host lacks fails `create` (`write_setting`'s error),
//! as runc does, rather than running the container without the limit.

use oci_spec::runtime::LinuxResources;

/// One control file of the container's group and the value to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub file: String,
    pub value: String,
}

fn set(out: &mut Vec<Setting>, file: impl Into<String>, value: impl ToString) {
    out.push(Setting {
        file: file.into(),
        value: value.to_string(),
    });
}

fn refused(field: &str, v2: bool) -> String {
    let v = if v2 { 2 } else { 1 };
    format!("linux.resources.{field} on cgroup v{v}")
}

/// The settings of `r` for a cgroup v1 (`v2 == false`) or v2 host, in the order to
/// write them. Error: the field (in the spec's JSON terms) this host version cannot take.
pub fn settings(r: &LinuxResources, v2: bool) -> Result<Vec<Setting>, String> {
    let mut out = Vec::new();
    if let Some(c) = r.cpu() {
        // cpuset first: on v1 a group with empty cpus/mems takes no task.
        if let Some(cpus) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
            set(&mut out, "cpuset.cpus", cpus);
        }
        if let Some(mems) = c.mems().as_deref().filter(|s| !s.is_empty()) {
            set(&mut out, "cpuset.mems", mems);
        }
        if v2 {
            if c.quota().is_some() || c.period().is_some() {
                let quota = match c.quota() {
                    Some(q) if q > 0 => q.to_string(),
                    _ => "max".to_string(),
                };
                let period = c.period().unwrap_or(100_000);
                set(&mut out, "cpu.max", format!("{quota} {period}"));
            }
            if c.realtime_period().is_some() || c.realtime_runtime().is_some() {
                return Err(refused("cpu.realtimePeriod/realtimeRuntime", v2));
            }
        } else {
            // Period before quota: the quota is read against it.
            if let Some(p) = c.period() {
                set(&mut out, "cpu.cfs_period_us", p);
            }
            if let Some(q) = c.quota() {
                set(&mut out, "cpu.cfs_quota_us", q);
            }
            if let Some(p) = c.realtime_period() {
                set(&mut out, "cpu.rt_period_us", p);
            }
            if let Some(rt) = c.realtime_runtime() {
                set(&mut out, "cpu.rt_runtime_us", rt);
            }
        }
        if let Some(idle) = c.idle() {
            set(&mut out, "cpu.idle", idle);
        }
    }
    if let Some(m) = r.memory() {
        if let Some(res) = m.reservation() {
            let file = if v2 {
                "memory.low"
            } else {
                "memory.soft_limit_in_bytes"
            };
            set(&mut out, file, res);
        }
        if let Some(swap) = m.swap() {
            if v2 {
                // The spec's swap is memory+swap (v1's memsw); v2 limits swap alone.
                let value = match (swap, m.limit()) {
                    (s, _) if s < 0 => "max".to_string(),
                    (s, Some(l)) if l > 0 => (s - l).max(0).to_string(),
                    (s, _) => s.to_string(),
                };
                set(&mut out, "memory.swap.max", value);
            } else {
                set(&mut out, "memory.memsw.limit_in_bytes", swap);
            }
        }
        if let Some(tcp) = m.kernel_tcp().filter(|_| !v2) {
            set(&mut out, "memory.kmem.tcp.limit_in_bytes", tcp);
        }
        if let Some(sw) = m.swappiness() {
            if v2 {
                return Err(refused("memory.swappiness", v2));
            }
            if sw > 100 {
                return Err(format!(
                    "linux.resources.memory.swappiness {sw}: must be 0..100"
                ));
            }
            set(&mut out, "memory.swappiness", sw);
        }
        if m.disable_oom_killer() == Some(true) {
            if v2 {
                return Err(refused("memory.disableOOMKiller", v2));
            }
            set(&mut out, "memory.oom_control", 1);
        }
    }
    if let Some(b) = r.block_io() {
        if v2 {
            return Err(refused("blockIO", v2));
        }
        if let Some(w) = b.weight() {
            set(&mut out, "blkio.weight", w);
        }
        if let Some(w) = b.leaf_weight() {
            set(&mut out, "blkio.leaf_weight", w);
        }
        for d in b.weight_device().iter().flatten() {
            if let Some(w) = d.weight() {
                let v = format!("{}:{} {w}", d.major(), d.minor());
                set(&mut out, "blkio.weight_device", v);
            }
            if let Some(w) = d.leaf_weight() {
                let v = format!("{}:{} {w}", d.major(), d.minor());
                set(&mut out, "blkio.leaf_weight_device", v);
            }
        }
        let throttles = [
            (
                "blkio.throttle.read_bps_device",
                b.throttle_read_bps_device(),
            ),
            (
                "blkio.throttle.write_bps_device",
                b.throttle_write_bps_device(),
            ),
            (
                "blkio.throttle.read_iops_device",
                b.throttle_read_iops_device(),
            ),
            (
                "blkio.throttle.write_iops_device",
                b.throttle_write_iops_device(),
            ),
        ];
        for (file, list) in throttles {
            for d in list.iter().flatten() {
                set(
                    &mut out,
                    file,
                    format!("{}:{} {}", d.major(), d.minor(), d.rate()),
                );
            }
        }
    }
    for h in r.hugepage_limits().iter().flatten() {
        let size = h.page_size();
        if size.is_empty() || !size.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(format!("linux.resources.hugepageLimits pageSize {size:?}"));
        }
        let file = if v2 {
            format!("hugetlb.{size}.max")
        } else {
            format!("hugetlb.{size}.limit_in_bytes")
        };
        set(&mut out, file, h.limit());
    }
    if let Some(n) = r.network() {
        if v2 {
            return Err(refused("network", v2));
        }
        if let Some(id) = n.class_id() {
            set(&mut out, "net_cls.classid", id);
        }
        for p in n.priorities().iter().flatten() {
            set(
                &mut out,
                "net_prio.ifpriomap",
                format!("{} {}", p.name(), p.priority()),
            );
        }
    }
    devices(r, v2, &mut out)?;
    if let Some(u) = r.unified().as_ref().filter(|u| !u.is_empty()) {
        if !v2 {
            return Err(refused("unified", v2));
        }
        let mut keys: Vec<&String> = u.keys().collect();
        keys.sort();
        for k in keys {
            set(&mut out, k.as_str(), &u[k]);
        }
    }
    Ok(out)
}

/// `linux.resources.devices`: the v1 rules in order, then the defaults (see the table).
fn devices(r: &LinuxResources, v2: bool, out: &mut Vec<Setting>) -> Result<(), String> {
    let Some(rules) = r.devices().as_ref().filter(|d| !d.is_empty()) else {
        return Ok(());
    };
    if v2 {
        for d in rules.iter().filter(|d| d.allow()) {
            // What bocker-cgroups' program allows anyway: mem (1), tty/console/ptmx (5), pts (136).
            if !matches!(d.major(), Some(1 | 5 | 136)) {
                return Err(
                    "linux.resources.devices allow rules beyond the default devices on cgroup v2"
                        .into(),
                );
            }
        }
        return Ok(());
    }
    for d in rules {
        let kind = d.typ().map_or("a".to_string(), |t| t.as_str().to_string());
        let kind = kind.as_str();
        if !matches!(kind, "a" | "b" | "c") {
            return Err(format!("linux.resources.devices type {kind:?}"));
        }
        let access = d.access().as_deref().unwrap_or("rwm");
        if access.is_empty() || !access.chars().all(|c| matches!(c, 'r' | 'w' | 'm')) {
            return Err(format!("linux.resources.devices access {access:?}"));
        }
        let num = |n: Option<i64>| match n {
            Some(n) if n >= 0 => Ok(n.to_string()),
            None | Some(-1) => Ok("*".to_string()),
            Some(n) => Err(format!("linux.resources.devices number {n}")),
        };
        let rule = if kind == "a" {
            format!("a *:* {access}")
        } else {
            format!("{kind} {}:{} {access}", num(d.major())?, num(d.minor())?)
        };
        let file = if d.allow() {
            "devices.allow"
        } else {
            "devices.deny"
        };
        set(out, file, rule);
    }
    for rule in bocker_cgroups::DEFAULT_DEVICE_RULES {
        set(out, "devices.allow", rule.to_v1());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{
        LinuxBlockIoBuilder, LinuxCpuBuilder, LinuxHugepageLimitBuilder, LinuxMemoryBuilder,
        LinuxResourcesBuilder, LinuxThrottleDeviceBuilder,
    };
    use std::collections::HashMap;

    fn pairs(s: &[Setting]) -> Vec<(&str, &str)> {
        s.iter()
            .map(|s| (s.file.as_str(), s.value.as_str()))
            .collect()
    }

    fn cpu_resources() -> LinuxResources {
        let cpu = LinuxCpuBuilder::default()
            .shares(1024u64)
            .period(500_000u64)
            .quota(200_000i64)
            .cpus("0-1")
            .mems("0")
            .realtime_period(1_000_000u64)
            .realtime_runtime(950_000i64)
            .build()
            .unwrap();
        LinuxResourcesBuilder::default().cpu(cpu).build().unwrap()
    }

    #[test]
    fn cpu_fields_map_to_cpuset_cfs_and_rt_files_on_v1() {
        let s = settings(&cpu_resources(), false).unwrap();
        assert_eq!(
            pairs(&s),
            [
                ("cpuset.cpus", "0-1"),
                ("cpuset.mems", "0"),
                ("cpu.cfs_period_us", "500000"),
                ("cpu.cfs_quota_us", "200000"),
                ("cpu.rt_period_us", "1000000"),
                ("cpu.rt_runtime_us", "950000"),
            ]
        );
    }

    #[test]
    fn cpu_on_v2_is_cpu_max_and_realtime_is_refused() {
        assert!(settings(&cpu_resources(), true).is_err());
        let cpu = LinuxCpuBuilder::default()
            .period(500_000u64)
            .quota(-1i64)
            .cpus("0")
            .build()
            .unwrap();
        let r = LinuxResourcesBuilder::default().cpu(cpu).build().unwrap();
        let s = settings(&r, true).unwrap();
        assert_eq!(pairs(&s), [("cpuset.cpus", "0"), ("cpu.max", "max 500000")]);
    }

    #[test]
    fn memory_fields_per_version() {
        let m = LinuxMemoryBuilder::default()
            .limit(100_000_000i64)
            .reservation(50_000_000i64)
            .swap(300_000_000i64)
            .kernel(1i64)
            .kernel_tcp(2i64)
            .build()
            .unwrap();
        let r = LinuxResourcesBuilder::default().memory(m).build().unwrap();
        assert_eq!(
            pairs(&settings(&r, false).unwrap()),
            [
                ("memory.soft_limit_in_bytes", "50000000"),
                ("memory.memsw.limit_in_bytes", "300000000"),
                ("memory.kmem.tcp.limit_in_bytes", "2"),
            ]
        );
        assert_eq!(
            pairs(&settings(&r, true).unwrap()),
            [("memory.low", "50000000"), ("memory.swap.max", "200000000")]
        );
        let mut m2 = m;
        m2.set_swappiness(Some(60));
        m2.set_disable_oom_killer(Some(true));
        let r = LinuxResourcesBuilder::default().memory(m2).build().unwrap();
        let v1 = settings(&r, false).unwrap();
        assert!(v1.contains(&Setting {
            file: "memory.swappiness".into(),
            value: "60".into()
        }));
        assert_eq!(v1.last().unwrap().file, "memory.oom_control");
        assert!(settings(&r, true).is_err());
    }

    #[test]
    fn block_io_and_hugetlb_on_v1() {
        let t = LinuxThrottleDeviceBuilder::default()
            .major(8i64)
            .minor(0i64)
            .rate(1024u64)
            .build()
            .unwrap();
        let b = LinuxBlockIoBuilder::default()
            .weight(300u16)
            .throttle_read_bps_device(vec![t])
            .build()
            .unwrap();
        let h = LinuxHugepageLimitBuilder::default()
            .page_size("2MB")
            .limit(4_194_304i64)
            .build()
            .unwrap();
        let r = LinuxResourcesBuilder::default()
            .block_io(b)
            .hugepage_limits(vec![h])
            .build()
            .unwrap();
        assert_eq!(
            pairs(&settings(&r, false).unwrap()),
            [
                ("blkio.weight", "300"),
                ("blkio.throttle.read_bps_device", "8:0 1024"),
                ("hugetlb.2MB.limit_in_bytes", "4194304"),
            ]
        );
        let bad = LinuxHugepageLimitBuilder::default()
            .page_size("../x")
            .limit(1i64)
            .build()
            .unwrap();
        let r = LinuxResourcesBuilder::default()
            .hugepage_limits(vec![bad])
            .build()
            .unwrap();
        assert!(settings(&r, false).is_err());
    }

    #[test]
    fn device_rules_in_order_then_the_defaults_on_v1() {
        use oci_spec::runtime::{LinuxDeviceCgroupBuilder, LinuxDeviceType};
        let deny_all = LinuxDeviceCgroupBuilder::default()
            .allow(false)
            .access("rwm")
            .build()
            .unwrap();
        let allow_sd = LinuxDeviceCgroupBuilder::default()
            .allow(true)
            .typ(LinuxDeviceType::B)
            .major(8i64)
            .minor(0i64)
            .access("r")
            .build()
            .unwrap();
        let r = LinuxResourcesBuilder::default()
            .devices(vec![deny_all, allow_sd])
            .build()
            .unwrap();
        let s = settings(&r, false).unwrap();
        assert_eq!(
            pairs(&s[..2]),
            [("devices.deny", "a *:* rwm"), ("devices.allow", "b 8:0 r")]
        );
        assert!(s[2..].iter().any(|x| x.value == "c 1:3 rwm"));
        // v2: an allow rule beyond the default list is refused.
        assert!(settings(&r, true).is_err());
        let bad = LinuxDeviceCgroupBuilder::default()
            .allow(true)
            .typ(LinuxDeviceType::C)
            .access("rwx")
            .build()
            .unwrap();
        let r = LinuxResourcesBuilder::default()
            .devices(vec![bad])
            .build()
            .unwrap();
        assert!(settings(&r, false).is_err());
    }

    #[test]
    fn unified_is_v2_only_and_passed_as_given() {
        let u: HashMap<String, String> = [("memory.high", "1000000"), ("pids.max", "10")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let r = LinuxResourcesBuilder::default().unified(u).build().unwrap();
        assert!(settings(&r, false).is_err());
        assert_eq!(
            pairs(&settings(&r, true).unwrap()),
            [("memory.high", "1000000"), ("pids.max", "10")]
        );
    }
}
