//! Root filesystems made from the host's busybox-static.

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::Command;

/// Where Debian's busybox-static installs its binary.
pub const BUSYBOX: &str = "/bin/busybox";

/// Fills `dir` with a small busybox root filesystem: `/bin/busybox` plus a symlink per
/// applet in /bin, `/etc/passwd` and `/etc/group` with root, nobody and a user `app`
/// (1000:1000, also in group `extra` 2000), and the usual empty mount points.
pub fn busybox_rootfs(dir: &Path) {
    let out = Command::new(BUSYBOX)
        .arg("--list")
        .output()
        .expect("busybox-static installed (apt-get install busybox-static)");
    assert!(out.status.success(), "busybox --list failed");
    for d in [
        "bin", "sbin", "etc", "tmp", "proc", "sys", "dev", "root", "home/app", "var/tmp", "usr/bin",
    ] {
        fs::create_dir_all(dir.join(d)).unwrap();
    }
    fs::set_permissions(dir.join("tmp"), fs::Permissions::from_mode(0o1777)).unwrap();
    fs::copy(BUSYBOX, dir.join("bin/busybox")).unwrap();
    for applet in String::from_utf8_lossy(&out.stdout).lines() {
        let applet = applet.trim();
        if applet.is_empty() || applet == "busybox" || applet.contains('/') {
            continue;
        }
        let _ = symlink("busybox", dir.join("bin").join(applet));
    }
    fs::write(
        dir.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    )
    .unwrap();
    fs::write(
        dir.join("etc/group"),
        "root:x:0:\napp:x:1000:\nextra:x:2000:app\nnogroup:x:65534:\n",
    )
    .unwrap();
    std::os::unix::fs::chown(dir.join("home/app"), Some(1000), Some(1000)).unwrap();
}
