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

    let images = t.ok("images", &["--digests"]);
    assert!(
        images.contains(&id) && images.contains(&img.manifest.digest),
        "{images}"
    );

    let view = ImageView::new(&t, &id);
    let umoci = Umoci::unpack(&twin);
    // An overlay diff cannot hold a hardlink into a lower layer (it holds a copy).
    h::tree::assert_same(&view.path, &umoci.rootfs(), driver == Driver::Btrfs);
    // What the comparison cannot see: xattrs and the hardlink within a layer.
    assert_eq!(
        user_xattr(&view.path.join("xattr-file"), "user.bocker").as_deref(),
        Some(&b"yes"[..]),
        "user xattr of the layer"
    );
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
    let again = h::repull_ok(&t, &reference);
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

/// Push one image made of `tars` (gzip) and pull it into a fresh root of `driver`.
struct Pulled {
    t: TestRoot,
    _reg: Registry,
    ok: bool,
    out: String,
    err: String,
}

impl Pulled {
    fn id(&self) -> String {
        assert!(self.ok, "pull failed: {}", self.err);
        self.out
            .trim()
            .strip_prefix("Created: ")
            .unwrap()
            .to_string()
    }

    /// After a refused pull: no image, no half layer, no stray blob.
    fn assert_nothing_left(&self) {
        assert!(
            !self.ok,
            "pull should have been refused; stdout {}",
            self.out
        );
        assert!(
            self.out.is_empty(),
            "nothing on stdout on failure: {}",
            self.out
        );
        assert_eq!(
            self.t.ok("images", &["-q"]).trim(),
            "",
            "no image after a refused pull"
        );
        for e in fs::read_dir(self.t.root.join("layers")).unwrap() {
            let n = e.unwrap().file_name();
            assert!(
                !n.to_string_lossy().starts_with(".tmp-"),
                "staged layer left: {n:?}"
            );
        }
        assert_eq!(
            fs::read_dir(self.t.root.join("tmp")).unwrap().count(),
            0,
            "partial download left in tmp/"
        );
        // A verified blob of the refused image may stay until the next collection;
        // the next command that collects (rmi, even of nothing) drops it.
        let _ = self.t.run("rmi", &["img_000000000000"]);
        assert_eq!(
            fs::read_dir(self.t.root.join("blobs/sha256"))
                .unwrap()
                .count(),
            0,
            "blob of a refused pull never collected"
        );
    }
}

/// The value of extended attribute `name` of `path` (not following symlinks).
fn user_xattr(path: &Path, name: &str) -> Option<Vec<u8>> {
    let p = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    let n = std::ffi::CString::new(name).unwrap();
    let mut buf = vec![0u8; 256];
    // SAFETY: valid C strings and a buffer of the given length.
    let len =
        unsafe { libc::lgetxattr(p.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    (len >= 0).then(|| {
        buf.truncate(len as usize);
        buf
    })
}

fn pull_tars(driver: Driver, tars: Vec<Vec<u8>>) -> Pulled {
    let layers = tars
        .iter()
        .map(|t| oci::layer(t, Comp::Gzip, Flavor::Oci))
        .collect();
    let img = oci::image(
        layers,
        Flavor::Oci,
        "amd64",
        serde_json::json!({"Cmd": ["/bin/sh"]}),
    );
    let reg = Registry::start(Auth::None);
    reg.pusher().image("hostile/x", "latest", &img);
    let t = TestRoot::new(driver);
    let (ok, out, err) = h::pull(&t, &[&format!("{}/hostile/x", reg.addr)]);
    Pulled {
        t,
        _reg: reg,
        ok,
        out,
        err,
    }
}

const DRIVERS: [Driver; 2] = [Driver::Overlay, Driver::Btrfs];

#[test]
fn hostile_dotdot_and_absolute_paths_stay_inside() {
    for d in DRIVERS {
        let c = Canary::new();
        let rel = h::rel_to_root(&c.dir);
        let p = pull_tars(
            d,
            vec![Tar::with(vec![
                file(&format!("{}{rel}/dotdot", "../".repeat(12)), b"x"),
                file(&format!("/{rel}/abs"), b"x"),
                file(&format!("./../{rel}/dot-dotdot"), b"x"),
            ])],
        );
        let id = p.id();
        c.assert_untouched();
        let v = ImageView::new(&p.t, &id);
        for n in ["dotdot", "abs", "dot-dotdot"] {
            assert!(
                v.path.join(&rel).join(n).is_file(),
                "{n} must land inside the rootfs ({d:?})"
            );
        }
    }
}

#[test]
fn hostile_symlinked_parent_lands_inside() {
    for d in DRIVERS {
        let c = Canary::new();
        let rel = h::rel_to_root(&c.dir);
        let p = pull_tars(
            d,
            vec![
                Tar::with(vec![
                    symlink("a", c.dir.to_str().unwrap()),
                    file("a/pwned", b"x"),
                    symlink("etcl", "/etc"),
                ]),
                // Across layers too: the link from layer one, the write in layer two.
                Tar::with(vec![
                    file("a/pwned2", b"x"),
                    file("etcl/passwd-bocker-test", b"x"),
                ]),
            ],
        );
        let id = p.id();
        c.assert_untouched();
        assert!(!Path::new("/etc/passwd-bocker-test").exists());
        let v = ImageView::new(&p.t, &id);
        if d == Driver::Btrfs {
            assert!(v.path.join(&rel).join("pwned").is_file());
            assert!(v.path.join(&rel).join("pwned2").is_file());
            assert!(v.path.join("etc/passwd-bocker-test").is_file());
        } else {
            // Like Docker's overlay2, each layer is applied to its own empty diff: layer
            // two does not see layer one's links, it makes real directories that hide them.
            assert!(
                v.path.join("a/pwned2").is_file()
                    && v.path.join("etcl/passwd-bocker-test").is_file()
            );
            let lower = h::record(&p.t, &id)["layers"][0]
                .as_str()
                .unwrap()
                .to_string();
            assert!(p
                .t
                .root
                .join("layers")
                .join(lower)
                .join(&rel)
                .join("pwned")
                .is_file());
        }
    }
}

#[test]
fn hostile_symlink_then_directory_of_same_name() {
    for d in DRIVERS {
        let c = Canary::new();
        let p = pull_tars(
            d,
            vec![Tar::with(vec![
                symlink("d", c.dir.to_str().unwrap()),
                dir("d"),
                file("d/x", b"x"),
            ])],
        );
        let id = p.id();
        c.assert_untouched();
        let v = ImageView::new(&p.t, &id);
        let m = fs::symlink_metadata(v.path.join("d")).unwrap();
        assert!(m.is_dir(), "the directory replaced the symlink ({d:?})");
        assert!(v.path.join("d/x").is_file());
    }
}

#[test]
fn hostile_hardlinks_out_of_the_root_are_refused() {
    for d in DRIVERS {
        let c = Canary::new();
        let rel = h::rel_to_root(&c.dir);
        for target in [
            format!("/{rel}/secret"),
            format!("{}{rel}/secret", "../".repeat(12)),
        ] {
            let p = pull_tars(
                d,
                vec![Tar::with(vec![file("ok", b"x"), hardlink("h", &target)])],
            );
            c.assert_untouched();
            if p.ok {
                // Applied safely: the link can only name something inside the rootfs.
                let v = ImageView::new(&p.t, &p.id());
                assert!(!v.path.join("h").exists());
            } else {
                assert!(p.err.contains("hardlink target"), "{}", p.err);
                p.assert_nothing_left();
            }
        }
    }
}

#[test]
fn absolute_symlink_var_run_resolves_inside_the_root() {
    for d in DRIVERS {
        let p = pull_tars(
            d,
            vec![Tar::with(vec![
                dir("var"),
                dir("run"),
                symlink("var/run", "/run"),
                file("var/run/x", b"x"),
            ])],
        );
        let id = p.id();
        assert!(
            !Path::new("/run/x").exists() || fs::read("/run/x").map(|b| b != b"x").unwrap_or(true)
        );
        let v = ImageView::new(&p.t, &id);
        assert!(
            v.path.join("run/x").is_file(),
            "var/run/x lands at run/x ({d:?})"
        );
        assert!(fs::symlink_metadata(v.path.join("var/run"))
            .unwrap()
            .file_type()
            .is_symlink());
    }
}

#[test]
fn device_nodes_are_created_as_docker_does() {
    // Docker 20.10 extracts a layer's device nodes (the container's device policy is what
    // keeps them from being used; see push.rs for that half).
    for d in DRIVERS {
        let p = pull_tars(
            d,
            vec![Tar::with(vec![
                dir("dev"),
                Entry::new("dev/mem", Kind::Char(1, 1))
                    .mode(0o640)
                    .owner(0, 15),
                Entry::new("dev/sda", Kind::Block(8, 0))
                    .mode(0o660)
                    .owner(0, 6),
                file("dev/ordinary", b"x"),
            ])],
        );
        let id = p.id();
        assert!(
            !p.err.contains("device node"),
            "no note any more: {}",
            p.err
        );
        let v = ImageView::new(&p.t, &id);
        let mem = fs::symlink_metadata(v.path.join("dev/mem")).unwrap();
        assert!(mem.file_type().is_char_device(), "{d:?}");
        assert_eq!(
            (mem.rdev(), mem.mode() & 0o7777, mem.gid()),
            (libc::makedev(1, 1), 0o640, 15)
        );
        let sda = fs::symlink_metadata(v.path.join("dev/sda")).unwrap();
        assert!(sda.file_type().is_block_device(), "{d:?}");
        assert_eq!(
            (sda.rdev(), sda.mode() & 0o7777, sda.gid()),
            (libc::makedev(8, 0), 0o660, 6)
        );
        assert!(v.path.join("dev/ordinary").is_file());
    }
}

#[test]
fn whiteouts_named_dot_and_dotdot_are_refused() {
    for d in DRIVERS {
        for name in [".wh..", ".wh...", "sub/.wh.."] {
            let c = Canary::new();
            let p = pull_tars(
                d,
                vec![
                    Tar::with(vec![dir("sub"), file("sub/keep", b"x")]),
                    Tar::with(vec![file(name, b"")]),
                ],
            );
            c.assert_untouched();
            assert!(p.err.contains("invalid whiteout"), "{name}: {}", p.err);
            p.assert_nothing_left();
        }
    }
}

#[test]
fn pax_size_that_disagrees_with_the_data() {
    for d in DRIVERS {
        for lie in [1u64 << 30, 0, 100] {
            let c = Canary::new();
            let rel = h::rel_to_root(&c.dir);
            let mut e = file("liar", &vec![b'A'; 2000]);
            e.pax_size = Some(lie);
            let mut t = Tar::new();
            t.add(&e);
            t.add(&file(&format!("../../../{rel}/after"), b"x"));
            let p = pull_tars(d, vec![t.finish()]);
            c.assert_untouched();
            assert!(p.err.contains("reading layer"), "a clear error: {}", p.err);
            p.assert_nothing_left();
        }
    }
}

/// A tar holding `n` bytes of zeros in one file, gzip-compressed by the gzip CLI.
fn gzip_bomb(n: u64) -> Vec<u8> {
    let mut hdr = Tar::new();
    hdr.add(&Entry::new("zeros", Kind::File(Vec::new())));
    let mut header = hdr.finish();
    header.truncate(512);
    // Patch the size field and checksum for `n`.
    let size = format!("{:011o}\0", n);
    header[124..136].copy_from_slice(size.as_bytes());
    header[148..156].fill(b' ');
    let sum: u32 = header.iter().map(|&b| b as u32).sum();
    header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let dir = std::env::temp_dir().join(format!("bocker-bomb-{}", bocker_e2e::random_hex(8)));
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("hdr"), &header).unwrap();
    let o = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "(cat hdr; head -c {n} /dev/zero; head -c 1024 /dev/zero) | gzip -1 -c"
        ))
        .current_dir(&dir)
        .output()
        .unwrap();
    let _ = fs::remove_dir_all(&dir);
    assert!(o.status.success());
    o.stdout
}

#[test]
fn decompression_bomb_is_refused() {
    let gz = gzip_bomb(400 << 20);
    let tar_digest = {
        let o = Command::new("sh")
            .arg("-c")
            .arg("gzip -dc | sha256sum")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        let mut o = o;
        o.stdin.take().unwrap().write_all(&gz).unwrap();
        let out = o.wait_with_output().unwrap();
        format!(
            "sha256:{}",
            String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .next()
                .unwrap()
        )
    };
    let layer = oci::Layer {
        blob: oci::Blob {
            digest: oci::sha256(&gz),
            media_type: "application/vnd.oci.image.layer.v1.tar+gzip".into(),
            bytes: gz,
        },
        diff_id: tar_digest,
    };
    let img = oci::image(vec![layer], Flavor::Oci, "amd64", serde_json::json!({}));
    let reg = Registry::start(Auth::None);
    reg.pusher().image("hostile/bomb", "latest", &img);
    let t = TestRoot::overlay();
    let (ok, out, err) = h::pull(&t, &[&format!("{}/hostile/bomb", reg.addr)]);
    let p = Pulled {
        t,
        _reg: reg,
        ok,
        out,
        err,
    };
    assert!(p.err.contains("bomb"), "{}", p.err);
    p.assert_nothing_left();
}

#[test]
fn tampered_blob_is_discarded() {
    for d in DRIVERS {
        let tar = Tar::with(vec![file("a", &noise(4096, 3))]);
        let img = build(&[tar], &[Comp::Gzip], Flavor::Docker);
        let reg = Registry::start(Auth::None);
        reg.pusher().image("hostile/tampered", "latest", &img);
        let digest = &img.layers[0].blob.digest;
        let f = reg.blob_file(digest);
        let mut bytes = fs::read(&f).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0xff;
        fs::write(&f, &bytes).unwrap();
        let t = TestRoot::new(d);
        let (ok, out, err) = h::pull(&t, &[&format!("{}/hostile/tampered", reg.addr)]);
        let p = Pulled {
            t,
            _reg: reg,
            ok,
            out,
            err,
        };
        assert!(
            p.err.contains("digest") && p.err.contains(digest.as_str()),
            "{}",
            p.err
        );
        p.assert_nothing_left();
        assert!(
            !p.t.root
                .join("blobs/sha256")
                .join(&digest["sha256:".len()..])
                .exists(),
            "tampered blob kept"
        );
    }
}

fn small_image(marker: &str, flavor: Flavor) -> Image {
    let tar = Tar::with(vec![dir("etc"), file("etc/marker", marker.as_bytes())]);
    oci::image(
        vec![oci::layer(&tar, Comp::Gzip, flavor)],
        flavor,
        "amd64",
        serde_json::json!({"Cmd": ["/bin/true"]}),
    )
}

fn docker_config(t: &mut TestRoot, registry: &str, user: &str, pass: &str) {
    use base64::Engine as _;
    let dir = t.base.join("docker-config");
    fs::create_dir_all(&dir).unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
    fs::write(
        dir.join("config.json"),
        serde_json::json!({"auths": {registry: {"auth": auth}}}).to_string(),
    )
    .unwrap();
    t.env("DOCKER_CONFIG", dir.to_str().unwrap());
}

fn marker(t: &TestRoot, id: &str) -> String {
    let v = ImageView::new(t, id);
    fs::read_to_string(v.path.join("etc/marker")).unwrap()
}

#[test]
fn basic_auth_with_docker_config() {
    let dir = std::env::temp_dir().join(format!("bocker-htpasswd-{}", bocker_e2e::random_hex(8)));
    fs::create_dir_all(&dir).unwrap();
    let o = Command::new("htpasswd")
        .args(["-Bbn", "alice", "s3cret"])
        .output()
        .expect("htpasswd (apache2-utils)");
    fs::write(dir.join("htpasswd"), &o.stdout).unwrap();
    let reg = Registry::start(Auth::Htpasswd(dir.join("htpasswd")));
    let mut pusher = reg.pusher();
    pusher.basic = Some(("alice".into(), "s3cret".into()));
    pusher.image("private/app", "1", &small_image("basic", Flavor::Docker));
    let reference = format!("{}/private/app:1", reg.addr);

    let t = TestRoot::overlay();
    let (ok, _, err) = h::pull(&t, &[&reference]);
    assert!(
        !ok && err.contains("authentication required"),
        "anonymous pull must fail clearly: {err}"
    );

    let mut wrong = TestRoot::overlay();
    docker_config(&mut wrong, &reg.addr, "alice", "wrong");
    let (ok, _, err) = h::pull(&wrong, &[&reference]);
    assert!(
        !ok && err.contains("authentication required") && err.contains("user 'alice'"),
        "the registry's words and who was refused: {err}"
    );

    let mut good = TestRoot::overlay();
    docker_config(&mut good, &reg.addr, "alice", "s3cret");
    let id = h::pull_ok(&good, &reference);
    assert_eq!(marker(&good, &id), "basic");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn bearer_token_auth() {
    let ts = TokenServer::start("bob", "hunter2");
    let reg = Registry::start(Auth::Token {
        realm: ts.realm(),
        service: token::SERVICE.into(),
        issuer: token::ISSUER.into(),
        bundle: ts.bundle(),
    });
    let mut pusher = reg.pusher();
    pusher.bearer = Some(ts.token_for("tok/app"));
    pusher.image("tok/app", "latest", &small_image("token", Flavor::Oci));
    let reference = format!("{}/tok/app", reg.addr);

    let t = TestRoot::overlay();
    let (ok, _, err) = h::pull(&t, &[&reference]);
    assert!(
        !ok && err.contains(&format!("no credentials for {}", reg.addr)),
        "{err}"
    );

    let mut wrong = TestRoot::overlay();
    docker_config(&mut wrong, &reg.addr, "bob", "nope");
    let (ok, _, err) = h::pull(&wrong, &[&reference]);
    assert!(
        !ok && err.contains("token service refused the credentials of 'bob'"),
        "{err}"
    );

    let mut good = TestRoot::overlay();
    docker_config(&mut good, &reg.addr, "bob", "hunter2");
    let id = h::pull_ok(&good, &reference);
    assert_eq!(marker(&good, &id), "token");
}

#[test]
fn index_picks_the_host_platform_or_the_one_asked_for() {
    for flavor in [Flavor::Oci, Flavor::Docker] {
        let amd = small_image("amd64", flavor);
        let arm = small_image("arm64", flavor);
        let idx = oci::index(
            &[
                (&arm, "linux", "arm64", Some("v8")),
                (&amd, "linux", "amd64", None),
            ],
            flavor,
        );
        let reg = Registry::start(Auth::None);
        let p = reg.pusher();
        p.image("multi/app", &amd.manifest.digest, &amd);
        p.image("multi/app", &arm.manifest.digest, &arm);
        p.manifest("multi/app", "latest", &idx);
        let t = TestRoot::overlay();
        let reference = format!("{}/multi/app:latest", reg.addr);
        let id = h::pull_ok(&t, &reference);
        assert_eq!(marker(&t, &id), "amd64");
        assert_eq!(
            h::record(&t, &id)["digest"],
            idx.digest.as_str(),
            "the record keeps the index digest"
        );
        let (ok, out, err) = h::pull(
            &t,
            &[
                "--platform",
                "linux/arm64",
                "-q",
                &format!("{}/multi/app@{}", reg.addr, idx.digest),
            ],
        );
        assert!(ok, "{err}");
        let arm_id = out.trim().to_string();
        assert!(
            arm_id.starts_with("img_") && !arm_id.contains(' '),
            "-q prints the id alone: {out:?}"
        );
        assert_eq!(marker(&t, &arm_id), "arm64");
        // The same reference for another platform is another image, not "unchanged".
        let (ok, out, err) = h::pull(&t, &["--platform", "linux/arm64", "-q", &reference]);
        assert!(ok, "{err}");
        assert_eq!(
            out.trim(),
            arm_id,
            "same layers, same manifest: the arm64 image again"
        );
        let (ok, _, err) = h::pull(&t, &["--platform", "linux/s390x", &reference]);
        assert!(
            !ok && err.contains("no image for platform linux/s390x"),
            "{err}"
        );
    }
}

#[test]
fn moved_tag_makes_a_new_image_and_keeps_the_old() {
    let reg = Registry::start(Auth::None);
    let t = TestRoot::overlay();
    reg.pusher()
        .image("moving/app", "v", &small_image("one", Flavor::Oci));
    // The seed's form: bocker pull <name> <tag>.
    let (ok, out, err) = h::pull(&t, &[&format!("{}/moving/app", reg.addr), "v"]);
    assert!(ok, "{err}");
    let first = out.trim().strip_prefix("Created: ").unwrap().to_string();
    reg.pusher()
        .image("moving/app", "v", &small_image("two", Flavor::Oci));
    let second = h::pull_ok(&t, &format!("{}/moving/app:v", reg.addr));
    assert_ne!(first, second);
    assert_eq!(marker(&t, &first), "one");
    assert_eq!(marker(&t, &second), "two");
    let ids = t.ok("images", &["-q"]);
    assert!(ids.contains(&first) && ids.contains(&second), "{ids}");
    // The tag now names the new image.
    assert_eq!(
        h::repull_ok(&t, &format!("{}/moving/app:v", reg.addr)),
        second
    );
}

#[test]
fn malformed_reference_and_missing_image_fail_clearly() {
    let t = TestRoot::overlay();
    let (ok, out, err) = h::pull(&t, &["Not_Valid::ref"]);
    assert!(
        !ok && out.is_empty() && err.contains("invalid reference format"),
        "{err}"
    );
    let reg = Registry::start(Auth::None);
    let (ok, _, err) = h::pull(&t, &[&format!("{}/no/such:tag", reg.addr)]);
    assert!(!ok && err.contains("unknown"), "{err}");
}

#[test]
fn sigkill_mid_pull_leaves_nothing_and_the_next_pull_works() {
    for d in DRIVERS {
        let tars = vec![
            Tar::with(vec![file("one", &noise(60 << 20, 1))]),
            Tar::with(vec![file("two", &noise(60 << 20, 2))]),
            Tar::with(vec![file("three", &noise(60 << 20, 3))]),
        ];
        let img = build(&tars, &[Comp::Plain, Comp::Plain, Comp::Plain], Flavor::Oci);
        let reg = Registry::start(Auth::None);
        reg.pusher().image("big/app", "latest", &img);
        let reference = format!("{}/big/app", reg.addr);
        let t = TestRoot::new(d);
        let mut killed_mid_pull = false;
        for delay_ms in [400u64, 150, 30, 5] {
            let mut child = t
                .cmd("pull")
                .arg(&reference)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            let start = Instant::now();
            std::thread::sleep(Duration::from_millis(delay_ms));
            // SAFETY: signalling our own child by pid.
            unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
            let _ = child.wait();
            assert!(start.elapsed() < Duration::from_secs(60));
            let images = t.ok("images", &["-q"]);
            if images.trim().is_empty() {
                killed_mid_pull = true;
                break;
            }
            // The pull won the race: then it is whole. Remove it and kill sooner.
            let id = images.trim().to_string();
            let v = ImageView::new(&t, &id);
            assert_eq!(fs::metadata(v.path.join("three")).unwrap().len(), 60 << 20);
            drop(v);
            t.ok("rmi", &[&id]);
        }
        assert!(
            killed_mid_pull,
            "{d:?}: every pull finished before the kill"
        );
        let id = h::pull_ok(&t, &reference);
        assert_eq!(t.ok("images", &["-q"]).trim(), id);
        let v = ImageView::new(&t, &id);
        assert_eq!(fs::metadata(v.path.join("two")).unwrap().len(), 60 << 20);
        drop(v);
        let leftovers: Vec<String> = fs::read_dir(t.root.join("layers"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".tmp-"))
            .collect();
        assert!(
            leftovers.is_empty(),
            "staged layers of the killed pull were not cleaned: {leftovers:?}"
        );
        let tmp: Vec<String> = fs::read_dir(t.root.join("tmp"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            tmp.is_empty(),
            "{d:?}: partial blobs were not cleaned: {tmp:?}"
        );
    }
}

/// A pulled image runs with its own Entrypoint, Cmd, Env, WorkingDir and User, on both
/// drivers, and arguments after the image replace Cmd (Docker's semantics).
fn pulled_image_runs_its_entrypoint_and_cmd(driver: Driver) {
    let busybox = fs::read("/bin/busybox").expect("busybox-static installed");
    let mut l1 = vec![
        dir("bin"),
        file("bin/busybox", &busybox).mode(0o755),
        dir("etc"),
        file(
            "etc/passwd",
            b"root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/work:/bin/sh\n",
        ),
        file("etc/group", b"root:x:0:\napp:x:1000:\n"),
        dir("tmp").mode(0o1777),
    ];
    for applet in ["sh", "echo", "id", "pwd", "cat"] {
        l1.push(symlink(&format!("bin/{applet}"), "busybox"));
    }
    let l2 = vec![
        dir("work").owner(1000, 1000),
        file("work/greeting", b"hello from layer two\n").owner(1000, 1000),
    ];
    let tars = [Tar::with(l1), Tar::with(l2)];
    let layers = tars
        .iter()
        .map(|t| oci::layer(t, Comp::Gzip, Flavor::Docker))
        .collect();
    let config = serde_json::json!({
        "Entrypoint": ["/bin/sh", "-c", "echo \"$(id -u):$(id -g) $(pwd) A=$A $0 $*\"; cat greeting"],
        "Cmd": ["from-cmd", "more"],
        "Env": ["PATH=/bin", "A=from-image"],
        "WorkingDir": "/work",
        "User": "app",
    });
    let img = oci::image(layers, Flavor::Docker, "amd64", config);
    let reg = Registry::start(Auth::None);
    reg.pusher().image("fixtures/runnable", "v1", &img);
    let t = TestRoot::new(driver);
    let reference = format!("{}/fixtures/runnable:v1", reg.addr);
    let id = h::pull_ok(&t, &reference);

    let out = t.ok("run", &["--rm", "--network", "none", &reference]);
    assert_eq!(
        out,
        "1000:1000 /work A=from-image from-cmd more\nhello from layer two\n"
    );
    let out = t.ok(
        "run",
        &["--rm", "--network", "none", "-e", "A=flag", &id, "x", "y"],
    );
    assert_eq!(out, "1000:1000 /work A=flag x y\nhello from layer two\n");
}

#[test]
fn pulled_image_runs_its_entrypoint_and_cmd_overlay() {
    pulled_image_runs_its_entrypoint_and_cmd(Driver::Overlay);
}

#[test]
fn pulled_image_runs_its_entrypoint_and_cmd_btrfs() {
    pulled_image_runs_its_entrypoint_and_cmd(Driver::Btrfs);
}

// ---------------------------------------------------------------------------------------
// Registries and networks that misbehave (issue 9, items 13–16), through a fault-injecting
// front (`h::fault`) for the real registry, all on 127.0.0.1.

use bocker_e2e::pull::fault::{Action, Fault};

/// A one-layer image of `n` incompressible bytes in `etc/blob`, pushed as `repo:latest`.
fn pushed_noise(reg: &Registry, repo: &str, n: usize) -> Image {
    let tar = Tar::with(vec![dir("etc"), file("etc/blob", &noise(n, 11))]);
    let img = oci::image(
        vec![oci::layer(&tar, Comp::Plain, Flavor::Docker)],
        Flavor::Docker,
        "amd64",
        serde_json::json!({"Cmd": ["/bin/true"]}),
    );
    reg.pusher().image(repo, "latest", &img);
    img
}

fn is_blob(target: &str, digest: &str) -> bool {
    target.ends_with(&format!("/blobs/{digest}"))
}

fn one_line(err: &str) -> bool {
    err.trim_end().lines().count() == 1
}

#[test]
fn plain_http_only_for_loopback_addresses() {
    let reg = Registry::start(Auth::None);
    reg.pusher()
        .image("lb/app", "latest", &small_image("lb", Flavor::Docker));
    let port = reg.addr.rsplit(':').next().unwrap().to_string();
    // A DNS name that merely starts with 127.: reached through a recording proxy, so no
    // name is ever resolved; the proxy relays plain-HTTP requests to the registry and
    // refuses CONNECT (https).
    let proxy = Fault::start(&reg.addr, |r, _| {
        if r.method == "CONNECT" {
            Action::Respond(403, vec![], b"no tunnels".to_vec())
        } else {
            Action::Forward
        }
    });
    let name = format!("127.0.0.1.evil.test:{port}");
    let reference = format!("{name}/lb/app");
    let with_proxy = |t: &mut TestRoot| {
        let p = format!("http://{}", proxy.addr);
        t.env("HTTP_PROXY", &p).env("HTTPS_PROXY", &p);
    };
    let mut t = TestRoot::overlay();
    with_proxy(&mut t);
    let (ok, _, err) = h::pull(&t, &[&reference]);
    let reqs = proxy.requests();
    assert!(!ok, "a DNS name is not loopback: https only ({err})");
    assert!(
        reqs.iter().all(|r| r.method == "CONNECT"),
        "plain HTTP to {name}: {:?}",
        reqs.iter().map(|r| &r.target).collect::<Vec<_>>()
    );
    assert!(!reqs.is_empty(), "the pull went through the proxy over TLS");

    // Listed in the daemon config's insecure-registries (Docker's daemon.json key).
    let cfg = t.base.join("daemon.json");
    fs::write(
        &cfg,
        serde_json::json!({"insecure-registries": [name]}).to_string(),
    )
    .unwrap();
    let mut listed = TestRoot::overlay();
    with_proxy(&mut listed);
    listed.env("BOCKER_DAEMON_CONFIG", cfg.to_str().unwrap());
    let id = h::pull_ok(&listed, &reference);
    assert_eq!(marker(&listed, &id), "lb");
    // And --insecure.
    let mut flag = TestRoot::overlay();
    with_proxy(&mut flag);
    let (ok, _, err) = h::pull(&flag, &["--insecure", &reference]);
    assert!(ok, "{err}");
    assert!(proxy
        .requests()
        .iter()
        .any(|r| r.method == "GET" && r.target.starts_with(&format!("http://{name}/v2/"))));
}

#[test]
fn loopback_registries_never_go_through_the_proxy() {
    let reg = Registry::start(Auth::None);
    reg.pusher()
        .image("np/app", "latest", &small_image("np", Flavor::Oci));
    let proxy = Fault::start("", |_, _| Action::Respond(502, vec![], b"proxy".to_vec()));
    let p = format!("http://{}", proxy.addr);
    let port = reg.addr.rsplit(':').next().unwrap().to_string();
    for host in [reg.addr.clone(), format!("localhost:{port}")] {
        let mut t = TestRoot::overlay();
        for k in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy"] {
            t.env(k, &p);
        }
        let id = h::pull_ok(&t, &format!("{host}/np/app"));
        assert_eq!(marker(&t, &id), "np");
    }
    // Go's clients (so Docker) never proxy loopback.
    assert!(proxy.requests().is_empty(), "{:?}", proxy.requests());
}

#[test]
fn registry_errors_read_like_docker() {
    let reg = Registry::start(Auth::None);
    reg.pusher()
        .image("acc/busybox", "latest", &small_image("bb", Flavor::Docker));
    let t = TestRoot::overlay();
    // Docker 20.10: "manifest for …:nosuch not found: manifest unknown: manifest unknown";
    // one line, the registry's words, no raw JSON.
    let reference = format!("{}/acc/busybox:nosuch", reg.addr);
    let (ok, _, err) = h::pull(&t, &[&reference]);
    assert!(!ok);
    assert!(
        err.contains(&format!("manifest unknown: {reference}")),
        "{err}"
    );
    assert!(one_line(&err) && !err.contains("{\""), "{err}");

    // Nothing listens: fail at once with the cause, no retries.
    let port = h::free_port();
    let (ok, _, err) = h::pull(&t, &[&format!("127.0.0.1:{port}/a/b")]);
    assert!(
        !ok && err.contains("connection refused") && one_line(&err),
        "{err}"
    );

    // Transient 503s are retried with backoff, and the retries are bounded.
    let flaky = Fault::start(&reg.addr, |r, _| {
        if r.target.contains("/manifests/") && r.target.contains("flaky") {
            Action::Respond(503, vec![], b"busy".to_vec())
        } else {
            Action::Forward
        }
    });
    let (ok, _, err) = h::pull(&t, &[&format!("{}/acc/busybox:flaky", flaky.addr)]);
    assert!(!ok && err.contains("503"), "{err}");
    let tries = flaky.requests().len();
    assert!((2..=6).contains(&tries), "bounded retries, got {tries}");
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c2 = count.clone();
    let twice = Fault::start(&reg.addr, move |r, _| {
        let n = c2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if r.target.contains("/manifests/") && n < 2 {
            Action::Respond(503, vec![], b"busy".to_vec())
        } else {
            Action::Forward
        }
    });
    let id = h::pull_ok(&t, &format!("{}/acc/busybox", twice.addr));
    assert_eq!(marker(&t, &id), "bb");

    // A 401 says what the registry said, even with credentials in the config.
    let denied = Fault::start("", |_, _| {
        Action::Respond(
            401,
            vec![("WWW-Authenticate".into(), "Negotiate".into())],
            br#"{"errors":[{"code":"UNAUTHORIZED","message":"access to the requested resource is not authorized"}]}"#.to_vec(),
        )
    });
    let mut with_creds = TestRoot::overlay();
    docker_config(&mut with_creds, &denied.addr, "alice", "pw");
    let (ok, _, err) = h::pull(&with_creds, &[&format!("{}/x/y", denied.addr)]);
    assert!(!ok && one_line(&err), "{err}");
    assert!(
        err.contains("access to the requested resource is not authorized")
            && !err.contains("no credentials"),
        "{err}"
    );

    // Names over 255 characters are refused before any request (Docker:
    // "repository name must not be more than 255 characters").
    let watch = Fault::start("", |_, _| Action::Respond(404, vec![], vec![]));
    let long = format!("{}/{}", watch.addr, "a".repeat(250));
    let (ok, _, err) = h::pull(&t, &[&long]);
    assert!(
        !ok && err.contains("must not be more than 255 characters"),
        "{err}"
    );
    assert!(watch.requests().is_empty());
}

#[test]
fn a_missing_repository_with_valid_credentials_is_not_an_auth_failure() {
    let dir = std::env::temp_dir().join(format!("bocker-htpasswd-{}", bocker_e2e::random_hex(8)));
    fs::create_dir_all(&dir).unwrap();
    let o = Command::new("htpasswd")
        .args(["-Bbn", "alice", "s3cret"])
        .output()
        .expect("htpasswd (apache2-utils)");
    fs::write(dir.join("htpasswd"), &o.stdout).unwrap();
    let reg = Registry::start(Auth::Htpasswd(dir.join("htpasswd")));
    let mut t = TestRoot::overlay();
    docker_config(&mut t, &reg.addr, "alice", "s3cret");
    let (ok, _, err) = h::pull(&t, &[&format!("{}/no/such:tag", reg.addr)]);
    let _ = fs::remove_dir_all(&dir);
    assert!(!ok && one_line(&err) && !err.contains("{\""), "{err}");
    assert!(
        !err.contains("authentication") && err.contains("unknown"),
        "the registry's own words (Docker: name unknown / manifest unknown): {err}"
    );

    // Docker Hub answers a missing repository with a 401 even to a valid token. Docker
    // 20.10: "pull access denied for …, repository does not exist or may require
    // 'docker login': denied: requested access to the resource is denied".
    let ts = TokenServer::start("bob", "hunter2");
    let hub = Registry::start(Auth::Token {
        realm: ts.realm(),
        service: token::SERVICE.into(),
        issuer: token::ISSUER.into(),
        bundle: ts.bundle(),
    });
    let challenge = format!(
        r#"Bearer realm="{}",service="{}",scope="repository:no/such:pull",error="insufficient_scope""#,
        ts.realm(),
        token::SERVICE
    );
    let front = Fault::start(&hub.addr, move |_, _| {
        Action::Respond(
            401,
            vec![("WWW-Authenticate".into(), challenge.clone())],
            br#"{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}"#.to_vec(),
        )
    });
    let mut t = TestRoot::overlay();
    docker_config(&mut t, &front.addr, "bob", "hunter2");
    let (ok, _, err) = h::pull(&t, &[&format!("{}/no/such", front.addr)]);
    assert!(!ok && one_line(&err), "{err}");
    assert!(
        err.contains("requested access to the resource is denied")
            && err.contains("does not exist")
            && !err.contains("authentication failed"),
        "{err}"
    );
}

#[test]
fn network_faults_are_retried_and_resumed() {
    for d in DRIVERS {
        let reg = Registry::start(Auth::None);
        let img = pushed_noise(&reg, "net/app", 3 << 20);
        let layer = img.layers[0].blob.digest.clone();
        let config = img.config.digest.clone();
        let (l2, c2) = (layer.clone(), config.clone());
        let seen = std::sync::Arc::new(std::sync::Mutex::new((0, 0)));
        let s2 = seen.clone();
        // A reset in the middle of the layer, a cut-off config, a gzip-encoded manifest.
        let fault = Fault::start(&reg.addr, move |r, _| {
            let mut s = s2.lock().unwrap();
            if is_blob(&r.target, &l2) {
                s.0 += 1;
                if s.0 == 1 {
                    return Action::ResetAfter(1 << 20);
                }
            } else if is_blob(&r.target, &c2) {
                s.1 += 1;
                if s.1 == 1 {
                    return Action::ResetAfter(10);
                }
            } else if r.target.contains("/manifests/") {
                return Action::Gzip;
            }
            Action::Forward
        });
        let t = TestRoot::new(d);
        let id = h::pull_ok(&t, &format!("{}/net/app", fault.addr));
        let v = ImageView::new(&t, &id);
        assert_eq!(
            fs::read(v.path.join("etc/blob")).unwrap(),
            noise(3 << 20, 11)
        );
        drop(v);
        let reqs = fault.requests();
        let layer_gets: Vec<_> = reqs.iter().filter(|r| is_blob(&r.target, &layer)).collect();
        assert_eq!(layer_gets.len(), 2, "one retry after the reset");
        let range = layer_gets[1].header("Range").unwrap_or("");
        let from: u64 = range
            .strip_prefix("bytes=")
            .and_then(|r| r.strip_suffix('-'))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("resumed with Range, got {range:?}"));
        assert!(from > 0, "{range}");
        assert_eq!(
            reqs.iter().filter(|r| is_blob(&r.target, &config)).count(),
            2,
            "the cut config is fetched again"
        );
    }
}

#[test]
fn a_stalled_layer_times_out_and_resumes() {
    let reg = Registry::start(Auth::None);
    let img = pushed_noise(&reg, "stall/app", 2 << 20);
    let layer = img.layers[0].blob.digest.clone();
    let l2 = layer.clone();
    let fault = Fault::start(&reg.addr, move |r, _| {
        if is_blob(&r.target, &l2) && r.header("Range").is_none() {
            Action::StallAfter(1 << 20, 60)
        } else {
            Action::Forward
        }
    });
    let mut t = TestRoot::overlay();
    t.env("BOCKER_PULL_TIMEOUT", "2");
    let id = h::pull_ok(&t, &format!("{}/stall/app", fault.addr));
    let v = ImageView::new(&t, &id);
    assert_eq!(
        fs::read(v.path.join("etc/blob")).unwrap(),
        noise(2 << 20, 11)
    );
    assert!(fault
        .requests()
        .iter()
        .any(|r| is_blob(&r.target, &layer) && r.header("Range").is_some()));
}

/// The manifest of `img` with each layer descriptor changed by `f`.
fn edited_manifest(img: &Image, f: impl Fn(&mut serde_json::Value)) -> Vec<u8> {
    let mut m: serde_json::Value = serde_json::from_slice(&img.manifest.bytes).unwrap();
    for l in m["layers"].as_array_mut().unwrap() {
        f(l);
    }
    serde_json::to_vec(&m).unwrap()
}

fn serve_manifest(body: Vec<u8>, media_type: &str) -> Action {
    Action::Respond(200, vec![("Content-Type".into(), media_type.into())], body)
}

#[test]
fn downloads_are_bounded_and_never_hang() {
    let reg = Registry::start(Auth::None);
    let img = pushed_noise(&reg, "bound/app", 64 << 10);
    let layer = img.layers[0].blob.digest.clone();
    let mt = img.manifest.media_type.clone();

    // A layer declared at 2^50 bytes is refused before it is fetched.
    let huge = edited_manifest(&img, |l| l["size"] = serde_json::json!(1u64 << 50));
    let (l2, mt2) = (layer.clone(), mt.clone());
    let fault = Fault::start(&reg.addr, move |r, _| {
        if r.target.contains("/manifests/") {
            serve_manifest(huge.clone(), &mt2)
        } else if is_blob(&r.target, &l2) {
            Action::Respond(200, vec![], vec![b'x'; 32 << 20])
        } else {
            Action::Forward
        }
    });
    let t = TestRoot::overlay();
    let (ok, _, err) = h::pull(&t, &[&format!("{}/bound/app", fault.addr)]);
    assert!(
        !ok && err.contains(&layer) && err.contains("declares"),
        "{err}"
    );
    assert!(!fault.requests().iter().any(|r| is_blob(&r.target, &layer)));

    // Junk declared at 200 MiB: extraction fails on the first header and the download
    // stops there instead of taking all the junk.
    let junk_size = 200u64 << 20;
    let junk = edited_manifest(&img, |l| l["size"] = serde_json::json!(junk_size));
    let (l2, mt2) = (layer.clone(), mt.clone());
    let fault = Fault::start(&reg.addr, move |r, _| {
        if r.target.contains("/manifests/") {
            serve_manifest(junk.clone(), &mt2)
        } else if is_blob(&r.target, &l2) {
            Action::Respond(200, vec![], vec![0xa5; junk_size as usize])
        } else {
            Action::Forward
        }
    });
    // On both drivers: overlay extracts while it downloads, btrfs downloads ahead.
    for d in DRIVERS {
        let t = TestRoot::new(d);
        let (ok, _, err) = h::pull(&t, &[&format!("{}/bound/app", fault.addr)]);
        assert!(!ok && err.contains("stopped at byte"), "{d:?}: {err}");
        let at: u64 = err
            .split("stopped at byte ")
            .nth(1)
            .and_then(|s| s.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        assert!(at < junk_size / 2, "{d:?}: download went on to byte {at}");
        assert_eq!(fs::read_dir(t.root.join("tmp")).unwrap().count(), 0);
    }

    // A blob longer than declared: the error names that blob.
    let long = {
        let mut b = img.layers[0].blob.bytes.clone();
        b.extend_from_slice(&[0u8; 4096]);
        b
    };
    let l2 = layer.clone();
    let fault = Fault::start(&reg.addr, move |r, _| {
        if is_blob(&r.target, &l2) {
            Action::Respond(200, vec![], long.clone())
        } else {
            Action::Forward
        }
    });
    let (ok, _, err) = h::pull(&t, &[&format!("{}/bound/app", fault.addr)]);
    assert!(
        !ok && err.contains(&format!("blob {layer}")) && err.contains("more than"),
        "{err}"
    );

    // A complete answer shorter than declared is content, not a network fault: the
    // digest names it at once, without retries.
    let short = img.layers[0].blob.bytes[..1000].to_vec();
    let l2 = layer.clone();
    let fault = Fault::start(&reg.addr, move |r, _| {
        if is_blob(&r.target, &l2) {
            Action::Respond(200, vec![], short.clone())
        } else {
            Action::Forward
        }
    });
    let (ok, _, err) = h::pull(&t, &[&format!("{}/bound/app", fault.addr)]);
    assert!(
        !ok && err.contains(&format!("blob {layer}: content has digest")),
        "{err}"
    );
    let gets = fault
        .requests()
        .iter()
        .filter(|r| is_blob(&r.target, &layer))
        .count();
    assert_eq!(gets, 1, "a complete body is not fetched again");

    // A stalled manifest times out with a clear error instead of hanging.
    let stall = Fault::start(&reg.addr, |_, _| Action::StallAfter(0, 60));
    let mut st = TestRoot::overlay();
    st.env("BOCKER_PULL_TIMEOUT", "1");
    let (ok, _, err) = h::pull(&st, &[&format!("{}/bound/app", stall.addr)]);
    assert!(!ok && err.contains("timed out") && one_line(&err), "{err}");
}

// ---------------------------------------------------------------------------------------
// Credentials as Docker stores them (issue 9, item 17).

fn raw_docker_config(t: &mut TestRoot, cfg: serde_json::Value) {
    let dir = t.base.join("docker-config");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("config.json"), cfg.to_string()).unwrap();
    t.env("DOCKER_CONFIG", dir.to_str().unwrap());
}

/// A `docker-credential-<name>` script on a PATH of its own that answers `get` for
/// `server` with `user`/`secret` (and "credentials not found" for any other server).
fn cred_helper(t: &mut TestRoot, name: &str, server: &str, user: &str, secret: &str) {
    use std::os::unix::fs::PermissionsExt;
    let dir = t.base.join("helpers");
    fs::create_dir_all(&dir).unwrap();
    let script = dir.join(format!("docker-credential-{name}"));
    fs::write(
        &script,
        format!(
            "#!/bin/sh\n[ \"$1\" = get ] || exit 3\nread -r server\nif [ \"$server\" = '{server}' ]; then\n  printf '%s' '{{\"ServerURL\":\"{server}\",\"Username\":\"{user}\",\"Secret\":\"{secret}\"}}'\nelse\n  echo 'credentials not found in native keychain'; exit 1\nfi\n"
        ),
    )
    .unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}:{}",
        dir.display(),
        bocker_e2e::bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    t.env("PATH", &path);
}

fn htpasswd_registry(user: &str, pass: &str) -> (Registry, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("bocker-htpasswd-{}", bocker_e2e::random_hex(8)));
    fs::create_dir_all(&dir).unwrap();
    let o = Command::new("htpasswd")
        .args(["-Bbn", user, pass])
        .output()
        .expect("htpasswd (apache2-utils)");
    fs::write(dir.join("htpasswd"), &o.stdout).unwrap();
    let reg = Registry::start(Auth::Htpasswd(dir.join("htpasswd")));
    let mut pusher = reg.pusher();
    pusher.basic = Some((user.into(), pass.into()));
    pusher.image("private/app", "1", &small_image("cred", Flavor::Docker));
    (reg, dir)
}

#[test]
fn identity_token_is_exchanged_at_the_token_realm() {
    let ts = TokenServer::start_with_refresh("bob", "hunter2", "refresh-abc");
    let reg = Registry::start(Auth::Token {
        realm: ts.realm(),
        service: token::SERVICE.into(),
        issuer: token::ISSUER.into(),
        bundle: ts.bundle(),
    });
    let mut pusher = reg.pusher();
    pusher.bearer = Some(ts.token_for("tok/app"));
    pusher.image("tok/app", "latest", &small_image("idtoken", Flavor::Oci));
    let reference = format!("{}/tok/app", reg.addr);
    // As `az acr login` writes it: an empty-password auth and an identitytoken.
    use base64::Engine as _;
    let auth =
        base64::engine::general_purpose::STANDARD.encode("00000000-0000-0000-0000-000000000000:");
    let mut t = TestRoot::overlay();
    raw_docker_config(
        &mut t,
        serde_json::json!({"auths": {reg.addr.clone(): {"auth": auth, "identitytoken": "refresh-abc"}}}),
    );
    let id = h::pull_ok(&t, &reference);
    assert_eq!(marker(&t, &id), "idtoken");
    // A wrong refresh token is an authentication error that says what the service said.
    let mut wrong = TestRoot::overlay();
    raw_docker_config(
        &mut wrong,
        serde_json::json!({"auths": {reg.addr.clone(): {"identitytoken": "stale"}}}),
    );
    let (ok, _, err) = h::pull(&wrong, &[&reference]);
    assert!(!ok && err.contains("token service refused"), "{err}");
}

#[test]
fn empty_auth_uses_username_and_password() {
    let (reg, dir) = htpasswd_registry("alice", "s3cret");
    let mut t = TestRoot::overlay();
    raw_docker_config(
        &mut t,
        serde_json::json!({"auths": {reg.addr.clone(): {"auth": "", "username": "alice", "password": "s3cret"}}}),
    );
    let id = h::pull_ok(&t, &format!("{}/private/app:1", reg.addr));
    assert_eq!(marker(&t, &id), "cred");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn credential_helpers_as_docker_runs_them() {
    let (reg, dir) = htpasswd_registry("carol", "pw-from-helper");
    let reference = format!("{}/private/app:1", reg.addr);
    // credHelpers for this registry (the file's own auths entry is wrong and ignored).
    let mut t = TestRoot::overlay();
    cred_helper(&mut t, "bockertest", &reg.addr, "carol", "pw-from-helper");
    raw_docker_config(
        &mut t,
        serde_json::json!({"credHelpers": {reg.addr.clone(): "bockertest"}, "auths": {reg.addr.clone(): {}}}),
    );
    let id = h::pull_ok(&t, &reference);
    assert_eq!(marker(&t, &id), "cred");
    // credsStore for every registry.
    let mut s = TestRoot::overlay();
    cred_helper(&mut s, "storetest", &reg.addr, "carol", "pw-from-helper");
    raw_docker_config(&mut s, serde_json::json!({"credsStore": "storetest"}));
    let id = h::pull_ok(&s, &reference);
    assert_eq!(marker(&s, &id), "cred");
    // A helper that is not installed is a clear error naming it.
    let mut m = TestRoot::overlay();
    raw_docker_config(&mut m, serde_json::json!({"credsStore": "nosuchhelper"}));
    let (ok, _, err) = h::pull(&m, &[&reference]);
    assert!(
        !ok && err.contains("docker-credential-nosuchhelper") && one_line(&err),
        "{err}"
    );
    let _ = fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------
// Platform variants (issue 9, item 12).

/// This CPU's x86-64 microarchitecture level from /proc/cpuinfo's flags (psABI levels).
fn host_amd64_level() -> u8 {
    let info = fs::read_to_string("/proc/cpuinfo").unwrap();
    let flags: Vec<&str> = info
        .lines()
        .find(|l| l.starts_with("flags"))
        .and_then(|l| l.split(':').nth(1))
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let all = |fs: &[&str]| fs.iter().all(|f| flags.contains(f));
    let v2 = all(&["cx16", "popcnt", "pni", "sse4_1", "sse4_2", "ssse3"]);
    let v3 = all(&[
        "avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave",
    ]);
    let v4 = all(&["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"]);
    match (v2, v3, v4) {
        (true, true, true) => 4,
        (true, true, false) => 3,
        (true, false, _) => 2,
        _ => 1,
    }
}

/// One index entry: image, os, architecture, variant.
type IndexEntry<'a> = (&'a Image, &'a str, &'a str, Option<&'a str>);

#[test]
fn amd64_variant_is_the_best_this_cpu_runs() {
    assert_eq!(
        std::env::consts::ARCH,
        "x86_64",
        "this test is for amd64 hosts"
    );
    let level = host_amd64_level();
    let v4 = small_image("v4", Flavor::Oci);
    let v2 = small_image("v2", Flavor::Oci);
    let plain = small_image("plain", Flavor::Oci);
    let reg = Registry::start(Auth::None);
    let p = reg.pusher();
    for img in [&v4, &v2, &plain] {
        p.image("var/app", &img.manifest.digest, img);
    }
    let expected = match level {
        4 => "v4",
        2 | 3 => "v2",
        _ => "plain",
    };
    // Whatever the index's order, the best entry this CPU can run.
    let orders: [Vec<IndexEntry>; 2] = [
        vec![
            (&v4, "linux", "amd64", Some("v4")),
            (&plain, "linux", "amd64", None),
            (&v2, "linux", "amd64", Some("v2")),
        ],
        vec![
            (&plain, "linux", "amd64", None),
            (&v2, "linux", "amd64", Some("v2")),
            (&v4, "linux", "amd64", Some("v4")),
        ],
    ];
    for (n, order) in orders.iter().enumerate() {
        let idx = oci::index(order, Flavor::Oci);
        p.manifest("var/app", &format!("o{n}"), &idx);
        let t = TestRoot::overlay();
        let id = h::pull_ok(&t, &format!("{}/var/app:o{n}", reg.addr));
        assert_eq!(marker(&t, &id), expected, "order {n}, CPU level v{level}");
        // --platform with a variant takes exactly what is asked (or older).
        for (asked, want) in [
            ("linux/amd64/v4", "v4"),
            ("linux/amd64/v3", "v2"),
            ("linux/amd64/v1", "plain"),
        ] {
            let (ok, out, err) = h::pull(
                &t,
                &[
                    "--platform",
                    asked,
                    "-q",
                    &format!("{}/var/app:o{n}", reg.addr),
                ],
            );
            assert!(ok, "{asked}: {err}");
            assert_eq!(marker(&t, out.trim()), want, "{asked}");
        }
    }
    // Only variants this CPU cannot run: refused clearly, nothing pulled.
    let only = oci::index(&[(&v4, "linux", "amd64", Some("v4"))], Flavor::Oci);
    p.manifest("var/app", "only-v4", &only);
    let t = TestRoot::overlay();
    let (ok, _, err) = h::pull(&t, &[&format!("{}/var/app:only-v4", reg.addr)]);
    if level < 4 {
        assert!(
            !ok && err.contains("no image for platform linux/amd64/v"),
            "{err}"
        );
        assert!(
            err.contains("linux/amd64/v4"),
            "the error lists what exists: {err}"
        );
    } else {
        assert!(ok, "{err}");
    }
    let (ok, _, err) = h::pull(
        &t,
        &[
            "--platform",
            "linux/amd64/v3",
            &format!("{}/var/app:only-v4", reg.addr),
        ],
    );
    assert!(
        !ok && err.contains("no image for platform linux/amd64/v3"),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------
// GNU sparse files (issue 9, item 11).

/// A 1 MiB file with data at 0, 256 KiB and the last bytes, holes between.
fn sparse_source(dir: &Path) -> Vec<u8> {
    use std::os::unix::fs::FileExt;
    fs::create_dir_all(dir).unwrap();
    let f = fs::File::create(dir.join("sparse")).unwrap();
    f.set_len(1 << 20).unwrap();
    f.write_all_at(b"head of the file", 0).unwrap();
    f.write_all_at(&noise(8192, 5), 256 << 10).unwrap();
    f.write_all_at(b"tail", (1 << 20) - 4).unwrap();
    drop(f);
    fs::write(dir.join("plain"), b"plain file after the sparse one").unwrap();
    fs::read(dir.join("sparse")).unwrap()
}

/// GNU tar's layer of `dir` with `args` (sparse formats).
fn gnu_tar(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = dir.with_extension("tar");
    let st = Command::new("tar")
        .args(args)
        .arg("-cf")
        .arg(&out)
        .arg("-C")
        .arg(dir)
        .args(["sparse", "plain"])
        .status()
        .expect("GNU tar");
    assert!(st.success(), "tar {args:?}");
    let b = fs::read(&out).unwrap();
    let _ = fs::remove_file(&out);
    b
}

/// The offset of the first hole (SEEK_HOLE), which is the size when there is none.
fn first_hole(p: &Path) -> u64 {
    use std::os::fd::AsRawFd;
    let f = fs::File::open(p).unwrap();
    // SAFETY: lseek on our own open fd.
    let at = unsafe { libc::lseek(f.as_raw_fd(), 0, libc::SEEK_HOLE) };
    assert!(at >= 0, "SEEK_HOLE on {}", p.display());
    at as u64
}

#[test]
fn gnu_sparse_files_extract_exactly() {
    let src = std::env::temp_dir().join(format!("bocker-sparse-{}", bocker_e2e::random_hex(8)));
    let content = sparse_source(&src);
    let formats: [(&str, Vec<&str>); 4] = [
        (
            "pax-0.0",
            vec!["--sparse", "--format=posix", "--sparse-version=0.0"],
        ),
        (
            "pax-0.1",
            vec!["--sparse", "--format=posix", "--sparse-version=0.1"],
        ),
        (
            "pax-1.0",
            vec!["--sparse", "--format=posix", "--sparse-version=1.0"],
        ),
        ("gnu-S", vec!["--sparse", "--format=gnu"]),
    ];
    let reg = Registry::start(Auth::None);
    for (name, args) in &formats {
        let tar = gnu_tar(&src, args);
        let img = oci::image(
            vec![oci::layer(&tar, Comp::Gzip, Flavor::Oci)],
            Flavor::Oci,
            "amd64",
            serde_json::json!({"Cmd": ["/bin/true"]}),
        );
        reg.pusher().image("sparse/app", name, &img);
        for d in DRIVERS {
            let t = TestRoot::new(d);
            let id = h::pull_ok(&t, &format!("{}/sparse/app:{name}", reg.addr));
            let rec = h::record(&t, &id);
            let layer = t
                .root
                .join("layers")
                .join(rec["layers"][0].as_str().unwrap());
            let names: Vec<String> = fs::read_dir(&layer)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            assert!(
                !names.iter().any(|n| n.starts_with("GNUSparseFile")),
                "{name} on {d:?}: {names:?}"
            );
            let p = layer.join("sparse");
            let m = fs::metadata(&p).unwrap_or_else(|e| panic!("{name} on {d:?}: {e}"));
            assert!(m.is_file());
            assert_eq!(m.len(), 1 << 20, "{name} on {d:?}");
            assert!(fs::read(&p).unwrap() == content, "{name} on {d:?}: content");
            // Holes stay holes (ext4 and btrfs both keep them).
            assert!(
                first_hole(&p) < m.len() && m.blocks() * 512 < 256 << 10,
                "{name} on {d:?}: not sparse ({} blocks)",
                m.blocks()
            );
            assert_eq!(
                fs::read(layer.join("plain")).unwrap(),
                b"plain file after the sparse one"
            );
        }
    }
    let _ = fs::remove_dir_all(&src);
}
