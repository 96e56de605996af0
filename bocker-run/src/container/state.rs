//! The one place a container record's lifecycle status changes (`created` is how
//! `create` writes it): `running` when its process is cloned, `exited` when it ends (or
//! its start or its supervisor failed); a restart goes from `exited` to `running` again.

use bocker_store::{ContainerRecord, Status};

/// The container's first process `pid` is cloned into its cgroup (`cgroup_paths`), under
/// `supervisor` (its pid and start time). A past run's exit code and error are cleared
/// (Docker's `State.ExitCode` is 0 while it runs); `FinishedAt` stays until the next exit.
pub fn running(
    r: &mut ContainerRecord,
    pid: i32,
    cgroup_paths: Vec<String>,
    supervisor: (i32, Option<u64>),
) {
    r.state.status = Status::Running;
    r.state.pid = Some(pid);
    r.state.supervisor_pid = Some(supervisor.0);
    r.state.supervisor_start = supervisor.1;
    r.state.started_at = Some(bocker_store::time::now());
    r.state.exit_code = None;
    r.state.error = None;
    r.state.paused = false;
    r.state.restarting = false;
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
