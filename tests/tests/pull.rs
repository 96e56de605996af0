//! End-to-end tests of `bocker pull` against a real registry on 127.0.0.1 serving
//! images these tests build: extraction compared file by file with umoci's, hostile
//! layers, auth, a killed pull, re-pulls.

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use bocker_e2e::pull::oci::{self, Comp, Flavor, Image};
use bocker_e2e::pull::tar::{dir, file, hardlink, symlink, Entry, Kind, Tar};
use bocker_e2e::pull::token::{self, TokenServer};
use bocker_e2e::pull::{self as h, Auth, Canary, ImageView, Registry, Umoci};
use bocker_e2e::{Driver, TestRoot};

/// Deterministic incompressible-ish bytes.
fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut v = Vec::with_capacity(n);
    while v.len() < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(n);
    v
}

fn long_name() -> String {
    format!("deep/{}/{}", "d".repeat(120), "f".repeat(200))
}

/// The main fixture's layer tars: every feature the issue lists.
fn main_tars() -> Vec<Vec<u8>> {
    let l1 = Tar::with(vec![
        dir("bin"),
        file("bin/tool", b"#!/bin/sh\necho tool\n").mode(0o755),
        file("bin/su", b"setuid binary").mode(0o4755),
        dir("shared").mode(0o2775).owner(0, 50),
        dir("tmp").mode(0o1777),
        dir("etc"),
        file("etc/passwd", b"root:x:0:0::/root:/bin/sh\n"),
        dir("home"),
        dir("home/user").owner(1000, 1000).mode(0o700),
        file("home/user/notes", b"mine")
            .owner(1000, 1000)
            .mode(0o600),
        file("nobody-file", b"nobody").owner(65534, 65534),
        symlink("rel-link", "etc/passwd"),
        symlink("abs-link", "/etc/passwd"),
        symlink("dangling", "/does/not/exist"),
        hardlink("etc/passwd-hl", "etc/passwd"),
        file("ünïcødé-файл-文件", "unicode".as_bytes()),
        file(&long_name(), b"long"),
        Entry::new("fifo", Kind::Fifo).mode(0o640),
        file("deleteme", b"gone soon"),
        dir("gonedir"),
        file("gonedir/inner", b"x"),
        dir("opq"),
        file("opq/old1", b"old"),
        dir("opq/sub"),
        file("opq/sub/old2", b"old"),
        file("f2d", b"a file that becomes a dir"),
        dir("d2f"),
        file("d2f/child", b"child"),
        file("fdf", b"file, then dir, then file"),
        file("xattr-file", b"x").xattr("user.bocker", b"yes"),
        dir("keep"),
        file("keep/a", b"a"),
    ]);
    let l2 = Tar::with(vec![
        file(".wh.deleteme", b""),
        file(".wh.gonedir", b""),
        dir("opq"),
        file("opq/.wh..wh..opq", b""),
        file("opq/new", b"new"),
        dir("f2d"),
        file("f2d/child", b"now a dir"),
        file("d2f", b"now a file"),
        dir("fdf"),
        file("fdf/x", b"x"),
        hardlink("passwd-across", "etc/passwd"),
        file("keep/b", b"b"),
        hardlink("keep/b-hl", "keep/b"),
    ]);
    let l3 = Tar::with(vec![
        file("fdf", b"a file again"),
        file("big/fifty-mb", &noise(50 << 20, 7)),
        file("keep/a", b"a, changed"),
    ]);
    vec![l1, l2, l3]
}

fn run_config() -> serde_json::Value {
    serde_json::json!({
        "Entrypoint": ["/bin/tool"], "Cmd": ["--flag"], "Env": ["PATH=/bin", "A=b"],
        "WorkingDir": "/home/user", "User": "1000:1000", "Labels": {"org.example": "yes"},
        "ExposedPorts": {"80/tcp": {}}
    })
}

fn build(tars: &[Vec<u8>], comps: &[Comp], flavor: Flavor) -> Image {
    let layers = tars
        .iter()
        .zip(comps)
        .map(|(t, c)| oci::layer(t, *c, flavor))
        .collect();
    oci::image(layers, flavor, "amd64", run_config())
}

/// Pull the main fixture (in `flavor` with `comps`) and compare it with umoci's unpack of
/// the all-gzip OCI twin.
fn main_fixture(driver: Driver, flavor: Flavor, comps: &[Comp]) {
    let tars = main_tars();
    let img = build(&tars, comps, flavor);
    let twin = build(&tars, &[Comp::Gzip, Comp::Gzip, Comp::Plain], Flavor::Oci);
    let reg = Registry::start(Auth::None);
    reg.pusher().image("fixtures/main", "v1", &img);
    let t = TestRoot::new(driver);
    let reference = format!("{}/fixtures/main:v1", reg.addr);
    let id = h::pull_ok(&t, &reference);

    let rec = h::record(&t, &id);
    assert_eq!(rec["reference"], reference.as_str());
    assert_eq!(rec["digest"], img.manifest.digest.as_str());
    assert_eq!(
        rec["config"]["entrypoint"],
        serde_json::json!(["/bin/tool"])
    );
    assert_eq!(rec["config"]["cmd"], serde_json::json!(["--flag"]));
    assert_eq!(rec["config"]["working_dir"], "/home/user");
    assert_eq!(rec["config"]["user"], "1000:1000");
    assert_eq!(rec["config"]["labels"]["org.example"], "yes");
    assert_eq!(rec["layers"].as_array().unwrap().len(), 3);
    assert!(rec["size"].as_u64().unwrap() > 50 << 20);

    let images = t.ok("images", &[]);
    assert!(
        images.contains(&id) && images.contains(&img.manifest.digest[..19]),
        "{images}"
    );

    let view = ImageView::new(&t, &id);
    let umoci = Umoci::unpack(&twin);
    // An overlay diff cannot hold a hardlink into a lower layer (it holds a copy).
    h::tree::assert_same(&view.path, &umoci.rootfs(), driver == Driver::Btrfs);
    // What the comparison cannot see: xattrs and the hardlink within a layer.
    let x = Command::new("getfattr")
        .args(["-n", "user.bocker", "--only-values"])
        .arg(view.path.join("xattr-file"))
        .output();
    if let Ok(x) = x {
        if x.status.success() {
            assert_eq!(x.stdout, b"yes");
        }
    }
    let a = fs::metadata(view.path.join("etc/passwd")).unwrap();
    let b = fs::metadata(view.path.join("etc/passwd-hl")).unwrap();
    assert_eq!(
        (a.dev(), a.ino()),
        (b.dev(), b.ino()),
        "hardlink within a layer"
    );
    let a = fs::metadata(view.path.join("keep/b")).unwrap();
    let b = fs::metadata(view.path.join("keep/b-hl")).unwrap();
    assert_eq!(
        (a.dev(), a.ino()),
        (b.dev(), b.ino()),
        "hardlink within the second layer"
    );
    assert_eq!(
        fs::read(view.path.join("passwd-across")).unwrap(),
        b"root:x:0:0::/root:/bin/sh\n"
    );
    assert_eq!(
        fs::metadata(view.path.join("bin/su")).unwrap().mode() & 0o7777,
        0o4755
    );
    assert!(!view.path.join("deleteme").exists() && !view.path.join("gonedir").exists());
    assert!(!view.path.join("opq/old1").exists() && view.path.join("opq/new").exists());
    drop(view);

    // Pulling again: same id, nothing downloaded.
    let again = h::pull_ok(&t, &reference);
    assert_eq!(again, id, "an unchanged re-pull names the same image");
    assert_eq!(t.ok("images", &["-q"]).lines().count(), 1);
}

#[test]
fn main_fixture_overlay_docker_gzip() {
    main_fixture(
        Driver::Overlay,
        Flavor::Docker,
        &[Comp::Gzip, Comp::Gzip, Comp::Plain],
    );
}

#[test]
fn main_fixture_overlay_oci_zstd_mixed() {
    main_fixture(
        Driver::Overlay,
        Flavor::Oci,
        &[Comp::Zstd, Comp::Gzip, Comp::Plain],
    );
}

#[test]
fn main_fixture_btrfs_oci_mixed() {
    main_fixture(
        Driver::Btrfs,
        Flavor::Oci,
        &[Comp::Gzip, Comp::Zstd, Comp::Plain],
    );
}
