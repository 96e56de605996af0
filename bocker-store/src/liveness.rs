//! Whether a container recorded as running really is, and releasing what it held.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::record::{ContainerRecord, Status};

/// The container's own cgroups: recorded paths below `/sys/fs/cgroup` whose last
/// component is the container's id (as the runtime names them). Anything else in a
/// record (a controller's root, a relative path) is never read, signalled or removed:
/// `rm -f` must not be able to kill the host's processes.
pub fn own_cgroups(rec: &ContainerRecord) -> Vec<&Path> {
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

/// Pids listed in the container's cgroups.
pub fn cgroup_pids(rec: &ContainerRecord) -> Vec<i32> {
    let mut pids = Vec::new();
    for p in own_cgroups(rec) {
        if let Ok(text) = fs::read_to_string(p.join("cgroup.procs")) {
            pids.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
        }
    }
    pids.sort_unstable();
    pids.dedup();
    pids
}

fn pid_alive(pid: Option<i32>) -> bool {
    match pid {
        // Signal 0 only checks existence; pids <= 0 would address groups.
        Some(p) if p > 0 => nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), None).is_ok(),
        _ => false,
    }
}

/// True when the container is recorded as running and something of it still lives:
/// a process in its cgroup, its first process, or its supervisor.
pub fn is_running(rec: &ContainerRecord) -> bool {
    rec.state.status == Status::Running
        && (!cgroup_pids(rec).is_empty()
            || pid_alive(rec.state.pid)
            || pid_alive(rec.state.supervisor_pid))
}

/// `ps` status: the record's, except a "running" container whose processes are all gone.
pub fn status_text(rec: &ContainerRecord) -> String {
    if rec.state.status == Status::Running && !is_running(rec) {
        "dead".into()
    } else {
        rec.status_text()
    }
}

/// SIGKILLs every process in the container's cgroups and waits (up to `timeout`) for
/// them to be gone. Only processes inside the container's own groups are touched.
pub fn kill_all(rec: &ContainerRecord, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        let pids = cgroup_pids(rec);
        if pids.is_empty() {
            return true;
        }
        for p in pids.into_iter().filter(|p| *p > 0) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(p),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Removes the container's cgroups and its network namespace file, if the record has them.
pub fn release(rec: &ContainerRecord) {
    for p in own_cgroups(rec) {
        for _ in 0..50 {
            match fs::remove_dir(p) {
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                _ => break,
            }
        }
    }
    if let Some(ns) = rec.config.netns.as_deref().map(Path::new) {
        // Only a namespace bind mount (or the empty file left once it is unmounted) is
        // ours to remove; a record naming any other file must not delete it.
        let mounted = crate::fsutil::fs_magic(ns).is_ok_and(|m| m == NSFS_MAGIC);
        if mounted {
            let _ = nix::mount::umount2(ns, nix::mount::MntFlags::MNT_DETACH);
        }
        if fs::symlink_metadata(ns).is_ok_and(|m| m.is_file() && m.len() == 0) {
            let _ = fs::remove_file(ns);
        }
    }
}

/// `statfs` magic of nsfs (namespace files under /proc/<pid>/ns and their bind mounts).
const NSFS_MAGIC: i64 = 0x6e73_6673;

#[cfg(test)]
mod tests {
    use super::*;

    fn record(cgroups: &[&str], netns: Option<&str>) -> ContainerRecord {
        let mut r: ContainerRecord = serde_json::from_value(serde_json::json!({
            "id": "ps_0123456789ab", "image": "img_0123456789ab", "command": ["true"],
            "created": "2026-11-22T20:00:00Z", "driver": "overlay", "layers": [],
            "rootfs": "/nonexistent", "state": {"status": "running", "pid": 0}
        }))
        .unwrap();
        r.config.cgroup_paths = cgroups.iter().map(|s| s.to_string()).collect();
        r.config.netns = netns.map(str::to_string);
        r
    }

    #[test]
    fn only_the_containers_own_cgroups_are_ever_touched() {
        // A controller's root holds every host process: never the container's.
        let host = record(
            &[
                "/sys/fs/cgroup/pids",
                "/sys/fs/cgroup",
                "/sys/fs/cgroup/unified",
                "",
                "/sys/fs/cgroup/pids/../pids",
            ],
            None,
        );
        assert!(own_cgroups(&host).is_empty());
        assert!(
            cgroup_pids(&host).is_empty(),
            "host processes counted as the container's"
        );
        assert!(!is_running(&host));
        let own = record(&["/sys/fs/cgroup/pids/bocker/ps_0123456789ab"], None);
        assert_eq!(own_cgroups(&own).len(), 1);
    }

    #[test]
    fn release_never_deletes_a_file_that_is_not_a_namespace() {
        let d = tempfile::tempdir().unwrap();
        let precious = d.path().join("passwd");
        fs::write(&precious, b"root:x:0:0").unwrap();
        release(&record(&[], Some(precious.to_str().unwrap())));
        assert!(
            precious.exists(),
            "release deleted a file named in a record"
        );
        let left = d.path().join("ps_0123456789ab");
        fs::write(&left, b"").unwrap();
        release(&record(&[], Some(left.to_str().unwrap())));
        assert!(
            !left.exists(),
            "the empty netns mount point should be removed"
        );
    }
}
