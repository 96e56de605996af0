//! End-to-end tests of volumes and mounts beside host binds (issue 13): named volumes
//! (`-v NAME:/p`, created on first use, the image's content copied in), anonymous ones
//! (an image's `VOLUME`, `-v /p`; `rm -v`), the `volume` verb (`create`, `ls`, `inspect`,
//! `rm`, `prune`), `--mount` and `--tmpfs`. Docker's answers were recorded with Docker
//! 20.10.24 (CLI 28.2.2) on this machine, 2026-11-29; the tests do not need Docker.

use std::fs;

use bocker_e2e::run::{code, image_with, stderr, stdout};
use bocker_e2e::TestRoot;

fn setup() -> (TestRoot, String) {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    (t, img)
}

/// `bocker run --rm --network none ARGS…`, asserting success; its stdout.
fn run(t: &TestRoot, args: &[&str]) -> String {
    let mut all = vec!["--rm", "--network", "none"];
    all.extend_from_slice(args);
    let o = t.run("run", &all);
    assert_eq!(code(&o), 0, "run {args:?}: {}", stderr(&o));
    stdout(&o)
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// Gives `img` a config blob whose `config` is `run` (as a pull of such an image
/// records it: the blob is the first of the record's `blobs`).
fn set_config_blob(t: &TestRoot, img: &str, run: serde_json::Value) {
    let blob = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux", "config": run,
        "rootfs": {"type": "layers", "diff_ids": []},
    }))
    .unwrap();
    let hex = format!("{:0>64}", bocker_e2e::random_hex(16));
    fs::write(t.root.join("blobs/sha256").join(&hex), blob).unwrap();
    let path = t.root.join("images").join(img).join("image.json");
    let mut rec = json(&fs::read_to_string(&path).unwrap());
    rec["blobs"] = serde_json::json!([hex]);
    fs::write(&path, serde_json::to_vec(&rec).unwrap()).unwrap();
}

#[test]
fn a_named_volume_outlives_its_container_and_is_seen_by_the_next() {
    let (t, img) = setup();
    run(
        &t,
        &["-v", "data:/data", &img, "sh", "-c", "echo kept > /data/f"],
    );
    assert_eq!(
        run(&t, &["-v", "data:/data:ro", &img, "cat", "/data/f"]),
        "kept\n"
    );
    // Read-only as asked.
    let o = t.run(
        "run",
        &[
            "--rm",
            "--network",
            "none",
            "-v",
            "data:/data:ro",
            &img,
            "touch",
            "/data/g",
        ],
    );
    assert_ne!(code(&o), 0, "a :ro volume is read-only");
    // Docker 20.10: `docker volume ls` lists it, `local` driver.
    assert_eq!(
        t.ok("volume", &["ls"]),
        "DRIVER    VOLUME NAME\nlocal     data\n"
    );
}

#[test]
fn a_new_volume_gets_the_images_content() {
    let (t, img) = setup();
    // Docker 20.10: a new volume mounted over /etc shows the image's /etc.
    let passwd = run(&t, &["-v", "etc:/etc", &img, "cat", "/etc/passwd"]);
    assert!(passwd.starts_with("root:"), "{passwd}");
    let mountpoint = json(&t.ok("volume", &["inspect", "etc"]))[0]["Mountpoint"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(fs::read_to_string(format!("{mountpoint}/passwd")).is_ok());
    // Only while empty: a volume with content keeps it.
    run(
        &t,
        &[
            "-v",
            "etc:/etc",
            &img,
            "sh",
            "-c",
            "echo mine > /etc/passwd",
        ],
    );
    assert_eq!(
        run(&t, &["-v", "etc:/etc", &img, "cat", "/etc/passwd"]),
        "mine\n"
    );
    // `nocopy`: nothing copied.
    let test = "test -e /etc/passwd && echo copied || echo empty";
    assert_eq!(
        run(&t, &["-v", "bare:/etc:nocopy", &img, "sh", "-c", test]),
        "empty\n"
    );
}

#[test]
fn an_images_volume_is_anonymous_and_goes_with_rm_v() {
    let (t, img) = setup();
    set_config_blob(&t, &img, serde_json::json!({"Volumes": {"/etc": {}}}));
    let id = t
        .ok("run", &["-d", "--network", "none", &img, "true"])
        .trim()
        .to_string();
    bocker_e2e::run::eventually("the container exits", || {
        json(&t.ok("inspect", &[&id]))[0]["State"]["Status"] == "exited"
    });
    let mounts = json(&t.ok("inspect", &[&id]))[0]["Mounts"].clone();
    // Docker 20.10: `{"Type":"volume","Name":"<64 hex>",…,"Destination":"/data",
    // "Driver":"local","Mode":"","RW":true,"Propagation":""}`.
    assert_eq!(mounts[0]["Type"], "volume", "{mounts}");
    assert_eq!(mounts[0]["Destination"], "/etc");
    assert_eq!(mounts[0]["Driver"], "local");
    let name = mounts[0]["Name"].as_str().unwrap().to_string();
    assert_eq!(name.len(), 64);
    let data = mounts[0]["Source"].as_str().unwrap();
    assert!(fs::metadata(format!("{data}/passwd")).is_ok(), "copied in");
    assert_eq!(t.ok("volume", &["ls", "-q"]), format!("{name}\n"));
    // Docker 20.10: `rm -v` takes the anonymous volume, a named one stays.
    t.ok("rm", &["-v", &id]);
    assert_eq!(t.ok("volume", &["ls", "-q"]), "");
    // Docker: `run --rm` removes the anonymous volumes too; a named one stays.
    run(&t, &["-v", "/scratch", "-v", "named:/n", &img, "true"]);
    assert_eq!(t.ok("volume", &["ls", "-q"]), "named\n");
}

#[test]
fn a_volume_in_use_cannot_be_removed() {
    let (t, img) = setup();
    let id = t
        .ok(
            "run",
            &["-d", "--network", "none", "-v", "used:/u", &img, "true"],
        )
        .trim()
        .to_string();
    // Docker 20.10: `Error response from daemon: remove nv: volume is in use - [<id>]`,
    // status 1; `-f` does not change it.
    for args in [&["rm", "used"][..], &["rm", "-f", "used"]] {
        let err = t.fails("volume", args);
        assert!(
            err.contains(&format!("remove used: volume is in use - [{id}]")),
            "{err}"
        );
    }
    // Docker 20.10: `ps --filter volume=NAME` finds the containers that mount it.
    let found = t.ok("ps", &["-a", "-q", "--no-trunc", "--filter", "volume=used"]);
    assert_eq!(found.trim(), id);
    // `system df` counts it, active while a container names it.
    let df = t.ok(
        "system",
        &["df", "--format", "{{.Type}}: {{.TotalCount}} {{.Active}}"],
    );
    assert!(df.contains("Local Volumes: 1 1"), "{df}");
    t.ok("rm", &["-f", &id]);
    assert_eq!(t.ok("volume", &["rm", "used"]), "used\n");
    // Docker 20.10: `get nope: no such volume`, status 1; `-f` is quiet about it.
    let err = t.fails("volume", &["rm", "nope"]);
    assert!(err.contains("get nope: no such volume"), "{err}");
    t.ok("volume", &["rm", "-f", "nope"]);
}

#[test]
fn volume_create_ls_inspect_as_docker() {
    let t = TestRoot::overlay();
    assert_eq!(t.ok("volume", &["create", "myvol"]), "myvol\n");
    assert_eq!(
        t.ok("volume", &["create", "--label", "a=b", "lab"]),
        "lab\n"
    );
    // Creating an existing one is fine and prints its name (Docker 20.10).
    assert_eq!(t.ok("volume", &["create", "myvol"]), "myvol\n");
    // Docker 20.10: sorted by name, `DRIVER    VOLUME NAME`.
    assert_eq!(
        t.ok("volume", &["ls"]),
        "DRIVER    VOLUME NAME\nlocal     lab\nlocal     myvol\n"
    );
    assert_eq!(
        t.ok("volume", &["ls", "--filter", "name=my", "-q"]),
        "myvol\n"
    );
    assert_eq!(
        t.ok("volume", &["ls", "--filter", "label=a", "-q"]),
        "lab\n"
    );
    assert_eq!(
        t.ok("volume", &["ls", "-f", "dangling=true", "-q"]),
        "lab\nmyvol\n"
    );
    assert_eq!(
        t.ok(
            "volume",
            &[
                "ls",
                "--format",
                "{{.Name}} {{.Driver}} {{.Labels}} {{.Scope}}"
            ]
        ),
        "lab local a=b local\nmyvol local  local\n"
    );
    let err = t.fails("volume", &["ls", "--filter", "bogus=1"]);
    assert!(err.contains("Invalid filter 'bogus'"), "{err}");
    let v = json(&t.ok("volume", &["inspect", "myvol", "lab"]));
    // Docker 20.10's keys and values; `Labels` null when none were given.
    let keys: Vec<&String> = v[0].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "CreatedAt",
            "Driver",
            "Labels",
            "Mountpoint",
            "Name",
            "Options",
            "Scope"
        ]
    );
    assert_eq!(v[0]["Driver"], "local");
    assert_eq!(v[0]["Scope"], "local");
    assert_eq!(v[0]["Labels"], serde_json::Value::Null);
    assert_eq!(v[1]["Labels"]["a"], "b");
    assert!(v[0]["Mountpoint"]
        .as_str()
        .unwrap()
        .ends_with("/volumes/myvol/_data"));
    assert_eq!(
        t.ok("volume", &["inspect", "-f", "{{.Name}}:{{.Driver}}", "lab"]),
        "lab:local\n"
    );
    // Docker 20.10: `[]` on stdout and `get nope: no such volume`, status 1.
    let o = t.run("volume", &["inspect", "nope"]);
    assert_eq!(code(&o), 1);
    assert_eq!(stdout(&o), "[]\n");
    assert!(stderr(&o).contains("get nope: no such volume"));
    // Docker 20.10's refusals of names.
    let err = t.fails("volume", &["create", "bad/name"]);
    assert!(
        err.contains(
            "create bad/name: \"bad/name\" includes invalid characters for a local volume name"
        ),
        "{err}"
    );
    let err = t.fails("volume", &["create", "q"]);
    assert!(err.contains("create q: volume name is too short"), "{err}");
    // The local driver's options (`-o type=tmpfs`) are not there: said so.
    let err = t.fails("volume", &["create", "-o", "type=tmpfs", "opt1"]);
    assert!(
        err.contains("volume options (-o type=tmpfs) are not supported"),
        "{err}"
    );
    assert_eq!(t.ok("volume", &["create", "--name", "byflag"]), "byflag\n");
    // No name: a random 64-hex one.
    let made = t.ok("volume", &["create"]);
    assert_eq!(made.trim().len(), 64);
}

#[test]
fn volume_prune_takes_unused_anonymous_volumes_or_all_with_a() {
    let (t, img) = setup();
    t.ok("volume", &["create", "--label", "keep=1", "named"]);
    let anon = t.ok("volume", &["create"]).trim().to_string();
    // An anonymous volume of a container that still exists is in use.
    let id = t
        .ok(
            "run",
            &["-d", "--network", "none", "-v", "/a", &img, "true"],
        )
        .trim()
        .to_string();
    let used = json(&t.ok("inspect", &[&id]))[0]["Mounts"][0]["Name"]
        .as_str()
        .unwrap()
        .to_string();
    // Docker 23+ (API 1.42): without -a only anonymous volumes go. A `volume create`
    // without a name is not anonymous.
    assert_eq!(
        t.ok("volume", &["prune", "-f"]),
        "Total reclaimed space: 0B\n"
    );
    t.ok("rm", &["-f", &id]);
    assert_eq!(
        t.ok("volume", &["prune", "-f"]),
        format!("Deleted Volumes:\n{used}\n\nTotal reclaimed space: 0B\n")
    );
    // Docker 20.10: `until` is no volume filter; labels are.
    let err = t.fails("volume", &["prune", "-f", "--filter", "until=1h"]);
    assert!(err.contains("Invalid filter 'until'"), "{err}");
    assert_eq!(
        t.ok("volume", &["prune", "-f", "-a", "--filter", "label!=keep"]),
        format!("Deleted Volumes:\n{anon}\n\nTotal reclaimed space: 0B\n")
    );
    assert_eq!(t.ok("volume", &["ls", "-q"]), "named\n");
}

#[test]
fn tmpfs_is_a_tmpfs_with_dockers_default_options() {
    let (t, img) = setup();
    // Docker 20.10: `--tmpfs /x` → `tmpfs /x tmpfs rw,nosuid,nodev,noexec,relatime 0 0`.
    let line = run(&t, &["--tmpfs", "/x", &img, "grep", " /x ", "/proc/mounts"]);
    assert_eq!(line, "tmpfs /x tmpfs rw,nosuid,nodev,noexec,relatime 0 0\n");
    // Docker 20.10: `--tmpfs /x:size=1m,mode=700` → `…,noexec,relatime,size=1024k,mode=700`.
    let line = run(
        &t,
        &[
            "--tmpfs",
            "/x:size=1m,mode=700",
            &img,
            "grep",
            " /x ",
            "/proc/mounts",
        ],
    );
    assert_eq!(
        line,
        "tmpfs /x tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k,mode=700 0 0\n"
    );
    // Mounted shallowest first, as Docker sorts them: the tmpfs at /v/t is not hidden
    // under the volume at /v named after it.
    let line = run(
        &t,
        &[
            "--tmpfs",
            "/v/t",
            "-v",
            "deep:/v",
            &img,
            "grep",
            " /v/t ",
            "/proc/mounts",
        ],
    );
    assert!(line.starts_with("tmpfs /v/t tmpfs"), "{line}");
    let o = t.run(
        "run",
        &["--rm", "--network", "none", "--tmpfs", "rel", &img, "true"],
    );
    assert_eq!(code(&o), 125);
    assert!(stderr(&o).contains("invalid mount path: 'rel' mount path must be absolute"));
}

#[test]
fn mount_binds_volumes_and_tmpfs_as_docker() {
    let (t, img) = setup();
    // Docker 20.10: `--mount type=tmpfs,dst=/x,tmpfs-size=1m,tmpfs-mode=1700`.
    let line = run(
        &t,
        &[
            "--mount",
            "type=tmpfs,dst=/x,tmpfs-size=1m,tmpfs-mode=1700",
            &img,
            "grep",
            " /x ",
            "/proc/mounts",
        ],
    );
    assert_eq!(
        line,
        "tmpfs /x tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k,mode=1700 0 0\n"
    );
    let host = t.base.join("bindsrc");
    fs::create_dir(&host).unwrap();
    fs::write(host.join("f"), "from host\n").unwrap();
    let spec = format!("type=bind,source={},target=/b,readonly", host.display());
    assert_eq!(
        run(&t, &["--mount", &spec, &img, "cat", "/b/f"]),
        "from host\n"
    );
    let o = t.run(
        "run",
        &[
            "--rm",
            "--network",
            "none",
            "--mount",
            &spec,
            &img,
            "touch",
            "/b/g",
        ],
    );
    assert_ne!(code(&o), 0, "readonly");
    // The default type is volume.
    run(
        &t,
        &[
            "--mount",
            "src=mv,dst=/m",
            &img,
            "sh",
            "-c",
            "echo v > /m/f",
        ],
    );
    assert_eq!(run(&t, &["-v", "mv:/m", &img, "cat", "/m/f"]), "v\n");
    // Docker 20.10: `docker: Error response from daemon: invalid mount config for type
    // "bind": bind source path does not exist: /nonexist`, status 125.
    let o = t.run(
        "run",
        &[
            "--rm",
            "--network",
            "none",
            "--mount",
            "type=bind,src=/nonexist,dst=/x",
            &img,
            "true",
        ],
    );
    assert_eq!(code(&o), 125);
    assert!(
        stderr(&o).contains(
            "invalid mount config for type \"bind\": bind source path does not exist: /nonexist"
        ),
        "{}",
        stderr(&o)
    );
}

/// The image is hostile: its symlinks are copied into a new volume as links, never
/// followed out of the root, and its device nodes and fifos are not copied at all.
#[test]
fn copying_an_images_content_follows_no_link_out_of_it() {
    let t = TestRoot::overlay();
    let img = image_with(&t, |root| {
        let d = root.join("data");
        fs::create_dir_all(d.join("sub")).unwrap();
        fs::write(d.join("sub/file"), "inside\n").unwrap();
        std::os::unix::fs::symlink("/", d.join("to_root")).unwrap();
        std::os::unix::fs::symlink("../../../../../etc/hostname", d.join("up")).unwrap();
        let fifo = std::ffi::CString::new(d.join("fifo").to_str().unwrap()).unwrap();
        // SAFETY: a NUL-terminated path; mkfifo writes nothing of ours.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    });
    run(&t, &["-v", "hostile:/data", &img, "true"]);
    let data = json(&t.ok("volume", &["inspect", "hostile"]))[0]["Mountpoint"]
        .as_str()
        .unwrap()
        .to_string();
    let data = std::path::Path::new(&data);
    assert_eq!(
        fs::read_to_string(data.join("sub/file")).unwrap(),
        "inside\n"
    );
    assert_eq!(
        fs::read_link(data.join("to_root")).unwrap().to_str(),
        Some("/")
    );
    assert_eq!(
        fs::read_link(data.join("up")).unwrap().to_str(),
        Some("../../../../../etc/hostname")
    );
    assert!(!data.join("fifo").exists(), "fifos are not copied");
    let names: Vec<_> = fs::read_dir(data)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
}

/// The same on the btrfs driver: the image's content copied in, the volume kept after
/// its container, then removed with its files.
#[test]
fn volumes_work_on_btrfs_too() {
    let t = TestRoot::btrfs();
    let img = t.busybox_image();
    let passwd = run(&t, &["-v", "etc:/etc", &img, "cat", "/etc/passwd"]);
    assert!(passwd.starts_with("root:"), "{passwd}");
    run(&t, &["-v", "etc:/etc", &img, "sh", "-c", "echo b > /etc/b"]);
    assert_eq!(
        run(&t, &["-v", "etc:/etc:ro", &img, "cat", "/etc/b"]),
        "b\n"
    );
    assert_eq!(t.ok("volume", &["rm", "etc"]), "etc\n");
    assert!(!t.root.join("volumes/etc").exists());
}
