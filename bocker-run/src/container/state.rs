//! The one place a container record's lifecycle status changes: `running` when its
//! process is cloned, `exited` when it ends (or its start or its supervisor failed).

use bocker_store::{ContainerRecord, Status};

/// The container's first process `pid` is cloned into its cgroup (`cgroup_paths`).
pub fn running(r: &mut ContainerRecord, pid: i32, cgroup_paths: Vec<String>) {
    r.state.status = Status::Running;
    r.state.pid = Some(pid);
    r.state.started_at = Some(bocker_store::time::now());
    r.config.cgroup_paths = cgroup_paths;
}

/// The container ended with status `code` (Docker's: 128+N after signal N; 125/126/127
/// when it could not start); `error` says what went wrong in the engine, if anything.
/// It holds nothing any more: no process, no supervisor, no cgroup.
pub fn exited(r: &mut ContainerRecord, code: i32, error: Option<String>) {
    r.state.status = Status::Exited;
    r.state.exit_code = Some(code);
    if error.is_some() {
        r.state.error = error;
    }
    r.state.finished_at = Some(bocker_store::time::now());
    r.state.pid = None;
    r.state.paused = false;
    r.state.supervisor_pid = None;
    r.state.supervisor_start = None;
    r.config.cgroup_paths.clear();
}

/// What reclaim records for a container whose supervisor was killed: SIGKILL's 137.
pub fn supervisor_died(r: &mut ContainerRecord) {
    exited(r, 137, Some("supervisor died".into()));
}
