//! v2 controller delegation: a child group only gets a controller's files (`cpu.*`,
//! `io.*`, …) once every ancestor lists the controller in its `cgroup.subtree_control`
//! (kernel `cgroup-v2.rst` "Enabling and Disabling").
//!
//! - [`delegate`]: at create, bocker's own controllers (`cpu memory pids`, what
//!   [`crate::Limits`] writes) on every level down to the container's parent;
//! - [`enable_for`]: on demand, any other controller a setting needs (an OCI spec's
//!   `linux.resources`: `cpuset`, `io`, `hugetlb`, `rdma`, `misc`…) when the host has
//!   it, so a group only carries the controllers asked of it (runc enables every
//!   controller the root offers instead; the effect on what the container can use is
//!   the same).

use std::path::Path;

use crate::error::Result;
use crate::fs;

/// Controllers bocker uses on v2.
pub(crate) const WANTED: &[&str] = &["cpu", "memory", "pids"];

/// Enables the wanted controllers on every level from `root` down to the
/// container's parent (`root/<parent>`), skipping those a level does not offer
/// or already enables. Writes only cgroup.subtree_control, never a limit.
/// Returns the controllers enabled for the container's group.
pub(crate) fn delegate(root: &Path, parent: &str) -> Result<Vec<String>> {
    let mut level = root.to_path_buf();
    let mut enabled = enable_at(&level)?;
    for part in parent.split('/').filter(|p| !p.is_empty()) {
        level.push(part);
        // A controller can only be enabled below a level that enabled it.
        enabled = enable_at(&level)?;
    }
    Ok(enabled)
}

/// Makes `controller` available to the group at `dir`: from the nearest ancestor that
/// offers it (its `cgroup.controllers`) down to `dir`'s parent, `+controller` is written
/// to each level's `cgroup.subtree_control` that lacks it. `Ok(false)`, nothing
/// written, when no level up to the hierarchy's root offers it (the host has no such
/// controller). A refused write is an error (e.g. EBUSY: a level between has processes
/// of its own, the kernel's "no internal processes" rule).
pub(crate) fn enable_for(dir: &Path, controller: &str) -> Result<bool> {
    if offers(dir, controller) {
        return Ok(true);
    }
    let mut chain = Vec::new();
    let mut level = dir.parent();
    loop {
        // Above the hierarchy's root there is no cgroup.controllers.
        let Some(l) = level.filter(|l| l.join("cgroup.controllers").is_file()) else {
            return Ok(false);
        };
        chain.push(l);
        if offers(l, controller) {
            break;
        }
        level = l.parent();
    }
    for l in chain.iter().rev() {
        let control = l.join("cgroup.subtree_control");
        if !words(&control).iter().any(|c| c == controller) {
            fs::write(&control, &format!("+{controller}"))?;
        }
    }
    Ok(true)
}

/// Whether the group at `dir` has `controller` (its parent enabled it).
fn offers(dir: &Path, controller: &str) -> bool {
    words(&dir.join("cgroup.controllers"))
        .iter()
        .any(|c| c == controller)
}

fn words(path: &Path) -> Vec<String> {
    fs::read(path)
        .unwrap_or_default()
        .split_whitespace()
        .map(|w| w.trim_start_matches('+').to_string())
        .collect()
}

fn enable_at(dir: &Path) -> Result<Vec<String>> {
    let control = dir.join("cgroup.subtree_control");
    let available = words(&dir.join("cgroup.controllers"));
    let already = words(&control);
    let missing: Vec<&str> = WANTED
        .iter()
        .copied()
        .filter(|c| available.iter().any(|a| a == c) && !already.iter().any(|a| a == c))
        .collect();
    if !missing.is_empty() {
        let all: Vec<String> = missing.iter().map(|c| format!("+{c}")).collect();
        if fs::write(&control, &all.join(" ")).is_err() {
            // One refused controller fails the whole write; enable one by one
            // and keep whatever the kernel accepts.
            for c in &missing {
                let _ = fs::write(&control, &format!("+{c}"));
            }
        }
    }
    Ok(words(&control)
        .into_iter()
        .filter(|c| WANTED.contains(&c.as_str()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// A fake unified tree (plain files: a write replaces the file, where the kernel
    /// would merge), removed on drop.
    struct Tree(PathBuf);

    impl Tree {
        /// `root` offering `host`, parent `p` and group `p/c` offering `cpu memory pids`
        /// with those enabled at the root and in `p`.
        fn new(tag: &str, host: &str) -> Tree {
            let t = Tree(
                std::env::temp_dir().join(format!("bocker-cg-ctrl-{tag}-{}", std::process::id())),
            );
            let _ = std::fs::remove_dir_all(&t.0);
            let bocker = "cpu memory pids";
            t.file("cgroup.controllers", host);
            t.file("cgroup.subtree_control", bocker);
            t.file("p/cgroup.controllers", bocker);
            t.file("p/cgroup.subtree_control", bocker);
            t.file("p/c/cgroup.controllers", bocker);
            t
        }
        fn file(&self, rel: &str, content: &str) {
            let p = self.0.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, content).unwrap();
        }
        fn read(&self, rel: &str) -> String {
            std::fs::read_to_string(self.0.join(rel)).unwrap()
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn a_controller_the_host_has_is_enabled_on_every_level_down_to_the_parent() {
        let t = Tree::new("io", "cpu cpuset io memory pids hugetlb");
        assert!(enable_for(&t.0.join("p/c"), "io").unwrap());
        assert_eq!(t.read("cgroup.subtree_control"), "+io");
        assert_eq!(t.read("p/cgroup.subtree_control"), "+io");
        // Never in the group's own subtree_control (its children are not ours).
        assert!(!t.0.join("p/c/cgroup.subtree_control").exists());
    }

    #[test]
    fn enabling_starts_at_the_nearest_level_that_offers_it() {
        let t = Tree::new("near", "cpu cpuset memory pids");
        t.file("cgroup.subtree_control", "cpu cpuset memory pids");
        t.file("p/cgroup.controllers", "cpu cpuset memory pids");
        assert!(enable_for(&t.0.join("p/c"), "cpuset").unwrap());
        assert_eq!(t.read("cgroup.subtree_control"), "cpu cpuset memory pids");
        assert_eq!(t.read("p/cgroup.subtree_control"), "+cpuset");
    }

    #[test]
    fn what_the_group_has_or_the_host_lacks_writes_nothing() {
        let t = Tree::new("none", "cpu memory pids");
        assert!(enable_for(&t.0.join("p/c"), "cpu").unwrap());
        assert!(!enable_for(&t.0.join("p/c"), "hugetlb").unwrap());
        assert!(!enable_for(&t.0.join("p/c"), "rdma").unwrap());
        assert_eq!(t.read("cgroup.subtree_control"), "cpu memory pids");
        assert_eq!(t.read("p/cgroup.subtree_control"), "cpu memory pids");
    }

    #[test]
    fn delegate_enables_only_bockers_own_controllers() {
        let t = Tree::new("own", "cpu cpuset io memory pids");
        t.file("cgroup.subtree_control", "");
        t.file("p/cgroup.controllers", "cpu cpuset io memory pids");
        t.file("p/cgroup.subtree_control", "");
        delegate(&t.0, "p").unwrap();
        assert_eq!(t.read("cgroup.subtree_control"), "+cpu +memory +pids");
        assert_eq!(t.read("p/cgroup.subtree_control"), "+cpu +memory +pids");
    }

    #[test]
    fn write_setting_enables_the_settings_controller_first() {
        let t = Tree::new("setting", "cpu io memory pids");
        let h = crate::Hierarchy::V2 { root: t.0.clone() };
        let cg = crate::Cgroup::create(&h, "p", "c", &crate::Limits::default()).unwrap();
        // The kernel makes io.max once io is enabled; the fake tree has it already.
        t.file("p/c/io.max", "");
        cg.write_setting("io.max", "8:0 rbps=1048576").unwrap();
        assert_eq!(t.read("p/c/io.max"), "8:0 rbps=1048576");
        assert_eq!(t.read("p/cgroup.subtree_control"), "+io");
        // What the host lacks fails by name, nothing written.
        let e = cg.write_setting("hugetlb.2MB.max", "0").unwrap_err();
        assert!(e.to_string().contains("hugetlb.2MB.max"), "{e}");
        assert!(!t.0.join("p/c/hugetlb.2MB.max").exists());
    }
}
