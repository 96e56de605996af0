//! End-to-end tests of the store verbs on both snapshot drivers.

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use bocker_e2e::{busybox_rootfs, random_hex, Driver, TestRoot};

fn init_dir(t: &TestRoot, dir: &Path) -> String {
    let out = t.ok("init", &[dir.to_str().unwrap()]);
    let line = out.lines().next().unwrap_or_default();
    assert!(line.starts_with("Created: img_"), "{out}");
    line["Created: ".len()..].to_string()
}

fn layer_paths(t: &TestRoot, id: &str) -> Vec<PathBuf> {
    let v: serde_json::Value = serde_json::from_str(&t.ok("inspect", &[id])).unwrap();
    v["layer_paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| PathBuf::from(p.as_str().unwrap()))
        .collect()
}

fn init_then_images_then_rm(driver: Driver) {
    let t = TestRoot::new(driver);
    let src = t.base.join("src");
    fs::create_dir(&src).unwrap();
    busybox_rootfs(&src);
    let id = init_dir(&t, &src);

    let images = t.ok("images", &[]);
    let mut lines = images.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["IMAGE_ID", "SOURCE", "TAG", "DIGEST", "SIZE", "CREATED"],
        "{images}"
    );
    let row = lines.next().unwrap();
    assert!(
        row.starts_with(&id) && row.contains(src.to_str().unwrap()),
        "{images}"
    );
    assert_eq!(t.ok("images", &["-q"]).trim(), id);
    let json: serde_json::Value =
        serde_json::from_str(t.ok("images", &["--format", "json"]).trim()).unwrap();
    assert_eq!(json["id"], id.as_str());
    assert_eq!(
        json["driver"],
        if driver == Driver::Btrfs {
            "btrfs"
        } else {
            "overlay"
        }
    );

    // The image's files are really there, outside any rootfs metadata.
    let layer = &layer_paths(&t, &id)[0];
    assert!(layer.join("bin/busybox").is_file());
    assert!(
        !layer.join("image.json").exists(),
        "metadata must live beside the rootfs"
    );

    assert_eq!(t.ok("rm", &[&id]).trim(), format!("Removed: {id}"));
    assert_eq!(t.ok("images", &["-q"]).trim(), "");
    assert!(!layer.exists(), "layer must be collected after rm");
    let err = t.fails("rm", &[&id]);
    assert!(
        err.contains(&format!("No image named '{id}' exists")),
        "{err}"
    );
}

#[test]
fn overlay_init_images_rm() {
    init_then_images_then_rm(Driver::Overlay);
}

#[test]
fn btrfs_init_images_rm() {
    init_then_images_then_rm(Driver::Btrfs);
}

fn init_preserves_metadata(driver: Driver) {
    let t = TestRoot::new(driver);
    let src = t.base.join("src");
    fs::create_dir_all(src.join("d")).unwrap();
    fs::write(src.join("d/f"), b"data").unwrap();
    std::os::unix::fs::chown(src.join("d/f"), Some(1000), Some(1000)).unwrap();
    fs::set_permissions(src.join("d/f"), fs::Permissions::from_mode(0o4750)).unwrap();
    fs::hard_link(src.join("d/f"), src.join("h")).unwrap();
    symlink("../etc/shadow", src.join("d/rel")).unwrap();
    symlink("/abs/target", src.join("abs")).unwrap();
    fs::create_dir(src.join("t")).unwrap();
    fs::set_permissions(src.join("t"), fs::Permissions::from_mode(0o1777)).unwrap();
    std::os::unix::fs::chown(src.join("t"), Some(65534), Some(65534)).unwrap();
    let xattr_ok = std::process::Command::new("setfattr")
        .args(["-n", "user.k", "-v", "v"])
        .arg(src.join("d/f"))
        .status()
        .map(|s| s.success())
        .unwrap_or(false);

    let id = init_dir(&t, &src);
    let l = &layer_paths(&t, &id)[0];
    let f = fs::symlink_metadata(l.join("d/f")).unwrap();
    assert_eq!((f.uid(), f.gid(), f.mode() & 0o7777), (1000, 1000, 0o4750));
    assert_eq!(fs::read(l.join("d/f")).unwrap(), b"data");
    assert_eq!(
        fs::symlink_metadata(l.join("h")).unwrap().ino(),
        f.ino(),
        "hardlink kept"
    );
    assert_eq!(
        fs::read_link(l.join("d/rel")).unwrap(),
        Path::new("../etc/shadow")
    );
    assert_eq!(
        fs::read_link(l.join("abs")).unwrap(),
        Path::new("/abs/target")
    );
    let tm = fs::symlink_metadata(l.join("t")).unwrap();
    assert_eq!((tm.uid(), tm.mode() & 0o7777), (65534, 0o1777));
    if xattr_ok {
        let o = std::process::Command::new("getfattr")
            .args(["-n", "user.k", "--only-values"])
            .arg(l.join("d/f"))
            .output()
            .unwrap();
        assert_eq!(o.stdout, b"v");
    }
}

#[test]
fn overlay_init_preserves_metadata() {
    init_preserves_metadata(Driver::Overlay);
}

#[test]
fn btrfs_init_preserves_metadata() {
    init_preserves_metadata(Driver::Btrfs);
}

#[test]
fn init_of_a_missing_directory_says_so() {
    let t = TestRoot::overlay();
    let o = t.run("init", &["/nonexistent/dir"]);
    assert!(!o.status.success());
    assert_eq!(
        String::from_utf8_lossy(&o.stderr).trim(),
        "No directory named '/nonexistent/dir' exists"
    );
    assert!(o.stdout.is_empty());
}

fn concurrent_inits(driver: Driver) {
    let t = TestRoot::new(driver);
    let src = t.base.join("src");
    fs::create_dir(&src).unwrap();
    busybox_rootfs(&src);
    let children: Vec<_> = (0..4)
        .map(|_| {
            t.cmd("init")
                .arg(&src)
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut ids: Vec<String> = children
        .into_iter()
        .map(|c| {
            let o = c.wait_with_output().unwrap();
            assert!(o.status.success());
            String::from_utf8(o.stdout)
                .unwrap()
                .trim()
                .trim_start_matches("Created: ")
                .to_string()
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4, "ids collided: {ids:?}");
    let listed: Vec<String> = t.ok("images", &["-q"]).lines().map(String::from).collect();
    assert_eq!(listed, ids);
    for id in &ids {
        assert!(layer_paths(&t, id)[0].join("bin/busybox").exists());
    }
}

#[test]
fn overlay_concurrent_inits() {
    concurrent_inits(Driver::Overlay);
}

#[test]
fn btrfs_concurrent_inits() {
    concurrent_inits(Driver::Btrfs);
}

/// SIGKILL an `init` while it copies; `images` must not show a half image and the next
/// command must remove every leftover.
fn killed_init_is_cleaned(driver: Driver) {
    let t = TestRoot::new(driver);
    let src = t.base.join("big");
    for d in 0..40 {
        let dir = src.join(format!("d{d}"));
        fs::create_dir_all(&dir).unwrap();
        for f in 0..250 {
            fs::write(dir.join(format!("f{f}")), vec![b'x'; 4096]).unwrap();
        }
    }
    let layers = t.root.join("layers");
    let mut killed_mid_copy = false;
    for _attempt in 0..5 {
        let mut child = t
            .cmd("init")
            .arg(&src)
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        // Wait until the staged layer exists and has some content, then kill.
        loop {
            let staged = fs::read_dir(&layers).ok().and_then(|rd| {
                rd.flatten()
                    .find(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
            });
            if let Some(s) = staged {
                if fs::read_dir(s.path())
                    .map(|r| r.count() > 2)
                    .unwrap_or(false)
                {
                    break;
                }
            }
            if start.elapsed() > Duration::from_secs(20) || child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let _ = child.kill(); // SIGKILL, to our own child
        let status = child.wait().unwrap();
        if !status.success() {
            killed_mid_copy = true;
            break;
        }
        // It finished before we could kill it: remove and try again.
        let id = t.ok("images", &["-q"]);
        t.ok("rm", &[id.trim()]);
    }
    assert!(
        killed_mid_copy,
        "could not kill init in the middle of its copy"
    );

    // No half image is listed.
    assert_eq!(
        t.ok("images", &["-q"]).trim(),
        "",
        "a half image is visible"
    );
    assert_eq!(t.ok("images", &[]).lines().count(), 1);
    let leftovers = |dir: &str| fs::read_dir(t.root.join(dir)).unwrap().count();
    assert!(
        leftovers("pending") + leftovers("layers") > 0,
        "the kill left nothing to clean?"
    );

    // The next mutating command cleans everything up, then works.
    let small = t.base.join("small");
    fs::create_dir(&small).unwrap();
    busybox_rootfs(&small);
    let id = init_dir(&t, &small);
    assert_eq!(leftovers("pending"), 0);
    let layer_names: Vec<String> = fs::read_dir(&layers)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(layer_names.len(), 1, "stale layers left: {layer_names:?}");
    assert_eq!(
        layer_paths(&t, &id)[0]
            .file_name()
            .unwrap()
            .to_string_lossy(),
        layer_names[0]
    );
    let image_dirs = fs::read_dir(t.root.join("images")).unwrap().count();
    assert_eq!(
        image_dirs, 1,
        "a reserved image dir of the dead init is left"
    );
}

#[test]
fn overlay_killed_init_is_cleaned() {
    killed_init_is_cleaned(Driver::Overlay);
}

#[test]
fn btrfs_killed_init_is_cleaned() {
    killed_init_is_cleaned(Driver::Btrfs);
}

#[test]
fn prefixes_resolve_and_ambiguity_is_reported() {
    let t = TestRoot::overlay();
    let a = t.busybox_image();
    let b = t.busybox_image();
    let v: serde_json::Value = serde_json::from_str(&t.ok("inspect", &[&a[..9]])).unwrap();
    assert_eq!(v["id"], a.as_str());
    let v: serde_json::Value = serde_json::from_str(&t.ok("inspect", &[&b[4..]])).unwrap();
    assert_eq!(v["id"], b.as_str());
    let err = t.fails("rmi", &["img_"]);
    assert!(
        err.contains("ambiguous") && err.contains(&a) && err.contains(&b),
        "{err}"
    );
    assert_eq!(
        t.ok("images", &["-q"]).lines().count(),
        2,
        "ambiguous rmi removed something"
    );
}

#[test]
fn rmi_refuses_an_image_in_use_unless_forced() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    // A container record made by hand (bocker run is tested elsewhere).
    let ctr = format!("ps_{}", random_hex(12));
    let dir = t.root.join("containers").join(&ctr);
    fs::create_dir_all(&dir).unwrap();
    let layers = serde_json::from_str::<serde_json::Value>(&t.ok("inspect", &[&img])).unwrap()
        ["layers"]
        .clone();
    let rec = serde_json::json!({
        "id": ctr, "image": img, "image_ref": img, "command": ["true"],
        "created": "2026-11-22T20:00:00Z", "driver": "overlay", "layers": layers,
        "rootfs": dir.join("rootfs"), "state": {"status": "exited", "exit_code": 0}
    });
    fs::write(dir.join("container.json"), rec.to_string()).unwrap();
    let ps = t.ok("ps", &[]);
    let header: Vec<&str> = ps.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header[..3], ["CONTAINER_ID", "COMMAND", "STATUS"], "{ps}");
    assert!(ps.contains(&ctr) && ps.contains("exited (0)"), "{ps}");
    assert_eq!(t.ok("ps", &["-q", "--filter", "status=exited"]).trim(), ctr);
    assert_eq!(t.ok("ps", &["-q", "--filter", "status=running"]).trim(), "");

    let err = t.fails("rmi", &[&img]);
    assert!(
        err.contains("is used by container") && err.contains(&ctr),
        "{err}"
    );
    t.ok("rmi", &["-f", &img]);
    // The container's layers survive a forced rmi until the container goes.
    let layer = t.root.join("layers").join(layers[0].as_str().unwrap());
    assert!(layer.exists(), "rmi -f pulled layers away from a container");
    t.ok("rm", &[&ctr]);
    assert!(!layer.exists());
    assert_eq!(t.ok("ps", &["-q"]).trim(), "");
}

#[test]
fn store_root_is_private_and_driver_is_checked() {
    let t = TestRoot::overlay();
    t.busybox_image();
    assert_eq!(fs::metadata(&t.root).unwrap().mode() & 0o777, 0o700);
    let mut wrong = t.cmd("images");
    let o = wrong.env("BOCKER_DRIVER", "btrfs").output().unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("uses the overlay driver"));

    // A fresh root on ext4 cannot use btrfs: a clear one-line error.
    let fresh = t.base.join("fresh");
    let o = t
        .cmd("images")
        .env("BOCKER_ROOT", &fresh)
        .env("BOCKER_DRIVER", "btrfs")
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("btrfs driver cannot be used") && err.lines().count() == 1,
        "{err}"
    );
}
