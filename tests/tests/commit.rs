//! End-to-end tests of `bocker commit` on both snapshot drivers: the seed's dpkg case
//! (commit into the same image id), overlay whiteouts and opaque directories, `--change`
//! with `-m`/`-a` and a name:tag, refusals, a running container, and SIGKILL mid-commit.

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bocker_e2e::run::{code, image_with, stderr, stdout, Running};
use bocker_e2e::{random_hex, Driver, TestRoot};

const DRIVERS: [Driver; 2] = [Driver::Overlay, Driver::Btrfs];

fn inspect(t: &TestRoot, what: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(&t.ok("inspect", &[what])).unwrap();
    v[0]["Bocker"].clone()
}

fn created_id(out: &str) -> String {
    let line = out.lines().last().unwrap_or_default();
    line.strip_prefix("Created: img_")
        .map(|s| format!("img_{s}"))
        .unwrap_or_else(|| panic!("no Created: line in {out:?}"))
}

/// Runs a throwaway container and returns its id (the record stays, for commit).
fn run_ctr(t: &TestRoot, args: &[&str]) -> String {
    let name = format!("c{}", random_hex(8));
    let mut all = vec!["--name", &name, "--network", "none"];
    all.extend_from_slice(args);
    let o = t.run("run", &all);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    inspect(t, &name)["id"].as_str().unwrap().to_string()
}

fn run_out(t: &TestRoot, args: &[&str]) -> String {
    let mut all = vec!["--rm", "--network", "none"];
    all.extend_from_slice(args);
    let o = t.run("run", &all);
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    stdout(&o)
}

fn image_ids(t: &TestRoot) -> Vec<String> {
    let mut v: Vec<String> = t
        .ok("images", &["-q"])
        .lines()
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

/// Copies `bin` and the libraries `ldd` lists for it into `root`, at the same paths.
fn copy_with_libs(root: &Path, bin: &str) {
    let dst = root.join(bin.trim_start_matches('/'));
    fs::create_dir_all(dst.parent().unwrap()).unwrap();
    fs::copy(bin, &dst).unwrap();
    let out = Command::new("ldd").arg(bin).output().unwrap();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let lib = line
            .split_whitespace()
            .find(|w| w.starts_with('/'))
            .map(str::to_string);
        if let Some(lib) = lib {
            let d = root.join(lib.trim_start_matches('/'));
            fs::create_dir_all(d.parent().unwrap()).unwrap();
            fs::copy(&lib, &d).unwrap();
        }
    }
}

/// A Debian-like busybox image: the host's dpkg, dpkg-deb, -split, -query and GNU tar with
/// their libraries, an
/// empty dpkg database, and an `ldconfig` stub (dpkg insists on finding one in PATH).
fn dpkg_image(t: &TestRoot) -> String {
    image_with(t, |root| {
        copy_with_libs(root, "/usr/bin/dpkg");
        copy_with_libs(root, "/usr/bin/dpkg-deb");
        copy_with_libs(root, "/usr/bin/dpkg-split");
        copy_with_libs(root, "/usr/bin/dpkg-query");
        copy_with_libs(root, "/usr/bin/tar"); // dpkg-deb needs GNU tar's options
        for d in ["var/lib/dpkg/info", "var/lib/dpkg/updates", "etc/dpkg"] {
            fs::create_dir_all(root.join(d)).unwrap();
        }
        fs::write(root.join("var/lib/dpkg/status"), "").unwrap();
        fs::write(root.join("var/lib/dpkg/available"), "").unwrap();
        let ldconfig = root.join("sbin/ldconfig");
        fs::write(&ldconfig, "#!/bin/sh\nexit 0\n").unwrap();
        fs::set_permissions(
            &ldconfig,
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
    })
}

/// Builds `hello-bocker_1.0_all.deb` (one file) in `dir` with the host's dpkg-deb.
fn build_deb(dir: &Path) -> PathBuf {
    let pkg = dir.join("pkg");
    fs::create_dir_all(pkg.join("DEBIAN")).unwrap();
    fs::create_dir_all(pkg.join("usr/share/hello-bocker")).unwrap();
    fs::write(
        pkg.join("DEBIAN/control"),
        "Package: hello-bocker\nVersion: 1.0\nArchitecture: all\n\
         Maintainer: Test <test@example.invalid>\nDescription: bocker commit test\n",
    )
    .unwrap();
    fs::write(
        pkg.join("usr/share/hello-bocker/greeting"),
        "hello from a deb\n",
    )
    .unwrap();
    let deb = dir.join("hello.deb");
    let o = Command::new("dpkg-deb")
        .args(["--root-owner-group", "-Zgzip", "--build"])
        .arg(&pkg)
        .arg(&deb)
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    deb
}

/// The seed's commit test: dpkg installs a package in a container, which is committed
/// into the same image id; a new container sees the package; a container made from the
/// old content (running during the commit) does not.
fn seed_dpkg_commit_into_the_same_image(driver: Driver) {
    let t = TestRoot::new(driver);
    let img = dpkg_image(&t);
    let debs = t.base.join("debs");
    fs::create_dir(&debs).unwrap();
    build_deb(&debs);
    let vol = t.base.join("vol");
    fs::create_dir(&vol).unwrap();

    // A container made before the commit, kept running until we look inside it.
    let v = format!("{}:/vol", vol.display());
    let before = Running::start(
        &t,
        &[
            "--network",
            "none",
            "-v",
            &v,
            &img,
            "sh",
            "-c",
            "while [ ! -e /vol/go ]; do sleep 0.05; done; \
             ls /usr/share/hello-bocker >/vol/ls 2>&1; wc -c </var/lib/dpkg/status >/vol/size",
        ],
    );
    let before_rec = before.wait_running(&t);

    let dv = format!("{}:/debs:ro", debs.display());
    let installer = run_ctr(&t, &["-v", &dv, &img, "dpkg", "-i", "/debs/hello.deb"]);
    let out = t.ok("commit", &[&installer, &img]);
    assert_eq!(out, format!("Removed: {img}\nCreated: {img}\n"));
    assert_eq!(image_ids(&t), vec![img.clone()], "no other image appeared");

    assert_eq!(
        run_out(&t, &[&img, "cat", "/usr/share/hello-bocker/greeting"]),
        "hello from a deb\n"
    );
    let status = run_out(&t, &[&img, "dpkg", "-s", "hello-bocker"]);
    assert!(status.contains("Status: install ok installed"), "{status}");

    // The container made before the commit still has the old content.
    fs::write(vol.join("go"), "").unwrap();
    let o = before.wait();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        fs::read_to_string(vol.join("ls"))
            .unwrap()
            .contains("No such file"),
        "the old container sees the package"
    );
    assert_eq!(fs::read_to_string(vol.join("size")).unwrap().trim(), "0");
    let after_rec = inspect(&t, before_rec["id"].as_str().unwrap());
    assert_eq!(after_rec["layers"], before_rec["layers"]);
}

#[test]
fn seed_dpkg_commit_into_the_same_image_overlay() {
    seed_dpkg_commit_into_the_same_image(Driver::Overlay);
}

#[test]
fn seed_dpkg_commit_into_the_same_image_btrfs() {
    seed_dpkg_commit_into_the_same_image(Driver::Btrfs);
}

/// Deleted files and replaced directories stay deleted in the committed image and in an
/// image committed on top of it (overlay: 0/0 whiteouts and the opaque xattr carried in
/// the new layer, without overlay's host-specific xattrs).
#[test]
fn deletions_and_opaque_directories_survive_a_commit() {
    for driver in DRIVERS {
        let t = TestRoot::new(driver);
        let img = image_with(&t, |root| {
            fs::write(root.join("etc/gone"), "x").unwrap();
            fs::create_dir_all(root.join("data/dir/sub")).unwrap();
            fs::write(root.join("data/dir/a"), "a").unwrap();
            fs::write(root.join("data/dir/sub/b"), "b").unwrap();
            fs::write(root.join("data/keep"), "k").unwrap();
        });
        let c = run_ctr(
            &t,
            &[
                &img,
                "sh",
                "-c",
                "rm /etc/gone && rm -rf /data/dir && mkdir /data/dir && echo c >/data/dir/c \
                 && echo k2 >/data/keep",
            ],
        );
        let new = created_id(&t.ok("commit", &[&c]));
        assert_ne!(new, img);
        let look = "ls /etc/gone 2>&1; ls -R /data; cat /data/keep";
        let want =
            "ls: /etc/gone: No such file or directory\n/data:\ndir\nkeep\n\n/data/dir:\nc\nk2\n";
        assert_eq!(run_out(&t, &[&new, "sh", "-c", look]), want, "{driver:?}");
        // The old image is untouched.
        assert_eq!(run_out(&t, &[&img, "cat", "/etc/gone"]), "x");

        // Once more on top: the deletions are still in force two layers down.
        let c2 = run_ctr(&t, &[&new, "touch", "/data/new"]);
        let newer = created_id(&t.ok("commit", &[&c2]));
        let out = run_out(&t, &[&newer, "sh", "-c", "ls /etc/gone 2>&1; ls /data/dir"]);
        assert_eq!(out, "ls: /etc/gone: No such file or directory\nc\n");

        if driver == Driver::Overlay {
            let layers = inspect(&t, &new)["layer_paths"].clone();
            let top = PathBuf::from(layers.as_array().unwrap().last().unwrap().as_str().unwrap());
            let wh = fs::symlink_metadata(top.join("etc/gone")).unwrap();
            assert!(wh.file_type().is_char_device() && wh.rdev() == 0, "{wh:?}");
            let opaque = xattr_get(&top.join("data/dir"), "trusted.overlay.opaque");
            assert_eq!(opaque.as_deref(), Some(&b"y"[..]));
            for p in [top.join("data"), top.join("data/keep"), top.clone()] {
                let names = xattr_list(&p);
                assert!(
                    !names.iter().any(|n| n.starts_with("trusted.overlay.")
                        && n != "trusted.overlay.opaque"),
                    "{p:?} keeps overlay's private xattrs: {names:?}"
                );
            }
        }
    }
}

fn xattr_get(p: &Path, name: &str) -> Option<Vec<u8>> {
    let o = Command::new("getfattr")
        .args(["--only-values", "-n", name])
        .arg(p)
        .output()
        .ok()?;
    o.status.success().then_some(o.stdout)
}

fn xattr_list(p: &Path) -> Vec<String> {
    let o = Command::new("getfattr")
        .args(["-h", "-d", "-m", "-", "--absolute-names"])
        .arg(p)
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains('='))
        .map(|l| l.split('=').next().unwrap().to_string())
        .collect()
}

/// `--change` (Dockerfile syntax), `-m` and `-a` show in `inspect` and take effect in
/// `run`; the new image is tagged and runs by that name (Docker 20.10 behaviour).
#[test]
fn changes_and_history_show_in_inspect_and_take_effect() {
    for driver in DRIVERS {
        let t = TestRoot::new(driver);
        let img = t.busybox_image();
        let c = run_ctr(
            &t,
            &[
                &img,
                "sh",
                "-c",
                "mkdir -p /srv/app && echo motd >/srv/app/motd",
            ],
        );
        let out = t.ok(
            "commit",
            &[
                "--change",
                r#"CMD ["cat", "motd"]"#,
                "--change",
                r#"ENV GREETING="hi there" OTHER=1"#,
                "-c",
                "WORKDIR /srv/app",
                "-c",
                "EXPOSE 8080",
                "-c",
                "LABEL org.example.k=v",
                "-m",
                "add motd",
                "-a",
                "Jane <jane@example.invalid>",
                &c,
                "myapp:v1",
            ],
        );
        let id = created_id(&out);
        let v = inspect(&t, "myapp:v1");
        assert_eq!(v["id"], id.as_str());
        assert_eq!(v["config"]["cmd"], serde_json::json!(["cat", "motd"]));
        assert_eq!(v["config"]["working_dir"], "/srv/app");
        assert_eq!(
            v["config"]["exposed_ports"],
            serde_json::json!(["8080/tcp"])
        );
        assert_eq!(v["config"]["labels"]["org.example.k"], "v");
        let env = v["config"]["env"].as_array().unwrap();
        assert!(env.contains(&"GREETING=hi there".into()), "{env:?}");
        assert!(
            !env.iter()
                .any(|e| e.as_str().unwrap().starts_with("HOSTNAME=")),
            "{env:?}"
        );
        let h = v["history"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(h["comment"], "add motd");
        assert_eq!(h["author"], "Jane <jane@example.invalid>");
        assert!(h["created_by"]
            .as_str()
            .unwrap()
            .contains("mkdir -p /srv/app"));
        assert!(v["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().unwrap().ends_with("myapp:v1")));

        assert_eq!(run_out(&t, &["myapp:v1"]), "motd\n");
        assert_eq!(
            run_out(&t, &["myapp:v1", "sh", "-c", "echo $GREETING; pwd"]),
            "hi there\n/srv/app\n"
        );
    }
}

/// Bad targets and changes are refused with one line, and nothing is created.
#[test]
fn refusals_create_nothing() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    let c = run_ctr(&t, &[&img, "touch", "/x"]);
    let before = image_ids(&t);
    let e = t.fails("commit", &[&c, "img_000000000000"]);
    assert!(
        e.contains("No image named 'img_000000000000' exists"),
        "{e}"
    );
    let e = t.fails("commit", &[&c, "Bad:Tag"]);
    assert!(e.contains("invalid reference format"), "{e}");
    let e = t.fails("commit", &["--change", "RUN rm -rf /", &c]);
    assert!(e.contains("RUN is not a valid change command"), "{e}");
    let e = t.fails("commit", &["ps_000000000000"]);
    assert!(e.contains("ps_000000000000"), "{e}");
    assert_eq!(image_ids(&t), before);
    assert_eq!(
        fs::read_dir(t.root.join("layers"))
            .unwrap()
            .filter(|e| e
                .as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".tmp"))
            .count(),
        0
    );
}

/// A running container is committed paused (Docker's default) and keeps running after;
/// `--pause=false` commits it without freezing.
#[test]
fn a_running_container_is_committed_and_keeps_running() {
    for driver in DRIVERS {
        let t = TestRoot::new(driver);
        let img = t.busybox_image();
        let vol = t.base.join("vol");
        fs::create_dir(&vol).unwrap();
        let v = format!("{}:/vol", vol.display());
        let r = Running::start(
            &t,
            &[
                "--network",
                "none",
                "-v",
                &v,
                &img,
                "sh",
                "-c",
                "echo live >/state; while [ ! -e /vol/go ]; do sleep 0.05; done; echo done >/vol/out",
            ],
        );
        let rec = r.wait_running(&t);
        let ctr = rec["id"].as_str().unwrap().to_string();
        // Wait for the file the container writes first.
        let deadline = Instant::now() + Duration::from_secs(20);
        let committed = loop {
            let id = created_id(&t.ok("commit", &[&ctr]));
            let o = t.run("run", &["--rm", "--network", "none", &id, "cat", "/state"]);
            if stdout(&o) == "live\n" {
                break id;
            }
            assert!(Instant::now() < deadline, "{}", stderr(&o));
        };
        let paused_not = created_id(&t.ok("commit", &["--pause=false", &ctr]));
        assert_eq!(run_out(&t, &[&paused_not, "cat", "/state"]), "live\n");
        assert_ne!(committed, paused_not);
        // It was thawed: it still reacts.
        fs::write(vol.join("go"), "").unwrap();
        let o = r.wait();
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        assert_eq!(fs::read_to_string(vol.join("out")).unwrap(), "done\n");
    }
}

/// A commit killed with SIGKILL at any point lists no half image, leaves the replaced
/// image intact and runnable, and a retry succeeds. Kills are repeated until one lands
/// while the commit's journal is open (mid-commit), on both drivers.
#[test]
fn sigkill_mid_commit_leaves_no_half_image() {
    for driver in DRIVERS {
        let t = TestRoot::new(driver);
        let img = image_with(&t, |root| {
            fs::write(root.join("etc/marker"), "old\n").unwrap()
        });
        // Many files make the overlay copy slow enough to be caught in the middle.
        let c = run_ctr(
            &t,
            &[
                &img,
                "sh",
                "-c",
                "mkdir /many && cd /many && for i in $(seq 1 3000); do echo $i >f$i; done; \
                 echo new >/etc/marker",
            ],
        );
        let pending = t.root.join("pending");
        let mut mid = 0;
        for attempt in 0..60 {
            let mut child = t
                .cmd("commit")
                .args([&c, &img])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            // Kill as soon as the journal exists (or after a growing delay).
            let start = Instant::now();
            let wait = Duration::from_micros(200 * attempt);
            loop {
                let journal = fs::read_dir(&pending)
                    .map(|d| {
                        d.flatten()
                            .any(|e| !e.file_name().to_string_lossy().starts_with('.'))
                    })
                    .unwrap_or(false);
                if journal && start.elapsed() >= wait {
                    break;
                }
                if child.try_wait().unwrap().is_some() || start.elapsed() > Duration::from_secs(10)
                {
                    break;
                }
            }
            // SAFETY: signalling our own child process.
            unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
            let status = child.wait().unwrap();
            let left = fs::read_dir(&pending).unwrap().count();
            if status.code().is_none() && left > 0 {
                mid += 1;
            }
            // Listed: exactly the one image, whole and runnable with old or new content.
            assert_eq!(image_ids(&t), vec![img.clone()], "{driver:?}");
            let m = run_out(&t, &[&img, "cat", "/etc/marker"]);
            assert!(m == "old\n" || m == "new\n", "{m}");
            if mid >= 3 {
                break;
            }
        }
        assert!(mid > 0, "{driver:?}: no kill landed mid-commit");
        // The next mutating verb cleans up; the retry succeeds.
        let out = t.ok("commit", &[&c, &img]);
        assert_eq!(out, format!("Removed: {img}\nCreated: {img}\n"));
        assert_eq!(run_out(&t, &[&img, "cat", "/etc/marker"]), "new\n");
        assert_eq!(fs::read_dir(&pending).unwrap().count(), 0);
        let staged = fs::read_dir(t.root.join("layers"))
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp"))
            .count();
        assert_eq!(staged, 0, "{driver:?}: a staged layer was left behind");
    }
}
