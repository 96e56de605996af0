//! End-to-end tests of one saved container config under `create`, `start` and
//! `restart` (Docker's verbs), `wait` on a `--rm` container, and the verbs on a paused
//! container (`exec` refused, `stop` graceful), `attach` to a detached `-i` container.
//! Expected values are Docker 20.10's.

use std::fs;

use bocker_e2e::run::{census, code, eventually, stderr, stdout, supervisor_pid};
use bocker_e2e::TestRoot;

/// Docker's `inspect` of `ctr` (the first element).
fn inspect(t: &TestRoot, ctr: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(&t.ok("inspect", &[ctr])).unwrap();
    v[0].clone()
}

/// Until the shell of container `x` has set its traps (it touches /ready then), a
/// signal would end it by its default action.
fn trap_set(t: &TestRoot) {
    eventually("the trap is set", || {
        t.run("exec", &["x", "test", "-e", "/ready"])
            .status
            .success()
    });
}

/// `ps -a`'s STATUS of the container named `x`.
fn ps_status(t: &TestRoot) -> String {
    t.ok(
        "ps",
        &["-a", "--filter", "name=x", "--format", "{{.Status}}"],
    )
    .trim()
    .to_string()
}

#[test]
fn create_leaves_a_created_container_holding_nothing_and_start_runs_it() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    let id = t.ok(
        "create",
        &[
            "--name",
            "x",
            "-e",
            "V=4",
            &img,
            "sh",
            "-c",
            "echo hi; exit $V",
        ],
    );
    let id = id.trim().to_string();
    assert!(id.starts_with("ps_"), "create prints the id: {id}");
    // Docker 20.10: `ps -a` says Created, inspect State.Status "created".
    assert_eq!(ps_status(&t), "Created");
    let v = inspect(&t, "x");
    assert_eq!(v["State"]["Status"], "created");
    assert_eq!(v["State"]["Running"], false);
    // Nothing runs and nothing is held: no live entry, no cgroup, no supervisor.
    assert!(!t.root.join("live").join(&id).exists());
    assert!(census(&t).cgroups.is_empty(), "{:?}", census(&t).cgroups);
    // `start -a`: attached like a foreground run, its status passed through.
    let o = t.run("start", &["-a", "x"]);
    assert_eq!(stdout(&o), "hi\n", "{}", stderr(&o));
    assert_eq!(
        code(&o),
        4,
        "Docker: start -a exits with the container's status"
    );
    assert_eq!(v["Id"], inspect(&t, "x")["Id"]);
    // An exited container starts again, detached: `start` prints it as named.
    assert_eq!(t.ok("start", &["x"]), "x\n");
    assert_eq!(t.ok("wait", &["x"]), "4\n");
    assert_eq!(stdout(&t.run("logs", &["x"])), "hi\nhi\n");
    t.ok("rm", &["x"]);
    assert_eq!(census(&t).containers, 0);
}

#[test]
fn a_created_container_is_removed_by_rm_and_never_started() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    t.ok("create", &["--name", "x", &img, "true"]);
    // Docker 20.10: rm of a created container needs no -f.
    assert!(t.ok("rm", &["x"]).starts_with("Removed: ps_"));
    assert!(!t.run("inspect", &["x"]).status.success());
    // create takes no -d (Docker's create has no such flag).
    assert_ne!(code(&t.run("create", &["-d", &img, "true"])), 0);
}

#[test]
fn run_is_create_then_start_so_start_of_an_exited_run_keeps_its_settings() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    let o = t.run(
        "run",
        &[
            "--name",
            "x",
            "-w",
            "/tmp",
            "--hostname",
            "h1",
            &img,
            "sh",
            "-c",
            "echo $(pwd) $(hostname)",
        ],
    );
    assert_eq!(stdout(&o), "/tmp h1\n", "{}", stderr(&o));
    let o = t.run("start", &["-a", "x"]);
    assert_eq!(stdout(&o), "/tmp h1\n", "{}", stderr(&o));
    assert_eq!(code(&o), 0);
}

#[test]
fn restart_keeps_id_name_files_and_network() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    let id = t.ok(
        "run",
        &[
            "-d",
            "--name",
            "x",
            &img,
            "sh",
            "-c",
            "echo run >> /runs; exec sleep 600",
        ],
    );
    let id = id.trim().to_string();
    eventually("the first run wrote its line", || {
        t.run("exec", &["x", "cat", "/runs"]).stdout == b"run\n"
    });
    let first_pid = inspect(&t, "x")["State"]["Pid"].clone();
    let first_sup = supervisor_pid(&t, &id);
    // Docker 20.10: restart prints the container as named; `sleep` ignores SIGTERM, so
    // the timeout ends it.
    assert_eq!(t.ok("restart", &["-t", "1", "x"]), "x\n");
    let v = inspect(&t, "x");
    assert_eq!(
        v["Id"].as_str().unwrap().trim_start_matches("ps_"),
        id.trim_start_matches("ps_")
    );
    assert_eq!(v["State"]["Status"], "running");
    // Docker 20.10: a start of a running container does nothing and prints its name.
    assert_eq!(t.ok("start", &["x"]), "x\n");
    assert_eq!(inspect(&t, "x")["State"]["Pid"], v["State"]["Pid"]);
    assert_ne!(v["State"]["Pid"], first_pid, "a new first process");
    assert_ne!(supervisor_pid(&t, &id), first_sup, "a new supervisor");
    eventually("the second run wrote its line", || {
        t.run("exec", &["x", "cat", "/runs"]).stdout == b"run\nrun\n"
    });
    // Its network again: an address on the bridge, and /etc/hosts names it once.
    let ip = v["NetworkSettings"]["IPAddress"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(!ip.is_empty(), "{v}");
    let addr = stdout(&t.run("exec", &["x", "ip", "-4", "addr", "show", "eth0"]));
    assert!(addr.contains(&format!("inet {ip}/")), "{addr}");
    let hosts = stdout(&t.run("exec", &["x", "cat", "/etc/hosts"]));
    assert_eq!(hosts.matches(&ip).count(), 1, "{hosts}");
    assert_eq!(hosts.matches("127.0.0.1").count(), 1, "{hosts}");
    // An exited container restarts too.
    t.ok("stop", &["-t", "0", "x"]);
    assert_eq!(t.ok("restart", &["x"]), "x\n");
    assert_eq!(inspect(&t, "x")["State"]["Status"], "running");
    t.ok("rm", &["-f", "x"]);
    eventually("nothing is left", || {
        let c = census(&t);
        c.cgroups.is_empty() && c.containers == 0
    });
}

#[test]
fn an_rm_container_survives_its_restart_and_goes_at_its_exit() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    t.ok("run", &["-d", "--rm", "--name", "x", &img, "sleep", "600"]);
    // Docker 20.10: restart keeps an auto-remove container.
    assert_eq!(t.ok("restart", &["-t", "0", "x"]), "x\n");
    assert_eq!(inspect(&t, "x")["State"]["Status"], "running");
    // Its volatile layer was mounted again (overlayfs refuses that until the marker
    // its first mount left is cleared) and is volatile still.
    let mounts = t.ok("exec", &["x", "cat", "/proc/mounts"]);
    assert!(mounts.contains("volatile"), "{mounts}");
    t.ok("stop", &["-t", "0", "x"]);
    eventually("removed at its exit", || {
        !t.run("inspect", &["x"]).status.success()
    });
    eventually("nothing is left", || census(&t).containers == 0);
}

#[test]
fn wait_on_an_rm_container_prints_its_exit_code() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    let script = "while [ ! -f /go ]; do sleep 0.05; done; exit 3";
    t.ok(
        "run",
        &["-d", "--rm", "--name", "x", &img, "sh", "-c", script],
    );
    // Docker 20.10: a wait started before the exit prints the code, --rm or not.
    let o = std::thread::scope(|s| {
        let h = s.spawn(|| t.cmd("wait").arg("x").output().unwrap());
        // The waiter holds the container before it is told to exit.
        eventually("the waiter runs", || {
            fs::read_dir("/proc").unwrap().flatten().any(|e| {
                fs::read_to_string(e.path().join("cmdline"))
                    .is_ok_and(|c| c.contains("bocker-wait") && c.contains("\0x"))
            })
        });
        std::thread::sleep(std::time::Duration::from_millis(200));
        t.ok("exec", &["x", "touch", "/go"]);
        h.join().unwrap()
    });
    assert_eq!(stdout(&o), "3\n", "{}", stderr(&o));
    assert_eq!(code(&o), 0);
    eventually("removed", || !t.run("inspect", &["x"]).status.success());
    // Docker: wait on a removed container is an error (bocker keeps the seed's words).
    let e = t.fails("wait", &["x"]);
    assert!(e.contains("No container named 'x' exists"), "{e}");
}

#[test]
fn exec_into_a_paused_container_is_refused_and_stop_of_it_is_graceful() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    let cmd = "trap 'exit 7' TERM; touch /ready; while true; do sleep 0.1; done";
    t.ok("run", &["-d", "--name", "x", &img, "sh", "-c", cmd]);
    trap_set(&t);
    t.ok("pause", &["x"]);
    // Docker 20.10's message (checked: the container as named), and a non-zero status,
    // not a hang.
    let e = t.fails("exec", &["x", "true"]);
    let refused = "Container x is paused, unpause the container before exec";
    assert!(e.contains(refused), "{e}");
    // Docker 20.10: stop of a paused container sends its stop signal, then thaws it:
    // the trap runs (7), not a SIGKILL (137).
    assert_eq!(t.ok("stop", &["-t", "20", "x"]), "x\n");
    assert_eq!(t.ok("wait", &["x"]), "7\n");
    t.ok("rm", &["x"]);
}

#[test]
fn kill_of_a_paused_container_signals_then_thaws_it() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    let cmd = "trap 'exit 8' USR1; touch /ready; while true; do sleep 0.1; done";
    t.ok("run", &["-d", "--name", "x", &img, "sh", "-c", cmd]);
    trap_set(&t);
    t.ok("pause", &["x"]);
    // Docker 20.10 (checked): `kill -s USR1` of a paused container succeeds, thaws it,
    // and the trap runs.
    assert_eq!(t.ok("kill", &["-s", "USR1", "x"]), "x\n");
    assert_eq!(t.ok("wait", &["x"]), "8\n");
    t.ok("rm", &["x"]);
}

#[test]
fn run_d_i_keeps_stdin_open_and_attach_feeds_it_and_gets_the_exit_status() {
    use std::io::Write;
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    let script = "read l; echo got:$l; exit 5";
    t.ok(
        "run",
        &["-d", "-i", "--name", "x", &img, "sh", "-c", script],
    );
    // Docker 20.10: `run -d -i` keeps the container's stdin open (its `read` waits),
    // and `attach` feeds it ours and exits with the container's status.
    let mut a = t
        .cmd("attach")
        .arg("x")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    a.stdin.take().unwrap().write_all(b"hello\n").unwrap();
    let o = a.wait_with_output().unwrap();
    assert_eq!(stdout(&o), "got:hello\n", "{}", stderr(&o));
    assert_eq!(code(&o), 5);
    assert_eq!(t.ok("wait", &["x"]), "5\n");
    // Docker's message for an exited container.
    let e = t.fails("attach", &["x"]);
    assert!(
        e.contains("You cannot attach to a stopped container, start it first"),
        "{e}"
    );
    t.ok("rm", &["x"]);
}

#[test]
fn start_a_i_feeds_our_stdin_to_a_created_i_container() {
    use std::io::Write;
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    t.ok(
        "create",
        &["-i", "--name", "x", &img, "sh", "-c", "cat; exit 2"],
    );
    // Docker 20.10: `start -a -i` attaches stdin too; EOF ends `cat`.
    let mut s = t
        .cmd("start")
        .args(["-a", "-i", "x"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    s.stdin.take().unwrap().write_all(b"fed\n").unwrap();
    let o = s.wait_with_output().unwrap();
    assert_eq!(stdout(&o), "fed\n", "{}", stderr(&o));
    assert_eq!(code(&o), 2);
    // Docker's rule: only one container can be started attached.
    let e = t.fails("start", &["-a", "x", "x"]);
    assert!(
        e.contains("you cannot start and attach multiple containers at once"),
        "{e}"
    );
    t.ok("rm", &["x"]);
}

#[test]
fn attach_passes_signals_on_unless_sig_proxy_is_false() {
    use std::io::{BufRead, BufReader};
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    let script = "trap 'exit 9' TERM; while true; do echo tick; sleep 0.1; done";
    t.ok("run", &["-d", "--name", "x", &img, "sh", "-c", script]);
    // Attached once its first line arrives; then a SIGTERM to the attach process.
    let attach_and_term = |flags: &[&str]| {
        let mut a = t
            .cmd("attach")
            .args(flags)
            .arg("x")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(a.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line, "tick\n");
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(a.id() as i32, libc::SIGTERM) };
        a.wait_with_output().unwrap()
    };
    // Docker 20.10: `--sig-proxy=false`: the signal ends attach only.
    let o = attach_and_term(&["--sig-proxy=false"]);
    assert_eq!(o.status.code(), None, "killed by the signal");
    assert_eq!(inspect(&t, "x")["State"]["Status"], "running");
    // By default it reaches the container, whose status becomes ours.
    let o = attach_and_term(&[]);
    assert_eq!(code(&o), 9, "{}", stderr(&o));
    assert_eq!(t.ok("wait", &["x"]), "9\n");
    t.ok("rm", &["x"]);
}
