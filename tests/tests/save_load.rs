//! End-to-end tests of `bocker save` and `bocker load` on both snapshot drivers: images
//! made by `init`, `commit` (with a deletion) and `pull` travel to a fresh store and run
//! with the same files; saves and commits are reproducible; skopeo, umoci and Docker
//! read what bocker writes and bocker reads what skopeo writes; hostile archives are
//! refused with one line and leave nothing behind.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bocker_e2e::dockerd::Dockerd;
use bocker_e2e::pull::oci::{self, Comp, Flavor};
use bocker_e2e::pull::tar::{dir, file, symlink, Tar};
use bocker_e2e::pull::{self as h, Auth, Registry};
use bocker_e2e::run::{code, stderr, stdout};
use bocker_e2e::{random_hex, Driver, TestRoot};

const DRIVERS: [Driver; 2] = [Driver::Overlay, Driver::Btrfs];
const BUSYBOX: &str = "/bin/busybox";

/// The change every committed image here carries: a deletion, a new file, a new
/// directory, with fixed times so two containers make the same change.
const CHANGE: &str = "rm /etc/group && echo new > /etc/new && mkdir /opt && echo x > /opt/f \
                      && touch -d @1000000000 /etc/new /etc /opt/f /opt";

fn run_out(t: &TestRoot, args: &[&str]) -> String {
    let mut all = vec!["--rm", "--network", "none"];
    all.extend_from_slice(args);
    let o = t.run("run", &all);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    stdout(&o)
}

/// Runs a container that makes [`CHANGE`] and commits it; returns the new image id.
fn committed(t: &TestRoot, base: &str, tag: Option<&str>) -> String {
    let name = format!("c{}", random_hex(8));
    run_out_named(t, &name, &[base, "sh", "-c", CHANGE]);
    let mut args = vec![name.as_str()];
    args.extend(tag);
    let out = t.ok("commit", &args);
    let id = out
        .lines()
        .last()
        .unwrap()
        .trim_start_matches("Created: ")
        .to_string();
    t.ok("rm", &[&name]);
    id
}

fn run_out_named(t: &TestRoot, name: &str, args: &[&str]) {
    let mut all = vec!["--name", name, "--network", "none"];
    all.extend_from_slice(args);
    let o = t.run("run", &all);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
}

fn tar_member(archive: &Path, member: &str) -> Vec<u8> {
    let o = Command::new("tar")
        .arg("xOf")
        .arg(archive)
        .arg(member)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "tar xOf {member}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

/// `manifest.json`'s layer paths of the archive's first image.
fn layer_paths(archive: &Path) -> Vec<String> {
    let m: serde_json::Value =
        serde_json::from_slice(&tar_member(archive, "manifest.json")).unwrap();
    m[0]["Layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect()
}

/// The entry names of a layer tar inside the archive.
fn layer_entries(archive: &Path, layer: &str) -> Vec<String> {
    let blob = tar_member(archive, layer);
    let mut c = Command::new("tar")
        .arg("tf")
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    c.stdin.take().unwrap().write_all(&blob).unwrap();
    let o = c.wait_with_output().unwrap();
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

fn save(t: &TestRoot, image: &str, name: &str) -> PathBuf {
    let path = t.base.join(name);
    t.ok("save", &[image, "-o", path.to_str().unwrap()]);
    path
}

/// The store holds no image, no layer, no blob and no scratch file.
fn assert_empty(t: &TestRoot) {
    assert_eq!(t.ok("images", &["-q"]), "");
    for d in ["layers", "blobs/sha256", "tmp"] {
        let left: Vec<_> = fs::read_dir(t.root.join(d))
            .map(|r| r.map(|e| e.unwrap().file_name()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "{d} holds {left:?}");
    }
}

#[test]
fn init_and_commit_images_round_trip() {
    for d in DRIVERS {
        let t = TestRoot::new(d);
        let base = t.busybox_image();
        committed(&t, &base, Some("me/app:1"));
        let base_tar = save(&t, &base, "base.tar");
        let app_tar = save(&t, "me/app:1", "app.tar");

        // The commit's layer holds the change as OCI entries, and nothing of the runtime's.
        let layers = layer_paths(&app_tar);
        assert_eq!(layers.len(), 2, "{d:?}: base layer + the commit's");
        let mut top = layer_entries(&app_tar, &layers[1]);
        top.sort();
        assert_eq!(
            top,
            ["etc/", "etc/.wh.group", "etc/new", "opt/", "opt/f"],
            "{d:?}: the commit's layer"
        );

        // Loaded where they were made: the same images (Docker: an image is its config),
        // nothing new, no tag moved.
        let before = t.ok("images", &["-q", "--no-trunc"]);
        let app_id = t.ok("images", &["-q", "me/app:1"]);
        t.ok("load", &["-i", base_tar.to_str().unwrap()]);
        t.ok("load", &["-i", app_tar.to_str().unwrap()]);
        assert_eq!(t.ok("images", &["-q", "--no-trunc"]), before, "{d:?}");
        assert_eq!(t.ok("images", &["-q", "me/app:1"]), app_id, "{d:?}");

        let u = TestRoot::new(d);
        let out = u.ok("load", &["-i", base_tar.to_str().unwrap()]);
        assert!(out.starts_with("Loaded image ID: sha256:"), "{out}");
        let id = u.ok("images", &["-q"]).trim().to_string();
        assert!(run_out(&u, &[&id, "cat", "/etc/group"]).contains("root:x:0:"));

        // Docker's line for a tagged image; the deletion stays deleted.
        let out = u.ok("load", &["-i", app_tar.to_str().unwrap()]);
        assert_eq!(out, "Loaded image: me/app:1\n");
        let seen = run_out(
            &u,
            &[
                "me/app:1",
                "sh",
                "-c",
                "cat /etc/new /opt/f; test -e /etc/group && echo present || echo deleted",
            ],
        );
        assert_eq!(seen, "new\nx\ndeleted\n", "{d:?}");
        // The commit's history travels (the init layer gets an empty entry).
        let v: serde_json::Value = serde_json::from_str(&u.ok("inspect", &["me/app:1"])).unwrap();
        // `inspect` prints Docker's shape; bocker's own record is under `Bocker`.
        let rec = v[0]["Bocker"].clone();
        let history = rec["history"].as_array().unwrap();
        assert_eq!(history.len(), 2, "{rec}");
        assert!(
            history[1]["created_by"]
                .as_str()
                .unwrap()
                .contains("/etc/new"),
            "{rec}"
        );

        // Reproducible: two saves are byte for byte the same, and the loaded image saves
        // the very layers it was loaded from.
        assert_eq!(
            fs::read(&app_tar).unwrap(),
            fs::read(save(&t, "me/app:1", "again.tar")).unwrap()
        );
        assert_eq!(
            layer_paths(&save(&u, "me/app:1", "back.tar")),
            layers,
            "{d:?}"
        );
    }
}

#[test]
fn two_commits_of_the_same_change_have_the_same_layer_digest() {
    for d in DRIVERS {
        let t = TestRoot::new(d);
        let base = t.busybox_image();
        let a = committed(&t, &base, None);
        // A second apart at least, so any host time that leaked would differ.
        std::thread::sleep(Duration::from_millis(1100));
        let b = committed(&t, &base, None);
        assert_ne!(a, b);
        let (la, lb) = (
            layer_paths(&save(&t, &a, "a.tar")),
            layer_paths(&save(&t, &b, "b.tar")),
        );
        assert_eq!(
            la.last(),
            lb.last(),
            "{d:?}: same change, same layer digest"
        );
        // zstd and gzip layers are reproducible too (an OCI layout).
        for comp in ["gzip", "zstd"] {
            let digests: Vec<String> = [&a, &b]
                .iter()
                .map(|img| {
                    let p = t.base.join(format!("{img}-{comp}.tar"));
                    t.ok(
                        "save",
                        &[
                            "--format",
                            "oci",
                            "--compression",
                            comp,
                            img,
                            "-o",
                            p.to_str().unwrap(),
                        ],
                    );
                    let index: serde_json::Value =
                        serde_json::from_slice(&tar_member(&p, "index.json")).unwrap();
                    let m = index["manifests"][0]["digest"]
                        .as_str()
                        .unwrap()
                        .replace("sha256:", "blobs/sha256/");
                    let m: serde_json::Value = serde_json::from_slice(&tar_member(&p, &m)).unwrap();
                    m["layers"][1]["digest"].as_str().unwrap().to_string()
                })
                .collect();
            assert_eq!(digests[0], digests[1], "{d:?} {comp}");
        }
    }
}

/// A busybox image on a registry: layer 1 the rootfs with `/etc/gone`, layer 2 deletes
/// it (`.wh.gone`) and adds `/etc/added`.
fn registry_image(reg: &Registry) -> (String, oci::Image) {
    let bb = fs::read(BUSYBOX).unwrap();
    let l1 = Tar::with(vec![
        dir("bin"),
        file("bin/busybox", &bb).mode(0o755),
        symlink("bin/sh", "busybox"),
        symlink("bin/cat", "busybox"),
        symlink("bin/ls", "busybox"),
        dir("etc"),
        file("etc/gone", b"old"),
        dir("proc"),
        dir("sys"),
        dir("dev"),
    ]);
    let l2 = Tar::with(vec![
        dir("etc"),
        file("etc/.wh.gone", b""),
        file("etc/added", b"added\n"),
    ]);
    let layers = vec![
        oci::layer(&l1, Comp::Gzip, Flavor::Oci),
        oci::layer(&l2, Comp::Gzip, Flavor::Oci),
    ];
    let img = oci::image(
        layers,
        Flavor::Oci,
        "amd64",
        serde_json::json!({"Cmd": ["sh"]}),
    );
    reg.pusher().image("saved/bb", "v1", &img);
    (format!("{}/saved/bb:v1", reg.addr), img)
}

#[test]
fn a_pulled_image_is_saved_as_the_blobs_that_were_pulled() {
    let reg = Registry::start(Auth::None);
    let (reference, img) = registry_image(&reg);
    for d in DRIVERS {
        let t = TestRoot::new(d);
        h::pull_ok(&t, &reference);
        let tar = save(&t, &reference, "pulled.tar");
        let want: Vec<String> = img
            .layers
            .iter()
            .map(|l| l.blob.digest.replace("sha256:", "blobs/sha256/"))
            .collect();
        assert_eq!(layer_paths(&tar), want, "{d:?}");
        let m: serde_json::Value =
            serde_json::from_slice(&tar_member(&tar, "manifest.json")).unwrap();
        assert_eq!(m[0]["RepoTags"], serde_json::json!([reference]));

        let u = TestRoot::new(d);
        assert_eq!(
            u.ok("load", &["-i", tar.to_str().unwrap()]),
            format!("Loaded image: {reference}\n")
        );
        let seen = run_out(
            &u,
            &[
                &reference,
                "sh",
                "-c",
                "cat /etc/added; test -e /etc/gone || echo deleted",
            ],
        );
        assert_eq!(seen, "added\ndeleted\n", "{d:?}: the whiteout applied");

        // A commit on top: the pulled layers stay their blobs, the change is a diff.
        let name = format!("c{}", random_hex(8));
        run_out_named(
            &t,
            &name,
            &[
                &reference,
                "sh",
                "-c",
                "rm /etc/added && echo mine > /etc/mine",
            ],
        );
        t.ok("commit", &[&name, "me/onpulled:1"]);
        let tar = save(&t, "me/onpulled:1", "onpulled.tar");
        let layers = layer_paths(&tar);
        assert_eq!(layers[..2], want[..], "{d:?}");
        let mut top = layer_entries(&tar, &layers[2]);
        top.sort();
        assert_eq!(top, ["etc/", "etc/.wh.added", "etc/mine"], "{d:?}");
        u.ok("load", &["-i", tar.to_str().unwrap()]);
        let seen = run_out(
            &u,
            &[
                "me/onpulled:1",
                "sh",
                "-c",
                "cat /etc/mine; ls /etc/added || true",
            ],
        );
        assert_eq!(seen, "mine\n", "{d:?}");
    }
}

fn umoci_files(layout_tar_or_dir: &Path, tag: &str) -> (PathBuf, Vec<String>) {
    let out = PathBuf::from(format!("/tmp/bocker-umoci-{}", random_hex(10)));
    let o = Command::new("umoci")
        .args(["unpack", "--image"])
        .arg(format!("{}:{tag}", layout_tar_or_dir.display()))
        .arg(out.join("bundle"))
        .output()
        .expect("umoci (apt package umoci) must be installed");
    assert!(
        o.status.success(),
        "umoci unpack: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let etc = fs::read_dir(out.join("bundle/rootfs/etc"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    (out, etc)
}

#[test]
fn skopeo_and_umoci_read_bocker_save_and_bocker_loads_skopeo() {
    let reg = Registry::start(Auth::None);
    let (reference, _) = registry_image(&reg);
    for d in DRIVERS {
        let t = TestRoot::new(d);
        let base = t.busybox_image();
        committed(&t, &base, Some("me/app:1"));
        let tar = save(&t, "me/app:1", "app.tar");
        let oci_dir = t.base.join("oci");
        let o = Command::new("skopeo")
            .arg("copy")
            .arg(format!("docker-archive:{}", tar.display()))
            .arg(format!("oci:{}:t", oci_dir.display()))
            .output()
            .expect("skopeo (apt package skopeo) must be installed");
        assert!(
            o.status.success(),
            "skopeo copy: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let (out, etc) = umoci_files(&oci_dir, "t");
        let new = fs::read_to_string(out.join("bundle/rootfs/etc/new"));
        let _ = fs::remove_dir_all(&out);
        assert_eq!(new.unwrap(), "new\n", "{d:?}");
        assert!(etc.contains(&"passwd".to_string()), "{etc:?}");
        assert!(
            !etc.contains(&"group".to_string()),
            "{d:?}: umoci applied the whiteout: {etc:?}"
        );

        // bocker's own OCI layout, unpacked by umoci directly.
        let layout = t.base.join("layout");
        let otar = save_oci(&t, "me/app:1");
        fs::create_dir(&layout).unwrap();
        assert!(Command::new("tar")
            .arg("xf")
            .arg(&otar)
            .arg("-C")
            .arg(&layout)
            .status()
            .unwrap()
            .success());
        let (out, etc) = umoci_files(&layout, "1");
        let _ = fs::remove_dir_all(&out);
        assert!(
            etc.contains(&"new".to_string()) && !etc.contains(&"group".to_string()),
            "{etc:?}"
        );

        // A docker-archive written by skopeo from the registry loads and runs.
        let sk = t.base.join("skopeo.tar");
        let o = Command::new("skopeo")
            .args(["copy", "--src-tls-verify=false"])
            .arg(format!("docker://{reference}"))
            .arg(format!("docker-archive:{}:from/skopeo:t", sk.display()))
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "skopeo copy: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let u = TestRoot::new(d);
        assert_eq!(
            u.ok("load", &["-i", sk.to_str().unwrap()]),
            "Loaded image: from/skopeo:t\n"
        );
        assert_eq!(
            run_out(
                &u,
                &[
                    "from/skopeo:t",
                    "sh",
                    "-c",
                    "cat /etc/added; test -e /etc/gone || echo deleted"
                ]
            ),
            "added\ndeleted\n"
        );

        // From stdin, as `docker load < file`.
        let v = TestRoot::new(d);
        let o = v
            .cmd("load")
            .stdin(fs::File::open(&otar).unwrap())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(stdout(&o), "Loaded image: me/app:1\n");
    }
}

fn save_oci(t: &TestRoot, image: &str) -> PathBuf {
    let path = t.base.join(format!("oci-{}.tar", random_hex(6)));
    t.ok(
        "save",
        &["--format", "oci", image, "-o", path.to_str().unwrap()],
    );
    path
}

#[test]
fn docker_loads_and_runs_bocker_save_output() {
    let Some(dockerd) = Dockerd::start() else {
        eprintln!("SKIPPED: dockerd is not installed (Debian's docker.io); docker load interop not checked");
        return;
    };
    for d in DRIVERS {
        let t = TestRoot::new(d);
        let base = t.busybox_image();
        let tag = format!("bocker-saved/app:{}", random_hex(6));
        committed(&t, &base, Some(&tag));
        let tar = save(&t, &tag, "app.tar");
        let o = dockerd.docker(&["load", "-i", tar.to_str().unwrap()]);
        assert!(o.status.success(), "docker load: {}", stderr(&o));
        assert!(
            stdout(&o).contains(&format!("Loaded image: {tag}")),
            "{}",
            stdout(&o)
        );
        // Docker 20.10: the committed file is there, the deleted one is not.
        let o = dockerd.docker(&[
            "run",
            "--rm",
            "--network",
            "none",
            &tag,
            "sh",
            "-c",
            "cat /etc/new; test -e /etc/group || echo deleted",
        ]);
        assert!(o.status.success(), "docker run: {}", stderr(&o));
        assert_eq!(stdout(&o), "new\ndeleted\n", "{d:?}");
    }
}

/// A docker-archive tar built by hand (members written verbatim).
fn archive(members: Vec<(&str, Vec<u8>)>) -> Vec<u8> {
    Tar::with(members.into_iter().map(|(p, b)| file(p, &b)).collect())
}

fn sha(b: &[u8]) -> String {
    oci::sha256(b)
}

fn refused(t: &TestRoot, tar: &[u8], want: &str) {
    let path = t.base.join(format!("hostile-{}.tar", random_hex(6)));
    fs::write(&path, tar).unwrap();
    let o = t.run("load", &["-i", path.to_str().unwrap()]);
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(
        err.starts_with("bocker load: ") && err.contains(want),
        "{err}"
    );
    assert_eq!(stdout(&o), "");
    assert_empty(t);
}

#[test]
fn hostile_archives_are_refused_and_leave_nothing() {
    let layer = Tar::with(vec![dir("etc"), file("etc/f", b"x")]);
    let other = Tar::with(vec![dir("etc"), file("etc/f", b"y")]);
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [sha(&layer)]},
    }))
    .unwrap();
    let chex = sha(&config)[7..].to_string();
    let manifest = |config: &str, layers: &[&str]| {
        serde_json::to_vec(
            &serde_json::json!([{"Config": config, "RepoTags": ["evil:1"], "Layers": layers}]),
        )
        .unwrap()
    };
    for d in DRIVERS {
        let t = TestRoot::new(d);
        // A member path with `..`.
        refused(
            &t,
            &archive(vec![
                ("../escape", b"x".to_vec()),
                ("manifest.json", b"[]".to_vec()),
            ]),
            "'../escape': the path leaves the archive",
        );
        // manifest.json pointing outside the archive.
        let cfg = format!("{chex}.json");
        refused(
            &t,
            &archive(vec![
                (&cfg, config.clone()),
                ("l/layer.tar", layer.clone()),
                (
                    "manifest.json",
                    manifest("../../etc/passwd", &["l/layer.tar"]),
                ),
            ]),
            "config '../../etc/passwd' points outside the archive",
        );
        refused(
            &t,
            &archive(vec![
                (&cfg, config.clone()),
                ("manifest.json", manifest(&cfg, &["/etc/shadow"])),
            ]),
            "layer '/etc/shadow' points outside the archive",
        );
        // A layer whose content is not the config's diff id.
        refused(
            &t,
            &archive(vec![
                (&cfg, config.clone()),
                ("l/layer.tar", other.clone()),
                ("manifest.json", manifest(&cfg, &["l/layer.tar"])),
            ]),
            "the image config says",
        );
        // A blob whose name is not its digest.
        let lhex = sha(&layer)[7..].to_string();
        let lpath = format!("blobs/sha256/{lhex}");
        refused(
            &t,
            &archive(vec![
                (&cfg, config.clone()),
                (&lpath, other.clone()),
                ("manifest.json", manifest(&cfg, &[&lpath])),
            ]),
            "does not match its digest",
        );
        // A layer linked out of the archive (old `docker save` links repeated layers).
        let mut evil = vec![
            file(&cfg, &config),
            symlink("l/layer.tar", "../../etc/passwd"),
            file("manifest.json", &manifest(&cfg, &["l/layer.tar"])),
        ];
        refused(&t, &Tar::with(evil.clone()), "leaves the archive");
        // Docker 20.10's own form: `<id>/layer.tar`, a repeated layer as a symlink.
        evil[1] = symlink("l/layer.tar", "../a/layer.tar");
        evil.insert(0, file("a/layer.tar", &layer));
        let path = t.base.join("linked.tar");
        fs::write(&path, Tar::with(evil)).unwrap();
        assert_eq!(
            t.ok("load", &["-i", path.to_str().unwrap()]),
            "Loaded image: evil:1\n"
        );
        t.ok("rmi", &["evil:1"]);

        // And the good one loads (the refusals above were for the reasons given).
        let path = t.base.join("good.tar");
        fs::write(
            &path,
            archive(vec![
                (&cfg, config.clone()),
                (&lpath, layer.clone()),
                ("manifest.json", manifest(&cfg, &[&lpath])),
            ]),
        )
        .unwrap();
        assert_eq!(
            t.ok("load", &["-i", path.to_str().unwrap()]),
            "Loaded image: evil:1\n"
        );
    }
}

#[test]
fn a_replaced_directory_stays_replaced() {
    for d in DRIVERS {
        let t = TestRoot::new(d);
        let base = t.busybox_image();
        let name = format!("c{}", random_hex(8));
        // On overlay the new /var is an opaque directory; on btrfs /var/tmp is simply gone.
        run_out_named(
            &t,
            &name,
            &[
                &base,
                "sh",
                "-c",
                "rm -rf /var && mkdir /var && echo only > /var/only",
            ],
        );
        t.ok("commit", &[&name, "me/opaque:1"]);
        let tar = save(&t, "me/opaque:1", "opaque.tar");
        let layers = layer_paths(&tar);
        let top = layer_entries(&tar, &layers[1]);
        let marker = match d {
            Driver::Overlay => "var/.wh..wh..opq",
            Driver::Btrfs => "var/.wh.tmp",
        };
        assert!(top.iter().any(|e| e == marker), "{d:?}: {top:?}");

        let u = TestRoot::new(d);
        u.ok("load", &["-i", tar.to_str().unwrap()]);
        assert_eq!(
            run_out(&u, &["me/opaque:1", "ls", "/var"]),
            "only\n",
            "{d:?}"
        );
        // umoci (through skopeo) agrees.
        let oci_dir = t.base.join("oci");
        let o = Command::new("skopeo")
            .arg("copy")
            .arg(format!("docker-archive:{}", tar.display()))
            .arg(format!("oci:{}:t", oci_dir.display()))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let (out, _) = umoci_files(&oci_dir, "t");
        let var: Vec<_> = fs::read_dir(out.join("bundle/rootfs/var"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        let _ = fs::remove_dir_all(&out);
        assert_eq!(var, ["only"], "{d:?}");
    }
}

#[test]
fn a_load_killed_midway_leaves_nothing_and_can_be_rerun() {
    use std::io::Write;
    for d in DRIVERS {
        let t = TestRoot::new(d);
        let base = t.busybox_image();
        committed(&t, &base, Some("me/app:1"));
        let tar = fs::read(save(&t, "me/app:1", "app.tar")).unwrap();
        let u = TestRoot::new(d);
        let mut child = u.cmd("load").stdin(Stdio::piped()).spawn().unwrap();
        let mut input = child.stdin.take().unwrap();
        // Three quarters of it: the loader blocks reading the rest.
        input.write_all(&tar[..tar.len() * 3 / 4]).unwrap();
        input.flush().unwrap();
        // Killed once its scratch directory holds members (not on a timer).
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let scratch = fs::read_dir(u.root.join("tmp")).ok().and_then(|mut r| {
                r.find_map(|e| {
                    let e = e.ok()?;
                    let n = e.file_name().to_string_lossy().starts_with("load-");
                    (n && fs::read_dir(e.path()).ok()?.next().is_some()).then_some(())
                })
            });
            if scratch.is_some() {
                break;
            }
            assert!(Instant::now() < deadline, "{d:?}: load never started");
            std::thread::sleep(Duration::from_millis(20));
        }
        // SAFETY: signalling our own child by its pid.
        unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
        let _ = child.wait();
        drop(input);
        assert_eq!(u.ok("images", &["-q"]), "", "{d:?}: no half image listed");
        let path = t.base.join("app.tar");
        assert_eq!(
            u.ok("load", &["-i", path.to_str().unwrap()]),
            "Loaded image: me/app:1\n"
        );
        assert_eq!(run_out(&u, &["me/app:1", "cat", "/etc/new"]), "new\n");
        let tmp: Vec<_> = fs::read_dir(u.root.join("tmp")).unwrap().collect();
        assert!(
            tmp.is_empty(),
            "{d:?}: the dead load's scratch was cleaned: {tmp:?}"
        );
    }
}
