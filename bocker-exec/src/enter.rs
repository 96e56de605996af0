//! Entering the container. `bocker-exec` itself joins every namespace of the first
//! process but the cgroup one, at once through the pidfd: then it is in the
//! container's mount namespace (its root and cwd are the container's root) and its
//! children are born in the container's pid namespace. The command alone joins the
//! container's cgroups (files opened on the host beforehand) and then its cgroup
//! namespace: `bocker-exec` stays in the caller's cgroup, so stopping the container
//! (which kills everything in its cgroup) ends the command but never us, and we still
//! restore the caller's terminal and report the status.

use crate::sys;
use bocker_store::ContainerRecord;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::OwnedFd;

/// The namespaces a container has (SPEC §4) but its cgroup one (see [`cgroup`]):
/// mount, UTS, IPC, network, pid. With `--network host` its network namespace is the
/// host's, which joining leaves as is.
const NAMESPACES: libc::c_int = libc::CLONE_NEWNS
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWNET
    | libc::CLONE_NEWPID;

/// The container's cgroup membership files, opened on the host (before entering its
/// mount namespace) for the command to write itself into.
pub struct CgroupFiles(Vec<File>);

/// Open the container's own groups (see [`bocker_run::container::cgroups::own`]; whatever else a
/// record lists is never touched): `tasks` on a v1 hierarchy (one thread, the whole
/// process here, without the global threadgroup lock a `cgroup.procs` write takes),
/// `cgroup.procs` on v2.
pub fn open_cgroups(rec: &ContainerRecord) -> io::Result<CgroupFiles> {
    let groups = bocker_run::container::cgroups::own(rec);
    if groups.is_empty() {
        return Err(io::Error::other("the container has no cgroup on record"));
    }
    CgroupFiles::open(&groups)
}

impl CgroupFiles {
    /// The membership file of each group directory in `dirs` (see [`open_cgroups`]).
    pub fn open<P: AsRef<std::path::Path>>(dirs: &[P]) -> io::Result<CgroupFiles> {
        let mut files = Vec::new();
        for dir in dirs {
            let dir = dir.as_ref();
            let tasks = dir.join("tasks");
            let path = if tasks.exists() {
                tasks
            } else {
                dir.join("cgroup.procs")
            };
            let f = OpenOptions::new().write(true).open(&path).map_err(|e| {
                io::Error::new(e.kind(), format!("opening {}: {e}", path.display()))
            })?;
            files.push(f);
        }
        Ok(CgroupFiles(files))
    }
}

/// In the command's process: move into the container's cgroups ("0" = the writer; its
/// limits apply from now on), then into its cgroup namespace, whose root is that group
/// (so /proc/self/cgroup shows `/`, as for PID 1).
pub fn cgroup(files: &CgroupFiles, pidfd: &OwnedFd) -> io::Result<()> {
    for mut f in &files.0 {
        f.write_all(b"0")
            .map_err(|e| io::Error::new(e.kind(), format!("joining the cgroup: {e}")))?;
    }
    sys::setns(pidfd, libc::CLONE_NEWCGROUP)
}

/// Join those namespaces of the process behind `pidfd` in one `setns` (all or none).
pub fn namespaces(pidfd: &OwnedFd) -> io::Result<()> {
    sys::setns(pidfd, NAMESPACES)
}

/// [`namespaces`], and the user namespace too when process `pid` (the one behind
/// `pidfd`) has one of its own (an OCI container with `uidMappings`): joining one's own
/// user namespace is an error (`EINVAL`), so it is joined only when it differs.
pub fn namespaces_with_user(pidfd: &OwnedFd, pid: libc::pid_t) -> io::Result<()> {
    let ns = |p: &str| std::fs::metadata(p).map(|m| std::os::unix::fs::MetadataExt::ino(&m));
    let theirs = ns(&format!("/proc/{pid}/ns/user"))?;
    let flags = match ns("/proc/self/ns/user")? == theirs {
        true => NAMESPACES,
        false => NAMESPACES | libc::CLONE_NEWUSER,
    };
    sys::setns(pidfd, flags)
}
