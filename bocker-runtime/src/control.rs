//! The verbs that act on a live container's cgroup, all through bocker-cgroups (the
//! owner of cgroups): `pause`/`resume` (the freezer: v1 `freezer.state`, v2
//! `cgroup.freeze`), `events --stats` (runc's JSON stats line from the group's usage
//! files; the `events` stream is [`crate::events`]) and `update` (`linux.resources`
//! re-applied to the existing group).

use crate::lifecycle::{self, LifecycleError};
use crate::state::{Record, Status};
use bocker_cgroups::{Cgroup, Hierarchy, Limits};
use oci_spec::runtime::LinuxResources;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

type Result<T> = std::result::Result<T, LifecycleError>;

pub(crate) fn group(record: &Record) -> Result<Cgroup> {
    let h = Hierarchy::detect()?;
    Ok(Cgroup::open(
        &h,
        &record.cgroup_parent,
        &record.cgroup_name,
    )?)
}

fn paths(cg: &Cgroup) -> Vec<PathBuf> {
    cg.paths()
}

pub(crate) fn wrong(verb: &'static str, status: Status) -> LifecycleError {
    LifecycleError::WrongStatus {
        verb,
        status: status.as_str(),
    }
}

/// `pause`: freeze a `running` container's group; `paused`.
pub fn pause(root: &Path, id: &str) -> Result<()> {
    let _lock = lifecycle::lock(root, id)?;
    let mut record = Record::load(root, id)?;
    let status = record.current().status;
    if status != Status::Running {
        return Err(wrong("pause", status));
    }
    let dirs = paths(&group(&record)?);
    let refs: Vec<&Path> = dirs.iter().map(PathBuf::as_path).collect();
    match bocker_cgroups::freeze(&refs)? {
        Some(frozen) => frozen.keep(),
        None => {
            return Err(LifecycleError::Config {
                path: dirs.first().cloned().unwrap_or_default(),
                message: "no freezer controller for the container's cgroup".into(),
            })
        }
    }
    record.state.status = Status::Paused;
    record.save(root)?;
    Ok(())
}

/// `resume`: thaw a `paused` container's group; `running`.
pub fn resume(root: &Path, id: &str) -> Result<()> {
    let _lock = lifecycle::lock(root, id)?;
    let mut record = Record::load(root, id)?;
    let status = record.current().status;
    if status != Status::Paused {
        return Err(wrong("resume", status));
    }
    let dirs = paths(&group(&record)?);
    let refs: Vec<&Path> = dirs.iter().map(PathBuf::as_path).collect();
    bocker_cgroups::thaw(&refs)?;
    record.state.status = Status::Running;
    record.save(root)?;
    Ok(())
}

/// One `{"type":"stats","id":…,"data":{…}}` event (runc's `events --stats` line; its
/// `types.Stats` field names: `cpu.usage.total` ns, `memory.usage.{usage,limit}` bytes,
/// `pids.current`, `blkio.ioServiceBytesRecursive` as Read/Write totals).
pub fn stats_event(id: &str, s: &bocker_cgroups::Sample) -> Value {
    let mut data = json!({
        "cpu": {"usage": {"total": s.cpu_ns.unwrap_or(0)}},
        "memory": {"usage": {"usage": s.memory_bytes.unwrap_or(0)}},
        "pids": {"current": s.pids.unwrap_or(0)},
        "blkio": {"ioServiceBytesRecursive": [
            {"major": 0, "minor": 0, "op": "Read", "value": s.block_read},
            {"major": 0, "minor": 0, "op": "Write", "value": s.block_write},
        ]},
        "hugetlb": {},
    });
    if let Some(l) = s.memory_limit {
        data["memory"]["usage"]["limit"] = l.into();
    }
    json!({"type": "stats", "id": id, "data": data})
}

/// The container's stats event now (`events --stats`).
pub fn stats(root: &Path, id: &str) -> Result<Value> {
    let record = Record::load(root, id)?;
    let status = record.current().status;
    if status == Status::Stopped {
        return Err(wrong("get stats of", status));
    }
    let dirs = paths(&group(&record)?);
    let refs: Vec<&Path> = dirs.iter().map(PathBuf::as_path).collect();
    Ok(stats_event(id, &bocker_cgroups::sample(&refs)))
}

/// `update --resources PATH`: a `linux.resources` JSON object from the file, or from
/// stdin when `PATH` is `-` (containerd's shim pipes it).
pub fn read_resources(path: &Path) -> Result<LinuxResources> {
    let what = || format!("--resources {}", path.display());
    let text = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(path)
    }
    .map_err(|source| LifecycleError::Io {
        what: what(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| LifecycleError::Config {
        path: path.to_path_buf(),
        message: format!("not a linux.resources JSON object: {e}"),
    })
}

/// `update`'s flags (runc's), each overriding `--resources`' value.
#[derive(Debug, Clone, Default)]
pub struct UpdateFlags {
    pub memory: Option<i64>,
    pub cpu_shares: Option<u64>,
    pub cpu_quota: Option<i64>,
    pub cpu_period: Option<u64>,
    pub pids_limit: Option<i64>,
}

/// `linux.resources` → the limits re-applied: `resources` (the JSON of `--resources`)
/// with the flags on top; a CFS quota without a period takes the kernel's 100 ms.
pub fn limits(resources: Option<&LinuxResources>, f: &UpdateFlags) -> Result<Limits> {
    if let Some(r) = resources {
        bocker_run::oci::refuse_resources(r)?;
    }
    let mut l = bocker_run::spec::resources::from_spec(resources);
    if let Some(m) = f.memory {
        l.memory_bytes = u64::try_from(m).ok().filter(|&m| m > 0);
    }
    if let Some(s) = f.cpu_shares {
        l.cpu_shares = Some(s);
    }
    if let Some(q) = f.cpu_quota {
        let period = f.cpu_period.unwrap_or(bocker_cgroups::CPU_PERIOD_US);
        l.cpus = (q > 0 && period > 0).then(|| q as f64 / period as f64);
    }
    if let Some(p) = f.pids_limit {
        l.pids_max = Some(p).filter(|&p| p > 0);
    }
    Ok(l)
}

/// `update`: apply `limits` to a live container's existing group, then every other
/// setting of `resources` (cpuset, swap, blkio, hugetlb, `unified`…) as `create` writes
/// them ([`bocker_run::oci::resources::settings`]).
pub fn update(
    root: &Path,
    id: &str,
    limits: &Limits,
    resources: Option<&LinuxResources>,
) -> Result<()> {
    let _lock = lifecycle::lock(root, id)?;
    let record = Record::load(root, id)?;
    let status = record.current().status;
    if status == Status::Stopped {
        return Err(wrong("update", status));
    }
    let h = Hierarchy::detect()?;
    // `create` of an existing group reuses its directories and writes the limits.
    let cg = Cgroup::create(&h, &record.cgroup_parent, &record.cgroup_name, limits)?;
    if let Some(r) = resources {
        let settings = bocker_run::oci::resources::settings(r, h.version() == 2)
            .map_err(bocker_run::oci::OciError::Unsupported)?;
        for s in settings {
            cg.write_setting(&s.file, &s.value)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_event_has_runcs_shape() {
        let s = bocker_cgroups::Sample {
            cpu_ns: Some(1500),
            memory_bytes: Some(4096),
            memory_limit: Some(1 << 20),
            pids: Some(2),
            block_read: 10,
            block_write: 20,
        };
        let v = stats_event("c1", &s);
        assert_eq!(v["type"], "stats");
        assert_eq!(v["id"], "c1");
        assert_eq!(v["data"]["cpu"]["usage"]["total"], 1500);
        assert_eq!(v["data"]["memory"]["usage"]["usage"], 4096);
        assert_eq!(v["data"]["memory"]["usage"]["limit"], 1 << 20);
        assert_eq!(v["data"]["pids"]["current"], 2);
        assert_eq!(
            v["data"]["blkio"]["ioServiceBytesRecursive"][1]["value"],
            20
        );
    }

    #[test]
    fn update_resources_and_flags_map_to_limits() {
        let r: LinuxResources = serde_json::from_value(serde_json::json!({
            "memory": {"limit": 67108864},
            "cpu": {"shares": 512, "quota": 50000, "period": 100000},
            "pids": {"limit": 64}
        }))
        .unwrap();
        let l = limits(Some(&r), &UpdateFlags::default()).unwrap();
        assert_eq!(l.memory_bytes, Some(64 << 20));
        assert_eq!(
            (l.cpu_shares, l.cpus, l.pids_max),
            (Some(512), Some(0.5), Some(64))
        );
        let f = UpdateFlags {
            memory: Some(128 << 20),
            cpu_quota: Some(200_000),
            pids_limit: Some(10),
            ..Default::default()
        };
        let l = limits(Some(&r), &f).unwrap();
        assert_eq!(l.memory_bytes, Some(128 << 20));
        assert_eq!((l.cpus, l.pids_max), (Some(2.0), Some(10)));
        // Settings beyond the limits are written by `update` itself (as `create` does);
        // what no host takes is still refused before anything is written.
        let swap: LinuxResources =
            serde_json::from_value(serde_json::json!({"memory": {"swap": 1}})).unwrap();
        assert!(limits(Some(&swap), &UpdateFlags::default()).is_ok());
        let rdma: LinuxResources =
            serde_json::from_value(serde_json::json!({"rdma": {"mlx4_0": {"hcaHandles": 1}}}))
                .unwrap();
        assert!(limits(Some(&rdma), &UpdateFlags::default()).is_err());
    }
}
