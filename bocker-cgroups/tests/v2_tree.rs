//! cgroup v2 limit files, against a temporary directory tree that mimics a
//! unified hierarchy (no kernel needed): which files get which values, what
//! is written to cgroup.subtree_control, and that nothing else is touched.

use std::fs;
use std::path::{Path, PathBuf};

use bocker_cgroups::{Cgroup, Hierarchy, Limits};

struct Tree(PathBuf);

impl Tree {
    fn new(tag: &str) -> Tree {
        let p = std::env::temp_dir().join(format!("bocker-cg-tree-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        Tree(p)
    }
    fn file(&self, rel: &str, content: &str) {
        let p = self.0.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, content).unwrap();
    }
    fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.0.join(rel)).unwrap()
    }
    fn h(&self) -> Hierarchy {
        Hierarchy::V2 {
            root: self.0.clone(),
        }
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A root offering `root_ctrls`, parent `p`, and a pre-made group `p/c`.
fn tree(tag: &str, root_ctrls: &str) -> Tree {
    let t = Tree::new(tag);
    t.file("cgroup.controllers", root_ctrls);
    t.file("cgroup.subtree_control", "");
    t.file("memory.max", "sentinel"); // must never be written
    t.file("p/cgroup.controllers", root_ctrls);
    t.file("p/cgroup.subtree_control", "");
    for (f, v) in [
        ("cgroup.procs", ""),
        ("cgroup.kill", ""),
        ("cpu.weight", "100"),
        ("cpu.max", "max 100000"),
        ("memory.max", "max"),
        ("memory.swap.max", "max"),
        ("pids.max", "max"),
    ] {
        t.file(&format!("p/c/{f}"), v);
    }
    t
}

fn all_limits() -> Limits {
    Limits {
        memory_bytes: Some(512_000_000),
        cpu_shares: Some(512),
        cpus: Some(1.5),
        pids_max: Some(5),
    }
}

#[test]
fn limits_map_to_v2_files() {
    let t = tree("all", "cpuset cpu io memory hugetlb pids");
    let cg = Cgroup::create(&t.h(), "p", "c", &all_limits()).expect("create");
    assert_eq!(t.read("cgroup.subtree_control"), "+cpu +memory +pids");
    assert_eq!(t.read("p/cgroup.subtree_control"), "+cpu +memory +pids");
    assert_eq!(t.read("p/c/cpu.weight"), "59");
    assert_eq!(t.read("p/c/cpu.max"), "150000 100000");
    assert_eq!(t.read("p/c/memory.max"), "512000000");
    assert_eq!(t.read("p/c/memory.swap.max"), "0");
    assert_eq!(t.read("p/c/pids.max"), "5");
    assert_eq!(t.read("memory.max"), "sentinel", "root limits touched");
    assert_eq!(cg.controllers(), vec!["cpu", "memory", "pids"]);
    assert_eq!(cg.unenforced(), &["devices"]);
    assert_eq!(cg.paths(), vec![t.0.join("p/c")]);

    cg.add_pid(4242).expect("add_pid");
    assert_eq!(t.read("p/c/cgroup.procs"), "4242");

    // With no member left, kill_all uses cgroup.kill and returns.
    fs::write(t.0.join("p/c/cgroup.procs"), "").unwrap();
    cg.kill_all().expect("kill_all");
    assert_eq!(t.read("p/c/cgroup.kill"), "1");
}

#[test]
fn unavailable_controllers_are_skipped_and_reported() {
    let t = tree("pidsonly", "io pids");
    let cg = Cgroup::create(&t.h(), "p", "c", &all_limits()).expect("create");
    assert_eq!(t.read("cgroup.subtree_control"), "+pids");
    assert_eq!(t.read("p/c/pids.max"), "5");
    assert_eq!(t.read("p/c/memory.max"), "max");
    assert_eq!(t.read("p/c/cpu.weight"), "100");
    assert_eq!(cg.controllers(), vec!["pids"]);
    assert_eq!(cg.unenforced(), &["memory", "cpu", "devices"]);
}

#[test]
fn enabled_controllers_are_not_rewritten_and_unlimited_pids_is_max() {
    let t = tree("already", "cpu memory pids");
    t.file("cgroup.subtree_control", "cpu memory pids");
    t.file("p/cgroup.subtree_control", "cpu memory pids");
    let limits = Limits {
        pids_max: Some(-1),
        cpu_shares: Some(1024),
        ..Limits::default()
    };
    Cgroup::create(&t.h(), "p", "c", &limits).expect("create");
    assert_eq!(t.read("cgroup.subtree_control"), "cpu memory pids");
    assert_eq!(t.read("p/c/pids.max"), "max");
    assert_eq!(t.read("p/c/cpu.weight"), "100");
    assert_eq!(t.read("p/c/cpu.max"), "max 100000");
}

#[test]
fn failed_create_leaves_no_new_group() {
    let t = Tree::new("fail");
    t.file("cgroup.controllers", "memory");
    t.file("cgroup.subtree_control", "");
    t.file("p/cgroup.controllers", "memory");
    t.file("p/cgroup.subtree_control", "");
    // The group dir will be a plain directory without memory.max: write fails.
    let limits = Limits {
        memory_bytes: Some(64 << 20),
        ..Limits::default()
    };
    let err = Cgroup::create(&t.h(), "p", "c", &limits).unwrap_err();
    assert!(err.to_string().contains("memory.max"), "{err}");
    assert!(
        !Path::new(&t.0.join("p/c")).exists(),
        "half-made group left"
    );
    assert!(t.0.join("p").exists(), "pre-existing parent removed");
}

#[test]
fn open_and_list_find_leftovers() {
    let t = tree("open", "cpu memory pids");
    t.file("p/other/cgroup.procs", "");
    let h = t.h();
    assert_eq!(Cgroup::list_children(&h, "p").unwrap(), vec!["c", "other"]);
    let cg = Cgroup::open(&h, "p", "c").expect("open");
    assert_eq!(cg.name(), "c");
    assert_eq!(cg.parent(), "p");
    assert!(Cgroup::open(&h, "p", "missing").is_err());
    assert!(Cgroup::list_children(&h, "nope").unwrap().is_empty());
}
