//! The container's cgroups: the one place the runtime talks to bocker-cgroups. Every
//! group the runtime makes, kills or removes goes through [`ContainerCgroup`], under its
//! store's own parent `<BOCKER_CGROUP_PARENT or bocker>/<store id>` ([`store_parent`]):
//! two stores on one host (or a store beside Docker or Podman) never see each other's
//! groups. For the verbs that act on a running container (exec joins its groups, commit
//! pauses them), [`own`] says which recorded paths are the container's: only the runtime
//! knows how it names groups.

use bocker_cgroups::{Cgroup, Hierarchy, Limits};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use bocker_store::ContainerRecord;

pub use bocker_cgroups::{parse_memory, CgroupError};

/// Why a container's group was not made.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// The host cannot enforce the device policy (no v1 `devices` controller, no v2 eBPF
    /// device program): without it the container could open any host device, so the
    /// start is refused (runc and Docker refuse too).
    #[error("refusing to start {container}: this host's cgroups cannot enforce the device policy (no devices controller), so the container could open any host device")]
    NoDevicePolicy { container: String },
    #[error(transparent)]
    Cgroup(#[from] CgroupError),
}

/// The parent of this store's container groups: `<BOCKER_CGROUP_PARENT or bocker>/<store
/// id>`. The store id makes it the store's alone; the environment only picks where on the
/// host the store's subtree hangs.
pub fn store_parent(store: &bocker_store::Store) -> bocker_store::Result<String> {
    Ok(format!(
        "{}/{}",
        bocker_cgroups::default_parent(),
        store.id()?
    ))
}

/// The host's hierarchy, read from /proc/self/mountinfo once per process: a start asks
/// for it in reclaim and again to create the group, and each read of mountinfo costs
/// about 0.1-0.2 ms on the start path. A failure is not kept (the next call retries).
fn hierarchy() -> Result<Hierarchy, CgroupError> {
    static HOST: OnceLock<Hierarchy> = OnceLock::new();
    if let Some(h) = HOST.get() {
        return Ok(h.clone());
    }
    let h = Hierarchy::detect()?;
    Ok(HOST.get_or_init(|| h).clone())
}

/// The container's group `<parent>/<container id>`.
pub struct ContainerCgroup {
    cg: Cgroup,
    v2: bool,
}

impl ContainerCgroup {
    /// Creates the group under `parent` (see [`store_parent`]) with `limits`. A limit
    /// whose controller the host lacks is warned about on stderr (one line each) and not
    /// enforced, as Docker does; a missing device policy is refused
    /// ([`CreateError::NoDevicePolicy`]).
    pub fn create(parent: &str, name: &str, limits: &Limits) -> Result<Self, CreateError> {
        let h = hierarchy()?;
        let cg = Cgroup::create(&h, parent, name, limits)?;
        // A container without the device policy could open any host device: refuse.
        // A missing resource controller only loses that limit: warn, as Docker does.
        if cg.unenforced().contains(&"devices") {
            // Nothing is in it yet; a failure to remove it is found by the next reclaim.
            let _ = cg.remove();
            return Err(CreateError::NoDevicePolicy {
                container: name.to_string(),
            });
        }
        for missing in cg.unenforced() {
            bocker_cli::warn(&format!(
                "warning: the host has no {missing} cgroup controller; that limit is not enforced"
            ));
        }
        Ok(ContainerCgroup {
            cg,
            v2: h.version() == 2,
        })
    }

    /// On cgroup v1, the `tasks` files of the group [`ContainerCgroup::create`] will make
    /// for `<parent>/<name>`, known before it is made: the container's process can be
    /// cloned first and build its rootfs while the group is made, moving itself in once
    /// told it exists. `None` on v2, where the process is born in the group (made first).
    pub fn planned_join_files(
        parent: &str,
        name: &str,
    ) -> Result<Option<Vec<PathBuf>>, CgroupError> {
        let h = hierarchy()?;
        if h.version() == 2 {
            return Ok(None);
        }
        let dirs = Cgroup::planned_paths(&h, parent, name)?;
        Ok(Some(dirs.into_iter().map(|p| p.join("tasks")).collect()))
    }

    /// Allows `rules` beside the default device policy ([`Cgroup::allow_devices`]).
    pub fn allow_devices(&self, rules: &[bocker_cgroups::DeviceRule]) -> Result<(), CgroupError> {
        self.cg.allow_devices(rules)
    }

    /// The group `<parent>/<name>` if it exists (`Ok(None)` if not).
    pub fn open(parent: &str, name: &str) -> Result<Option<Self>, CgroupError> {
        let h = hierarchy()?;
        let v2 = h.version() == 2;
        match Cgroup::open(&h, parent, name) {
            Ok(cg) => Ok(Some(ContainerCgroup { cg, v2 })),
            Err(CgroupError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Names of the groups under `parent`.
    pub fn children(parent: &str) -> Result<Vec<String>, CgroupError> {
        Cgroup::list_children(&hierarchy()?, parent)
    }

    /// Whether any process is in the group.
    pub fn has_processes(&self) -> bool {
        self.cg.procs().map(|p| !p.is_empty()).unwrap_or(true)
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

    /// Write one control file of the group (`<controller>.<knob>`, checked by
    /// bocker-cgroups): the OCI runtime's `linux.resources` beyond [`Limits`].
    pub fn write_setting(&self, file: &str, value: &str) -> Result<(), CgroupError> {
        self.cg.write_setting(file, value)
    }

    /// Kill whatever is left and remove the group ([`Cgroup::destroy`]).
    pub fn destroy(&self) -> Result<(), CgroupError> {
        self.cg.destroy()
    }

    /// Destroys `<parent>/<name>` if it exists.
    pub fn destroy_named(parent: &str, name: &str) -> Result<(), CgroupError> {
        match Self::open(parent, name)? {
            Some(cg) => cg.destroy(),
            None => Ok(()),
        }
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

/// The container's own cgroups: recorded paths below `/sys/fs/cgroup` whose last
/// component is the container's id (as the runtime names them). Anything else in a
/// record (a controller's root, a relative path, `..`) is never read, joined or frozen:
/// a forged record must not make `exec` or `commit --pause` act on the host's processes.
pub fn own(rec: &ContainerRecord) -> Vec<&Path> {
    rec.config
        .cgroup_paths
        .iter()
        .map(Path::new)
        .filter(|p| {
            p.starts_with("/sys/fs/cgroup")
                && p.file_name().is_some_and(|n| n == rec.id.as_str())
                && !p.components().any(|c| c == std::path::Component::ParentDir)
        })
        .collect()
}

/// Pids listed in the container's own cgroups, sorted and deduplicated.
pub fn pids(rec: &ContainerRecord) -> Vec<i32> {
    let mut pids: Vec<i32> = own(rec)
        .into_iter()
        .filter_map(|p| std::fs::read_to_string(p.join("cgroup.procs")).ok())
        .flat_map(|text| {
            text.lines()
                .filter_map(|l| l.trim().parse::<i32>().ok())
                .collect::<Vec<_>>()
        })
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// Freezes every process of the container (Docker's `pause`, also used by `commit`):
/// `Ok(None)` when its groups offer no freezer; the guard thaws them when dropped.
pub fn freeze(rec: &ContainerRecord) -> bocker_cgroups::Result<Option<bocker_cgroups::Frozen>> {
    bocker_cgroups::freeze(&own(rec))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_policy_refusal_says_what_was_refused_and_why() {
        let e = CreateError::NoDevicePolicy {
            container: "ps_0123456789ab".into(),
        };
        let text = e.to_string();
        assert!(
            text.starts_with("refusing to start ps_0123456789ab: "),
            "{text}"
        );
        assert!(text.contains("device policy"), "{text}");
        assert!(!text.contains("invalid"), "reads as a bad value: {text}");
    }

    fn record(cgroups: &[&str]) -> ContainerRecord {
        let mut r: ContainerRecord = serde_json::from_value(serde_json::json!({
            "id": "ps_0123456789ab", "image": "img_0123456789ab", "command": ["true"],
            "created": "2026-11-22T20:00:00Z", "driver": "overlay", "layers": [],
            "rootfs": "/nonexistent", "state": {"status": "running", "pid": 0}
        }))
        .expect("record");
        r.config.cgroup_paths = cgroups.iter().map(|s| s.to_string()).collect();
        r
    }

    #[test]
    fn only_the_containers_own_cgroups_are_ever_touched() {
        let host = record(&[
            "/sys/fs/cgroup/pids",
            "/sys/fs/cgroup",
            "/sys/fs/cgroup/unified",
            "",
            "/sys/fs/cgroup/pids/../pids",
        ]);
        assert!(own(&host).is_empty());
        assert!(
            pids(&host).is_empty(),
            "host processes counted as the container's"
        );
        let mine = record(&["/sys/fs/cgroup/pids/bocker/st_0/ps_0123456789ab"]);
        assert_eq!(own(&mine).len(), 1);
    }
}
