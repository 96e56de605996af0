//! Test harness: unique parent names, child processes we start, and a Drop
//! guard that kills exactly those and removes every group we made.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bocker_cgroups::{Cgroup, Hierarchy};

/// A parent group name no other test (or test run) uses.
pub fn unique_parent(tag: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("bocker-test-{tag}-{}-{nanos:x}", std::process::id())
}

/// The real v1 hierarchy of this host, or None (test skipped) elsewhere.
pub fn real_v1() -> Option<Hierarchy> {
    let root = PathBuf::from("/sys/fs/cgroup");
    let ok = ["cpu", "memory", "pids"]
        .iter()
        .all(|c| root.join(c).join("cgroup.procs").exists());
    if !ok {
        skip("no cgroup v1 cpu/memory/pids mounts under /sys/fs/cgroup");
    }
    ok.then_some(Hierarchy::V1 { root })
}

/// Owns what a test created; cleans it up even when the test panics.
pub struct Guard {
    pub h: Hierarchy,
    pub parent: String,
    children: Vec<Child>,
    /// Extra pids we learned of (grandchildren) that must not outlive the test.
    pub extra_pids: Vec<i32>,
}

impl Guard {
    pub fn new(h: Hierarchy, parent: &str) -> Guard {
        Guard {
            h,
            parent: parent.to_string(),
            children: Vec::new(),
            extra_pids: Vec::new(),
        }
    }

    /// Starts `sh -c script`; the script should begin with `read x` so the
    /// test can place it in a group before it does anything.
    pub fn spawn_sh(&mut self, script: &str) -> Proc {
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn /bin/sh");
        let pid = child.id() as i32;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().map(BufReader::new);
        self.children.push(child);
        Proc { pid, stdin, stdout }
    }

    /// Waits for our child `pid` and returns its raw wait status.
    pub fn wait(&mut self, pid: i32) -> std::process::ExitStatus {
        let i = self
            .children
            .iter()
            .position(|c| c.id() as i32 == pid)
            .expect("pid is one of our children");
        let mut child = self.children.remove(i);
        child.wait().expect("wait for child")
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        for pid in &self.extra_pids {
            // SAFETY: kill(2) on a pid this test started (a grandchild).
            unsafe {
                libc::kill(*pid, libc::SIGKILL);
            }
        }
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Ok(names) = Cgroup::list_children(&self.h, &self.parent) {
            for n in names {
                if let Ok(cg) = Cgroup::open(&self.h, &self.parent, &n) {
                    let _ = cg.kill_all();
                    let _ = cg.remove();
                }
            }
        }
        let _ = Cgroup::remove_parent_if_empty(&self.h, &self.parent);
    }
}

/// A child shell we can release (`go`) and read lines from.
pub struct Proc {
    pub pid: i32,
    stdin: Option<ChildStdin>,
    stdout: Option<BufReader<ChildStdout>>,
}

impl Proc {
    /// Lets the script continue past its `read x`.
    pub fn go(&mut self) {
        let stdin = self.stdin.as_mut().expect("stdin piped");
        stdin.write_all(b"go\n").expect("release child");
        stdin.flush().expect("flush");
    }

    pub fn line(&mut self) -> String {
        let mut s = String::new();
        self.stdout
            .as_mut()
            .expect("stdout piped")
            .read_line(&mut s)
            .expect("read child output");
        s.trim().to_string()
    }
}

/// Polls `cond` for up to `secs` seconds.
pub fn wait_for(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .trim()
        .to_string()
}

pub fn pids_in(dir: &Path) -> Vec<i32> {
    read(&dir.join("cgroup.procs"))
        .lines()
        .filter_map(|l| l.parse().ok())
        .collect()
}

/// The path of `pid`'s cgroup for `controller` per /proc/<pid>/cgroup.
pub fn proc_cgroup(pid: i32, controller: &str) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    text.lines().find_map(|l| {
        let mut parts = l.splitn(3, ':');
        let _id = parts.next()?;
        let ctrls = parts.next()?;
        let path = parts.next()?;
        ctrls
            .split(',')
            .any(|c| c == controller)
            .then(|| path.to_string())
    })
}

/// A script that reports which device opens succeed: allowed /dev/null and
/// /dev/zero, and /dev/kmsg (1:11), which the default policy denies.
pub const DEVICE_PROBE: &str = "read x; \
    if (exec 3>/dev/null) 2>/dev/null; then echo null-ok; else echo null-denied; fi; \
    if (exec 3</dev/zero) 2>/dev/null; then echo zero-ok; else echo zero-denied; fi; \
    if (exec 3</dev/kmsg) 2>/dev/null; then echo kmsg-open; else echo kmsg-denied; fi";

/// Runs [`DEVICE_PROBE`] in a new shell, placed in `cg` first when given.
pub fn probe_devices(guard: &mut Guard, cg: Option<&Cgroup>) -> Vec<String> {
    let mut p = guard.spawn_sh(DEVICE_PROBE);
    if let Some(cg) = cg {
        cg.add_pid(p.pid).expect("add_pid");
    }
    p.go();
    let out = (0..3).map(|_| p.line()).collect();
    guard.wait(p.pid);
    out
}

/// A real-kernel test cannot run here. The suite runs as root on a host with these
/// mounts, so that is a failure, not a silent pass, unless `BOCKER_TEST_ALLOW_SKIP=1`.
pub fn skip(why: &str) {
    assert!(
        std::env::var_os("BOCKER_TEST_ALLOW_SKIP").is_some(),
        "cannot run: {why} (set BOCKER_TEST_ALLOW_SKIP=1 to skip on such a host)"
    );
    eprintln!("skipped: {why}");
}
