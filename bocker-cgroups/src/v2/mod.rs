//! cgroup v2: one directory `<root>/<parent>/<name>` for all controllers.

mod controllers;
pub mod cpu;
mod devices;
mod memory;
mod pids;

use std::path::{Path, PathBuf};

use crate::device_rules::DEFAULT_DEVICE_RULES;
use crate::error::Result;
use crate::fs;
use crate::limits::Limits;

/// One container's group in the unified hierarchy.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    dir: PathBuf,
    /// Controllers enabled for the group (by the parent's subtree_control).
    controllers: Vec<String>,
}

impl Group {
    /// Creates the parent levels, delegates controllers to them, creates the
    /// group and applies `limits`. On failure, removes what this call created.
    /// Returns the limits that could not be enforced (controller unavailable).
    pub(crate) fn create(
        root: &Path,
        parent: &str,
        name: &str,
        limits: &Limits,
    ) -> Result<(Group, Vec<&'static str>)> {
        let mut created = Vec::new();
        let result = (|| {
            if !parent.is_empty() {
                fs::mkdir_levels(root, parent, &mut created, |_| Ok(()))?;
            }
            let controllers = controllers::delegate(root, parent)?;
            let dir = root.join(parent).join(name);
            if fs::mkdir(&dir)? {
                created.push(dir.clone());
            }
            let group = Group { dir, controllers };
            let unenforced = group.apply(limits)?;
            Ok((group, unenforced))
        })();
        if result.is_err() {
            for dir in created.iter().rev() {
                let _ = fs::rmdir_if_unused(dir);
            }
        }
        result
    }

    fn has(&self, controller: &str) -> bool {
        self.controllers.iter().any(|c| c == controller)
    }

    fn apply(&self, limits: &Limits) -> Result<Vec<&'static str>> {
        let mut unenforced = Vec::new();
        if let Some(bytes) = limits.memory_bytes {
            if !self.has("memory") {
                unenforced.push("memory");
            } else if !memory::apply(&self.dir, bytes)? {
                unenforced.push("swap");
            }
        }
        if limits.wants_cpu() {
            if self.has("cpu") {
                cpu::apply(&self.dir, limits)?;
            } else {
                unenforced.push("cpu");
            }
        }
        if let Some(v) = limits.pids_value() {
            if self.has("pids") {
                pids::apply(&self.dir, &v)?;
            } else {
                unenforced.push("pids");
            }
        }
        // The device policy is an eBPF program; only a real cgroup2 group
        // can hold one, and a kernel without cgroup BPF cannot take it.
        if !devices::is_cgroup2(&self.dir)
            || devices::attach(&self.dir, DEFAULT_DEVICE_RULES).is_err()
        {
            unenforced.push("devices");
        }
        Ok(unenforced)
    }

    pub(crate) fn open(root: &Path, parent: &str, name: &str) -> Option<Group> {
        let dir = root.join(parent).join(name);
        let controllers = std::fs::read_to_string(dir.join("cgroup.controllers"))
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect();
        dir.is_dir().then_some(Group { dir, controllers })
    }

    pub(crate) fn list_children(root: &Path, parent: &str) -> Result<Vec<String>> {
        let mut names = fs::child_dirs(&root.join(parent))?;
        names.sort();
        Ok(names)
    }

    /// The group's directory once `controller` is enabled for it (`cpuset`, `io`,
    /// `hugetlb`, … enabled on demand: [`controllers::enable_for`]); `None` when the
    /// host has no such controller.
    pub(crate) fn dir_for(&self, controller: &str) -> Result<Option<PathBuf>> {
        let enabled = controllers::enable_for(&self.dir, controller)?;
        Ok(enabled.then(|| self.dir.clone()))
    }

    pub(crate) fn paths(&self) -> Vec<PathBuf> {
        vec![self.dir.clone()]
    }

    pub(crate) fn controllers(&self) -> Vec<String> {
        self.controllers.clone()
    }

    pub(crate) fn add_pid(&self, pid: i32) -> Result<()> {
        fs::add_pid(&self.dir, pid)
    }

    /// Members of the group and of any child groups below it.
    pub(crate) fn procs(&self) -> Result<Vec<i32>> {
        let mut all = Vec::new();
        collect_procs(&self.dir, &mut all)?;
        all.sort_unstable();
        all.dedup();
        Ok(all)
    }

    /// Kills the whole subtree: cgroup.kill where the kernel has it (5.14+),
    /// else freeze, SIGKILL each member and thaw; then waits until empty.
    pub(crate) fn kill_all(&self) -> Result<()> {
        if !fs::write_if_exists(&self.dir.join("cgroup.kill"), "1")? {
            let frozen = fs::write_if_exists(&self.dir.join("cgroup.freeze"), "1")?;
            let listed = self.procs().map(|pids| fs::sigkill_all(&pids));
            if frozen {
                fs::write(&self.dir.join("cgroup.freeze"), "0")?;
            }
            listed?;
        }
        fs::kill_until_empty(&self.dir, || self.procs())
    }

    pub(crate) fn remove(&self) -> Result<()> {
        fs::remove_tree(&self.dir)
    }

    pub(crate) fn remove_parent(root: &Path, parent: &str) -> Result<()> {
        let levels: Vec<&str> = parent.split('/').collect();
        for n in (1..=levels.len()).rev() {
            fs::rmdir_if_unused(&root.join(levels[..n].join("/")))?;
        }
        Ok(())
    }
}

fn collect_procs(dir: &Path, out: &mut Vec<i32>) -> Result<()> {
    out.extend(fs::procs(dir)?);
    for child in fs::child_dirs(dir)? {
        collect_procs(&dir.join(child), out)?;
    }
    Ok(())
}
