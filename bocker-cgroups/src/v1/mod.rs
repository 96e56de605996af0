//! cgroup v1: one directory per mounted controller, `<root>/<controller>/<parent>/<name>`.

mod cpu;
mod cpuset;
mod devices;
mod freezer;
mod memory;
mod pids;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::error::Result;
use crate::fs;
use crate::limits::Limits;

/// Controllers a container is placed in when mounted. Limit-carrying ones
/// first, so that with co-mounted hierarchies (`cpu,cpuacct`) the name kept
/// is the one whose files we write.
const CONTROLLERS: &[&str] = &[
    "cpu", "memory", "pids", "cpuset", "cpuacct", "devices", "freezer", "blkio",
];

/// One container's directories, one per distinct mounted controller.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    dirs: Vec<(&'static str, PathBuf)>,
}

/// Mounted controllers under `root` as (name, hierarchy root), each
/// hierarchy once even when several names link to it (`cpu -> cpu,cpuacct`): the same
/// directory (device and inode) is the same hierarchy. Found once per process and
/// root (a start asks in reclaim and again to make the group; mounts do not change
/// under a running verb).
fn mounted(root: &Path) -> Vec<(&'static str, PathBuf)> {
    type Found = Vec<(PathBuf, Vec<(&'static str, PathBuf)>)>;
    static FOUND: Mutex<Found> = Mutex::new(Vec::new());
    let mut found = FOUND.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, m)) = found.iter().find(|(r, _)| r == root) {
        return m.clone();
    }
    let m = look_for_mounted(root);
    found.push((root.to_path_buf(), m.clone()));
    m
}

fn look_for_mounted(root: &Path) -> Vec<(&'static str, PathBuf)> {
    use std::os::unix::fs::MetadataExt;
    let mut seen: Vec<(u64, u64)> = Vec::new();
    let mut out = Vec::new();
    for &c in CONTROLLERS {
        let dir = root.join(c);
        // One stat (following a link) per name.
        let Ok(m) = std::fs::metadata(&dir) else {
            continue;
        };
        let same = (m.dev(), m.ino());
        if m.is_dir() && !seen.contains(&same) {
            seen.push(same);
            out.push((c, dir));
        }
    }
    out
}

/// The group's directories for `rel` (`<parent>/<name>`), as [`Group::create`] names
/// them: one per distinct mounted controller, in the same order.
pub(crate) fn planned_paths(root: &Path, rel: &str) -> Vec<PathBuf> {
    mounted(root).iter().map(|(_, r)| r.join(rel)).collect()
}

/// Makes `<croot>/<rel>` (`rel` = `<parent>/<name>`). The parent levels are made once and
/// then trusted: the group's own mkdir comes first, and only when the parent is missing
/// (ENOENT: the first start, or someone removed it) are its levels made, each new one
/// with `cgroup.clone_children` on so that the kernel fills a new child's cpuset
/// (`cpuset.cpus`/`mems`) from its parent. One mkdir per hierarchy on a start instead
/// of one per level (and the cpuset checks of each).
fn make_dir(croot: &Path, parent: &str, rel: &str, created: &mut Vec<PathBuf>) -> Result<()> {
    let dir = croot.join(rel);
    match fs::mkdir(&dir) {
        Ok(true) => {
            created.push(dir);
            return Ok(());
        }
        Ok(false) => return Ok(()),
        Err(e) if !e.is_not_found() || parent.is_empty() => return Err(e),
        Err(_) => {}
    }
    fs::mkdir_levels(croot, parent, created, |level| {
        cpuset::inherit(level)?;
        fs::write_if_exists(&level.join("cgroup.clone_children"), "1").map(drop)
    })?;
    if fs::mkdir(&dir)? {
        created.push(dir);
    }
    Ok(())
}

impl Group {
    /// Creates the group in every mounted controller and applies `limits`.
    /// On failure, removes whatever this call created. Returns the limits
    /// that could not be enforced because their controller is missing.
    pub(crate) fn create(
        root: &Path,
        parent: &str,
        name: &str,
        limits: &Limits,
    ) -> Result<(Group, Vec<&'static str>)> {
        let ctrls = mounted(root);
        let rel = crate::names::group_path(parent, name);
        let mut created: Vec<PathBuf> = Vec::new();
        let group = Group {
            dirs: ctrls.iter().map(|(c, r)| (*c, r.join(&rel))).collect(),
        };
        let result = (|| {
            for (c, croot) in &ctrls {
                make_dir(croot, parent, &rel, &mut created)?;
                if *c == "cpuset" {
                    cpuset::inherit(&croot.join(&rel))?;
                }
            }
            group.apply(limits)
        })();
        match result {
            Ok(unenforced) => Ok((group, unenforced)),
            Err(e) => {
                // Deepest first: the group, then parent levels this call made.
                for dir in created.iter().rev() {
                    let _ = fs::rmdir_if_unused(dir);
                }
                Err(e)
            }
        }
    }

    /// The group's directory in `controller`'s hierarchy, if that is mounted.
    pub(crate) fn dir_of(&self, controller: &str) -> Option<PathBuf> {
        self.dir(controller).map(Path::to_path_buf)
    }

    fn dir(&self, controller: &str) -> Option<&Path> {
        self.dirs
            .iter()
            .find(|(c, _)| *c == controller)
            .map(|(_, d)| d.as_path())
    }

    fn apply(&self, limits: &Limits) -> Result<Vec<&'static str>> {
        let mut unenforced = Vec::new();
        match (limits.memory_bytes, self.dir("memory")) {
            (Some(bytes), Some(d)) => {
                memory::apply(d, bytes)?;
                if !d.join("memory.memsw.limit_in_bytes").exists() {
                    unenforced.push("swap");
                }
            }
            (Some(_), None) => unenforced.push("memory"),
            _ => {}
        }
        match self.dir("cpu") {
            Some(d) => cpu::apply(d, limits)?,
            None if limits.wants_cpu() => unenforced.push("cpu"),
            None => {}
        }
        match (limits.pids_value(), self.dir("pids")) {
            (Some(v), Some(d)) => pids::apply(d, &v)?,
            (Some(_), None) => unenforced.push("pids"),
            _ => {}
        }
        if let Some(d) = self.dir("devices") {
            devices::apply(d)?;
        }
        Ok(unenforced)
    }

    /// Allows `rules` beside the default device policy (none without a devices controller:
    /// [`Group::create`] reported it unenforced already).
    pub(crate) fn allow_devices(&self, rules: &[crate::DeviceRule]) -> Result<()> {
        match self.dir("devices") {
            Some(d) => devices::allow(d, rules),
            None => Ok(()),
        }
    }

    /// Finds an existing group (for cleaning up after a crashed run).
    pub(crate) fn open(root: &Path, parent: &str, name: &str) -> Option<Group> {
        let rel = crate::names::group_path(parent, name);
        let dirs: Vec<_> = mounted(root)
            .into_iter()
            .map(|(c, r)| (c, r.join(&rel)))
            .filter(|(_, d)| d.is_dir())
            .collect();
        (!dirs.is_empty()).then_some(Group { dirs })
    }

    /// Names of all groups under `parent` in any controller.
    pub(crate) fn list_children(root: &Path, parent: &str) -> Result<Vec<String>> {
        let mut names = Vec::new();
        for (_, r) in mounted(root) {
            names.extend(fs::child_dirs(&r.join(parent))?);
        }
        names.sort();
        names.dedup();
        Ok(names)
    }

    pub(crate) fn paths(&self) -> Vec<PathBuf> {
        self.dirs.iter().map(|(_, d)| d.clone()).collect()
    }

    pub(crate) fn controllers(&self) -> Vec<String> {
        self.dirs.iter().map(|(c, _)| c.to_string()).collect()
    }

    pub(crate) fn add_pid(&self, pid: i32) -> Result<()> {
        self.dirs.iter().try_for_each(|(_, d)| fs::add_pid(d, pid))
    }

    pub(crate) fn procs(&self) -> Result<Vec<i32>> {
        let mut all = Vec::new();
        for (_, d) in &self.dirs {
            all.extend(fs::procs(d)?);
        }
        all.sort_unstable();
        all.dedup();
        Ok(all)
    }

    /// Freezes the group (so nothing forks meanwhile), SIGKILLs every member,
    /// thaws so the kills land, then repeats until the group is empty.
    pub(crate) fn kill_all(&self) -> Result<()> {
        let freezer = self.dir("freezer").filter(|d| d.is_dir());
        let frozen = freezer.map(|d| freezer::freeze(d).is_ok()).unwrap_or(false);
        // Thaw even when listing failed, or the group would stay frozen.
        let listed = self.procs().map(|pids| fs::sigkill_all(&pids));
        if let (true, Some(d)) = (frozen, freezer) {
            freezer::thaw(d)?;
        }
        listed?;
        let first = self
            .dirs
            .first()
            .map(|(_, d)| d.clone())
            .unwrap_or_default();
        fs::kill_until_empty(&first, || self.procs())
    }

    /// Removes every directory of the group; already-gone ones are fine.
    pub(crate) fn remove(&self) -> Result<()> {
        let mut first_err = None;
        for (_, d) in &self.dirs {
            if let Err(e) = fs::remove_tree(d) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Removes the (shared) parent levels where no group is left in them.
    pub(crate) fn remove_parent(root: &Path, parent: &str) -> Result<()> {
        for (_, r) in mounted(root) {
            let levels: Vec<&str> = parent.split('/').collect();
            for n in (1..=levels.len()).rev() {
                fs::rmdir_if_unused(&r.join(levels[..n].join("/")))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hierarchy_linked_under_two_names_is_found_once() {
        let root = std::env::temp_dir().join(format!("bocker-cg-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("cpu,cpuacct")).unwrap();
        std::fs::create_dir_all(root.join("memory")).unwrap();
        std::os::unix::fs::symlink("cpu,cpuacct", root.join("cpu")).unwrap();
        std::os::unix::fs::symlink("cpu,cpuacct", root.join("cpuacct")).unwrap();
        // A name that is not a directory is no hierarchy.
        std::fs::write(root.join("pids"), "").unwrap();
        let found = look_for_mounted(&root);
        std::fs::remove_dir_all(&root).unwrap();
        let names: Vec<&str> = found.iter().map(|(c, _)| *c).collect();
        assert_eq!(names, ["cpu", "memory"]);
    }
}
