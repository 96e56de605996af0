//! A private Docker daemon for interop tests: its own data-root, exec-root, pidfile and
//! socket under a scratch directory, no iptables, no bridge, its own containerd
//! namespace (see ../shared/PEERS.md); stopped by its pid and removed on drop, also
//! when a test fails.

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::random_hex;

/// A private dockerd (own data-root, exec-root, pidfile and socket; no iptables, no
/// bridge), stopped by its pid and its data removed on drop.
pub struct Dockerd {
    child: Child,
    dir: PathBuf,
}

impl Dockerd {
    /// `None` when dockerd is not installed (Debian's `docker.io`). Registries on
    /// 127.0.0.1 are plain HTTP to it without `--insecure-registry` (PEERS.md).
    pub fn start() -> Option<Dockerd> {
        if Command::new("dockerd").arg("--version").output().is_err() {
            return None;
        }
        let dir = PathBuf::from(format!("/tmp/bocker-dockerd-{}", random_hex(8)));
        fs::create_dir_all(&dir).unwrap();
        let log = fs::File::create(dir.join("log")).unwrap();
        let child = Command::new("dockerd")
            .arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--pidfile")
            .arg(dir.join("pid"))
            .arg("-H")
            .arg(format!("unix://{}", dir.join("sock").display()))
            .args([
                "--iptables=false",
                "--bridge=none",
                "--containerd-namespace",
                "bocker-test",
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .ok()?;
        let d = Dockerd { child, dir };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !d.docker(&["info"]).status.success() {
            assert!(
                Instant::now() < deadline,
                "dockerd did not start: {}",
                fs::read_to_string(d.dir.join("log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        Some(d)
    }

    /// `docker -H <this daemon's socket> args…`.
    pub fn docker(&self, args: &[&str]) -> std::process::Output {
        Command::new("docker")
            .arg("-H")
            .arg(format!("unix://{}", self.dir.join("sock").display()))
            .args(args)
            .output()
            .unwrap()
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        // SAFETY: signalling our own child by its pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
        let _ = Command::new("umount").arg("-R").arg(&self.dir).status();
        let _ = fs::remove_dir_all(&self.dir);
    }
}
