//! cgroup v2 against the real kernel's cgroup2 mount: a group is created, a
//! process and its fork are placed and stay inside, cgroup.kill ends them,
//! and the group is removed. (On this host the cgroup2 mount has no
//! controllers, so the limits are reported as unenforced; on a host where it
//! has them they are checked.)

mod common;

use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;

use bocker_cgroups::{Cgroup, Hierarchy, Limits};
use common::*;

/// The first cgroup2 mount point in mountinfo, if any.
fn cgroup2_root() -> Option<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let root = text.lines().find_map(|l| {
        let (left, right) = l.split_once(" - ")?;
        let mount_point = left.split(' ').nth(4)?;
        right
            .starts_with("cgroup2 ")
            .then(|| PathBuf::from(mount_point))
    });
    if root.is_none() {
        skip("no cgroup2 mount");
    }
    root
}

#[test]
fn v2_group_holds_a_process_and_its_fork_until_killed() {
    let Some(root) = cgroup2_root() else { return };
    let h = Hierarchy::V2 { root: root.clone() };
    let parent = unique_parent("v2real");
    let mut guard = Guard::new(h.clone(), &parent);
    let limits = Limits {
        memory_bytes: Some(64 * 1024 * 1024),
        cpu_shares: None,
        cpus: None,
        pids_max: Some(50),
    };
    let cg = Cgroup::create(&h, &parent, "ps_v2", &limits).expect("create");
    let dir = root.join(&parent).join("ps_v2");
    assert_eq!(cg.paths(), vec![dir.clone()]);
    assert!(dir.join("cgroup.procs").exists(), "not a real cgroup dir");

    let root_ctrls = read(&root.join("cgroup.controllers"));
    let has = |c: &str| root_ctrls.split_whitespace().any(|w| w == c);
    if has("memory") {
        assert_eq!(read(&dir.join("memory.max")), "67108864");
    } else {
        assert!(cg.unenforced().contains(&"memory"));
    }
    if has("pids") {
        assert_eq!(read(&dir.join("pids.max")), "50");
    } else {
        assert!(cg.unenforced().contains(&"pids"));
    }

    let mut p = guard.spawn_sh("read x; sleep 30 & echo $!; wait");
    cg.add_pid(p.pid).expect("add_pid");
    p.go();
    let grandchild: i32 = p.line().parse().expect("grandchild pid");
    guard.extra_pids.push(grandchild);

    let mut want = vec![p.pid, grandchild];
    want.sort_unstable();
    assert_eq!(cg.procs().unwrap(), want);
    assert_eq!(pids_in(&dir).len(), 2);
    let unified_path = |pid: i32| {
        std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("0::").map(str::to_string))
    };
    let expect = format!("/{parent}/ps_v2");
    assert_eq!(unified_path(grandchild).as_deref(), Some(expect.as_str()));

    assert_eq!(Cgroup::list_children(&h, &parent).unwrap(), vec!["ps_v2"]);
    cg.kill_all().expect("kill_all");
    assert!(cg.procs().unwrap().is_empty());
    assert_eq!(guard.wait(p.pid).signal(), Some(9));

    cg.remove().expect("remove");
    assert!(!dir.exists());
    cg.remove().expect("idempotent");
    Cgroup::remove_parent_if_empty(&h, &parent).unwrap();
    assert!(!root.join(&parent).exists());
}

#[test]
fn default_device_policy_denies_kmsg_but_allows_null() {
    let Some(root) = cgroup2_root() else { return };
    let h = Hierarchy::V2 { root };
    if !std::path::Path::new("/dev/kmsg").exists() {
        skip("no /dev/kmsg to probe");
        return;
    }
    let parent = unique_parent("v2dev");
    let mut guard = Guard::new(h.clone(), &parent);
    // Outside any bocker group, all three open (proves the probe works).
    assert_eq!(
        probe_devices(&mut guard, None),
        ["null-ok", "zero-ok", "kmsg-open"]
    );
    let cg = Cgroup::create(&h, &parent, "ps_dev", &Limits::default()).expect("create");
    assert!(
        !cg.unenforced().contains(&"devices"),
        "{:?}",
        cg.unenforced()
    );
    assert_eq!(
        probe_devices(&mut guard, Some(&cg)),
        ["null-ok", "zero-ok", "kmsg-denied"]
    );
    cg.kill_all().expect("kill_all");
    cg.remove().expect("remove");
}
