//! `TestRoot`: a private bocker store for one test, torn down even when the test fails.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::subnet::Reservation;
use crate::{bin, bin_dir, random_hex, try_bin};

/// Which snapshot driver the root uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    /// Overlay on the host's own filesystem (ext4 here).
    Overlay,
    /// Btrfs on a loop file made for this test.
    Btrfs,
}

/// A private store root plus unique cgroup parent, bridge and subnet.
pub struct TestRoot {
    /// Temporary directory holding the root (and the btrfs image).
    pub base: PathBuf,
    /// The `BOCKER_ROOT`.
    pub root: PathBuf,
    pub driver: Driver,
    /// `BOCKER_CGROUP_PARENT` for this test.
    pub cgroup_parent: String,
    /// `BOCKER_BRIDGE` for this test.
    pub bridge: String,
    /// `BOCKER_SUBNET` for this test (never 10.0.0.0/24).
    pub subnet: String,
    _subnet: Reservation,
    extra_env: Vec<(String, String)>,
}

impl TestRoot {
    /// A root with the given driver.
    pub fn new(driver: Driver) -> TestRoot {
        let base = PathBuf::from(format!("/tmp/bocker-test-{}", random_hex(12)));
        fs::create_dir_all(&base).unwrap();
        let root = base.join("root");
        fs::create_dir(&root).unwrap();
        // 10.200.0.0 and up belong to the bocker-net tests.
        let reservation = Reservation::new(100, 100);
        let t = TestRoot {
            base,
            root,
            driver,
            cgroup_parent: format!("bocker-test-{}", random_hex(8)),
            bridge: reservation.bridge(),
            subnet: format!("{}.0/24", reservation.prefix()),
            _subnet: reservation,
            extra_env: Vec::new(),
        };
        // Made once `t` exists: if this panics, Drop still removes the 1 GiB image file,
        // the mount and the subnet reservation.
        if driver == Driver::Btrfs {
            make_btrfs(&t.base.join("btrfs.img"), &t.root);
        }
        t
    }

    /// An overlay root on the host filesystem.
    pub fn overlay() -> TestRoot {
        TestRoot::new(Driver::Overlay)
    }

    /// A btrfs root on a fresh loop file.
    pub fn btrfs() -> TestRoot {
        TestRoot::new(Driver::Btrfs)
    }

    /// Adds an environment variable to every command of this root.
    pub fn env(&mut self, k: &str, v: &str) -> &mut Self {
        self.extra_env.push((k.into(), v.into()));
        self
    }

    /// `bocker-<verb>` (or the dispatcher for "") with this root's environment.
    pub fn cmd(&self, verb: &str) -> Command {
        let mut c = Command::new(bin(verb));
        let path = format!(
            "{}:{}",
            bin_dir().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        c.env("BOCKER_ROOT", &self.root)
            .env("BOCKER_CGROUP_PARENT", &self.cgroup_parent)
            .env("BOCKER_BRIDGE", &self.bridge)
            .env("BOCKER_SUBNET", &self.subnet)
            .env("PATH", path)
            // `run` pulls a missing image as Docker does: a registry that is not on
            // loopback is reached only through this closed loopback port, so no test
            // ever talks to (or resolves) an outside address. Loopback is never proxied.
            .env("HTTPS_PROXY", "http://127.0.0.1:9")
            .env("HTTP_PROXY", "http://127.0.0.1:9")
            .env_remove("BOCKER_DRIVER")
            .stdin(Stdio::null());
        for (k, v) in &self.extra_env {
            c.env(k, v);
        }
        c
    }

    /// Runs `bocker-<verb> args…` and returns its output.
    pub fn run(&self, verb: &str, args: &[&str]) -> Output {
        self.cmd(verb).args(args).output().unwrap()
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, verb: &str, args: &[&str]) -> String {
        let o = self.run(verb, args);
        assert!(
            o.status.success(),
            "bocker-{verb} {args:?} failed ({}):\nstdout: {}\nstderr: {}",
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }

    /// Runs and asserts failure; returns stderr.
    pub fn fails(&self, verb: &str, args: &[&str]) -> String {
        let o = self.run(verb, args);
        assert!(
            !o.status.success(),
            "bocker-{verb} {args:?} should have failed:\nstdout: {}",
            String::from_utf8_lossy(&o.stdout)
        );
        String::from_utf8(o.stderr).unwrap()
    }

    /// Imports a fresh busybox rootfs and returns the image id.
    pub fn busybox_image(&self) -> String {
        let dir = self.base.join(format!("rootfs-{}", random_hex(6)));
        fs::create_dir(&dir).unwrap();
        crate::busybox_rootfs(&dir);
        let out = self.ok("init", &[dir.to_str().unwrap()]);
        let id = out
            .trim()
            .strip_prefix("Created: ")
            .expect("init prints Created: …")
            .to_string();
        let _ = fs::remove_dir_all(&dir);
        id
    }

    /// Mount points at or below the root (deepest first).
    pub fn mounts_below(&self) -> Vec<PathBuf> {
        mounts_below(&self.base)
    }

    fn teardown(&mut self) {
        // Containers first: kills their processes (all inside this test's cgroups).
        if self.root.join("driver").exists() {
            if let Ok(o) = self.cmd("ps").arg("-q").output() {
                for id in String::from_utf8_lossy(&o.stdout).lines() {
                    let _ = self.cmd("rm").args(["-f", id]).output();
                }
            }
        }
        cleanup_cgroups(&self.cgroup_parent);
        if Path::new("/sys/class/net").join(&self.bridge).exists() && try_bin("net").is_some() {
            let _ = self.cmd("net").arg("teardown").output();
        }
        for m in mounts_below(&self.base) {
            let _ = umount(&m);
        }
        let _ = fs::remove_dir_all(&self.base);
    }
}

impl Drop for TestRoot {
    fn drop(&mut self) {
        self.teardown();
    }
}

fn make_btrfs(img: &Path, mnt: &Path) {
    let f = fs::File::create(img).unwrap();
    f.set_len(1 << 30).unwrap();
    drop(f);
    let st = Command::new("mkfs.btrfs")
        .args(["-q", "-f"])
        .arg(img)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    assert!(
        st.map(|s| s.success()).unwrap_or(false),
        "mkfs.btrfs failed (apt-get install btrfs-progs)"
    );
    // `-o loop` allocates a loop device that the kernel frees again at umount.
    let st = Command::new("mount")
        .args(["-o", "loop"])
        .arg(img)
        .arg(mnt)
        .status()
        .unwrap();
    assert!(st.success(), "mounting the btrfs loop file failed");
}

fn umount(p: &Path) -> std::io::Result<()> {
    let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: plain syscall on a valid C string.
    if unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Mount points under `dir` from /proc/self/mountinfo, deepest first.
pub fn mounts_below(dir: &Path) -> Vec<PathBuf> {
    let text = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut out: Vec<PathBuf> = text
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|m| PathBuf::from(m.replace("\\040", " ")))
        .filter(|m| m.starts_with(dir))
        .collect();
    out.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    out
}

/// Kills what is left in `parent`'s cgroups (only this test's processes live there) and
/// removes them, in every v1 controller and in the v2 hierarchy.
pub fn cleanup_cgroups(parent: &str) {
    let mut roots = vec![];
    if let Ok(rd) = fs::read_dir("/sys/fs/cgroup") {
        for e in rd.flatten() {
            roots.push(e.path().join(parent));
        }
    }
    roots.push(PathBuf::from("/sys/fs/cgroup").join(parent));
    for r in roots.into_iter().filter(|r| r.is_dir()) {
        remove_cgroup_tree(&r);
    }
}

fn remove_cgroup_tree(dir: &Path) {
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.path().is_dir() {
                remove_cgroup_tree(&e.path());
            }
        }
    }
    for _ in 0..100 {
        let procs = fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
        for pid in procs
            .lines()
            .filter_map(|l| l.trim().parse::<i32>().ok())
            .filter(|p| *p > 0)
        {
            // SAFETY: plain syscall; the pid is inside this test's own cgroup.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        if fs::remove_dir(dir).is_ok() || !dir.exists() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
