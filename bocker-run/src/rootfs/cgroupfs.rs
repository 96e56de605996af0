//! The container's own cgroups, read-only at /sys/fs/cgroup (the spec's `cgroup` mount,
//! Docker's default), so that JVMs, Go and Node size themselves from its limits.
//!
//! Mounted after the process joined its cgroup and unshared its cgroup namespace, so each
//! hierarchy's root *is* the container's group (what runc does with a cgroup namespace):
//! - cgroup v2: one `cgroup2` mount;
//! - cgroup v1: a tmpfs, then, for every hierarchy the container has its own group in
//!   (the `tasks` files it joined), a `cgroup` mount of that hierarchy (its controllers
//!   or `name=`, as the host's mountinfo gives them) at `/sys/fs/cgroup/<name>`, the
//!   host's symlinks beside them (`cpu` → `cpu,cpuacct`), then the tmpfs made read-only.
//!   `--memory 64m` → `/sys/fs/cgroup/memory/memory.limit_in_bytes` reads 67108864.
//!
//! Without a cgroup namespace of its own (containerd's default on a v1 host), a
//! `cgroup` mount would show the host's whole tree; so, as runc does, each hierarchy's
//! directory at /sys/fs/cgroup/<name> is a bind of the container's own group on the host
//! ([`CgroupView::V1Binds`]): its files, its limits, nothing above it.
//!
//! Every mount is read-only, nosuid, noexec, nodev: the container (without
//! CAP_SYS_ADMIN) can neither write a limit nor a `release_agent` (CVE-2022-0492).

use crate::safepath;
use crate::sys::{self, cstr, fd_path};
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};

/// Where the host mounts its cgroup hierarchies.
const HOST_CGROUP: &str = "/sys/fs/cgroup";

/// Mount options of the host's v1 mounts that are not the hierarchy's identity.
const NOT_IDENTITY: &[&str] = &[
    "rw",
    "ro",
    "xattr",
    "clone_children",
    "cpuset_v2_mode",
    "favordynmods",
];

/// The cgroup filesystem the container sees.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CgroupView {
    /// No cgroupfs inside (no cgroup namespace: the host's tree must not show).
    #[default]
    None,
    /// One cgroup2 mount.
    V2,
    /// v1 hierarchies: (name under /sys/fs/cgroup, mount data), and (link, target) pairs.
    V1 {
        hierarchies: Vec<(String, String)>,
        links: Vec<(String, String)>,
    },
    /// v1 without a cgroup namespace: (name under /sys/fs/cgroup, the container's group
    /// directory on the host) bound, and (link, target) pairs.
    V1Binds {
        groups: Vec<(String, PathBuf)>,
        links: Vec<(String, String)>,
    },
}

impl CgroupView {
    /// The view of a container that joined the v1 groups whose `tasks` files are
    /// `tasks_files` (none: cgroup v2, where it was born in its group), from the host's
    /// mountinfo and /sys/fs/cgroup symlinks.
    pub fn of_host(tasks_files: &[PathBuf]) -> io::Result<CgroupView> {
        if tasks_files.is_empty() {
            return Ok(CgroupView::V2);
        }
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")?;
        let hierarchies = v1_hierarchies(&mountinfo, tasks_files);
        let links = host_links(hierarchies.iter().map(|(h, _)| h.as_str()))?;
        Ok(CgroupView::V1 { hierarchies, links })
    }

    /// The view of a container without a cgroup namespace of its own: on v1 the group
    /// directories of `tasks_files` (`/sys/fs/cgroup/<name>/<group>/tasks`) bound at
    /// `<name>`; on v2 (none) the `cgroup2` mount.
    pub fn binds_of_host(tasks_files: &[PathBuf]) -> io::Result<CgroupView> {
        if tasks_files.is_empty() {
            return Ok(CgroupView::V2);
        }
        let groups = v1_groups(tasks_files);
        let links = host_links(groups.iter().map(|(h, _)| h.as_str()))?;
        Ok(CgroupView::V1Binds { groups, links })
    }
}

/// (hierarchy name, group directory) of each `tasks` file under /sys/fs/cgroup/<name>/.
fn v1_groups(tasks_files: &[PathBuf]) -> Vec<(String, PathBuf)> {
    tasks_files
        .iter()
        .filter_map(|t| {
            let dir = t.parent()?;
            let rel = dir.strip_prefix(HOST_CGROUP).ok()?;
            let name = rel.components().next()?.as_os_str().to_str()?.to_string();
            Some((name, dir.to_path_buf()))
        })
        .collect()
}

/// The host's /sys/fs/cgroup symlinks (`cpu` → `cpu,cpuacct`) to one of `names`.
fn host_links<'a>(
    names: impl Iterator<Item = &'a str> + Clone,
) -> io::Result<Vec<(String, String)>> {
    let mut links = Vec::new();
    for entry in std::fs::read_dir(HOST_CGROUP)? {
        let entry = entry?;
        if !entry.file_type()?.is_symlink() {
            continue;
        }
        let target = std::fs::read_link(entry.path())?;
        let (name, target) = (entry.file_name(), target.to_string_lossy().into_owned());
        if names.clone().any(|h| h == target) {
            links.push((name.to_string_lossy().into_owned(), target));
        }
    }
    Ok(links)
}

/// (name, mount data) of each v1 hierarchy mounted directly under /sys/fs/cgroup whose
/// directory holds one of `tasks_files`.
fn v1_hierarchies(mountinfo: &str, tasks_files: &[PathBuf]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in mountinfo.lines() {
        // mountinfo(5): fields … mount-point … " - " fstype source super-options.
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let right: Vec<&str> = right.split(' ').collect();
        let Some(point) = left.split(' ').nth(4) else {
            continue;
        };
        if right.first() != Some(&"cgroup") || right.len() < 3 {
            continue;
        }
        let point = Path::new(point);
        let Some(name) = point
            .strip_prefix(HOST_CGROUP)
            .ok()
            .and_then(|n| n.to_str())
            .filter(|n| !n.is_empty() && !n.contains('/'))
        else {
            continue;
        };
        if !tasks_files.iter().any(|t| t.starts_with(point)) {
            continue;
        }
        let data: Vec<&str> = right[2]
            .split(',')
            .filter(|o| !NOT_IDENTITY.contains(o) && !o.starts_with("release_agent="))
            .collect();
        out.push((name.to_string(), data.join(",")));
    }
    out
}

/// Read-only, and nothing to run, set-id or open as a device.
const FLAGS: libc::c_ulong = libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NOEXEC | libc::MS_NODEV;

fn err(what: &str, path: &str, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {path}: {e}"))
}

/// Mount `view` at `dest` under the root `r` (`extra` flags from the spec's options).
pub fn mount(r: RawFd, dest: &str, extra: libc::c_ulong, view: &CgroupView) -> io::Result<()> {
    let flags = FLAGS | extra;
    let fs = |fstype: &str, at: RawFd, data: Option<&str>, flags| {
        let data = data.map(cstr).transpose()?;
        sys::mount(
            Some(&cstr(fstype)?),
            &fd_path(at),
            Some(&cstr(fstype)?),
            flags,
            data.as_deref(),
        )
    };
    match view {
        CgroupView::None => Ok(()),
        CgroupView::V2 => {
            let at = safepath::mkdir_all(r, dest, 0o755).map_err(|e| err("creating", dest, e))?;
            fs("cgroup2", at.as_raw_fd(), None, flags)
                .map_err(|e| err("mounting cgroup2 at", dest, e))
        }
        CgroupView::V1 { links, .. } | CgroupView::V1Binds { links, .. } => {
            let at = safepath::mkdir_all(r, dest, 0o755).map_err(|e| err("creating", dest, e))?;
            let tmpfs = libc::MS_NOSUID | libc::MS_NOEXEC | libc::MS_NODEV;
            fs("tmpfs", at.as_raw_fd(), Some("mode=755"), tmpfs)
                .map_err(|e| err("mounting tmpfs at", dest, e))?;
            let dir_of = |name: &str| {
                let path = format!("{}/{name}", dest.trim_end_matches('/'));
                let dir =
                    safepath::mkdir_all(r, &path, 0o755).map_err(|e| err("creating", &path, e))?;
                Ok::<_, io::Error>((path, dir))
            };
            if let CgroupView::V1 { hierarchies, .. } = view {
                for (name, data) in hierarchies {
                    let (path, dir) = dir_of(name)?;
                    fs("cgroup", dir.as_raw_fd(), Some(data), flags)
                        .map_err(|e| err("mounting cgroup at", &path, e))?;
                }
            }
            if let CgroupView::V1Binds { groups, .. } = view {
                for (name, host) in groups {
                    let (path, dir) = dir_of(name)?;
                    bind_read_only(host, r, &path, dir.as_raw_fd(), flags)
                        .map_err(|e| err("binding the container's cgroup at", &path, e))?;
                }
            }
            let top = safepath::open(r, dest, libc::O_PATH | libc::O_DIRECTORY)?;
            for (link, target) in links {
                sys::symlinkat(&cstr(target)?, top.as_raw_fd(), &cstr(link)?)
                    .map_err(|e| err("symlink", link, e))?;
            }
            // The tmpfs itself read-only last.
            let top = safepath::open_path(r, dest)?;
            sys::mount(
                None,
                &fd_path(top.as_raw_fd()),
                None,
                libc::MS_REMOUNT | flags,
                None,
            )
            .map_err(|e| err("remounting read-only", dest, e))
        }
    }
}

/// Bind the host directory `host` onto `at` (`path` under the root `r`), then remount
/// the bind with `flags` (resolved again: `at` names the directory under the bind).
fn bind_read_only(
    host: &Path,
    r: RawFd,
    path: &str,
    at: RawFd,
    flags: libc::c_ulong,
) -> io::Result<()> {
    let src = sys::open(&sys::cpath(host)?, libc::O_PATH | libc::O_DIRECTORY)?;
    sys::mount(
        Some(&fd_path(src.as_raw_fd())),
        &fd_path(at),
        None,
        libc::MS_BIND,
        None,
    )?;
    let bound = safepath::open_path(r, path)?;
    sys::mount(
        None,
        &fd_path(bound.as_raw_fd()),
        None,
        libc::MS_BIND | libc::MS_REMOUNT | flags,
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_hierarchies_are_those_the_container_joined_with_their_identity() {
        let mountinfo = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,xattr,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd,release_agent=/x
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
50 23 0:39 / /mnt/other rw - cgroup cgroup rw,pids
";
        let tasks = [
            PathBuf::from("/sys/fs/cgroup/cpu,cpuacct/bocker/c1/tasks"),
            PathBuf::from("/sys/fs/cgroup/memory/bocker/c1/tasks"),
        ];
        assert_eq!(
            v1_hierarchies(mountinfo, &tasks),
            [
                ("cpu,cpuacct".to_string(), "cpu,cpuacct".to_string()),
                ("memory".to_string(), "memory".to_string())
            ]
        );
        assert_eq!(
            v1_groups(&tasks),
            [
                (
                    "cpu,cpuacct".to_string(),
                    PathBuf::from("/sys/fs/cgroup/cpu,cpuacct/bocker/c1")
                ),
                (
                    "memory".to_string(),
                    PathBuf::from("/sys/fs/cgroup/memory/bocker/c1")
                )
            ]
        );
        let tasks = [PathBuf::from("/sys/fs/cgroup/systemd/x/tasks")];
        assert_eq!(
            v1_hierarchies(mountinfo, &tasks),
            [("systemd".to_string(), "name=systemd".to_string())]
        );
    }
}
