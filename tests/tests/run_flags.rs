//! End-to-end tests of issue 13's everyday `run` flags that are not mounts or ports, one
//! test per flag, each with Docker's answer for the same command where it has one
//! (Docker CLI 28.2.2 / engine 20.10.24+dfsg1 on Debian 12, cgroup v1, run on this
//! machine 2026-11-29). The host lacks CAP_SYS_RESOURCE: Docker's `--privileged` fails
//! here (`runc create failed: unable to start container process: unable to apply caps:
//! operation not permitted`), bocker's leaves that one capability out.

use std::fs;

use bocker_e2e::pull::{Auth, Registry};
use bocker_e2e::run::{code, stderr, stdout};
use bocker_e2e::TestRoot;

fn setup() -> (TestRoot, String) {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    (t, img)
}

/// `run --rm --network none <flags> IMG <cmd…>`; asserts success, returns stdout.
fn ok(t: &TestRoot, flags: &[&str], img: &str, cmd: &[&str]) -> String {
    let o = run(t, flags, img, cmd);
    assert_eq!(code(&o), 0, "run {flags:?} {cmd:?}: {}", stderr(&o));
    stdout(&o)
}

fn run(t: &TestRoot, flags: &[&str], img: &str, cmd: &[&str]) -> std::process::Output {
    let mut args = vec!["--rm", "--network", "none"];
    args.extend(flags);
    args.push(img);
    args.extend(cmd);
    t.run("run", &args)
}

/// The `Cap*` lines of /proc/self/status inside a container run with `flags`.
fn caps(t: &TestRoot, flags: &[&str], img: &str) -> String {
    ok(t, flags, img, &["grep", "^Cap", "/proc/self/status"])
}

fn inspect(t: &TestRoot, name: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(&t.ok("inspect", &[name])).unwrap();
    v[0].clone()
}

#[test]
fn h_is_the_hostname_and_net_is_network() {
    let (t, img) = setup();
    // Docker 28.2.2: `docker run --rm -h myhost IMG hostname` prints `myhost`.
    let o = t.run(
        "run",
        &["--rm", "--net", "none", "-h", "myhost", &img, "hostname"],
    );
    assert_eq!(
        (code(&o), stdout(&o).as_str()),
        (0, "myhost\n"),
        "{}",
        stderr(&o)
    );
    // --help is still help.
    let o = t.run("run", &["--help"]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("-h, --hostname"));
}

#[test]
fn cap_drop_all_leaves_no_capability() {
    let (t, img) = setup();
    // Docker 20.10: `--cap-drop ALL` → every Cap line 0000000000000000.
    let out = caps(&t, &["--cap-drop", "ALL"], &img);
    assert_eq!(out.lines().count(), 5, "{out}");
    for l in out.lines() {
        assert!(l.ends_with("0000000000000000"), "{out}");
    }
    // `--cap-drop all --cap-add net_admin`: CAP_NET_ADMIN (bit 12) only.
    let out = caps(&t, &["--cap-drop", "all", "--cap-add", "net_admin"], &img);
    assert!(out.contains("CapEff:\t0000000000001000"), "{out}");
}

#[test]
fn cap_add_and_drop_change_the_default_set() {
    let (t, img) = setup();
    // Docker 20.10's default set: 00000000a80425fb.
    assert!(caps(&t, &[], &img).contains("CapEff:\t00000000a80425fb"));
    // + CAP_SYS_ADMIN (21), − CAP_CHOWN (0).
    let out = caps(
        &t,
        &["--cap-add", "SYS_ADMIN", "--cap-drop", "CAP_CHOWN"],
        &img,
    );
    assert!(out.contains("CapBnd:\t00000000a82425fa"), "{out}");
    // Docker: `invalid CapAdd: unknown capability: "CAP_FOO"`, status 125.
    let o = run(&t, &["--cap-add", "foo"], &img, &["true"]);
    assert_eq!(code(&o), 125);
    assert!(
        stderr(&o).contains("invalid CapAdd: unknown capability: \"CAP_FOO\""),
        "{}",
        stderr(&o)
    );
    let name = "capped";
    t.ok(
        "run",
        &[
            "--name",
            name,
            "--network",
            "none",
            "--cap-add",
            "net_admin",
            &img,
            "true",
        ],
    );
    let i = inspect(&t, name);
    assert_eq!(
        i["HostConfig"]["CapAdd"],
        serde_json::json!(["CAP_NET_ADMIN"])
    );
    assert_eq!(i["HostConfig"]["CapDrop"], serde_json::Value::Null);
    assert_eq!(i["HostConfig"]["Privileged"], false);
    t.ok("rm", &[name]);
}

#[test]
fn privileged_can_mount_and_has_no_filter() {
    let (t, img) = setup();
    let mount = [
        "sh",
        "-c",
        "mkdir -p /tmp/m && mount -t tmpfs t /tmp/m && echo mounted",
    ];
    // Docker: refused without --privileged (no CAP_SYS_ADMIN, seccomp denies mount).
    let o = run(&t, &[], &img, &mount);
    assert_ne!(code(&o), 0);
    assert_eq!(ok(&t, &["--privileged"], &img, &mount), "mounted\n");
    let out = ok(
        &t,
        &["--privileged"],
        &img,
        &["grep", "-E", "^(Seccomp|CapEff):", "/proc/self/status"],
    );
    // Docker 20.10: `Seccomp: 0`, every capability (bocker's host lacks CAP_SYS_RESOURCE).
    assert!(out.contains("Seccomp:\t0"), "{out}");
    assert!(out.contains("CapEff:\t000001fffeffffff"), "{out}");
    // /sys writable, nothing masked (Docker: /proc/keys is the real file).
    let out = ok(
        &t,
        &["--privileged"],
        &img,
        &["sh", "-c", "grep ' /sys ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1; grep -c ' /proc/keys ' /proc/mounts || true"],
    );
    assert_eq!(out, "rw\n0\n");
    // Every device is allowed in the device cgroup (Docker: `a *:* rwm`): a node made
    // for /dev/net/tun (10:200, outside the default policy) opens; without, it does not.
    let tun = [
        "sh",
        "-c",
        "mknod /tmp/tun c 10 200 && (exec 3</tmp/tun) 2>/dev/null && echo opened || echo denied",
    ];
    assert_eq!(ok(&t, &["--privileged"], &img, &tun), "opened\n");
    assert_eq!(ok(&t, &[], &img, &tun), "denied\n");
}

#[test]
fn device_is_made_and_allowed() {
    let (t, img) = setup();
    // Docker: `--device /dev/null:/dev/mynull` is a working null device.
    let out = ok(
        &t,
        &["--device", "/dev/null:/dev/mynull"],
        &img,
        &[
            "sh",
            "-c",
            "echo x > /dev/mynull && stat -c '%t:%T %F' /dev/mynull",
        ],
    );
    assert_eq!(out, "1:3 character special file\n");
    // A device outside Docker's default policy (/dev/net/tun, 10:200), read-only in the
    // device cgroup: opening it for reading works, for writing is refused.
    let cmd = [
        "sh",
        "-c",
        "exec 3</dev/tun && echo read; (exec 4>/dev/tun) 2>/dev/null || echo denied",
    ];
    let out = ok(&t, &["--device", "/dev/net/tun:/dev/tun:r"], &img, &cmd);
    assert_eq!(out, "read\ndenied\n");
    // Docker's message for a missing host device, status 125.
    let o = run(&t, &["--device", "/dev/nope-bocker"], &img, &["true"]);
    assert_eq!(code(&o), 125);
    assert!(
        stderr(&o).contains(
            "error gathering device information while adding custom device \"/dev/nope-bocker\""
        ),
        "{}",
        stderr(&o)
    );
}

#[test]
fn security_opt_seccomp_unconfined_and_a_profile() {
    let (t, img) = setup();
    let status = ["grep", "^Seccomp:", "/proc/self/status"];
    // Docker 20.10: the default profile is a filter (2); unconfined has none (0).
    assert_eq!(ok(&t, &[], &img, &status), "Seccomp:\t2\n");
    assert_eq!(
        ok(&t, &["--security-opt", "seccomp=unconfined"], &img, &status),
        "Seccomp:\t0\n"
    );
    // Docker's profile format, one rule: mkdir and mkdirat fail with EPERM.
    let profile = t.base.join("no-mkdir.json");
    fs::write(
        &profile,
        r#"{"defaultAction":"SCMP_ACT_ALLOW",
            "archMap":[{"architecture":"SCMP_ARCH_X86_64","subArchitectures":["SCMP_ARCH_X86"]}],
            "syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","args":[]}]}"#,
    )
    .unwrap();
    let opt = format!("seccomp={}", profile.display());
    let o = run(&t, &["--security-opt", &opt], &img, &["mkdir", "/x"]);
    assert_eq!(code(&o), 1);
    assert_eq!(
        stderr(&o),
        "mkdir: can't create directory '/x': Operation not permitted\n"
    );
    assert_eq!(
        ok(&t, &["--security-opt", &opt], &img, &["echo", "ok"]),
        "ok\n"
    );
    // Docker 20.10: `systempaths=unconfined` masks nothing.
    let masked = ["sh", "-c", "grep -c ' /proc/keys ' /proc/mounts || true"];
    assert_eq!(ok(&t, &[], &img, &masked), "1\n");
    let opt = ["--security-opt", "systempaths=unconfined"];
    assert_eq!(ok(&t, &opt, &img, &masked), "0\n");
    // No AppArmor or SELinux here: accepted without effect, as Docker on such a host.
    let opts = [
        "--security-opt",
        "apparmor=unconfined",
        "--security-opt",
        "label=disable",
    ];
    assert_eq!(ok(&t, &opts, &img, &["echo", "ok"]), "ok\n");
    // Docker CLI: a missing profile is refused before anything is made.
    let o = run(
        &t,
        &["--security-opt", "seccomp=/nonexistent.json"],
        &img,
        &["true"],
    );
    assert_eq!(code(&o), 125);
    assert!(stderr(&o).contains("opening seccomp profile (/nonexistent.json) failed"));
}

/// Issue 13: a profile whose rules have different actions and errno values, as Docker's
/// own default JSON has (Docker 20.10 runs both with runc/libseccomp: each rule's action).
#[test]
fn security_opt_seccomp_profile_with_several_actions() {
    let (t, img) = setup();
    let profile = t.base.join("two-errnos.json");
    fs::write(
        &profile,
        r#"{"defaultAction":"SCMP_ACT_ALLOW",
            "syscalls":[
              {"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":1},
              {"names":["chmod","fchmodat","fchmodat2"],"action":"SCMP_ACT_ERRNO","errnoRet":38}]}"#,
    )
    .unwrap();
    let opt = format!("seccomp={}", profile.display());
    let o = run(&t, &["--security-opt", &opt], &img, &["mkdir", "/x"]);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("Operation not permitted"),
        "{}",
        stderr(&o)
    );
    let o = run(
        &t,
        &["--security-opt", &opt],
        &img,
        &["chmod", "700", "/tmp"],
    );
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("Function not implemented"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        ok(
            &t,
            &["--security-opt", &opt],
            &img,
            &["sh", "-c", "echo ok"]
        ),
        "ok\n"
    );
    // `exec` gets the same profile, each rule's errno included.
    t.ok(
        "run",
        &[
            "-d",
            "--name",
            "p",
            "--network",
            "none",
            "--security-opt",
            &opt,
            &img,
            "sleep",
            "600",
        ],
    );
    let o = t.run("exec", &["p", "chmod", "700", "/tmp"]);
    let err = stderr(&o);
    assert!(err.contains("Function not implemented"), "{err}");
    let o = t.run("exec", &["p", "mkdir", "/x"]);
    let err = stderr(&o);
    assert!(err.contains("Operation not permitted"), "{err}");
    t.ok("rm", &["-f", "p"]);
    // The shape of Docker's default profile (written from moby's documented format, a
    // trimmed allowlist): ERRNO(EPERM) default, conditional ALLOW rules, includes and
    // excludes by capability, clone3 → ENOSYS.
    let docker = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/seccomp_docker_shape.json"
    );
    let opt = format!("seccomp={docker}");
    assert_eq!(
        ok(
            &t,
            &["--security-opt", &opt],
            &img,
            &["sh", "-c", "echo ok"]
        ),
        "ok\n"
    );
    // chroot is allowed for holders of CAP_SYS_CHROOT (Docker's default set has it).
    assert_eq!(
        ok(
            &t,
            &["--security-opt", &opt],
            &img,
            &["chroot", "/", "echo", "ok"]
        ),
        "ok\n"
    );
    // ftruncate is not in this allowlist: the default's EPERM, where a container with
    // the built-in profile may truncate its own file.
    let truncate = ["truncate", "-s", "0", "/tmp/f"];
    assert_eq!(ok(&t, &[], &img, &truncate), "");
    let o = run(&t, &["--security-opt", &opt], &img, &truncate);
    assert_ne!(code(&o), 0);
    assert!(
        stderr(&o).contains("Operation not permitted"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn labels_show_in_inspect_and_ps_filters() {
    let (t, img) = setup();
    let file = t.base.join("labels");
    fs::write(&file, "# comment\nc=3\n\nd\n").unwrap();
    let f = file.to_str().unwrap();
    t.ok(
        "run",
        &[
            "--name",
            "lab",
            "--network",
            "none",
            "-l",
            "a=1",
            "--label",
            "b",
            "--label-file",
            f,
            &img,
            "true",
        ],
    );
    // Docker 20.10: `{"a":"1","b":"","c":"3","d":""}`.
    assert_eq!(
        inspect(&t, "lab")["Config"]["Labels"],
        serde_json::json!({"a": "1", "b": "", "c": "3", "d": ""})
    );
    assert_eq!(
        t.ok(
            "ps",
            &["-a", "--filter", "label=a=1", "--format", "{{.Names}}"]
        ),
        "lab\n"
    );
    assert_eq!(
        t.ok(
            "ps",
            &["-a", "--filter", "label=c", "--format", "{{.Names}}"]
        ),
        "lab\n"
    );
    assert_eq!(t.ok("ps", &["-a", "--filter", "label=a=2", "-q"]), "");
    // Docker CLI 28.2.2: a label without a name, status 125.
    let o = run(&t, &["-l", "=x"], &img, &["true"]);
    assert_eq!(code(&o), 125);
    assert!(stderr(&o).contains(
        "invalid argument \"=x\" for \"-l, --label\" flag: invalid label '=x': empty name"
    ));
    t.ok("rm", &["lab"]);
}

#[test]
fn ulimit_sets_the_process_limits() {
    let (t, img) = setup();
    // Docker 20.10: `--ulimit nofile=100:100` → `ulimit -n` 100. Hard limits can only be
    // lowered on this host (no CAP_SYS_RESOURCE), so the test lowers them.
    let cmd = ["sh", "-c", "ulimit -n; ulimit -Hn; ulimit -c"];
    assert_eq!(
        ok(
            &t,
            &["--ulimit", "nofile=100:200", "--ulimit", "core=0"],
            &img,
            &cmd
        ),
        "100\n200\n0\n"
    );
    // Docker CLI 28.2.2's messages; status 125.
    let o = run(&t, &["--ulimit", "foo=1"], &img, &["true"]);
    assert_eq!(code(&o), 125);
    assert!(stderr(&o)
        .contains("invalid argument \"foo=1\" for \"--ulimit\" flag: invalid ulimit type: foo"));
    let o = run(&t, &["--ulimit", "nofile=200:100"], &img, &["true"]);
    assert!(stderr(&o)
        .contains("ulimit soft limit must be less than or equal to hard limit: 200 > 100"));
}

#[test]
fn shm_size_sizes_dev_shm() {
    let (t, img) = setup();
    let df = ["sh", "-c", "df -k /dev/shm | tail -1 | awk '{print $2}'"];
    // Docker: 64m by default (65536 KiB), `--shm-size 1m` → 1024.
    assert_eq!(ok(&t, &[], &img, &df), "65536\n");
    assert_eq!(ok(&t, &["--shm-size", "1m"], &img, &df), "1024\n");
    let o = run(&t, &["--shm-size", "lots"], &img, &["true"]);
    assert_eq!(code(&o), 125);
}

#[test]
fn stop_signal_and_stop_timeout_are_what_stop_uses() {
    let (t, img) = setup();
    // The command exits 3 on SIGUSR1 and ignores SIGTERM.
    let script = "trap 'exit 3' USR1; trap '' TERM; echo ready; while :; do sleep 0.1; done";
    let id = t.ok(
        "run",
        &[
            "-d",
            "--name",
            "sig",
            "--network",
            "none",
            "--stop-signal",
            "SIGUSR1",
            &img,
            "sh",
            "-c",
            script,
        ],
    );
    let id = id.trim();
    bocker_e2e::run::eventually("ready", || t.ok("logs", &[id]).contains("ready"));
    t.ok("stop", &["sig"]);
    let i = inspect(&t, "sig");
    assert_eq!(i["State"]["ExitCode"], 3);
    // Docker 20.10: Config.StopSignal as given; StopTimeout omitted when unset.
    assert_eq!(i["Config"]["StopSignal"], "SIGUSR1");
    assert!(i["Config"].get("StopTimeout").is_none());
    // --stop-timeout: a command that ignores the signal is killed after it (137).
    t.ok(
        "run",
        &[
            "-d",
            "--name",
            "slow",
            "--network",
            "none",
            "--stop-timeout",
            "1",
            &img,
            "sh",
            "-c",
            script,
        ],
    );
    bocker_e2e::run::eventually("ready", || t.ok("logs", &["slow"]).contains("ready"));
    t.ok("stop", &["slow"]);
    let i = inspect(&t, "slow");
    assert_eq!(i["State"]["ExitCode"], 137);
    assert_eq!(i["Config"]["StopTimeout"], 1);
    // restart without -t waits the same recorded second, not Docker's default 10 s:
    // it has returned (the container running again) well before 10 s have passed.
    t.ok("start", &["slow"]);
    bocker_e2e::run::eventually("ready again", || {
        t.ok("logs", &["slow"]).matches("ready").count() == 2
    });
    let mut restart = t.cmd("restart").arg("slow").spawn().unwrap();
    let begun = std::time::Instant::now();
    let status = loop {
        if let Some(s) = restart.try_wait().unwrap() {
            break Some(s);
        }
        if begun.elapsed() > std::time::Duration::from_secs(8) {
            let _ = restart.kill();
            let _ = restart.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let status = status.expect("restart waited Docker's default 10 s, not --stop-timeout 1");
    assert!(status.success());
    t.ok("stop", &["-t", "0", "slow"]);
    // Docker: an unknown signal is refused at create.
    let o = run(&t, &["--stop-signal", "SIGNOPE"], &img, &["true"]);
    assert_eq!(code(&o), 125);
    t.ok("rm", &["sig", "slow"]);
}

#[test]
fn cidfile_gets_the_id_and_is_never_overwritten() {
    let (t, img) = setup();
    let cid = t.base.join("cid");
    let path = cid.to_str().unwrap();
    t.ok(
        "run",
        &[
            "--name",
            "c1",
            "--network",
            "none",
            "--cidfile",
            path,
            &img,
            "true",
        ],
    );
    // Docker: the full id, no newline.
    assert_eq!(
        fs::read_to_string(&cid).unwrap(),
        inspect(&t, "c1")["Id"].as_str().unwrap()
    );
    // Docker 28.2.2: refused while the file exists, status 125, nothing created.
    let o = run(&t, &["--name", "c2", "--cidfile", path], &img, &["true"]);
    assert_eq!(code(&o), 125);
    assert!(
        stderr(&o).contains(&format!(
            "container ID file found, make sure the other container isn't running or delete {path}"
        )),
        "{}",
        stderr(&o)
    );
    assert_eq!(t.ok("ps", &["-a", "-q"]).lines().count(), 1);
    // A run refused before its container exists leaves no file behind.
    let other = t.base.join("cid2");
    let o = run(
        &t,
        &["--cidfile", other.to_str().unwrap(), "--ulimit", "x=1"],
        &img,
        &["true"],
    );
    assert_eq!(code(&o), 125);
    assert!(!other.exists());
    t.ok("rm", &["c1"]);
}

#[test]
fn platform_other_than_the_hosts_is_refused() {
    let (t, img) = setup();
    let host = match std::env::consts::ARCH {
        "aarch64" => "linux/arm64",
        _ => "linux/amd64",
    };
    assert_eq!(ok(&t, &["--platform", host], &img, &["echo", "ok"]), "ok\n");
    let o = run(&t, &["--platform", "linux/s390x"], &img, &["true"]);
    assert_eq!(code(&o), 125);
    assert!(
        stderr(&o).contains("--platform linux/s390x"),
        "{}",
        stderr(&o)
    );
}

/// A busybox image on `reg` as `flags/bb:v1` and `:latest`; returns its reference.
fn registry_image(reg: &Registry) -> String {
    bocker_e2e::pull::busybox_on(reg, "flags/bb", &["v1", "latest"])
}

#[test]
fn a_missing_image_is_pulled_first_and_pull_policies_hold() {
    let reg = Registry::start(Auth::None);
    let reference = registry_image(&reg);
    let t = TestRoot::overlay();
    // Docker 20.10: a Docker Hub name is announced the same way; its pull fails here
    // (the harness routes non-loopback registries to a closed loopback port), 125.
    let o = t.run("run", &["--rm", "no-such-image-bocker", "true"]);
    assert_eq!(code(&o), 125);
    assert!(stderr(&o).starts_with("Unable to find image 'no-such-image-bocker:latest' locally\n"));
    // Docker CLI 28.2.2: an unknown policy, status 125.
    let o = t.run("run", &["--pull", "bogus", &reference, "true"]);
    assert_eq!(code(&o), 125);
    assert!(stderr(&o).contains(
        "invalid pull option: 'bogus': must be one of \"always\", \"missing\" or \"never\""
    ));
    // --pull never: no pull, Docker's status 125.
    let o = t.run(
        "run",
        &[
            "--rm",
            "--pull",
            "never",
            "--network",
            "none",
            &reference,
            "true",
        ],
    );
    assert_eq!(code(&o), 125);
    assert!(!stderr(&o).contains("Unable to find image"));
    // Docker 20.10: `Unable to find image 'REF:latest' locally` on stderr, then the
    // pull's output (stderr too), then the container's output on stdout.
    let o = t.run(
        "run",
        &["--rm", "--network", "none", &reference, "cat", "/etc/base"],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stdout(&o), "base\n");
    let err = stderr(&o);
    assert!(
        err.starts_with(&format!(
            "Unable to find image '{reference}:latest' locally\n"
        )),
        "{err}"
    );
    // Present now: no second pull.
    let o = t.run(
        "run",
        &["--rm", "--network", "none", &reference, "cat", "/etc/base"],
    );
    assert_eq!((code(&o), stderr(&o).as_str()), (0, ""));
    // --pull always: pulled again (Docker's "up to date" status), then run.
    let tagged = format!("{reference}:v1");
    let o = t.run(
        "run",
        &[
            "--rm",
            "--pull",
            "always",
            "--network",
            "none",
            &tagged,
            "cat",
            "/etc/base",
        ],
    );
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stdout(&o), "base\n");
    assert!(
        !stderr(&o).contains("Unable to find image"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).is_empty(), "the pull says what it did");
}

#[test]
fn bocker_without_arguments_prints_help_and_succeeds() {
    // Docker 28.2.2: `docker` alone prints its usage on stdout, status 0.
    let o = std::process::Command::new(bocker_e2e::bin(""))
        .output()
        .unwrap();
    assert_eq!(code(&o), 0);
    assert!(
        stdout(&o).contains("usage: bocker <verb>"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn exec_inherits_capabilities_rlimits_and_seccomp() {
    let (t, img) = setup();
    // Docker 20.10: a command exec'd in a `--cap-drop ALL` container has no capability,
    // the container's ulimits and its seccomp filter (here: none).
    t.ok(
        "run",
        &[
            "-d",
            "--name",
            "x",
            "--network",
            "none",
            "--cap-drop",
            "ALL",
            "--ulimit",
            "nofile=90:90",
            "--security-opt",
            "seccomp=unconfined",
            &img,
            "sleep",
            "600",
        ],
    );
    let out = t.ok(
        "exec",
        &[
            "x",
            "sh",
            "-c",
            "grep -E '^(CapEff|Seccomp):' /proc/self/status; ulimit -n",
        ],
    );
    assert_eq!(out, "CapEff:\t0000000000000000\nSeccomp:\t0\n90\n");
    t.ok("rm", &["-f", "x"]);
}

#[test]
fn inspect_shows_the_flags_as_docker() {
    let (t, img) = setup();
    t.ok(
        "run",
        &["--name", "plain", "--network", "none", &img, "true"],
    );
    let h = &inspect(&t, "plain")["HostConfig"];
    // Docker 20.10's values when unset.
    assert_eq!(h["ShmSize"], 67108864);
    for k in ["Ulimits", "Devices", "SecurityOpt", "CapAdd", "CapDrop"] {
        assert_eq!(h[k], serde_json::Value::Null, "{k}");
    }
    t.ok(
        "run",
        &[
            "--name",
            "flagged",
            "--network",
            "none",
            "--shm-size",
            "1m",
            "--ulimit",
            "nofile=100:200",
            "--device",
            "/dev/null:/dev/mynull",
            "--security-opt",
            "no-new-privileges",
            "--cap-drop",
            "chown",
            &img,
            "true",
        ],
    );
    let h = &inspect(&t, "flagged")["HostConfig"];
    // Docker 20.10's shapes for the same flags.
    assert_eq!(h["ShmSize"], 1048576);
    assert_eq!(
        h["Ulimits"],
        serde_json::json!([{"Name": "nofile", "Hard": 200, "Soft": 100}])
    );
    assert_eq!(
        h["Devices"],
        serde_json::json!([{"PathOnHost": "/dev/null", "PathInContainer": "/dev/mynull", "CgroupPermissions": "rwm"}])
    );
    assert_eq!(h["SecurityOpt"], serde_json::json!(["no-new-privileges"]));
    assert_eq!(h["CapDrop"], serde_json::json!(["CAP_CHOWN"]));
    t.ok("rm", &["plain", "flagged"]);
}
