//! bocker-cgroups: cgroup v1 and v2 behind one small interface: create a
//! container's group with limits, place processes in it, list, kill and
//! remove it. v1 keeps one directory per controller (`v1/`), v2 a single
//! directory (`v2/`); [`Cgroup`] hides which one is in use.
//!
//! ```no_run
//! use bocker_cgroups::{Cgroup, Hierarchy, Limits, parse_memory};
//! # fn main() -> bocker_cgroups::Result<()> {
//! let h = Hierarchy::detect()?;
//! let limits = Limits { memory_bytes: Some(parse_memory("512m")?), ..Limits::default() };
//! let cg = Cgroup::create(&h, "bocker", "ps_1234", &limits)?;
//! cg.add_pid(4242)?;
//! cg.kill_all()?;
//! cg.remove()?;
//! # Ok(()) }
//! ```

mod detect;
mod device_rules;
mod error;
mod fs;
mod limits;
mod names;
mod oom;
mod pause;
mod settings;
mod stats;
mod sys;
mod units;
mod v1;
mod v2;

use std::path::{Path, PathBuf};

pub use device_rules::{DeviceRule, DEFAULT_DEVICE_RULES};
pub use error::{CgroupError, Result};
pub use limits::{Limits, CPU_PERIOD_US};
pub use names::default_parent;
pub use oom::{OomEvent, OomWatch};
pub use pause::{freeze, thaw, Frozen};
pub use stats::{sample, Sample};
pub use units::parse_memory;
pub use v2::cpu::shares_to_weight;

/// Which cgroup version the host uses, and where it is mounted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hierarchy {
    /// Legacy hierarchy: one mount per controller under `root` (`/sys/fs/cgroup/memory`, ...).
    V1 { root: PathBuf },
    /// Unified hierarchy mounted at `root`.
    V2 { root: PathBuf },
}

impl Hierarchy {
    /// Reads /proc/self/mountinfo: v1 if a cpu, memory or pids v1 controller is
    /// mounted, else the cgroup2 mount (preferring one with controllers).
    /// `BOCKER_CGROUP_VERSION=1|2` overrides the choice.
    pub fn detect() -> Result<Hierarchy> {
        detect::detect()
    }

    /// The mount root this hierarchy was built with.
    pub fn root(&self) -> &Path {
        match self {
            Hierarchy::V1 { root } | Hierarchy::V2 { root } => root,
        }
    }

    /// 1 or 2.
    pub fn version(&self) -> u8 {
        match self {
            Hierarchy::V1 { .. } => 1,
            Hierarchy::V2 { .. } => 2,
        }
    }
}

#[derive(Debug, Clone)]
enum Inner {
    V1(v1::Group),
    V2(v2::Group),
}

/// One container's cgroup (v1: a directory per controller; v2: one directory).
#[derive(Debug, Clone)]
pub struct Cgroup {
    parent: String,
    name: String,
    inner: Inner,
    unenforced: Vec<&'static str>,
}

impl Cgroup {
    /// Creates `<parent>/<name>` (parent levels on demand; an empty `parent` is the
    /// hierarchy's root) and applies `limits`.
    /// Existing directories are reused. Limits whose controller is not
    /// available are skipped and reported by [`Cgroup::unenforced`]. On error,
    /// directories this call created are removed again.
    pub fn create(h: &Hierarchy, parent: &str, name: &str, limits: &Limits) -> Result<Cgroup> {
        names::check_parent_or_root(parent)?;
        names::check_name(name)?;
        limits.check()?;
        let (inner, unenforced) = match h {
            Hierarchy::V1 { root } => {
                let (g, u) = v1::Group::create(root, parent, name, limits)?;
                (Inner::V1(g), u)
            }
            Hierarchy::V2 { root } => {
                let (g, u) = v2::Group::create(root, parent, name, limits)?;
                (Inner::V2(g), u)
            }
        };
        Ok(Cgroup {
            parent: parent.to_string(),
            name: name.to_string(),
            inner,
            unenforced,
        })
    }

    /// The directories [`Cgroup::create`] makes for `<parent>/<name>` (v1: one per mounted
    /// controller; v2: one), known before it runs: a process cloned first can be told
    /// where to move itself while its group is still being made. Same name checks as
    /// `create`.
    pub fn planned_paths(h: &Hierarchy, parent: &str, name: &str) -> Result<Vec<PathBuf>> {
        names::check_parent_or_root(parent)?;
        names::check_name(name)?;
        let rel = names::group_path(parent, name);
        Ok(match h {
            Hierarchy::V1 { root } => v1::planned_paths(root, &rel),
            Hierarchy::V2 { root } => vec![root.join(rel)],
        })
    }

    /// Allows `rules` beside the default device policy, before any process is in the
    /// group (`docker run --device`, `--privileged`). cgroup v1 only: on v2 the policy is
    /// one eBPF program made at create, so extra rules are refused there.
    pub fn allow_devices(&self, rules: &[DeviceRule]) -> Result<()> {
        if rules.is_empty() {
            return Ok(());
        }
        match &self.inner {
            Inner::V1(g) => g.allow_devices(rules),
            Inner::V2(_) => Err(CgroupError::InvalidValue {
                what: "device rule",
                value: rules[0].to_v1(),
                reason: "extra device rules are not supported on cgroup v2 yet",
            }),
        }
    }

    /// Opens an existing group, e.g. to clean up after a crashed run.
    pub fn open(h: &Hierarchy, parent: &str, name: &str) -> Result<Cgroup> {
        names::check_parent_or_root(parent)?;
        names::check_name(name)?;
        let inner = match h {
            Hierarchy::V1 { root } => v1::Group::open(root, parent, name).map(Inner::V1),
            Hierarchy::V2 { root } => v2::Group::open(root, parent, name).map(Inner::V2),
        }
        .ok_or_else(|| CgroupError::NotFound(format!("{parent}/{name}")))?;
        Ok(Cgroup {
            parent: parent.to_string(),
            name: name.to_string(),
            inner,
            unenforced: Vec::new(),
        })
    }

    /// Names of the groups under `parent` (empty if the parent does not exist).
    pub fn list_children(h: &Hierarchy, parent: &str) -> Result<Vec<String>> {
        names::check_parent(parent)?;
        match h {
            Hierarchy::V1 { root } => v1::Group::list_children(root, parent),
            Hierarchy::V2 { root } => v2::Group::list_children(root, parent),
        }
    }

    /// Removes the parent group's directories if no group is left in them.
    pub fn remove_parent_if_empty(h: &Hierarchy, parent: &str) -> Result<()> {
        names::check_parent(parent)?;
        match h {
            Hierarchy::V1 { root } => v1::Group::remove_parent(root, parent),
            Hierarchy::V2 { root } => v2::Group::remove_parent(root, parent),
        }
    }

    /// Writes `value` to the group's control file `file` (`<controller>.<knob>`, e.g.
    /// `cpuset.cpus`; v1: in that controller's directory, v2: in the group's). For
    /// settings beyond [`Limits`]; on v2 the controller is enabled down to the group
    /// first when the host has it. A file of a controller the host lacks (v1: not
    /// mounted) is [`CgroupError::InvalidValue`], a kernel refusal [`CgroupError::Io`].
    pub fn write_setting(&self, file: &str, value: &str) -> Result<()> {
        let controller = settings::controller_of(file)?;
        let dir = match &self.inner {
            Inner::V1(g) => g.dir_of(controller),
            Inner::V2(g) => g.dir_for(controller)?,
        };
        let dir = dir.ok_or_else(|| CgroupError::InvalidValue {
            what: "cgroup setting",
            value: file.to_string(),
            reason: "the host has no such controller for this group",
        })?;
        fs::write(&dir.join(file), value)
    }

    /// The group's name (the leaf, e.g. `ps_1234`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The parent the group lives under.
    pub fn parent(&self) -> &str {
        &self.parent
    }

    /// Every directory of the group (v1: one per controller; v2: one).
    pub fn paths(&self) -> Vec<PathBuf> {
        match &self.inner {
            Inner::V1(g) => g.paths(),
            Inner::V2(g) => g.paths(),
        }
    }

    /// Controllers the group is in (v1: mounted ones; v2: those enabled).
    pub fn controllers(&self) -> Vec<String> {
        match &self.inner {
            Inner::V1(g) => g.controllers(),
            Inner::V2(g) => g.controllers(),
        }
    }

    /// Limits asked for at create time that the host could not enforce:
    /// any of "memory", "swap", "cpu", "pids", "devices" (v2 device policy).
    pub fn unenforced(&self) -> &[&'static str] {
        &self.unenforced
    }

    /// Moves `pid` (and so everything it forks later) into the group.
    pub fn add_pid(&self, pid: i32) -> Result<()> {
        match &self.inner {
            Inner::V1(g) => g.add_pid(pid),
            Inner::V2(g) => g.add_pid(pid),
        }
    }

    /// Pids of the processes in the group, sorted.
    pub fn procs(&self) -> Result<Vec<i32>> {
        match &self.inner {
            Inner::V1(g) => g.procs(),
            Inner::V2(g) => g.procs(),
        }
    }

    /// SIGKILLs every process in the group and waits until it is empty.
    pub fn kill_all(&self) -> Result<()> {
        match &self.inner {
            Inner::V1(g) => g.kill_all(),
            Inner::V2(g) => g.kill_all(),
        }
    }

    /// Kills whatever is left in the group (v2: `cgroup.kill` where the kernel has it;
    /// else, and on v1, freeze, SIGKILL every member, thaw) and removes it. The usual
    /// case, a group already empty and without child groups, is one `rmdir` per
    /// directory: the kernel refuses (EBUSY) any that still holds a process or a group,
    /// and only then are its processes listed and killed.
    pub fn destroy(&self) -> Result<()> {
        let mut left = false;
        for dir in self.paths() {
            left |= !fs::rmdir_once(&dir)?;
        }
        if !left {
            return Ok(());
        }
        if !self.procs().map(|p| p.is_empty()).unwrap_or(false) {
            self.kill_all()?;
        }
        self.remove()
    }

    /// Removes all directories of the group; idempotent. Fails (EBUSY) while
    /// processes are still inside: call [`Cgroup::kill_all`] first.
    pub fn remove(&self) -> Result<()> {
        match &self.inner {
            Inner::V1(g) => g.remove(),
            Inner::V2(g) => g.remove(),
        }
    }
}
