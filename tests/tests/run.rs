//! End-to-end tests of `bocker run` (foreground): the seed's cases, image config and
//! options, exit codes, signals, streams, logs, limits. Escape attempts live in
//! run_escape.rs, leaks in run_leak.rs.

use std::fs;

use bocker_e2e::run::{cgroup_file, code, stderr, stdout, Running};
use bocker_e2e::TestRoot;

fn setup() -> (TestRoot, String) {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    (t, img)
}

#[test]
fn seed_echo_foo_is_printed_and_logged() {
    let (t, img) = setup();
    let o = t.run("run", &["--name", "seed", &img, "echo", "foo"]);
    assert_eq!(
        (code(&o), stdout(&o).as_str()),
        (0, "foo\n"),
        "{}",
        stderr(&o)
    );
    assert_eq!(t.ok("logs", &["seed"]), "foo\n");
    let ps = t.ok("ps", &[]);
    assert!(ps.contains("echo foo") && ps.contains("Exited (0)"), "{ps}");
}

#[test]
fn btrfs_driver_runs_too() {
    let t = TestRoot::btrfs();
    let img = t.busybox_image();
    let o = t.run("run", &["--rm", &img, "cat", "/etc/hostname"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).starts_with("ps_"), "{}", stdout(&o));
}

#[test]
fn an_rm_containers_layer_is_volatile_and_a_kept_ones_is_synced() {
    let (t, img) = setup();
    let root_mount = "grep '^overlay / ' /proc/mounts";
    // `--rm`: the layer goes at exit, so its unmount need not sync the store's
    // filesystem (overlayfs `volatile`, shown as fsync=volatile; Podman does the same).
    let rm = t.ok("run", &["--rm", &img, "sh", "-c", root_mount]);
    assert!(rm.contains("volatile"), "{rm}");
    // Kept: the container's files must survive a host crash once it has stopped.
    let kept = t.ok("run", &[&img, "sh", "-c", root_mount]);
    assert!(
        kept.starts_with("overlay / ") && !kept.contains("volatile"),
        "{kept}"
    );
}

#[test]
fn uname_says_linux_and_pid_namespace_is_own() {
    let (t, img) = setup();
    assert_eq!(stdout(&t.run("run", &[&img, "uname"])), "Linux\n");
    // The shell-form command is PID 1; `cut` sees a low pid.
    let o = t.run(
        "run",
        &[
            &img,
            "cat /proc/self/stat | cut -d' ' -f1; ps -o pid,comm | wc -l",
        ],
    );
    let out = stdout(&o);
    let mut lines = out.lines();
    let pid: u32 = lines.next().unwrap().parse().unwrap();
    assert!(pid < 10, "pid {pid} is not from a fresh pid namespace");
    // header + sh + ps + wc (+ cut gone): only the container's own processes.
    let n: u32 = lines.next().unwrap().trim().parse().unwrap();
    assert!(n <= 5, "ps listed {n} lines: host processes visible?");
}

#[test]
fn single_argument_with_spaces_runs_in_a_shell() {
    let (t, img) = setup();
    let o = t.run("run", &[&img, "echo a && echo b | tr b c"]);
    assert_eq!(stdout(&o), "a\nc\n", "{}", stderr(&o));
}

#[test]
fn hostname_is_the_container_id_and_etc_files_are_generated() {
    let (t, img) = setup();
    let o = t.run(
        "run",
        &[
            "--name",
            "h",
            &img,
            "sh",
            "-c",
            "hostname; cat /etc/hostname; grep -c localhost /etc/hosts",
        ],
    );
    let out = stdout(&o);
    let id = t.ok("ps", &["-q"]).trim().to_string();
    assert_eq!(out, format!("{id}\n{id}\n2\n"), "{}", stderr(&o));
    // Generated beside the record, never written into the container's filesystem.
    let rec: serde_json::Value = serde_json::from_str(&t.ok("inspect", &[&id])).unwrap();
    let rootfs = std::path::PathBuf::from(rec[0]["Bocker"]["rootfs"].as_str().unwrap());
    assert!(rootfs.parent().unwrap().join("hostname").is_file());
    // At most an empty mount point exists in the container's own layer.
    let upper = rootfs.parent().unwrap().join("upper/etc/hostname");
    assert_eq!(
        fs::read(&upper).unwrap_or_default(),
        b"",
        "hostname written into the container's layer"
    );
    assert_eq!(
        t.ok("run", &["--hostname", "box", &img, "hostname"]),
        "box\n"
    );
}

#[test]
fn exit_codes_follow_docker() {
    let (t, img) = setup();
    assert_eq!(code(&t.run("run", &[&img, "sh", "-c", "exit 3"])), 3);
    let o = t.run("run", &[&img, "no-such-command"]);
    assert_eq!(code(&o), 127);
    assert!(stderr(&o).contains("not found"), "{}", stderr(&o));
    assert_eq!(code(&t.run("run", &[&img, "/etc/passwd"])), 126);
    assert_eq!(
        code(&t.run("run", &["--init", &img, "sh", "-c", "kill -KILL $$"])),
        137
    );
    // `--pull never`: Docker would pull a missing image first (tests/tests/run_flags.rs).
    let o = t.run("run", &["--pull", "never", "no-such-image", "true"]);
    assert_eq!(code(&o), 125);
    assert!(
        stderr(&o).contains("No image named 'no-such-image' exists"),
        "{}",
        stderr(&o)
    );
    assert_eq!(code(&t.run("run", &["--bogus-flag", &img])), 125);
}

#[test]
fn sigterm_is_forwarded() {
    use std::io::BufRead;
    let (t, img) = setup();
    let mut r = Running::start(
        &t,
        &[
            &img,
            "sh",
            "-c",
            "trap 'echo got; exit 7' TERM; echo ready; while :; do sleep 0.1; done",
        ],
    );
    // Signal only once the trap is set: a PID 1 without a handler ignores SIGTERM.
    let mut out = std::io::BufReader::new(r.child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    r.signal(libc::SIGTERM);
    let o = r.wait();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    assert_eq!((code(&o), rest.as_str()), (7, "got\n"));

    let r = Running::start(&t, &["--init", &img, "sleep", "30"]);
    r.wait_running(&t);
    r.signal(libc::SIGINT);
    assert_eq!(code(&r.wait()), 130);
}

#[test]
fn streams_stay_separate_and_logs_replay_them() {
    let (t, img) = setup();
    let o = t.run(
        "run",
        &[
            "--name",
            "s",
            &img,
            "sh",
            "-c",
            "echo out; echo err >&2; echo out2",
        ],
    );
    assert_eq!(stdout(&o), "out\nout2\n");
    assert_eq!(stderr(&o), "err\n");
    let l = t.run("logs", &["s"]);
    assert_eq!(
        (stdout(&l).as_str(), stderr(&l).as_str()),
        ("out\nout2\n", "err\n")
    );
    let l = t.ok("logs", &["-t", "--tail", "1", "s"]);
    let stamped = t.run("logs", &["-t", "s"]);
    assert!(
        stdout(&stamped)
            .lines()
            .all(|x| x.contains('T') && x.contains("Z out")),
        "{}",
        stdout(&stamped)
    );
    assert!(l.is_empty() || l.ends_with("out2\n"), "{l}");
}

#[test]
fn megabytes_on_both_streams_do_not_deadlock() {
    let (t, img) = setup();
    let script =
        "head -c 4000000 /dev/zero | tr '\\0' a >&2 & head -c 4000000 /dev/zero | tr '\\0' b; wait";
    let o = t.run("run", &["--name", "big", &img, "sh", "-c", script]);
    assert_eq!(code(&o), 0);
    assert_eq!(o.stdout.len(), 4_000_000);
    assert_eq!(o.stderr.len(), 4_000_000);
    assert!(o.stdout.iter().all(|&b| b == b'b') && o.stderr.iter().all(|&b| b == b'a'));
    let l = t.run("logs", &["big"]);
    assert_eq!((l.stdout.len(), l.stderr.len()), (4_000_000, 4_000_000));
}

#[test]
fn rm_removes_record_storage_and_cgroup() {
    let (t, img) = setup();
    let before = fs::read_dir(t.root.join("containers")).unwrap().count();
    assert_eq!(t.ok("run", &["--rm", &img, "echo", "x"]), "x\n");
    assert_eq!(t.ok("ps", &["-q"]), "");
    assert_eq!(
        fs::read_dir(t.root.join("containers")).unwrap().count(),
        before
    );
    assert!(bocker_e2e::run::census(&t).cgroups.is_empty());
}

#[test]
fn volumes_rw_and_ro() {
    let (t, img) = setup();
    let host = t.base.join("vol");
    fs::create_dir(&host).unwrap();
    fs::write(host.join("in"), "hello\n").unwrap();
    let v = format!("{}:/data", host.display());
    let o = t.run(
        "run",
        &[
            "-v",
            &v,
            &img,
            "sh",
            "-c",
            "cat /data/in; echo w > /data/out",
        ],
    );
    assert_eq!(
        (code(&o), stdout(&o).as_str()),
        (0, "hello\n"),
        "{}",
        stderr(&o)
    );
    assert_eq!(fs::read_to_string(host.join("out")).unwrap(), "w\n");
    let ro = format!("{}:/data:ro", host.display());
    let o = t.run(
        "run",
        &[
            "-v",
            &ro,
            &img,
            "sh",
            "-c",
            "cat /data/in; echo w > /data/out2",
        ],
    );
    assert_ne!(code(&o), 0);
    assert!(stderr(&o).contains("Read-only"), "{}", stderr(&o));
    assert!(!host.join("out2").exists());
}

#[test]
fn a_volume_over_etc_hosts_wins_and_keeps_ro() {
    // Docker 20.10: `-v FILE:/etc/hosts:ro` replaces the generated hosts file, read-only.
    let (t, img) = setup();
    let hosts = t.base.join("my-hosts");
    fs::write(&hosts, "10.9.8.7 mine\n").unwrap();
    let v = format!("{}:/etc/hosts:ro", hosts.display());
    let o = t.run(
        "run",
        &[
            "-v",
            &v,
            &img,
            "sh",
            "-c",
            "cat /etc/hosts; echo x >> /etc/hosts",
        ],
    );
    assert_eq!(stdout(&o), "10.9.8.7 mine\n", "{}", stderr(&o));
    assert_ne!(code(&o), 0, "the ro volume must refuse the write");
    assert_eq!(fs::read_to_string(&hosts).unwrap(), "10.9.8.7 mine\n");
    // The other generated files are still there.
    let o = t.run(
        "run",
        &["-v", &v, "--hostname", "h1", &img, "cat", "/etc/hostname"],
    );
    assert_eq!(stdout(&o), "h1\n", "{}", stderr(&o));
}

#[test]
fn a_refused_run_creates_no_volume_source_and_a_start_does() {
    let (t, img) = setup();
    let src = t.base.join("made-at-start");
    let v = format!("{}:/data", src.display());
    // Refused while planning (-p needs the bridge): nothing on the host.
    let o = t.run(
        "run",
        &["--network", "none", "-p", "80:80", "-v", &v, &img, "true"],
    );
    assert_eq!(code(&o), 125, "{}", stderr(&o));
    assert!(!src.exists(), "planning created {}", src.display());
    // Docker creates a missing source directory when the container starts.
    let o = t.run("run", &["--network", "none", "-v", &v, &img, "true"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(src.is_dir());
}

#[test]
fn user_workdir_env_and_entrypoint() {
    let (t, img) = setup();
    let o = t.run(
        "run",
        &[
            "-u",
            "app",
            "-w",
            "/new/dir",
            "-e",
            "A=1",
            &img,
            "sh",
            "-c",
            "id; pwd; echo $A $HOME",
        ],
    );
    assert_eq!(
        stdout(&o),
        // Docker 20.10: the primary group is listed too.
        "uid=1000(app) gid=1000(app) groups=1000(app),2000(extra)\n/new/dir\n1 /home/app\n",
        "{}",
        stderr(&o)
    );
    assert_eq!(t.ok("run", &["-u", "4321:77", &img, "id", "-u"]), "4321\n");
    let o = t.run("run", &["-u", "nosuchuser", &img, "true"]);
    assert_eq!(code(&o), 125);
    assert!(
        stderr(&o).contains("unable to find user nosuchuser"),
        "{}",
        stderr(&o)
    );
    let envf = t.base.join("envfile");
    fs::write(&envf, "# c\nB=2\n").unwrap();
    let out = t.ok(
        "run",
        &[
            "--env-file",
            envf.to_str().unwrap(),
            "--entrypoint",
            "/bin/echo",
            &img,
            "x",
        ],
    );
    assert_eq!(out, "x\n");
    let out = t.ok(
        "run",
        &[
            "--env-file",
            envf.to_str().unwrap(),
            &img,
            "sh",
            "-c",
            "echo $B $PATH",
        ],
    );
    assert_eq!(
        out,
        "2 /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
    );
}

#[test]
fn read_only_root() {
    let (t, img) = setup();
    let o = t.run("run", &["--read-only", &img, "sh", "-c", "touch /x"]);
    assert_ne!(code(&o), 0);
    assert!(stderr(&o).contains("Read-only"), "{}", stderr(&o));
    assert_eq!(
        code(&t.run(
            "run",
            &["--read-only", &img, "sh", "-c", "echo ok > /dev/shm/f"]
        )),
        0
    );
}

#[test]
fn init_reaps_zombies() {
    let (t, img) = setup();
    // An orphan exits while its reparented-to PID 1 is the init: no zombie may remain.
    let script = "sh -c 'sleep 0.2 &'; sleep 1; grep -l 'State:.*Z' /proc/[0-9]*/status | wc -l; cat /proc/1/comm";
    let o = t.run("run", &["--init", &img, "sh", "-c", script]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("0\n"), "zombies left: {out}");
    assert!(!out.contains("\nsh\n"), "PID 1 should be the init: {out}");
}

#[test]
fn memory_limit_defaults_to_seed_knob_and_flag_wins() {
    let (mut t, img) = setup();
    t.env("BOCKER_MEM_LIMIT", "256")
        .env("BOCKER_CPU_SHARE", "300");
    let r = Running::start(&t, &["--init", &img, "sleep", "30"]);
    let rec = r.wait_running(&t);
    assert_eq!(cgroup_file(&rec, "memory.limit_in_bytes"), "256000000");
    assert_eq!(cgroup_file(&rec, "cpu.shares"), "300");
    r.signal(libc::SIGTERM);
    assert_eq!(code(&r.wait()), 143);
    t.ok("rm", &[t.ok("ps", &["-q"]).trim()]);

    let r = Running::start(
        &t,
        &[
            "--init",
            "--memory",
            "64m",
            "--cpu-shares",
            "700",
            "--pids-limit",
            "50",
            &img,
            "sleep",
            "30",
        ],
    );
    let rec = r.wait_running(&t);
    assert_eq!(cgroup_file(&rec, "memory.limit_in_bytes"), "67108864");
    assert_eq!(cgroup_file(&rec, "cpu.shares"), "700");
    assert_eq!(cgroup_file(&rec, "pids.max"), "50");
    r.signal(libc::SIGTERM);
    assert_eq!(code(&r.wait()), 143);
}

#[test]
fn default_limits_are_the_seeds() {
    let (t, img) = setup();
    let r = Running::start(&t, &["--init", &img, "sleep", "30"]);
    let rec = r.wait_running(&t);
    assert_eq!(cgroup_file(&rec, "memory.limit_in_bytes"), "512000000");
    assert_eq!(cgroup_file(&rec, "cpu.shares"), "512");
    // The container's first process is in its group for every v1 controller.
    let pid = rec["state"]["pid"].as_i64().unwrap();
    let id = rec["id"].as_str().unwrap();
    let view = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    for c in ["memory", "pids", "cpu"] {
        let line = view.lines().find(|l| {
            l.split(':')
                .nth(1)
                .is_some_and(|cs| cs.split(',').any(|x| x == c))
        });
        let line = line.unwrap_or_else(|| panic!("no {c} line in {view}"));
        assert!(
            line.ends_with(&format!(
                "/{}/{id}",
                bocker_e2e::run::store_cgroup_parent(&t)
            )),
            "{line}"
        );
    }
    r.signal(libc::SIGTERM);
    r.wait();
}

#[test]
fn exceeding_memory_is_oom_killed_137() {
    let (t, img) = setup();
    // tail buffers a "line" of /dev/zero forever.
    let o = t.run("run", &["--memory", "32m", &img, "tail", "/dev/zero"]);
    assert_eq!(code(&o), 137, "{}", stderr(&o));
}

#[test]
fn pids_limit_stops_a_fork_bomb() {
    let (t, img) = setup();
    let script = "i=0; while [ $i -lt 100 ]; do sleep 2 & i=$((i+1)); done; wait";
    let o = t.run("run", &["--pids-limit", "20", &img, "sh", "-c", script]);
    let err = stderr(&o);
    assert!(
        err.contains("fork") || err.contains("Resource temporarily unavailable"),
        "{err}"
    );
}

#[test]
fn cpus_sets_a_cfs_quota() {
    let (t, img) = setup();
    let r = Running::start(&t, &["--init", "--cpus", "1.5", &img, "sleep", "30"]);
    let rec = r.wait_running(&t);
    assert_eq!(cgroup_file(&rec, "cpu.cfs_quota_us"), "150000");
    r.signal(libc::SIGTERM);
    r.wait();
}

#[test]
fn cgroup_v2_container_is_born_in_its_group() {
    // This host mounts v1 controllers plus a controller-less cgroup2 hierarchy: force v2
    // to prove placement (clone3 CLONE_INTO_CGROUP) and removal there.
    let (mut t, img) = setup();
    t.env("BOCKER_CGROUP_VERSION", "2");
    let r = Running::start(&t, &["--init", &img, "sleep", "30"]);
    let rec = r.wait_running(&t);
    let pid = rec["state"]["pid"].as_i64().unwrap();
    let id = rec["id"].as_str().unwrap();
    let view = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    assert!(
        view.contains(&format!(
            "0::/{}/{id}\n",
            bocker_e2e::run::store_cgroup_parent(&t)
        )),
        "{view}"
    );
    r.signal(libc::SIGTERM);
    assert_eq!(code(&r.wait()), 143);
    assert!(bocker_e2e::run::census(&t).cgroups.is_empty());
}

#[test]
fn own_network_namespace_with_loopback_up() {
    let (t, img) = setup();
    // Only lo, and it is up (IFF_UP|IFF_LOOPBACK = 0x9).
    let o = t.run(
        "run",
        &[
            "--network",
            "none",
            &img,
            "sh",
            "-c",
            "ls /sys/class/net; cat /sys/class/net/lo/flags",
        ],
    );
    assert_eq!(stdout(&o), "lo\n0x9\n", "{}", stderr(&o));
    let o = t.run("run", &["--network", "bogus", &img, "true"]);
    assert_eq!(code(&o), 125);
}
