//! `freeze` against the real v1 freezer: a group's tasks stop (FROZEN) and run again
//! when the guard drops (THAWED); paths without a freezer pause nothing.

mod common;

use std::path::{Path, PathBuf};

use bocker_cgroups::{freeze, Cgroup, Limits};
use common::*;

#[test]
fn freeze_stops_the_group_and_the_guard_thaws_it() {
    let Some(h) = real_v1() else { return };
    if !Path::new("/sys/fs/cgroup/freezer/cgroup.procs").exists() {
        return skip("no v1 freezer controller");
    }
    let parent = unique_parent("v1pause");
    let mut guard = Guard::new(h.clone(), &parent);
    let cg = Cgroup::create(&h, &parent, "ps_pause", &Limits::default()).expect("create");
    let mut p = guard.spawn_sh("read x; echo up; while :; do sleep 0.05; done");
    cg.add_pid(p.pid).expect("add_pid");
    p.go();
    assert_eq!(p.line(), "up");
    let state = PathBuf::from("/sys/fs/cgroup/freezer")
        .join(&parent)
        .join("ps_pause/freezer.state");

    let paths = cg.paths();
    let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    let frozen = freeze(&refs)
        .expect("freeze")
        .expect("a freezer among the paths");
    assert_eq!(read(&state), "FROZEN");
    drop(frozen);
    assert_eq!(read(&state), "THAWED");

    // Paths without a freezer (memory only): nothing is paused.
    let memory: Vec<&Path> = refs
        .iter()
        .copied()
        .filter(|p| p.starts_with("/sys/fs/cgroup/memory"))
        .collect();
    assert!(freeze(&memory).expect("freeze").is_none());
    assert_eq!(read(&state), "THAWED");

    cg.kill_all().expect("kill_all");
    guard.wait(p.pid);
    cg.remove().expect("remove");
}
