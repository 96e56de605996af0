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
fn device_nodes_are_not_created() {
    for d in DRIVERS {
        let p = pull_tars(
            d,
            vec![Tar::with(vec![
                dir("dev"),
                Entry::new("dev/mem", Kind::Char(1, 1)),
                Entry::new("dev/sda", Kind::Block(8, 0)),
                file("dev/ordinary", b"x"),
            ])],
        );
        let id = p.id();
        assert!(
            p.err.contains("device node"),
            "a note says devices were skipped: {}",
            p.err
        );
        let v = ImageView::new(&p.t, &id);
        assert!(!v.path.join("dev/mem").exists() && !v.path.join("dev/sda").exists());
        assert!(v.path.join("dev/ordinary").is_file());
        for e in fs::read_dir(v.path.join("dev")).unwrap() {
            let ft = e.unwrap().file_type().unwrap();
            assert!(!ft.is_char_device() && !ft.is_block_device());
        }
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
    assert!(!ok && err.contains("authentication failed"), "{err}");

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
    assert!(!ok && err.contains("authentication required"), "{err}");

    let mut wrong = TestRoot::overlay();
    docker_config(&mut wrong, &reg.addr, "bob", "nope");
    let (ok, _, err) = h::pull(&wrong, &[&reference]);
    assert!(!ok && err.contains("authentication failed"), "{err}");

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
    assert!(!ok && err.contains("404"), "{err}");
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
        assert_eq!(
            fs::read_dir(t.root.join("tmp")).unwrap().count(),
            0,
            "partial blobs were not cleaned"
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
