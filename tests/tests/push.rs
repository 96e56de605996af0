//! End-to-end tests of `bocker push`, `login` and `logout` against the harness's
//! registry on 127.0.0.1: skopeo and umoci read what bocker pushed, a second push
//! sends no blob, an `init` image travels through the registry to a fresh store, a push
//! killed with SIGKILL can be run again, and login/logout keep Docker's config shape.

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use bocker_e2e::dockerd::Dockerd;
use bocker_e2e::pull::fault::{Action, Fault};
use bocker_e2e::pull::oci::{self, Comp, Flavor};
use bocker_e2e::pull::tar::{dir, file, symlink, Entry, Kind, Tar};
use bocker_e2e::pull::token::{self, TokenServer};
use bocker_e2e::pull::{self as h, Auth, Registry};
use bocker_e2e::run::{code, stderr, stdout};
use bocker_e2e::{random_hex, Driver, TestRoot};

const BUSYBOX: &str = "/bin/busybox";

/// A busybox image on `reg` as `base/bb:v1`; returns its reference.
fn registry_image(reg: &Registry) -> String {
    format!(
        "{}:v1",
        bocker_e2e::pull::busybox_on(reg, "base/bb", &["v1"])
    )
}

/// Runs `sh -c change` in `base` and commits it; returns the new image's id.
fn committed(t: &TestRoot, base: &str, change: &str) -> String {
    let name = format!("c{}", random_hex(8));
    let o = t.run(
        "run",
        &[
            "--name",
            &name,
            "--network",
            "none",
            base,
            "sh",
            "-c",
            change,
        ],
    );
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let out = t.ok("commit", &[&name]);
    t.ok("rm", &[&name]);
    out.lines()
        .last()
        .unwrap()
        .trim_start_matches("Created: ")
        .to_string()
}

fn skopeo_inspect(reference: &str) -> serde_json::Value {
    let o = Command::new("skopeo")
        .args(["inspect", "--tls-verify=false"])
        .arg(format!("docker://{reference}"))
        .output()
        .expect("skopeo (apt package skopeo) must be installed");
    assert!(
        o.status.success(),
        "skopeo inspect: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

/// A scratch directory under /tmp, removed on drop (also when a test fails).
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        let d = PathBuf::from(format!("/tmp/bocker-pushtest-{}", random_hex(10)));
        fs::create_dir_all(&d).unwrap();
        Scratch(d)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// `skopeo copy` of `reference` into an OCI layout, unpacked by umoci.
fn umoci_rootfs(reference: &str) -> Scratch {
    let s = Scratch::new();
    let d = s.0.clone();
    let o = Command::new("skopeo")
        .args(["copy", "--src-tls-verify=false"])
        .arg(format!("docker://{reference}"))
        .arg(format!("oci:{}:t", d.join("layout").display()))
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "skopeo copy: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = Command::new("umoci")
        .args(["unpack", "--image"])
        .arg(format!("{}:t", d.join("layout").display()))
        .arg(d.join("bundle"))
        .output()
        .expect("umoci (apt package umoci) must be installed");
    assert!(
        o.status.success(),
        "umoci unpack: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    s
}

/// `PATCH`es (chunks of an upload) the front has seen.
fn patches(f: &Fault) -> usize {
    f.requests().iter().filter(|r| r.method == "PATCH").count()
}

/// Requests that send blob content (upload sessions and their PATCH/PUT).
fn uploads(f: &Fault) -> usize {
    f.requests()
        .iter()
        .filter(|r| r.target.contains("/blobs/uploads") && r.method != "GET" && r.method != "HEAD")
        .count()
}

#[test]
fn pull_commit_push_is_read_by_skopeo_and_umoci_and_a_second_push_sends_nothing() {
    let reg = Registry::start(Auth::None);
    let front = Fault::start(&reg.addr, |_, _| Action::Forward);
    let base = registry_image(&reg).replace(&reg.addr, &front.addr);
    let t = TestRoot::new(Driver::Overlay);
    h::pull_ok(&t, &base);
    let id = committed(&t, &base, "rm /etc/base && echo pushed > /etc/pushed");
    let target = format!("{}/me/pushed:v2", front.addr);
    // An id is no repository: refused, nothing contacted (Docker Hub least of all).
    let o = t.run("push", &[&id]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("is not a name of the image"),
        "{}",
        stderr(&o)
    );

    // Tagged with the registry's name, the image pushes under it.
    let byname = format!("{}/me/byname:v3", reg.addr);
    t.ok("tag", &[&id, &byname]);
    let o = t.run("push", &[&byname, "-q"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).starts_with("v3: digest: sha256:"),
        "{}",
        stdout(&o)
    );
    assert_eq!(
        skopeo_inspect(&byname)["Layers"].as_array().unwrap().len(),
        2
    );

    let o = t.run("push", &[&id, &target]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    // Docker 20.10's last line of a push.
    let last = stdout(&o);
    assert!(
        last.starts_with("v2: digest: sha256:") && last.contains(" size: "),
        "{last}"
    );
    assert_eq!(stderr(&o).matches(": Pushed").count(), 2, "{}", stderr(&o));
    assert!(uploads(&front) > 0);
    // Blobs under 16 MiB, stored (the pulled base) or written as they are sent (the
    // commit's diff), go up in one `PUT ?digest=` each: no chunks.
    assert_eq!(patches(&front), 0, "small blobs are monolithic");

    let info = skopeo_inspect(&target);
    assert_eq!(info["Layers"].as_array().unwrap().len(), 2, "{info}");
    let d = umoci_rootfs(&target);
    let rootfs = d.0.join("bundle/rootfs");
    assert_eq!(
        fs::read_to_string(rootfs.join("etc/pushed")).unwrap(),
        "pushed\n"
    );
    assert!(!rootfs.join("etc/base").exists(), "the whiteout applied");
    drop(d);

    // The second push: every blob is already there; nothing is uploaded.
    let before = uploads(&front);
    let o = t.run("push", &[&id, &target]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert_eq!(uploads(&front), before, "a second push uploads no blob");
    assert_eq!(
        stderr(&o).matches("Layer already exists").count(),
        2,
        "{}",
        stderr(&o)
    );
    assert_eq!(stdout(&o), last, "the same manifest");

    // The pulled base layer, pushed to another repository of the same registry, is
    // mounted rather than sent (OCI distribution-spec cross-repository mount).
    let o = t.run("push", &[&base, &format!("{}/base/other:v1", front.addr)]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(
        stderr(&o).contains("Mounted from base/bb"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        uploads(&front),
        before + 2,
        "one mount POST each for the layer and the config"
    );
}

/// The busybox image of [`registry_image`] plus device nodes outside /dev (where the
/// runtime's own /dev would hide them), as `base/devs:v1`.
fn device_image(reg: &Registry) -> String {
    let bb = fs::read(BUSYBOX).unwrap();
    let l1 = Tar::with(vec![
        dir("bin"),
        file("bin/busybox", &bb).mode(0o755),
        symlink("bin/sh", "busybox"),
        dir("proc"),
        dir("sys"),
        dir("dev"),
        dir("opt"),
        Entry::new("opt/mem", Kind::Char(1, 1))
            .mode(0o640)
            .owner(0, 15),
        Entry::new("opt/sda", Kind::Block(8, 0))
            .mode(0o660)
            .owner(0, 6),
        Entry::new("opt/null", Kind::Char(1, 3)).mode(0o666),
    ]);
    let img = oci::image(
        vec![oci::layer(&l1, Comp::Gzip, Flavor::Oci)],
        Flavor::Oci,
        "amd64",
        serde_json::json!({"Cmd": ["sh"]}),
    );
    reg.pusher().image("base/devs", "v1", &img);
    format!("{}/base/devs:v1", reg.addr)
}

/// (file type, rdev, mode bits, gid) of a device node.
fn node(path: &std::path::Path) -> (&'static str, u64, u32, u32) {
    let m = fs::symlink_metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let ft = m.file_type();
    let kind = if ft.is_char_device() {
        "c"
    } else if ft.is_block_device() {
        "b"
    } else {
        "other"
    };
    (kind, m.rdev(), m.mode() & 0o7777, m.gid())
}

#[test]
fn device_nodes_survive_pull_commit_push_and_the_device_policy_refuses_them() {
    for driver in [Driver::Overlay, Driver::Btrfs] {
        let reg = Registry::start(Auth::None);
        let base = device_image(&reg);
        let t = TestRoot::new(driver);
        h::pull_ok(&t, &base);
        // Docker 20.10: the nodes exist in the container, and opening one the device
        // cgroup does not allow fails with EPERM; /dev/null's numbers are allowed.
        let name = format!("c{}", random_hex(8));
        let script = "busybox cat /opt/mem; busybox head -c1 /opt/sda; \
                      echo x > /opt/null && echo null-ok; \
                      busybox mknod -m 0600 /opt/made c 1 7 && echo made";
        let o = t.run(
            "run",
            &[
                "--name",
                &name,
                "--network",
                "none",
                &base,
                "sh",
                "-c",
                script,
            ],
        );
        let (out, err) = (stdout(&o), stderr(&o));
        assert_eq!(
            err.matches("Operation not permitted").count(),
            2,
            "{driver:?}: {out}{err}"
        );
        assert!(
            err.contains("/opt/mem") && err.contains("/opt/sda"),
            "{err}"
        );
        assert!(
            out.contains("null-ok") && out.contains("made"),
            "{out}{err}"
        );
        let id = t
            .ok("commit", &[&name])
            .lines()
            .last()
            .unwrap()
            .trim_start_matches("Created: ")
            .to_string();
        t.ok("rm", &[&name]);

        // Pushed: the pulled layer as pulled, the committed one written by bocker; both
        // carry their nodes with major/minor, as umoci unpacks them.
        let target = format!("{}/me/devs:v1", reg.addr);
        let o = t.run("push", &[&id, &target]);
        assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
        let d = umoci_rootfs(&target);
        let rootfs = d.0.join("bundle/rootfs");
        assert_eq!(
            node(&rootfs.join("opt/mem")),
            ("c", libc::makedev(1, 1), 0o640, 15)
        );
        assert_eq!(
            node(&rootfs.join("opt/sda")),
            ("b", libc::makedev(8, 0), 0o660, 6)
        );
        assert_eq!(
            node(&rootfs.join("opt/made")),
            ("c", libc::makedev(1, 7), 0o600, 0)
        );
    }
}

/// `img` with a config that says when it was built and how (as a registry's would).
fn with_build_date(mut img: oci::Image, created: &str) -> oci::Image {
    let mut cfg: serde_json::Value = serde_json::from_slice(&img.config.bytes).unwrap();
    cfg["created"] = serde_json::json!(created);
    cfg["history"] = serde_json::json!([{"created": created, "created_by": "ADD rootfs /"}]);
    img.config.bytes = serde_json::to_vec(&cfg).unwrap();
    img.config.digest = oci::sha256(&img.config.bytes);
    let mut m: serde_json::Value = serde_json::from_slice(&img.manifest.bytes).unwrap();
    m["config"]["digest"] = serde_json::json!(img.config.digest);
    m["config"]["size"] = serde_json::json!(img.config.bytes.len());
    img.manifest.bytes = serde_json::to_vec(&m).unwrap();
    img.manifest.digest = oci::sha256(&img.manifest.bytes);
    img
}

/// The Docker id (`sha256:` of the config blob) bocker records for `image`.
fn docker_id(t: &TestRoot, image: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(&t.ok("inspect", &[image])).unwrap();
    format!("sha256:{}", v[0]["Bocker"]["blobs"][0].as_str().unwrap())
}

#[test]
fn a_commit_writes_its_own_config_and_every_tool_agrees_on_its_id() {
    for driver in [Driver::Overlay, Driver::Btrfs] {
        let reg = Registry::start(Auth::None);
        let bb = fs::read(BUSYBOX).unwrap();
        let l1 = Tar::with(vec![
            dir("bin"),
            file("bin/busybox", &bb).mode(0o755),
            symlink("bin/sh", "busybox"),
            dir("proc"),
            dir("sys"),
            dir("dev"),
            dir("etc"),
        ]);
        let img = oci::image(
            vec![oci::layer(&l1, Comp::Gzip, Flavor::Oci)],
            Flavor::Oci,
            "amd64",
            serde_json::json!({"Cmd": ["sh"]}),
        );
        let img = with_build_date(img, "2019-01-01T00:00:00Z");
        reg.pusher().image("base/dated", "v1", &img);
        let base = format!("{}/base/dated:v1", reg.addr);
        let t = TestRoot::new(driver);
        h::pull_ok(&t, &base);
        assert_eq!(docker_id(&t, &base), img.config.digest);

        let name = format!("c{}", random_hex(8));
        let o = t.run(
            "run",
            &[
                "--name",
                &name,
                "--network",
                "none",
                &base,
                "sh",
                "-c",
                "echo new > /etc/new",
            ],
        );
        assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
        let tag = format!("{}/me/committed:v1", reg.addr);
        let out = t.ok(
            "commit",
            &[
                "-m",
                "the message",
                "-a",
                "Jane <j@example.com>",
                "--change",
                "ENV X=1",
                &name,
                &tag,
            ],
        );
        t.ok("rm", &[&name]);
        let id = out
            .lines()
            .last()
            .unwrap()
            .trim_start_matches("Created: ")
            .to_string();

        // Docker 20.10: a commit is a new image config, so a new id, CREATED now.
        let own = docker_id(&t, &id);
        assert_ne!(
            own, img.config.digest,
            "{driver:?}: the parent's config was kept"
        );
        let blob = fs::read(t.root.join("blobs/sha256").join(&own["sha256:".len()..])).unwrap();
        assert_eq!(oci::sha256(&blob), own, "the id is the config's digest");
        let cfg: serde_json::Value = serde_json::from_slice(&blob).unwrap();
        assert_eq!(cfg["rootfs"]["diff_ids"].as_array().unwrap().len(), 2);
        assert_eq!(cfg["rootfs"]["diff_ids"][0], img.layers[0].diff_id.as_str());
        assert_eq!(cfg["history"].as_array().unwrap().len(), 2, "{cfg}");
        assert_eq!(cfg["history"][1]["comment"], "the message");
        assert_eq!(cfg["history"][1]["author"], "Jane <j@example.com>");
        assert_eq!(cfg["author"], "Jane <j@example.com>");
        assert!(cfg["config"]["Env"].to_string().contains("X=1"), "{cfg}");
        assert_ne!(cfg["created"], "2019-01-01T00:00:00Z");
        let created = t.ok("images", &["--format", "{{.CreatedSince}}", &tag]);
        assert!(
            created.trim().ends_with("seconds ago")
                || [
                    "1 second ago",
                    "Less than a second ago",
                    "About a minute ago"
                ]
                .contains(&created.trim()),
            "{created}"
        );
        let hist = t.ok("history", &["--no-trunc", "--format", "{{.Comment}}", &id]);
        assert_eq!(
            hist.matches("the message").count(),
            1,
            "once in history: {hist}"
        );

        // Pushed and saved: the same config, so the same id.
        let o = t.run("push", &[&tag]);
        assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
        let raw = Command::new("skopeo")
            .args(["inspect", "--raw", "--tls-verify=false"])
            .arg(format!("docker://{tag}"))
            .output()
            .unwrap();
        let manifest: serde_json::Value = serde_json::from_slice(&raw.stdout).unwrap();
        assert_eq!(manifest["config"]["digest"], own.as_str(), "{manifest}");
        let archive = t.base.join("committed.tar");
        t.ok("save", &[&id, "-o", archive.to_str().unwrap()]);
        let m = Command::new("tar")
            .arg("xOf")
            .arg(&archive)
            .arg("manifest.json")
            .output()
            .unwrap();
        let m: serde_json::Value = serde_json::from_slice(&m.stdout).unwrap();
        assert!(
            m[0]["Config"]
                .as_str()
                .unwrap()
                .contains(&own["sha256:".len()..]),
            "{m}"
        );

        // Removed: Docker's line names the commit's own id.
        let o = t.run("rmi", &[&tag]);
        assert!(
            stdout(&o).contains(&format!("Deleted: {own}")),
            "{}",
            stdout(&o)
        );
    }
}

#[test]
fn docker_pulls_and_runs_a_bocker_pushed_commit() {
    let Some(dockerd) = Dockerd::start() else {
        eprintln!("SKIPPED: dockerd is not installed (Debian's docker.io); docker pull interop not checked");
        return;
    };
    let reg = Registry::start(Auth::None);
    let base = registry_image(&reg);
    for driver in [Driver::Overlay, Driver::Btrfs] {
        let t = TestRoot::new(driver);
        h::pull_ok(&t, &base);
        let id = committed(&t, &base, "rm /etc/base && echo committed > /etc/committed");
        let tag = format!("{}/me/for-docker:{}", reg.addr, random_hex(6));
        let o = t.run("push", &[&id, &tag]);
        assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
        let o = dockerd.docker(&["pull", &tag]);
        assert!(
            o.status.success(),
            "docker pull: {}{}",
            stdout(&o),
            stderr(&o)
        );
        // The image id Docker computes (its config's digest) is the one bocker shows.
        let o = dockerd.docker(&["image", "inspect", "--format", "{{.Id}}", &tag]);
        assert_eq!(stdout(&o).trim(), docker_id(&t, &id), "{driver:?}");
        // Docker 20.10: the committed file is there, the deleted one is not.
        let o = dockerd.docker(&[
            "run",
            "--rm",
            "--network",
            "none",
            &tag,
            "sh",
            "-c",
            "cat /etc/committed; test -e /etc/base || echo deleted",
        ]);
        assert!(o.status.success(), "docker run: {}", stderr(&o));
        assert_eq!(stdout(&o), "committed\ndeleted\n", "{driver:?}");
        dockerd.docker(&["rmi", &tag]);
    }
}

#[test]
fn an_init_image_pushed_and_pulled_back_runs_in_a_fresh_store_also_after_a_killed_push() {
    let reg = Registry::start(Auth::None);
    let t = TestRoot::new(Driver::Btrfs);
    let init = t.busybox_image();
    // 40 MB that gzip cannot shrink: the layer goes up in chunks (PATCH).
    let id = committed(
        &t,
        &init,
        "head -c 40000000 /dev/urandom > /big && touch -d @1000000000 /big",
    );
    let front = Fault::start(&reg.addr, |_, _| Action::Forward);
    let target = format!("{}/me/init:1", front.addr);

    // A push killed with SIGKILL while it uploads: running it again works.
    let mut child = t
        .cmd("push")
        .args([&id, &target])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    // SAFETY: signalling our own child by its pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    let _ = child.wait();
    let o = t.run("push", &[&id, &target, "--format", "oci"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let n = patches(&front);
    assert!(n >= 3, "40 MB goes up in 16 MiB chunks: {n} PATCHes");
    let target = target.replace(&front.addr, &reg.addr);
    let info = skopeo_inspect(&target);
    let layers = info["Layers"].as_array().unwrap().clone();
    assert!(!layers.is_empty());

    // The layer was written while it was sent; its digests are recorded, so the next
    // push asks the registry (HEAD) and sends nothing, without exporting it again.
    let before = uploads(&front);
    let o = t.run(
        "push",
        &[&id, &format!("{}/me/init:1", front.addr), "--format", "oci"],
    );
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert_eq!(uploads(&front), before, "a second push uploads no blob");
    assert!(
        stderr(&o).contains("Layer already exists"),
        "{}",
        stderr(&o)
    );

    // An upload that fails half-way (the registry refuses the second chunk) starts
    // again from a fresh session with a fresh export, which makes the same bytes.
    let refused = std::sync::atomic::AtomicBool::new(false);
    let failing = Fault::start(&reg.addr, move |r, _| {
        let second = r.method == "PATCH"
            && r.header("Content-Range")
                .is_some_and(|v| v.starts_with(&format!("{}-", 16 << 20)));
        if second && !refused.swap(true, std::sync::atomic::Ordering::SeqCst) {
            let body = br#"{"errors":[{"code":"BLOB_UPLOAD_INVALID","message":"injected"}]}"#;
            return Action::Respond(400, vec![], body.to_vec());
        }
        Action::Forward
    });
    let again = format!("{}/me/again:1", failing.addr);
    let o = t.run("push", &[&id, &again, "--format", "oci"]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let first_chunks = failing
        .requests()
        .iter()
        .filter(|r| {
            r.method == "PATCH"
                && r.header("Content-Range")
                    .is_some_and(|v| v.starts_with("0-"))
        })
        .count();
    assert_eq!(first_chunks, 2, "the layer was sent again from its start");
    let again = again.replace(&failing.addr, &reg.addr);
    assert_eq!(
        skopeo_inspect(&again)["Layers"].as_array().unwrap(),
        &layers,
        "the same layer blobs"
    );

    let u = TestRoot::new(Driver::Overlay);
    h::pull_ok(&u, &target);
    let o = u.run(
        "run",
        &[
            "--rm",
            "--network",
            "none",
            &target,
            "sh",
            "-c",
            "wc -c < /big",
        ],
    );
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert_eq!(stdout(&o).trim(), "40000000");
}

#[test]
fn login_and_logout_keep_dockers_config_shape() {
    let scratch = Scratch::new();
    let dir = scratch.0.clone();
    let htpasswd = dir.join("htpasswd");
    let o = Command::new("htpasswd")
        .args(["-Bbn", "alice", "s3cret"])
        .output()
        .expect("htpasswd (apt package apache2-utils) must be installed");
    fs::write(&htpasswd, &o.stdout).unwrap();
    let reg = Registry::start(Auth::Htpasswd(htpasswd));
    let cfg_dir = dir.join("docker");
    fs::create_dir_all(&cfg_dir).unwrap();
    let cfg = cfg_dir.join("config.json");
    fs::write(
        &cfg,
        r#"{"auths":{"other.example":{"auth":"eDp5"}},"psFormat":"table {{.ID}}"}"#,
    )
    .unwrap();
    let mut t = TestRoot::new(Driver::Overlay);
    t.env("DOCKER_CONFIG", cfg_dir.to_str().unwrap());

    let bad = t.run("login", &["-u", "alice", "-p", "wrong", &reg.addr]);
    assert_ne!(code(&bad), 0);
    assert!(
        !fs::read_to_string(&cfg).unwrap().contains(&reg.addr),
        "nothing saved on failure"
    );

    let mut child = t
        .cmd("login")
        .args(["-u", "alice", "--password-stdin", &reg.addr])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"s3cret\n").unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert_eq!(stdout(&o), "Login Succeeded\n");
    let v: serde_json::Value = serde_json::from_str(&fs::read_to_string(&cfg).unwrap()).unwrap();
    // Docker 20.10: base64("alice:s3cret"), other keys and entries kept.
    assert_eq!(v["auths"][&reg.addr]["auth"], "YWxpY2U6czNjcmV0");
    assert_eq!(v["auths"]["other.example"]["auth"], "eDp5");
    assert_eq!(v["psFormat"], "table {{.ID}}");
    assert_eq!(
        fs::metadata(&cfg).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // The saved credentials push.
    let id = t.busybox_image();
    let o = t.run("push", &[&id, &format!("{}/me/authed:1", reg.addr)]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));

    let o = t.run("logout", &[&reg.addr]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert_eq!(
        stdout(&o),
        format!("Removing login credentials for {}\n", reg.addr)
    );
    let v: serde_json::Value = serde_json::from_str(&fs::read_to_string(&cfg).unwrap()).unwrap();
    assert!(v["auths"].get(&reg.addr).is_none());
    assert_eq!(v["auths"]["other.example"]["auth"], "eDp5");
    drop(reg);
}

/// A fake `docker-credential-fake` in `dir` keeping one secret in `dir/creds.json`
/// (docker-credential-helpers protocol: store/get/erase, input on stdin); each call's
/// verb and stdin is appended to `dir/calls`. Erase fails while `dir/erase-fails` exists.
fn fake_helper(dir: &std::path::Path) {
    let d = dir.display();
    let script = format!(
        r#"#!/bin/sh
in=$(cat)
printf '%s %s\n' "$1" "$in" >> {d}/calls
case "$1" in
store) printf '%s' "$in" > {d}/creds.json ;;
get) [ -f {d}/creds.json ] || {{ echo "credentials not found in native keychain"; exit 1; }}
     cat {d}/creds.json ;;
erase) [ -e {d}/erase-fails ] && {{ echo "keychain locked"; exit 1; }}
       rm -f {d}/creds.json ;;
*) exit 2 ;;
esac
"#
    );
    let path = dir.join("docker-credential-fake");
    fs::write(&path, script).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn login_and_logout_use_the_configured_credential_helper() {
    let scratch = Scratch::new();
    let dir = scratch.0.clone();
    let htpasswd = dir.join("htpasswd");
    let o = Command::new("htpasswd")
        .args(["-Bbn", "alice", "s3cret"])
        .output()
        .expect("htpasswd (apt package apache2-utils) must be installed");
    fs::write(&htpasswd, &o.stdout).unwrap();
    let reg = Registry::start(Auth::Htpasswd(htpasswd));
    fake_helper(&dir);
    let cfg_dir = dir.join("docker");
    fs::create_dir_all(&cfg_dir).unwrap();
    let cfg = cfg_dir.join("config.json");
    fs::write(&cfg, r#"{"credsStore":"fake","auths":{}}"#).unwrap();
    let mut t = TestRoot::new(Driver::Overlay);
    t.env("DOCKER_CONFIG", cfg_dir.to_str().unwrap());
    let path = format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    t.env("PATH", &path);

    let o = t.run("login", &["-u", "alice", "-p", "s3cret", &reg.addr]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    // Docker 20.10: the secret goes to the helper; the file keeps an empty entry.
    let stored: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("creds.json")).unwrap()).unwrap();
    assert_eq!(
        stored,
        serde_json::json!({"ServerURL": reg.addr, "Username": "alice", "Secret": "s3cret"})
    );
    let text = fs::read_to_string(&cfg).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["auths"][&reg.addr], serde_json::json!({}), "{text}");
    assert_eq!(v["credsStore"], "fake");
    assert!(
        !text.contains("YWxpY2U6czNjcmV0") && !text.contains("s3cret"),
        "{text}"
    );

    // What the helper keeps is what push uses.
    let id = t.busybox_image();
    let o = t.run("push", &[&id, &format!("{}/me/helped:1", reg.addr)]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));

    let o = t.run("logout", &[&reg.addr]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert_eq!(
        stdout(&o),
        format!("Removing login credentials for {}\n", reg.addr)
    );
    assert!(!dir.join("creds.json").exists(), "the helper erased it");
    let calls = fs::read_to_string(dir.join("calls")).unwrap();
    assert!(calls.contains(&format!("erase {}\n", reg.addr)), "{calls}");
    let v: serde_json::Value = serde_json::from_str(&fs::read_to_string(&cfg).unwrap()).unwrap();
    assert!(v["auths"].get(&reg.addr).is_none());
    let o = t.run("logout", &[&reg.addr]);
    assert_eq!(stdout(&o), format!("Not logged in to {}\n", reg.addr));

    // A helper that cannot erase: Docker warns and still forgets the entry.
    t.ok("login", &["-u", "alice", "-p", "s3cret", &reg.addr]);
    fs::write(dir.join("erase-fails"), b"").unwrap();
    let o = t.run("logout", &[&reg.addr]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert!(
        stderr(&o).contains("WARNING: could not erase credentials")
            && stderr(&o).contains("keychain locked"),
        "{}",
        stderr(&o)
    );
    let v: serde_json::Value = serde_json::from_str(&fs::read_to_string(&cfg).unwrap()).unwrap();
    assert!(v["auths"].get(&reg.addr).is_none());
    drop(reg);
}

#[test]
fn login_and_push_with_bearer_tokens() {
    let ts = TokenServer::start("bob", "hunter2");
    let reg = Registry::start(Auth::Token {
        realm: ts.realm(),
        service: token::SERVICE.into(),
        issuer: token::ISSUER.into(),
        bundle: ts.bundle(),
    });
    let scratch = Scratch::new();
    let cfg_dir = scratch.0.join("docker");
    let mut t = TestRoot::new(Driver::Overlay);
    t.env("DOCKER_CONFIG", cfg_dir.to_str().unwrap());
    let id = t.busybox_image();
    let target = format!("{}/tok/pushed:1", reg.addr);

    // Without credentials the token service refuses, and says there were none.
    let o = t.run("push", &[&id, &target]);
    assert_ne!(code(&o), 0);
    assert!(stderr(&o).contains("no credentials for"), "{}", stderr(&o));

    let o = t.run("login", &["-u", "bob", "-p", "hunter2", &reg.addr]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert_eq!(stdout(&o), "Login Succeeded\n");
    let o = t.run("push", &[&id, &target]);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));

    let mut u = TestRoot::new(Driver::Btrfs);
    u.env("DOCKER_CONFIG", cfg_dir.to_str().unwrap());
    h::pull_ok(&u, &target);
    let o = u.run(
        "run",
        &["--rm", "--network", "none", &target, "sh", "-c", "echo tok"],
    );
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    assert_eq!(stdout(&o), "tok\n");
}
