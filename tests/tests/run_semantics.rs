//! End-to-end tests of what a container's process gets, item by item of issue 9's "Run
//! semantics", each with Docker 20.10's answer: argument composition, the environment,
//! the generated /etc files against volumes, a non-root user's view, no_new_privs,
//! cgroupfs inside, /dev, `rm` of an image, `--cpus`, signal dispositions.

use std::fs;

use bocker_e2e::run::{code, image_with, stderr, stdout};
use bocker_e2e::TestRoot;

fn setup() -> (TestRoot, String) {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    (t, img)
}

/// Changes the stored image config of `img` (as a pull of such an image would record it).
fn set_config(t: &TestRoot, img: &str, config: serde_json::Value) {
    let path = t.root.join("images").join(img).join("image.json");
    let mut rec: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    for (k, v) in config.as_object().unwrap() {
        rec["config"][k] = v.clone();
    }
    fs::write(&path, serde_json::to_vec(&rec).unwrap()).unwrap();
}

fn ok(t: &TestRoot, args: &[&str]) -> String {
    let o = t.run("run", args);
    assert_eq!(code(&o), 0, "run {args:?}: {}", stderr(&o));
    stdout(&o)
}

// Item 1: the seed's one-argument shell form only without an entrypoint.
#[test]
fn one_argument_goes_to_the_entrypoint_unchanged() {
    let (t, img) = setup();
    // Docker 20.10: `Entrypoint ["/bin/echo","arg:"]`, no Cmd, argument '.a | keys'
    // prints `arg: .a | keys`.
    set_config(
        &t,
        &img,
        serde_json::json!({"entrypoint": ["/bin/echo", "arg:"], "cmd": null}),
    );
    assert_eq!(
        ok(&t, &["--rm", "--network", "none", &img, ".a | keys"]),
        "arg: .a | keys\n"
    );
    // Docker 20.10: `--entrypoint /bin/echo IMG 'hello world'` prints `hello world`.
    assert_eq!(
        ok(
            &t,
            &[
                "--rm",
                "--network",
                "none",
                "--entrypoint",
                "/bin/echo",
                &img,
                "hello world"
            ]
        ),
        "hello world\n"
    );
    // No entrypoint at all (`--entrypoint ""`): the seed's shell form stays.
    assert_eq!(
        ok(
            &t,
            &[
                "--rm",
                "--network",
                "none",
                "--entrypoint",
                "",
                &img,
                "echo a | tr a b"
            ]
        ),
        "b\n"
    );
}

// Item 3: every path where variables enter, as Docker's rules.
#[test]
fn environment_follows_dockers_rules() {
    let (t, img) = setup();
    set_config(
        &t,
        &img,
        serde_json::json!({"env": ["PATH=/usr/bin:/bin", "MY_VAR=default", "KEEP=image"]}),
    );
    // Docker 20.10: a BOM before the first line is not part of the name.
    let bom = t.base.join("bom.env");
    fs::write(&bom, b"\xEF\xBB\xBFFOO=bar\nSECOND=2\n").unwrap();
    let show = "echo ${FOO-unset} ${SECOND-unset} ${MY_VAR-unset} ${KEEP-unset}";
    let out = ok(
        &t,
        &[
            "--rm",
            "--network",
            "none",
            "--env-file",
            bom.to_str().unwrap(),
            "-e",
            "BOCKER_E2E_SURELY_UNSET_VAR",
            "-e",
            "MY_VAR",
            &img,
            "sh",
            "-c",
            show,
        ],
    );
    // `-e MY_VAR` with MY_VAR unset here unsets the image's value (Docker prints `unset`).
    assert_eq!(out, "bar 2 unset image\n");
    // Docker 20.10: `export X=1` in an env file is refused with status 125.
    let bad = t.base.join("bad.env");
    fs::write(&bad, "export X=1\n").unwrap();
    let o = t.run(
        "run",
        &["--rm", "--env-file", bad.to_str().unwrap(), &img, "true"],
    );
    assert_eq!(code(&o), 125);
    assert!(
        stderr(&o)
            .contains("poorly formatted environment: variable 'export X' contains whitespaces"),
        "{}",
        stderr(&o)
    );
    let o = t.run("run", &["--rm", "-e", "=x", &img, "true"]);
    assert_eq!(code(&o), 125);
    assert!(
        stderr(&o).contains("invalid environment variable: =x"),
        "{}",
        stderr(&o)
    );
}

// Item 10: --cpus above the host's CPU count.
#[test]
fn cpus_above_the_host_count_are_refused_as_docker_does() {
    let (t, img) = setup();
    let n = std::thread::available_parallelism().unwrap().get();
    let o = t.run(
        "run",
        &["--rm", "--cpus", &(n + 1).to_string(), &img, "true"],
    );
    assert_eq!(code(&o), 125);
    // Docker 20.10's daemon message.
    let want =
        format!("Range of CPUs is from 0.01 to {n}.00, as there are only {n} CPUs available");
    assert!(stderr(&o).contains(&want), "{}", stderr(&o));
    // Docker 20.10's sibling refusal: `--memory` below 6 MiB.
    let o = t.run("run", &["--rm", "--memory", "4m", &img, "true"]);
    assert_eq!(code(&o), 125);
    assert!(
        stderr(&o).contains("Minimum memory limit allowed is 6MB"),
        "{}",
        stderr(&o)
    );
    let o = t.run("run", &["--rm", "--cpus", "-1", &img, "true"]);
    assert_eq!(code(&o), 125, "{}", stderr(&o));
    assert_eq!(
        ok(
            &t,
            &[
                "--rm",
                "--network",
                "none",
                "--cpus",
                &n.to_string(),
                &img,
                "true"
            ]
        ),
        ""
    );
}

// Item 9: the seed's `rm img_…` removes an image containers were made from; `rmi` refuses.
#[test]
fn rm_of_an_image_goes_even_with_stopped_containers_and_rmi_refuses() {
    let t = TestRoot::overlay();
    let a = t.busybox_image();
    let b = t.busybox_image();
    ok(&t, &["--name", "from-a", "--network", "none", &a, "true"]);
    ok(&t, &["--name", "from-b", "--network", "none", &b, "true"]);
    // Docker 20.10's rmi refuses an image a stopped container uses (status 1).
    let err = t.fails("rmi", &[&b]);
    assert!(err.contains("is used by container"), "{err}");
    // The seed's rm removes it; the container it made is still listed and removable.
    assert_eq!(t.ok("rm", &[&a]), format!("Removed: {a}\n"));
    assert!(!t.ok("images", &[]).contains(&a));
    assert!(t.ok("ps", &[]).contains("from-a") || t.ok("ps", &["-a"]).contains("from-a"));
    t.ok("rm", &["from-a", "from-b"]);
    t.ok("rmi", &[&b]);
}

/// The lines of `/proc/<which>/status` starting with one of `fields`, as printed inside.
fn status_fields(out: &str, fields: &[&str]) -> Vec<String> {
    out.lines()
        .filter(|l| fields.iter().any(|f| l.starts_with(f)))
        .map(str::to_string)
        .collect()
}

// Item 4: a non-root user gets Docker's view.
#[test]
fn a_non_root_user_gets_dockers_capabilities_and_groups() {
    let t = TestRoot::overlay();
    let img = image_with(&t, |d| {
        use std::os::unix::fs::PermissionsExt;
        let secret = d.join("bin/secret");
        fs::write(&secret, "#!/bin/sh\necho ran\n").unwrap();
        fs::set_permissions(&secret, fs::Permissions::from_mode(0o700)).unwrap();
        fs::write(
            d.join("etc/group"),
            "root:x:0:\nwheel:x:10:app\napp:x:1000:\nextra:x:2000:app\n",
        )
        .unwrap();
    });
    let net = ["--rm", "--network", "none"];
    // Docker 20.10: root runs a root-owned 0700 file; `-u 1000` gets 126 (its first
    // execve holds no capability: moby's setCapabilities since 2018).
    assert_eq!(
        ok(&t, &[&net[..], &[&img, "/bin/secret"]].concat()),
        "ran\n"
    );
    let o = t.run(
        "run",
        &[&net[..], &["-u", "1000", &img, "/bin/secret"]].concat(),
    );
    assert_eq!(code(&o), 126, "{}", stderr(&o));
    // Docker 20.10 (busybox `id`): the primary group is a supplementary group too.
    let id = |user: &str| ok(&t, &[&net[..], &["-u", user, &img, "id"]].concat());
    assert_eq!(id("0"), "uid=0(root) gid=0(root) groups=0(root)\n");
    assert_eq!(
        id("app"),
        "uid=1000(app) gid=1000(app) groups=10(wheel),1000(app),2000(extra)\n"
    );
    assert_eq!(
        id("app:extra"),
        "uid=1000(app) gid=2000(extra) groups=2000(extra)\n"
    );
    assert_eq!(id("4242"), "uid=4242 gid=0(root) groups=0(root)\n");
    // Docker 20.10.14+: a non-root user holds nothing but the bounding set.
    let caps = ok(
        &t,
        &[
            &net[..],
            &["-u", "1000", &img, "grep", "^Cap", "/proc/self/status"],
        ]
        .concat(),
    );
    assert_eq!(
        caps,
        "CapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n\
         CapBnd:\t00000000a80425fb\nCapAmb:\t0000000000000000\n"
    );
}

// Item 5: ids out of range are refused, never root.
#[test]
fn ids_out_of_range_are_refused_never_root() {
    let t = TestRoot::overlay();
    let img = image_with(&t, |d| {
        fs::write(
            d.join("etc/passwd"),
            "root:x:0:0::/root:/bin/sh\nminus:x:4294967295:0::/:/bin/sh\nbig:x:5:2147483648::/:/bin/sh\n",
        )
        .unwrap();
    });
    // Docker 20.10 (runc's user.ErrRange), status 125.
    for user in [
        "4294967295",
        "1000:4294967295",
        "-1",
        "minus",
        "big",
        "0:-1",
    ] {
        let flag = format!("--user={user}");
        let o = t.run("run", &["--rm", "--network", "none", &flag, &img, "id"]);
        assert_eq!((code(&o), stdout(&o).as_str()), (125, ""), "-u {user}");
        assert!(
            stderr(&o).contains("uids and gids must be in range 0-2147483647"),
            "-u {user}: {}",
            stderr(&o)
        );
    }
    assert_eq!(
        ok(
            &t,
            &[
                "--rm",
                "--network",
                "none",
                "-u",
                "2147483647",
                &img,
                "id",
                "-u"
            ]
        ),
        "2147483647\n"
    );
}

/// An image whose `su` is a setuid-root busybox and whose root has an empty password
/// (so busybox `su` asks for none).
fn image_with_su(t: &TestRoot) -> String {
    image_with(t, |d| {
        use std::os::unix::fs::PermissionsExt;
        let su = d.join("bin/su");
        let _ = fs::remove_file(&su);
        fs::copy(d.join("bin/busybox"), &su).unwrap();
        fs::set_permissions(&su, fs::Permissions::from_mode(0o4755)).unwrap();
        fs::write(
            d.join("etc/passwd"),
            "root::0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n",
        )
        .unwrap();
    })
}

// Item 6: no_new_privs as Docker: off by default, `--security-opt` turns it on.
#[test]
fn no_new_privileges_is_off_by_default_and_setuid_tools_work() {
    let t = TestRoot::overlay();
    let img = image_with_su(&t);
    let net = ["--rm", "--network", "none"];
    let status = |extra: &[&str]| {
        let args = [&net[..], extra, &[&img, "cat", "/proc/self/status"]].concat();
        status_fields(&ok(&t, &args), &["NoNewPrivs:", "Seccomp:"])
    };
    // Docker 20.10: NoNewPrivs 0 by default, the filter on for root and non-root alike.
    assert_eq!(status(&[]), ["NoNewPrivs:\t0", "Seccomp:\t2"]);
    assert_eq!(status(&["-u", "1000"]), ["NoNewPrivs:\t0", "Seccomp:\t2"]);
    for on in [
        "no-new-privileges",
        "no-new-privileges=true",
        "no-new-privileges:true",
    ] {
        let s = status(&["-u", "1000", "--security-opt", on]);
        assert_eq!(s, ["NoNewPrivs:\t1", "Seccomp:\t2"], "{on}");
    }
    let off = ["--security-opt", "no-new-privileges=false"];
    assert_eq!(status(&off), ["NoNewPrivs:\t0", "Seccomp:\t2"]);
    // setuid works by default (su to root from uid 1000), not with no-new-privileges.
    let su = |extra: &[&str]| {
        let args = [
            &net[..],
            extra,
            &["-u", "1000", &img, "su", "-c", "id -u", "root"],
        ]
        .concat();
        t.run("run", &args)
    };
    let o = su(&[]);
    assert_eq!(
        (code(&o), stdout(&o).as_str()),
        (0, "0\n"),
        "{}",
        stderr(&o)
    );
    let o = su(&["--security-opt", "no-new-privileges"]);
    assert_ne!(stdout(&o), "0\n", "setuid worked under no_new_privs");
    // The filter still refuses what it refuses, for a non-root user without nnp too.
    let o = t.run(
        "run",
        &[&net[..], &["-u", "1000", &img, "unshare", "-U", "true"]].concat(),
    );
    assert_ne!(code(&o), 0, "unshare -U passed the filter");
    // Docker 20.10's refusal of an unknown value.
    let o = t.run(
        "run",
        &[
            "--rm",
            "--security-opt",
            "no-new-privileges=maybe",
            &img,
            "true",
        ],
    );
    assert_eq!(code(&o), 125);
    assert!(
        stderr(&o).contains("invalid --security-opt 2: \"no-new-privileges=maybe\""),
        "{}",
        stderr(&o)
    );
}

// Item 6: exec inherits the container's no_new_privs.
#[test]
fn exec_inherits_the_containers_no_new_privileges() {
    use bocker_e2e::run::Running;
    let t = TestRoot::overlay();
    let img = image_with_su(&t);
    let run = Running::start(
        &t,
        &[
            "--name",
            "nnp",
            "--network",
            "none",
            "--security-opt",
            "no-new-privileges",
            &img,
            "sleep",
            "60",
        ],
    );
    run.wait_running(&t);
    let o = t.run("exec", &["nnp", "cat", "/proc/self/status"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        status_fields(&stdout(&o), &["NoNewPrivs:", "Seccomp:"]),
        ["NoNewPrivs:\t1", "Seccomp:\t2"]
    );
    let o = t.run("exec", &["-u", "1000", "nnp", "su", "-c", "id -u", "root"]);
    assert_ne!(
        stdout(&o),
        "0\n",
        "exec escaped the container's no_new_privs"
    );
    let _ = t.run("rm", &["-f", "nnp"]);
    drop(run);
    // Without the option, exec's commands may use setuid tools, as Docker's.
    let run = Running::start(
        &t,
        &[
            "--name",
            "plain",
            "--network",
            "none",
            "-e",
            "MY_VAR=from-run",
            &img,
            "sleep",
            "60",
        ],
    );
    run.wait_running(&t);
    // Item 3 for exec: `-e MY_VAR` with MY_VAR unset here unsets the container's value
    // (Docker 20.10 prints `unset`); a variable without a name is refused (125).
    let show = ["plain", "sh", "-c", "echo ${MY_VAR-unset}"];
    let o = t.run("exec", &show);
    assert_eq!(stdout(&o), "from-run\n", "{}", stderr(&o));
    let o = t.run("exec", &[&["-e", "MY_VAR"][..], &show].concat());
    assert_eq!(stdout(&o), "unset\n", "{}", stderr(&o));
    let o = t.run("exec", &["-e", "=x", "plain", "true"]);
    assert_eq!(code(&o), 125);
    assert!(
        stderr(&o).contains("invalid environment variable: =x"),
        "{}",
        stderr(&o)
    );
    let o = t.run(
        "exec",
        &["-u", "1000", "plain", "su", "-c", "id -u", "root"],
    );
    assert_eq!(
        (code(&o), stdout(&o).as_str()),
        (0, "0\n"),
        "{}",
        stderr(&o)
    );
    // Item 4 for exec: a non-root user holds nothing but the bounding set, and its
    // primary group is listed (Docker 20.10).
    let o = t.run(
        "exec",
        &[
            "-u",
            "app",
            "plain",
            "sh",
            "-c",
            "id; grep ^CapEff /proc/self/status",
        ],
    );
    assert_eq!(
        stdout(&o),
        "uid=1000(app) gid=1000(app) groups=1000(app),2000(extra)\nCapEff:\t0000000000000000\n",
        "{}",
        stderr(&o)
    );
    let o = t.run("exec", &["-u", "4294967295", "plain", "id"]);
    assert_eq!(code(&o), 125, "exec -u 4294967295: {}", stdout(&o));
    let _ = t.run("rm", &["-f", "plain"]);
}

// runc resets signal dispositions and the mask before the container's execve.
#[test]
fn nothing_ignored_or_blocked_reaches_the_container() {
    let (t, img) = setup();
    // Rust ignores SIGPIPE in bocker itself; the caller here ignores SIGUSR1 and SIGINT.
    let mut cmd = t.cmd("run");
    cmd.args([
        "--rm",
        "--network",
        "none",
        &img,
        "grep",
        "^Sig[IB]",
        "/proc/1/status",
    ]);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| {
            libc::signal(libc::SIGUSR1, libc::SIG_IGN);
            libc::signal(libc::SIGINT, libc::SIG_IGN);
            Ok(())
        });
    }
    let o = cmd.output().unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // Docker 20.10 (runc): `grep SigIgn /proc/1/status` is all zeros.
    assert_eq!(
        stdout(&o),
        "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n"
    );
    let o = ok(
        &t,
        &[
            "--rm",
            "--network",
            "none",
            "--init",
            &img,
            "grep",
            "^SigIgn",
            "/proc/self/status",
        ],
    );
    assert_eq!(o, "SigIgn:\t0000000000000000\n");
}

// Item 2: the generated /etc files against the user's volumes, every combination.
#[test]
fn user_volumes_win_over_the_generated_etc_files() {
    let (t, img) = setup();
    let dir = t.base.join("etc-vols");
    fs::create_dir_all(dir.join("etc")).unwrap();
    for (name, text) in [
        ("hosts", "10.9.9.9 mine\n"),
        ("resolv.conf", "nameserver 127.0.0.53\n"),
        ("hostname", "from-host-file\n"),
    ] {
        fs::write(dir.join(name), text).unwrap();
    }
    fs::write(dir.join("etc/motd"), "hello\n").unwrap();
    let vol =
        |name: &str, opt: &str| format!("--volume={}:/etc/{name}{opt}", dir.join(name).display());
    let run = |extra: &[String], script: &str| {
        let mut args: Vec<&str> = vec!["--rm", "--network", "none"];
        args.extend(extra.iter().map(String::as_str));
        args.extend([img.as_str(), "sh", "-c", script]);
        let o = t.run("run", &args);
        assert_eq!(code(&o), 0, "{extra:?} {script}: {}", stderr(&o));
        stdout(&o)
    };
    // Docker 20.10: `-v ./hosts:/etc/hosts` shows the user's file, and writes reach it.
    let out = run(
        &[vol("hosts", "")],
        "cat /etc/hosts; echo 10.1.1.1 added >> /etc/hosts",
    );
    assert_eq!(out, "10.9.9.9 mine\n");
    assert_eq!(
        fs::read_to_string(dir.join("hosts")).unwrap(),
        "10.9.9.9 mine\n10.1.1.1 added\n"
    );
    // `:ro` on resolv.conf and hostname is kept (Docker 20.10: "Read-only file system").
    for name in ["resolv.conf", "hostname"] {
        let script = format!("cat /etc/{name}; echo x >> /etc/{name} 2>/dev/null || echo refused");
        let out = run(&[vol(name, ":ro")], &script);
        let want = fs::read_to_string(dir.join(name)).unwrap() + "refused\n";
        assert_eq!(out, want, "{name}:ro");
    }
    // The hostname itself stays the container's (Docker: only the file is the user's).
    let out = run(
        &[vol("hostname", ":ro"), "--hostname".into(), "web".into()],
        "hostname",
    );
    assert_eq!(out, "web\n");
    // All three at once, read-only.
    let all = [
        vol("hosts", ":ro"),
        vol("resolv.conf", ":ro"),
        vol("hostname", ":ro"),
    ];
    let out = run(&all, "cat /etc/hosts /etc/resolv.conf /etc/hostname");
    assert_eq!(
        out,
        "10.9.9.9 mine\n10.1.1.1 added\nnameserver 127.0.0.53\nfrom-host-file\n"
    );
    // A volume at /etc: its files show, the generated ones lie on top (Docker's mounts
    // are sorted by destination), writable as Docker's.
    let etc = format!("--volume={}:/etc", dir.join("etc").display());
    let out = run(
        std::slice::from_ref(&etc),
        "cat /etc/motd; grep -c localhost /etc/hosts; echo ok >> /etc/hosts && echo writable",
    );
    assert_eq!(out, "hello\n2\nwritable\n");
    // A read-only volume at /etc: the generated files are still bound on top of it.
    let out = run(
        &[format!("{etc}:ro"), "--hostname".into(), "h2".into()],
        "cat /etc/hostname /etc/motd",
    );
    assert_eq!(out, "h2\nhello\n");
    // Without volumes the generated files are writable, also with --read-only (Docker).
    let out = run(
        &["--read-only".into()],
        "echo 1.2.3.4 x >> /etc/hosts && tail -1 /etc/hosts",
    );
    assert_eq!(out, "1.2.3.4 x\n");
}

// Item 8: /dev as runc makes it; a dangling /etc/hostname symlink is created inside.
#[test]
fn dev_core_only_with_kcore_and_dangling_etc_links_are_created_inside() {
    let t = TestRoot::overlay();
    let img = image_with(&t, |d| {
        std::os::unix::fs::symlink("/run/state/hostname", d.join("etc/hostname")).unwrap();
        std::os::unix::fs::symlink("../run/resolv.conf", d.join("etc/resolv.conf")).unwrap();
    });
    let host_has_kcore = std::path::Path::new("/proc/kcore").exists();
    let out = ok(
        &t,
        &[
            "--rm",
            "--network",
            "none",
            "--hostname",
            "web",
            &img,
            "sh",
            "-c",
            "cat /etc/hostname; test -f /run/state/hostname && echo inside; \
             test -f /run/resolv.conf && echo resolv; \
             if test -L /dev/core; then echo core; else echo no-core; fi",
        ],
    );
    // runc: /dev/core only where the host has /proc/kcore.
    let core = if host_has_kcore { "core" } else { "no-core" };
    assert_eq!(out, format!("web\ninside\nresolv\n{core}\n"));
}

// Item 7: the container's own cgroups, read-only, at /sys/fs/cgroup.
#[test]
fn cgroupfs_inside_shows_the_containers_own_limits_read_only() {
    let (t, img) = setup();
    let script = "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max; \
                  cat /sys/fs/cgroup/memory/cgroup.procs | wc -l; \
                  echo 1 > /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || echo ro; \
                  mkdir /sys/fs/cgroup/memory/x 2>/dev/null || echo ro; \
                  touch /sys/fs/cgroup/new 2>/dev/null || echo ro";
    let out = ok(
        &t,
        &[
            "--rm",
            "--network",
            "none",
            "--memory",
            "64m",
            "--pids-limit",
            "33",
            &img,
            "sh",
            "-c",
            script,
        ],
    );
    // Docker 20.10 on cgroup v1: 64m → 67108864; only the container's processes (sh, cat
    // and wc) are listed; nothing there is writable.
    assert_eq!(out, "67108864\n33\n3\nro\nro\nro\n");
    // The host's hierarchies under their names, combined names and symlinks as the host
    // has them (`cpu` → `cpu,cpuacct` where the host combines them).
    let mut want = Vec::new();
    for e in fs::read_dir("/sys/fs/cgroup").unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if e.file_type().unwrap().is_symlink() {
            let target = fs::read_link(e.path()).unwrap();
            want.push(format!("{name} -> {}", target.display()));
        } else if ["cpu", "cpuacct", "memory", "pids", "cpu,cpuacct"].contains(&name.as_str()) {
            want.push(name);
        }
    }
    want.sort();
    let listing = ok(
        &t,
        &[
            "--rm",
            "--network",
            "none",
            &img,
            "sh",
            "-c",
            "cd /sys/fs/cgroup && for f in *; do if [ -L $f ]; then echo \"$f -> $(readlink $f)\"; \
             else echo $f; fi; done",
        ],
    );
    for line in &want {
        assert!(
            listing.lines().any(|l| l == line),
            "{line} missing from\n{listing}"
        );
    }
}

// Item 7 on cgroup v2: a cgroup namespace and a read-only cgroup2 mount.
#[test]
fn cgroupfs_inside_on_v2_is_the_namespaces_own_cgroup2() {
    let (mut t, img) = setup();
    // This host's cgroup2 hierarchy has no controllers: what shows is the group itself.
    t.env("BOCKER_CGROUP_VERSION", "2");
    let out = ok(
        &t,
        &[
            "--rm",
            "--network",
            "none",
            &img,
            "sh",
            "-c",
            "cat /proc/self/cgroup | grep ^0::; cat /sys/fs/cgroup/cgroup.procs | wc -l; \
             grep ' /sys/fs/cgroup ' /proc/self/mounts | cut -d' ' -f3,4 | cut -d, -f1; \
             mkdir /sys/fs/cgroup/x 2>/dev/null || echo ro",
        ],
    );
    // sh, cat and wc are the group's processes.
    assert_eq!(out, "0::/\n3\ncgroup2 ro\nro\n");
}
