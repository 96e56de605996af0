//! Entering the container: its cgroups first (host paths, from the record), then every
//! namespace of its first process at once through the pidfd. After this the process is
//! in the container's mount namespace (its root and cwd are the container's root) and
//! its children are born in the container's pid namespace.

use crate::sys;
use bocker_store::{liveness, ContainerRecord};
use std::io;
use std::os::fd::OwnedFd;

/// The namespaces a container has (SPEC §4): mount, UTS, IPC, network, pid, cgroup.
/// With `--network host` its network namespace is the host's, which joining leaves as is.
const NAMESPACES: libc::c_int = libc::CLONE_NEWNS
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWNET
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWCGROUP;

/// Move this (single-threaded) process into the container's cgroups: by `tasks` on a v1
/// hierarchy (the thread alone, which is the whole process here, without the global
/// threadgroup lock `cgroup.procs` takes), by `cgroup.procs` on v2. "0" means the
/// writer. Only the container's own groups (see [`liveness::own_cgroups`]) are joined,
/// whatever else a record lists. Its limits (memory, pids, devices) apply from now on.
pub fn join_cgroups(rec: &ContainerRecord) -> io::Result<()> {
    let groups = liveness::own_cgroups(rec);
    if groups.is_empty() {
        return Err(io::Error::other("the container has no cgroup on record"));
    }
    for dir in groups {
        let tasks = dir.join("tasks");
        let file = if tasks.exists() {
            tasks
        } else {
            dir.join("cgroup.procs")
        };
        std::fs::write(&file, b"0")
            .map_err(|e| io::Error::new(e.kind(), format!("joining {}: {e}", file.display())))?;
    }
    Ok(())
}

/// Join every namespace of the process behind `pidfd` in one `setns` (all or none).
pub fn namespaces(pidfd: &OwnedFd) -> io::Result<()> {
    sys::setns(pidfd, NAMESPACES)
}
