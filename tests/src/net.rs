//! Harness for the networking tests: a private bridge and subnet per test, and
//! `unshare -n` processes standing in for containers.
//!
//! Every test network uses its own bridge name (`bkt<x>x<y>`), its own subnet
//! (`10.<x>.<y>.0/24`, reserved like `TestRoot`'s) and its own BOCKER_ROOT, and
//! is torn down by Drop, so tests run in parallel and never touch `bridge0` or
//! `10.0.0.0/24`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::subnet::Reservation;
use crate::{bin, random_hex};

/// A private bridge network, torn down (with --force) on drop.
pub struct TestNet {
    pub bridge: String,
    pub subnet: String,
    /// The first three octets, e.g. "10.203.17".
    pub prefix: String,
    pub root: PathBuf,
    _subnet: Reservation,
}

impl TestNet {
    pub fn new() -> TestNet {
        Self::with_prefix_len(24)
    }

    /// A smaller subnet (inside the reserved /24), e.g. 29 for five addresses.
    pub fn with_prefix_len(len: u8) -> TestNet {
        // 10.100-10.199 belong to TestRoot.
        let reservation = Reservation::new(200, 51);
        let prefix = reservation.prefix();
        let bridge = reservation.bridge();
        let root = std::env::temp_dir().join(format!("bocker-net-test-{}", random_hex(12)));
        fs::create_dir_all(&root).expect("creating the test BOCKER_ROOT");
        TestNet {
            bridge,
            subnet: format!("{prefix}.0/{len}"),
            prefix,
            root,
            _subnet: reservation,
        }
    }

    /// Two host ports nobody else's test uses while this network lives
    /// (derived from the reserved subnet).
    pub fn host_ports(&self) -> (u16, u16) {
        let mut o = self
            .prefix
            .split('.')
            .skip(1)
            .map(|p| p.parse::<u16>().unwrap_or(0));
        let (x, y) = (o.next().unwrap_or(200), o.next().unwrap_or(0));
        let base = 20000 + ((x - 200) * 256 + y) * 2;
        (base, base + 1)
    }

    /// bocker-net's host-wide state of this bridge (`/run/bocker/net/<bridge>`).
    pub fn state_dir(&self) -> PathBuf {
        state_dir(&self.bridge)
    }

    pub fn gateway(&self) -> String {
        format!("{}.1", self.prefix)
    }

    /// Run `bocker-net ARGS` against this network.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(bin("net"))
            .args(args)
            .env("BOCKER_ROOT", &self.root)
            .env("BOCKER_BRIDGE", &self.bridge)
            .env("BOCKER_SUBNET", &self.subnet)
            .output()
            .expect("running bocker-net")
    }

    /// Run `bocker-net ARGS` inside `host`'s network namespace (a host of
    /// our own making, with its own firewall and sysctls).
    pub fn run_in(&self, host: &Sandbox, args: &[&str]) -> Output {
        Command::new("nsenter")
            .args(["-t", &host.pid_arg(), "-n"])
            .arg(bin("net"))
            .args(args)
            .env("BOCKER_ROOT", &self.root)
            .env("BOCKER_BRIDGE", &self.bridge)
            .env("BOCKER_SUBNET", &self.subnet)
            .output()
            .expect("running bocker-net in a namespace")
    }

    pub fn ok_in(&self, host: &Sandbox, args: &[&str]) -> String {
        let out = self.run_in(host, args);
        assert!(
            out.status.success(),
            "bocker-net {args:?} in {} failed: {}",
            host.pid(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Run and insist on success; stdout, trimmed.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "bocker-net {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Run and insist on failure; stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "bocker-net {args:?} should have failed"
        );
        String::from_utf8_lossy(&out.stderr).trim().to_string()
    }

    pub fn status_json(&self) -> String {
        self.ok(&["status", "--format", "json"])
    }

    /// Lines of `iptables-save` that mention this network's chains or bridge.
    pub fn iptables_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for table in ["nat", "filter"] {
            let out = Command::new("iptables-save")
                .args(["-t", table])
                .output()
                .expect("iptables-save");
            for l in String::from_utf8_lossy(&out.stdout).lines() {
                let ours = l.split(|c: char| c.is_whitespace() || c == ':').any(|w| {
                    w == self.bridge
                        || w.strip_prefix("BOCKER-")
                            .is_some_and(|r| r.ends_with(&format!("-{}", self.bridge)))
                });
                if ours {
                    lines.push(format!("{table} {l}"));
                }
            }
        }
        lines
    }

    pub fn bridge_exists(&self) -> bool {
        Path::new("/sys/class/net").join(&self.bridge).exists()
    }

    /// Names of the interfaces enslaved to our bridge.
    pub fn bridge_ports(&self) -> Vec<String> {
        let dir = Path::new("/sys/class/net").join(&self.bridge).join("brif");
        match fs::read_dir(dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Wait (bounded) until no veth is left on the bridge.
    pub fn wait_no_ports(&self, limit: Duration) -> Vec<String> {
        let start = Instant::now();
        loop {
            let ports = self.bridge_ports();
            if ports.is_empty() || start.elapsed() > limit {
                return ports;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Default for TestNet {
    fn default() -> Self {
        TestNet::new()
    }
}

impl Drop for TestNet {
    fn drop(&mut self) {
        // Never panic here (a panic while unwinding aborts and skips the rest of the cleanup).
        if let Some(exe) = crate::try_bin("net") {
            let _ = Command::new(exe)
                .args(["teardown", "--force"])
                .env("BOCKER_ROOT", &self.root)
                .env("BOCKER_BRIDGE", &self.bridge)
                .env("BOCKER_SUBNET", &self.subnet)
                .output();
        }
        let _ = fs::remove_dir_all(&self.root);
        let _ = fs::remove_dir_all(self.state_dir());
    }
}

/// bocker-net's host-wide state of `bridge` (leases, endpoints, port claims).
pub fn state_dir(bridge: &str) -> PathBuf {
    Path::new("/run/bocker/net").join(bridge)
}

/// A process in a network namespace of its own: a stand-in container.
pub struct Sandbox {
    child: Child,
    helpers: Vec<Child>,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let child = Command::new("unshare")
            .args(["-n", "sleep", "1000"])
            .stdin(Stdio::null())
            .spawn()
            .expect("spawning unshare -n sleep");
        let sb = Sandbox {
            child,
            helpers: Vec::new(),
        };
        sb.wait_own_netns();
        sb
    }

    /// Until unshare has both made the namespace and exec'd sleep, the pid is
    /// still in ours: attaching then would plumb the host. Wait for it.
    fn wait_own_netns(&self) {
        let ours = fs::read_link("/proc/self/ns/net").expect("reading our netns");
        let start = Instant::now();
        loop {
            let theirs = fs::read_link(format!("/proc/{}/ns/net", self.pid()));
            let comm = fs::read_to_string(format!("/proc/{}/comm", self.pid())).unwrap_or_default();
            if theirs.is_ok_and(|t| t != ours) && comm.trim() == "sleep" {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "unshare -n never got its namespace"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn pid_arg(&self) -> String {
        self.pid().to_string()
    }

    /// `nsenter -t PID -n ARGS...`, waited for.
    pub fn exec(&self, args: &[&str]) -> Output {
        Command::new("nsenter")
            .args(["-t", &self.pid_arg(), "-n"])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("running nsenter")
    }

    /// Same, with `input` on stdin.
    pub fn exec_input(&self, args: &[&str], input: &str) -> Output {
        use std::io::Write;
        let mut child = Command::new("nsenter")
            .args(["-t", &self.pid_arg(), "-n"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("running nsenter");
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(input.as_bytes());
        }
        child.wait_with_output().expect("waiting for nsenter")
    }

    /// Start a long-running helper (a server) inside; killed on drop.
    pub fn spawn(&mut self, args: &[&str], stdout: Stdio) -> &mut Child {
        let child = Command::new("nsenter")
            .args(["-t", &self.pid_arg(), "-n"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(stdout)
            .spawn()
            .expect("spawning a helper in the sandbox");
        self.helpers.push(child);
        self.helpers.last_mut().expect("just pushed")
    }

    /// Wait (bounded) until something listens on TCP `port` inside.
    pub fn wait_listening(&self, port: u16) {
        let start = Instant::now();
        let needle = format!(":{port:04X} ");
        loop {
            // busybox servers listen on :: (dual stack), so look at tcp6 too.
            let out = self.exec(&["cat", "/proc/net/tcp", "/proc/net/tcp6"]);
            let text = String::from_utf8_lossy(&out.stdout);
            if text
                .lines()
                .any(|l| l.contains(&needle) && l.split_whitespace().nth(3) == Some("0A"))
            {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "nothing listens on {port} in the sandbox"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// End the stand-in container (and its helpers) now.
    pub fn kill(&mut self) {
        for h in &mut self.helpers {
            let _ = h.kill();
            let _ = h.wait();
        }
        self.helpers.clear();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Default for Sandbox {
    fn default() -> Self {
        Sandbox::new()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.kill();
    }
}
