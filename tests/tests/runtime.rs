//! End-to-end tests of `bocker-runtime`'s lifecycle, driven as containerd's shim drives
//! runc: `spec` in a busybox bundle, `create` → `state` (created, a pid) → `start` →
//! output → `state` (stopped) → `delete`; `run` passing the exit status through; `delete`
//! refusing a running container without `--force`; `ps --format json`; `kill` delivering its signal; and a
//! spec field bocker cannot honour refused by name; the spec's seccomp profile applied. Each test has its own `--root` and its
//! own cgroup parent (`linux.cgroupsPath`), removed in `Drop` whatever happened.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use bocker_e2e::{bin, busybox_rootfs, random_hex};

/// A bundle, a runtime root and a cgroup parent of one test.
struct Bundle {
    dir: tempfile::TempDir,
    cgroup_parent: String,
    ids: Vec<String>,
}

impl Bundle {
    /// `bocker-runtime spec` in a fresh bundle with a busybox rootfs, then `args` as the
    /// process (not a terminal) and a cgroup under this test's own parent.
    fn new(args: &[&str]) -> Bundle {
        let dir = tempfile::tempdir().unwrap();
        let b = Bundle {
            dir,
            cgroup_parent: format!("bocker-e2e-runtime-{}", random_hex(8)),
            ids: Vec::new(),
        };
        let o = b.runtime(&["spec", "--bundle", b.path().to_str().unwrap()]);
        assert!(o.status.success(), "spec: {}", stderr(&o));
        busybox_rootfs(&b.path().join("rootfs"));
        b.set_args(args);
        b
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("bundle")
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn set_args(&self, args: &[&str]) {
        self.edit(|c| {
            c["process"]["terminal"] = false.into();
            c["process"]["args"] = serde_json::json!(args);
        });
    }

    fn edit(&self, f: impl FnOnce(&mut serde_json::Value)) {
        let path = self.path().join("config.json");
        std::fs::create_dir_all(self.path()).unwrap();
        let mut c: serde_json::Value = match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).unwrap(),
            Err(_) => return,
        };
        f(&mut c);
        std::fs::write(&path, serde_json::to_vec(&c).unwrap()).unwrap();
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin("runtime"));
        c.arg("--root").arg(self.root()).args(args);
        c.stdin(Stdio::null());
        c
    }

    fn runtime(&self, args: &[&str]) -> Output {
        if args.first() == Some(&"spec") {
            std::fs::create_dir_all(self.path()).unwrap();
        }
        self.cmd(args).output().unwrap()
    }

    /// `create` with the container's stdout and stderr in `out` (its init keeps them
    /// open, so they cannot be our pipes).
    fn create(&mut self, id: &str, out: &Path) -> Output {
        self.ids.push(id.to_string());
        let cg = format!("/{}/{id}", self.cgroup_parent);
        self.edit(|c| c["linux"]["cgroupsPath"] = cg.into());
        let f = File::create(out).unwrap();
        let bundle = self.path();
        self.cmd(&["create", "--bundle", bundle.to_str().unwrap(), id])
            .stdout(f.try_clone().unwrap())
            .stderr(f)
            .output()
            .unwrap()
    }

    fn state(&self, id: &str) -> serde_json::Value {
        let o = self.runtime(&["state", id]);
        assert!(o.status.success(), "state: {}", stderr(&o));
        serde_json::from_slice(&o.stdout).unwrap()
    }

    fn ok(&self, args: &[&str]) {
        let o = self.runtime(args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    }

    /// Wait until `id`'s state says stopped (no timed assertion: the test's own timeout
    /// is the bound).
    fn wait_stopped(&self, id: &str) {
        while self.state(id)["status"] != "stopped" {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        for id in &self.ids {
            let _ = self.runtime(&["delete", "--force", id]);
        }
        bocker_e2e::testroot::cleanup_cgroups(&self.cgroup_parent);
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn create_start_state_delete_as_containerd_drives_it() {
    let mut b = Bundle::new(&["sh", "-c", "echo hello from $(hostname)"]);
    let out = b.dir.path().join("out");
    let o = b.create("c1", &out);
    assert!(
        o.status.success(),
        "create: {}",
        std::fs::read_to_string(&out).unwrap()
    );
    let s = b.state("c1");
    assert_eq!(s["status"], "created", "{s}");
    let pid = s["pid"].as_i64().unwrap();
    assert!(pid > 0, "{s}");
    assert!(Path::new(&format!("/proc/{pid}")).exists());
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "",
        "nothing ran before start"
    );

    b.ok(&["start", "c1"]);
    b.wait_stopped("c1");
    // runc's spec names the host "runc"; bocker-runtime's spec keeps that default.
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("hello from "), "{text}");

    let again = b.runtime(&["start", "c1"]);
    assert!(
        !again.status.success(),
        "a stopped container cannot start again"
    );
    b.ok(&["delete", "c1"]);
    let gone = b.runtime(&["state", "c1"]);
    assert!(
        stderr(&gone).contains("container does not exist"),
        "{}",
        stderr(&gone)
    );
    let cg = format!("/sys/fs/cgroup/memory/{}/c1", b.cgroup_parent);
    assert!(!Path::new(&cg).exists(), "delete removes the cgroup {cg}");
}

#[test]
fn run_passes_the_exit_status_through() {
    let b = Bundle::new(&["sh", "-c", "echo out; exit 7"]);
    let cg = format!("/{}/r1", b.cgroup_parent);
    b.edit(|c| c["linux"]["cgroupsPath"] = cg.into());
    let bundle = b.path();
    let o = b.runtime(&["run", "--bundle", bundle.to_str().unwrap(), "r1"]);
    assert_eq!(o.status.code(), Some(7), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "out\n");
    // run deletes what it created.
    let gone = b.runtime(&["state", "r1"]);
    assert!(!gone.status.success());
}

#[test]
fn delete_refuses_a_running_container_without_force() {
    let mut b = Bundle::new(&["sleep", "60"]);
    let out = b.dir.path().join("out");
    assert!(b.create("d1", &out).status.success());
    b.ok(&["start", "d1"]);
    // `ps --format json` (what containerd's shim calls): the pids of its cgroup.
    let pid = b.state("d1")["pid"].as_i64().unwrap();
    let ps = b.runtime(&["ps", "--format", "json", "d1"]);
    let pids: Vec<i64> = serde_json::from_slice(&ps.stdout).unwrap();
    assert_eq!(pids, [pid], "{}", stderr(&ps));
    let o = b.runtime(&["delete", "d1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("not stopped: running"),
        "{}",
        stderr(&o)
    );
    assert_eq!(b.state("d1")["status"], "running");
    b.ok(&["delete", "--force", "d1"]);
    assert!(!b.runtime(&["state", "d1"]).status.success());
}

#[test]
fn kill_delivers_the_signal() {
    let script = "trap 'echo got TERM; exit 3' TERM; echo up; while :; do sleep 0.1; done";
    let mut b = Bundle::new(&["sh", "-c", script]);
    let out = b.dir.path().join("out");
    assert!(b.create("k1", &out).status.success());
    b.ok(&["start", "k1"]);
    while !std::fs::read_to_string(&out).unwrap().contains("up") {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    b.ok(&["kill", "k1", "TERM"]);
    b.wait_stopped("k1");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "up\ngot TERM\n");
    let o = b.runtime(&["kill", "k1", "KILL"]);
    assert!(
        !o.status.success(),
        "killing a stopped container is an error"
    );
    b.ok(&["delete", "k1"]);
}

#[test]
fn an_unsupported_field_is_refused_by_name_and_leaves_nothing() {
    let mut b = Bundle::new(&["true"]);
    b.edit(|c| c["hooks"] = serde_json::json!({"prestart": [{"path": "/bin/true"}]}));
    let out = b.dir.path().join("out");
    let o = b.create("u1", &out);
    assert_eq!(o.status.code(), Some(1));
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("hooks: not supported"), "{text}");
    assert!(
        !b.runtime(&["state", "u1"]).status.success(),
        "no state left"
    );
}

#[test]
fn the_specs_seccomp_profile_is_applied() {
    let b = Bundle::new(&["sh", "-c", "mkdir /tmp/x; echo status=$?"]);
    let cg = format!("/{}/s1", b.cgroup_parent);
    b.edit(|c| {
        c["linux"]["cgroupsPath"] = cg.into();
        c["linux"]["seccomp"] = serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]
        });
    });
    let bundle = b.path();
    let o = b.runtime(&["run", "--bundle", bundle.to_str().unwrap(), "s1"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "status=1\n");
    assert!(
        stderr(&o).contains("Operation not permitted"),
        "{}",
        stderr(&o)
    );
}
