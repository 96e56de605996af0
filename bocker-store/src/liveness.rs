//! Whether a container recorded as running really is, and releasing what it held.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::record::{ContainerRecord, Status};

/// Pids listed in the container's cgroups.
pub fn cgroup_pids(rec: &ContainerRecord) -> Vec<i32> {
    let mut pids = Vec::new();
    for p in &rec.config.cgroup_paths {
        if let Ok(text) = fs::read_to_string(Path::new(p).join("cgroup.procs")) {
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
    for p in &rec.config.cgroup_paths {
        for _ in 0..50 {
            match fs::remove_dir(p) {
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                _ => break,
            }
        }
    }
    if let Some(ns) = &rec.config.netns {
        let _ = nix::mount::umount2(Path::new(ns), nix::mount::MntFlags::MNT_DETACH);
        let _ = fs::remove_file(ns);
    }
}
