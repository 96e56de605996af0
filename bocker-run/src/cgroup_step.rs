//! The cgroup step: the one place the runtime talks to bocker-cgroups.

use bocker_cgroups::{Cgroup, Hierarchy, Limits};
use std::path::PathBuf;

pub use bocker_cgroups::{parse_memory, CgroupError};

/// The container's group `<parent>/<container id>`, parent from `BOCKER_CGROUP_PARENT`
/// (default `bocker`).
pub struct ContainerCgroup {
    cg: Cgroup,
    v2: bool,
}

impl ContainerCgroup {
    pub fn create(name: &str, limits: &Limits) -> Result<Self, CgroupError> {
        let h = Hierarchy::detect()?;
        let cg = Cgroup::create(&h, &bocker_cgroups::default_parent(), name, limits)?;
        // A container without the device policy could open any host device: refuse.
        // A missing resource controller only loses that limit: warn, as Docker does.
        if cg.unenforced().contains(&"devices") {
            let _ = cg.remove();
            return Err(CgroupError::InvalidValue {
                what: "device policy",
                value: name.to_string(),
                reason: "cannot be enforced on this host, refusing to start",
            });
        }
        for missing in cg.unenforced() {
            eprintln!("bocker-run: warning: the host has no {missing} cgroup controller; that limit is not enforced");
        }
        Ok(ContainerCgroup {
            cg,
            v2: h.version() == 2,
        })
    }

    /// The group of a container whose supervisor died, if it still exists.
    pub fn open(parent: &str, name: &str) -> Option<Self> {
        let h = Hierarchy::detect().ok()?;
        let v2 = h.version() == 2;
        Cgroup::open(&h, parent, name)
            .ok()
            .map(|cg| ContainerCgroup { cg, v2 })
    }

    /// Names of the groups under `parent`.
    pub fn children(parent: &str) -> Vec<String> {
        Hierarchy::detect()
            .and_then(|h| Cgroup::list_children(&h, parent))
            .unwrap_or_default()
    }

    /// Time since the group was created (its directory's change time), if known.
    pub fn age(&self) -> Option<std::time::Duration> {
        let dir = self.cg.paths().into_iter().next()?;
        std::fs::metadata(dir).ok()?.modified().ok()?.elapsed().ok()
    }

    pub fn parent(&self) -> &str {
        self.cg.parent()
    }

    pub fn add_pid(&self, pid: libc::pid_t) -> Result<(), CgroupError> {
        self.cg.add_pid(pid)
    }

    /// On cgroup v2, the group's directory opened for `clone3(CLONE_INTO_CGROUP)`.
    pub fn v2_dir(&self) -> Option<std::fs::File> {
        let dir = self.cg.paths().into_iter().next().filter(|_| self.v2)?;
        std::fs::File::open(dir).ok()
    }

    /// On cgroup v1, the `tasks` files through which the container's first process moves
    /// itself (see [`join_self`]); empty on v2, where it is born in the group.
    pub fn self_join_files(&self) -> Vec<PathBuf> {
        if self.v2 {
            return Vec::new();
        }
        self.cg
            .paths()
            .into_iter()
            .map(|p| p.join("tasks"))
            .collect()
    }

    pub fn paths(&self) -> Vec<PathBuf> {
        self.cg.paths()
    }

    /// Kill whatever is left and remove the group. The usual case, an empty group once
    /// PID 1 has exited, skips the freeze-and-kill round.
    pub fn destroy(&self) -> Result<(), CgroupError> {
        if !self.cg.procs().map(|p| p.is_empty()).unwrap_or(false) {
            self.cg.kill_all()?;
        }
        self.cg.remove()
    }
}

/// Move the calling (single-threaded) process into the v1 groups whose `tasks` files are
/// given, by writing "0" (= the caller). Moving oneself by thread skips the global
/// threadgroup lock that a write of a pid to `cgroup.procs` takes, whose RCU grace period
/// costs ~8 ms per container start on this kernel.
pub fn join_self(tasks_files: &[PathBuf]) -> std::io::Result<()> {
    for f in tasks_files {
        std::fs::write(f, b"0")
            .map_err(|e| std::io::Error::new(e.kind(), format!("joining {}: {e}", f.display())))?;
    }
    Ok(())
}
