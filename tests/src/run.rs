//! Helpers for the `bocker run` end-to-end tests: images with hostile twists, running
//! containers observed from the host, and a census of what a container could leak.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Output};
use std::time::{Duration, Instant};

use crate::{random_hex, TestRoot};

/// Stdout of an output as a String.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Stderr of an output as a String.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The exit code (panics on a signal death of bocker-run itself).
pub fn code(o: &Output) -> i32 {
    o.status
        .code()
        .unwrap_or_else(|| panic!("bocker-run died by a signal: {o:?}"))
}

/// A busybox image changed by `tweak(rootfs_dir)` before import.
pub fn image_with(t: &TestRoot, tweak: impl FnOnce(&Path)) -> String {
    let dir = t.base.join(format!("rootfs-{}", random_hex(6)));
    fs::create_dir(&dir).unwrap();
    crate::busybox_rootfs(&dir);
    tweak(&dir);
    let out = t.ok("init", &[dir.to_str().unwrap()]);
    let id = out
        .trim()
        .strip_prefix("Created: ")
        .expect("init prints Created:")
        .to_string();
    let _ = fs::remove_dir_all(&dir);
    id
}

/// A host path for a test to watch (removed on drop).
pub struct HostMarker(pub PathBuf);

impl HostMarker {
    pub fn dir() -> HostMarker {
        let p = PathBuf::from(format!("/tmp/bocker-host-marker-{}", random_hex(8)));
        fs::create_dir(&p).unwrap();
        HostMarker(p)
    }
    pub fn is_untouched_empty_dir(&self) -> bool {
        fs::read_dir(&self.0)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false)
            && !crate::testroot::mounts_below(&self.0)
                .iter()
                .any(|m| m == &self.0)
    }
}

impl Drop for HostMarker {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A `bocker-run` started in the background; killed (and reaped) on drop.
pub struct Running {
    pub child: Child,
}

impl Running {
    pub fn start(t: &TestRoot, args: &[&str]) -> Running {
        let child = t
            .cmd("run")
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        Running { child }
    }

    /// The record of the (one) running container of `t`, once it runs (polls `inspect`).
    pub fn wait_running(&self, t: &TestRoot) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ids = t.ok("ps", &["-q"]);
            for id in ids.lines() {
                let o = t.run("inspect", &[id]);
                if o.status.success() {
                    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
                    let rec = v[0]["Bocker"].clone();
                    if rec["state"]["status"] == "running" {
                        return rec;
                    }
                }
            }
            assert!(Instant::now() < deadline, "container never reached running");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: signalling our own child process.
        unsafe { libc::kill(self.child.id() as i32, sig) };
    }

    pub fn wait(mut self) -> Output {
        let child = std::mem::replace(&mut self.child, dummy_child());
        std::mem::forget(self);
        child.wait_with_output().unwrap()
    }
}

fn dummy_child() -> Child {
    std::process::Command::new("true").spawn().unwrap()
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a container could leave behind on the host.
#[derive(Debug, PartialEq, Eq)]
pub struct Census {
    pub mounts: Vec<PathBuf>,
    pub cgroups: Vec<String>,
    pub net_namespaces: usize,
    pub containers: usize,
}

/// Count what this test could leak: mounts under its base directory, cgroups under its
/// parent, network namespaces of processes in those cgroups, container records. (Global
/// counts would see other tests running in parallel.)
pub fn census(t: &TestRoot) -> Census {
    let mounts = t.mounts_below();
    let mut cgroups = Vec::new();
    for e in fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        // Container groups are `<parent>/<store id>/<ps_id>`; anything else below the
        // parent but a store's own level counts too.
        let p = e.path().join(&t.cgroup_parent);
        for c in child_dirs(&p) {
            let is_store_level = c
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("st_"));
            if is_store_level {
                cgroups.extend(child_dirs(&c).iter().map(|g| g.display().to_string()));
            } else {
                cgroups.push(c.display().to_string());
            }
        }
    }
    let mut netns: Vec<u64> = Vec::new();
    for p in fs::read_dir("/proc").unwrap().flatten() {
        let cg = fs::read_to_string(p.path().join("cgroup")).unwrap_or_default();
        if !cg.contains(&format!("/{}/", t.cgroup_parent)) {
            continue;
        }
        if let Ok(l) = fs::read_link(p.path().join("ns/net")) {
            let s = l.display().to_string();
            if let Some(n) = s.strip_prefix("net:[").and_then(|r| r.strip_suffix(']')) {
                netns.push(n.parse().unwrap_or(0));
            }
        }
    }
    netns.sort_unstable();
    netns.dedup();
    let containers = t.ok("ps", &["-q"]).lines().count();
    Census {
        mounts,
        cgroups,
        net_namespaces: netns.len(),
        containers,
    }
}

fn child_dirs(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|c| c.path())
                .filter(|c| c.is_dir())
                .collect()
        })
        .unwrap_or_default()
}

/// The store's id (`<root>/id`, made by its first `run`).
pub fn store_id(t: &TestRoot) -> String {
    fs::read_to_string(t.root.join("id"))
        .expect("the store has an id once a container ran")
        .trim()
        .to_string()
}

/// The cgroup parent of this store's containers: `<BOCKER_CGROUP_PARENT>/<store id>`.
pub fn store_cgroup_parent(t: &TestRoot) -> String {
    format!("{}/{}", t.cgroup_parent, store_id(t))
}

/// The v1 controller directory (or v2 group) of container `id` holding `file`.
pub fn cgroup_file(rec: &serde_json::Value, file: &str) -> String {
    for p in rec["config"]["cgroup_paths"]
        .as_array()
        .expect("cgroup_paths")
    {
        let f = Path::new(p.as_str().unwrap()).join(file);
        if let Ok(s) = fs::read_to_string(&f) {
            return s.trim().to_string();
        }
    }
    panic!("no cgroup of {} has {file}", rec["id"]);
}

/// The supervisor pid of container `id`, from its live entry (`<root>/live/<id>`).
pub fn supervisor_pid(t: &TestRoot, id: &str) -> i32 {
    let entry = fs::read(t.root.join("live").join(id)).expect("a live entry");
    let v: serde_json::Value = serde_json::from_slice(&entry).unwrap();
    v["supervisor_pid"].as_i64().expect("supervisor_pid") as i32
}

/// Pids of every `bocker-run` process (callers, supervisors, children not yet exec'd)
/// working on this test's store (`BOCKER_ROOT` in its environment).
pub fn bocker_run_pids(t: &TestRoot) -> Vec<i32> {
    let exe = crate::bin("run");
    let root = format!("BOCKER_ROOT={}", t.root.display());
    let mut pids = Vec::new();
    for p in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = p.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if fs::read_link(p.path().join("exe")).ok().as_deref() != Some(exe.as_path()) {
            continue;
        }
        let env = fs::read(p.path().join("environ")).unwrap_or_default();
        if env.split(|&b| b == 0).any(|v| v == root.as_bytes()) {
            pids.push(pid);
        }
    }
    pids
}

/// Whether process `pid` exists (and is not a zombie of ours).
pub fn alive(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, r)| r.trim_start().starts_with('Z'))
        })
        .is_some_and(|zombie| !zombie)
}

/// Polls `pred` for up to 20 s; panics with `what` when it never holds.
pub fn eventually(what: &str, mut pred: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !pred() {
        assert!(Instant::now() < deadline, "never: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
