//! Cleaning up after supervisors that died (SIGKILL of `bocker run`, a crash): their
//! containers are recorded as running but nothing of them lives, or only orphans in
//! their cgroup; or, if they died between creating the cgroup and writing the record,
//! an empty group with no record at all. `bocker-run` calls [`reclaim`] before each run;
//! store verbs may too.

use crate::cgroup_step::ContainerCgroup;
use bocker_store::{liveness, ContainerId, Status, Store};
use std::time::Duration;

fn pid_alive(pid: Option<i32>) -> bool {
    // SAFETY: signal 0 only checks existence.
    pid.is_some_and(|p| p > 0 && unsafe { libc::kill(p, 0) } == 0)
}

/// For every container recorded running whose supervisor is gone: kill what is left in
/// its cgroups, remove them, mark it exited (137, "supervisor died"); remove it entirely
/// if it was started with `--rm`. Returns the ids handled.
pub fn reclaim(store: &Store) -> Vec<String> {
    let mut done = Vec::new();
    // Only the live index: exited containers (most of them) are never read.
    let Ok(live) = store.live_container_ids() else {
        return done;
    };
    for id in live {
        let rec = match store.read_container(&id) {
            Ok(rec) => rec,
            // No record and no directory: its creator died (GC took the rest).
            // A directory without a record yet is a creation in progress: leave it.
            Err(_) => {
                if !store.container_dir(&id).exists() {
                    let _ = store.unmark_live(&id);
                }
                continue;
            }
        };
        if !matches!(rec.state.status, Status::Running | Status::Created) {
            let _ = store.unmark_live(&id);
            continue;
        }
        if pid_alive(rec.state.supervisor_pid) {
            continue;
        }
        liveness::kill_all(&rec, Duration::from_secs(5));
        liveness::release(&rec);
        if let Some(bridge) = rec.config.network.bridge.as_deref() {
            let _ = crate::network::release_network(store.root(), bridge, &rec.id);
        }
        // A supervisor killed before it recorded its cgroup paths: the group is named
        // after the container under the parent in force.
        if let Some(cg) = ContainerCgroup::open(&bocker_cgroups::default_parent(), &rec.id) {
            let _ = cg.destroy();
        }
        if rec.config.auto_remove {
            let _ = store.remove_container(&id, true);
        } else {
            let _ = store.update_container(&id, |r| {
                r.state.status = Status::Exited;
                r.state.exit_code = Some(137);
                r.state.error = Some("supervisor died".into());
                r.state.finished_at = Some(bocker_store::time::now());
                r.state.pid = None;
                r.state.supervisor_pid = None;
                r.config.cgroup_paths.clear();
            });
        }
        done.push(rec.id);
    }
    sweep_unrecorded_groups(store, &mut done);
    done
}

/// A `bocker run` writes its record within milliseconds of creating the group: one older
/// than this without a record was left by a run that died in between.
const UNRECORDED_GRACE: Duration = Duration::from_secs(30);

fn sweep_unrecorded_groups(store: &Store, done: &mut Vec<String>) {
    let parent = bocker_cgroups::default_parent();
    for name in ContainerCgroup::children(&parent) {
        let id = ContainerId(name.clone());
        if !bocker_store::id::is_valid(bocker_store::id::Kind::Container, &name)
            || store.container_dir(&id).join("container.json").exists()
        {
            continue;
        }
        if let Some(cg) = ContainerCgroup::open(&parent, &name) {
            if cg.age().is_some_and(|a| a > UNRECORDED_GRACE) && cg.destroy().is_ok() {
                done.push(name);
            }
        }
    }
}
