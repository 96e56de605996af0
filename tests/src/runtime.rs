//! A `bocker-runtime` bundle of one test, driven as containerd's shim drives runc: a
//! busybox rootfs and the `config.json` of `bocker-runtime spec`, a runtime `--root` and
//! a cgroup parent of the test's own. Containers it adopted are `delete --force`d and
//! the parent's groups removed on drop, whatever the test did.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use crate::{bin, busybox_rootfs, random_hex};

pub struct Bundle {
    pub dir: tempfile::TempDir,
    /// `bocker-e2e-<tag>-<hex>`: the parent of every container's `cgroupsPath`.
    pub cgroup_parent: String,
    /// Containers deleted on drop.
    pub ids: Vec<String>,
}

impl Bundle {
    /// `bocker-runtime spec` in a fresh bundle with a busybox rootfs and `args` as the
    /// process (not a terminal); `tag` names the test file in the cgroup parent.
    pub fn new(tag: &str, args: &[&str]) -> Bundle {
        let b = Bundle {
            dir: tempfile::tempdir().unwrap(),
            cgroup_parent: format!("bocker-e2e-{tag}-{}", random_hex(8)),
            ids: Vec::new(),
        };
        std::fs::create_dir_all(b.path()).unwrap();
        let o = b.runtime(&["spec", "--bundle", b.path().to_str().unwrap()]);
        assert!(
            o.status.success(),
            "spec: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        busybox_rootfs(&b.path().join("rootfs"));
        b.edit(|c| {
            c["process"]["terminal"] = false.into();
            c["process"]["args"] = serde_json::json!(args);
        });
        b
    }

    /// Container `id` of this bundle from now on: its cgroup under the test's parent,
    /// deleted on drop.
    pub fn adopt(&mut self, id: &str) {
        self.ids.push(id.to_string());
        let cg = format!("/{}/{id}", self.cgroup_parent);
        self.edit(|c| c["linux"]["cgroupsPath"] = cg.into());
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("bundle")
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// Change `config.json` in place.
    pub fn edit(&self, f: impl FnOnce(&mut serde_json::Value)) {
        let path = self.path().join("config.json");
        let mut c: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        f(&mut c);
        std::fs::write(&path, serde_json::to_vec(&c).unwrap()).unwrap();
    }

    /// `bocker-runtime --root <ours> args…`, stdin from /dev/null.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin("runtime"));
        c.arg("--root").arg(self.root()).args(args);
        c.stdin(Stdio::null());
        c
    }

    pub fn runtime(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        for id in &self.ids {
            let _ = self.runtime(&["delete", "--force", id]);
        }
        crate::testroot::cleanup_cgroups(&self.cgroup_parent);
    }
}
