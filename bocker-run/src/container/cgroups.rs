//! A container's own cgroups as its record names them, for the verbs that act on a
//! running container (exec joins them, commit pauses them). Only the runtime knows
//! how it names groups, so only it decides which recorded paths are the container's.

use std::path::Path;

use bocker_store::ContainerRecord;

/// The container's own cgroups: recorded paths below `/sys/fs/cgroup` whose last
/// component is the container's id (as the runtime names them). Anything else in a
/// record (a controller's root, a relative path, `..`) is never read, joined or frozen:
/// a forged record must not make `exec` or `commit --pause` act on the host's processes.
pub fn own(rec: &ContainerRecord) -> Vec<&Path> {
    rec.config
        .cgroup_paths
        .iter()
        .map(Path::new)
        .filter(|p| {
            p.starts_with("/sys/fs/cgroup")
                && p.file_name().is_some_and(|n| n == rec.id.as_str())
                && !p.components().any(|c| c == std::path::Component::ParentDir)
        })
        .collect()
}

/// Pids listed in the container's own cgroups, sorted and deduplicated.
pub fn pids(rec: &ContainerRecord) -> Vec<i32> {
    let mut pids: Vec<i32> = own(rec)
        .into_iter()
        .filter_map(|p| std::fs::read_to_string(p.join("cgroup.procs")).ok())
        .flat_map(|text| {
            text.lines()
                .filter_map(|l| l.trim().parse::<i32>().ok())
                .collect::<Vec<_>>()
        })
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// Freezes every process of the container (Docker's `pause`, also used by `commit`):
/// `Ok(None)` when its groups offer no freezer; the guard thaws them when dropped.
pub fn freeze(rec: &ContainerRecord) -> bocker_cgroups::Result<Option<bocker_cgroups::Frozen>> {
    bocker_cgroups::freeze(&own(rec))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(cgroups: &[&str]) -> ContainerRecord {
        let mut r: ContainerRecord = serde_json::from_value(serde_json::json!({
            "id": "ps_0123456789ab", "image": "img_0123456789ab", "command": ["true"],
            "created": "2026-11-22T20:00:00Z", "driver": "overlay", "layers": [],
            "rootfs": "/nonexistent", "state": {"status": "running", "pid": 0}
        }))
        .expect("record");
        r.config.cgroup_paths = cgroups.iter().map(|s| s.to_string()).collect();
        r
    }

    #[test]
    fn only_the_containers_own_cgroups_are_ever_touched() {
        let host = record(&[
            "/sys/fs/cgroup/pids",
            "/sys/fs/cgroup",
            "/sys/fs/cgroup/unified",
            "",
            "/sys/fs/cgroup/pids/../pids",
        ]);
        assert!(own(&host).is_empty());
        assert!(
            pids(&host).is_empty(),
            "host processes counted as the container's"
        );
        let mine = record(&["/sys/fs/cgroup/pids/bocker/st_0/ps_0123456789ab"]);
        assert_eq!(own(&mine).len(), 1);
    }
}
