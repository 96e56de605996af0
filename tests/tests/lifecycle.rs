//! End-to-end tests of a container's life under its own supervisor: `run -d`, the
//! supervisor outside the caller's session, a foreground caller that goes away, a
//! supervisor killed with SIGKILL, many detached containers removed with `rm -f`.

use std::fs;
use std::process::Stdio;

use bocker_e2e::run::{
    alive, bocker_run_pids, census, code, eventually, stderr, stdout, supervisor_pid,
};
use bocker_e2e::TestRoot;

/// The record of container `id` (from `inspect`).
fn record(t: &TestRoot, id: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_str(&t.ok("inspect", &[id])).unwrap();
    // `inspect` prints Docker's shape; bocker's own record is under `Bocker`.
    v[0]["Bocker"].clone()
}

/// `(ppid, session id)` of `pid` from /proc/<pid>/stat.
fn parent_and_session(pid: i32) -> (i32, i32) {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    (rest[1].parse().unwrap(), rest[3].parse().unwrap())
}

#[test]
fn run_d_prints_the_id_returns_and_the_supervisor_records_the_exit() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    // Docker 20.10: `run -d` prints the full id and returns while the container runs.
    let id = t.ok(
        "run",
        &[
            "-d",
            &img,
            "sh",
            "-c",
            "echo out; echo err >&2; sleep 1; exit 3",
        ],
    );
    let id = id.trim().to_string();
    assert!(id.starts_with("ps_"), "{id}");
    assert_eq!(record(&t, &id)["state"]["status"], "running");
    // The live entry names the supervisor: not our child, in a session of its own,
    // its stdio on /dev/null.
    let sup = supervisor_pid(&t, &id);
    assert!(alive(sup));
    let (ppid, sid) = parent_and_session(sup);
    assert_ne!(ppid, std::process::id() as i32);
    assert_ne!(sid, parent_and_session(std::process::id() as i32).1);
    for fd in 0..3 {
        let to = fs::read_link(format!("/proc/{sup}/fd/{fd}")).unwrap();
        assert_eq!(to.to_str(), Some("/dev/null"), "fd {fd}");
    }
    eventually("the container exits", || {
        record(&t, &id)["state"]["status"] == "exited"
    });
    let rec = record(&t, &id);
    assert_eq!(rec["state"]["exit_code"], 3);
    assert!(rec["state"]["finished_at"].is_string(), "{rec}");
    let logs = t.run("logs", &[&id]);
    assert_eq!(stdout(&logs), "out\n");
    assert_eq!(stderr(&logs), "err\n");
    eventually("the supervisor is gone", || !alive(sup));
    assert!(!t.root.join("live").join(&id).exists());
    t.ok("rm", &[&id]);
}

#[test]
fn run_d_rm_removes_the_container_when_it_exits() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    let id = t.ok("run", &["-d", "--rm", &img, "sleep", "0.2"]);
    let id = id.trim().to_string();
    eventually("the container is removed", || {
        !t.run("inspect", &[&id]).status.success()
    });
    eventually("nothing is left", || {
        let c = census(&t);
        c.cgroups.is_empty() && c.containers == 0 && bocker_run_pids(&t).is_empty()
    });
}

#[test]
fn run_d_start_failures_are_reported_by_the_caller() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    // Docker 20.10: 127 for a command that is not found, with -d too.
    let o = t.run("run", &["-d", &img, "/no/such/command"]);
    assert_eq!(code(&o), 127, "{}", stderr(&o));
    assert!(stderr(&o).contains("/no/such/command"), "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
    let o = t.run("run", &["-d", "--pull", "never", "no-such-image"]);
    assert_eq!(code(&o), 125, "{}", stderr(&o));
}

#[test]
fn foreground_run_relays_output_status_and_stdin() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    let o = t.run(
        "run",
        &["--rm", &img, "sh", "-c", "echo a; echo b >&2; exit 4"],
    );
    assert_eq!(
        (code(&o), stdout(&o), stderr(&o)),
        (4, "a\n".into(), "b\n".into())
    );
    // -i without a terminal: the container's stdin is a pipe fed from ours.
    let mut c = t
        .cmd("run")
        .args([
            "--rm",
            "-i",
            &img,
            "sh",
            "-c",
            "cat; [ -p /proc/self/fd/0 ] && echo pipe",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut c.stdin.take().unwrap(), b"hi\n").unwrap();
    let o = c.wait_with_output().unwrap();
    assert_eq!(stdout(&o), "hi\npipe\n");
}

#[test]
fn a_killed_supervisor_is_reported_dead_and_cleaned_by_the_next_command() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    let id = t.ok("run", &["-d", "--name", "victim", &img, "sleep", "60"]);
    let id = id.trim().to_string();
    let pid = record(&t, &id)["state"]["pid"].as_i64().unwrap() as i32;
    let sup = supervisor_pid(&t, &id);
    // SAFETY: signalling the supervisor this test started.
    unsafe { libc::kill(sup, libc::SIGKILL) };
    // The container dies with its supervisor (its parent-death signal).
    eventually("the container dies", || !alive(pid));
    // ps says it as Docker does: `Dead`, then `Exited (137) … ago`.
    let ps = t.ok("ps", &["-a"]);
    assert!(ps.contains("Dead"), "{ps}");
    t.ok("run", &["--rm", &img, "true"]);
    let ps = t.ok("ps", &["-a"]);
    assert!(ps.contains("Exited (137)"), "{ps}");
    let c = census(&t);
    assert!(c.cgroups.is_empty(), "{c:?}");
    assert_eq!(fs::read_dir(t.root.join("live")).unwrap().count(), 0);
    t.ok("rm", &["victim"]);
}

#[test]
fn fifty_detached_containers_then_rm_f_leave_nothing() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    t.ok("run", &["--rm", &img, "true"]);
    let before = census(&t);
    let ids: Vec<String> = (0..50)
        .map(|_| {
            t.ok("run", &["-d", &img, "sleep", "600"])
                .trim()
                .to_string()
        })
        .collect();
    let sups: Vec<i32> = ids.iter().map(|id| supervisor_pid(&t, id)).collect();
    assert_eq!(t.ok("ps", &["-q"]).lines().count(), 50);
    let mut args = vec!["-f"];
    args.extend(ids.iter().map(String::as_str));
    t.ok("rm", &args);
    eventually("every supervisor is gone", || {
        !sups.iter().any(|&p| alive(p))
    });
    let after = census(&t);
    assert_eq!(after, before);
    assert_eq!(fs::read_dir(t.root.join("live")).unwrap().count(), 0);
    let net = t.root.join("net").join(&t.bridge).join("leases");
    assert_eq!(fs::read_dir(net).map(|d| d.count()).unwrap_or(0), 0);
}

#[test]
fn logs_f_streams_lines_as_they_appear_and_ends_when_the_container_exits() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    let sig = t.base.join("sig");
    fs::create_dir(&sig).unwrap();
    let vol = format!("{}:/sig", sig.display());
    let script = "echo first; while [ ! -e /sig/go ]; do sleep 0.05; done; echo second";
    let id = t.ok("run", &["-d", "-v", &vol, &img, "sh", "-c", script]);
    let id = id.trim();
    let mut f = t
        .cmd("logs")
        .args(["-f", id])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(f.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    assert_eq!(line, "first\n");
    // Still running: the second line is not written yet, and `logs -f` waits for it.
    assert_eq!(record(&t, id)["state"]["status"], "running");
    fs::write(sig.join("go"), "").unwrap();
    line.clear();
    std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    assert_eq!(line, "second\n");
    // The container exits: `logs -f` ends by itself.
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    assert_eq!(rest, "");
    assert!(f.wait().unwrap().success());
    // -t: every line stamped; -n/--tail: the last lines.
    let o = t.ok("logs", &["-t", "-n", "1", id]);
    assert!(o.ends_with("Z second\n") && o.lines().count() == 1, "{o}");
    let o = t.ok(
        "logs",
        &["--since", "1h", "--until", "2999-01-01T00:00:00Z", id],
    );
    assert_eq!(o, "first\nsecond\n");
    assert_eq!(t.ok("logs", &["--since", "2999-01-01", id]), "");
}

#[test]
fn a_foreground_caller_piped_to_head_returns_and_the_log_stays_bounded() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    // The scenario: `bocker run IMG yes | head -c 100` returned only when the disk
    // was full. Docker 20.10: the client exits, the container goes on.
    let run = bocker_e2e::bin("run");
    let line = format!(
        "{} --name y --log-opt max-size=256k --log-opt max-file=2 {img} yes | head -c 100",
        run.display()
    );
    let base = t.cmd("run");
    let o = std::process::Command::new("sh")
        .args(["-c", &line])
        .envs(base.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(o.stdout, b"y\n".repeat(50));
    let log = t.root.join("containers").join(id_of(&t, "y")).join("log");
    // Rotation has happened at least twice: the oldest file was dropped.
    eventually("the log rotates", || log.with_extension("1").exists());
    assert_eq!(record(&t, "y")["state"]["status"], "running");
    let size = |p: &std::path::Path| fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    for _ in 0..20 {
        let total = size(&log) + size(&log.with_extension("1")) + size(&log.with_extension("2"));
        assert!(
            total <= 2 * (256 << 10) + (256 << 10),
            "log of {total} bytes"
        );
        assert!(!log.with_extension("2").exists());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    t.ok("rm", &["-f", "y"]);
    eventually("nothing is left", || {
        let c = census(&t);
        c.cgroups.is_empty() && c.containers == 0 && bocker_run_pids(&t).is_empty()
    });
}

/// The id of the container named `name`.
fn id_of(t: &TestRoot, name: &str) -> String {
    record(t, name)["id"].as_str().unwrap().to_string()
}

#[test]
fn three_sigints_detach_a_foreground_caller_and_leave_the_container_running() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    // `sleep` as PID 1 has no SIGINT handler: the kernel drops SIGINT for it.
    let r = bocker_e2e::run::Running::start(&t, &["--name", "s", &img, "sleep", "600"]);
    r.wait_running(&t);
    // Signals of one kind coalesce while pending: send until the caller gives up.
    let caller = r.child.id() as i32;
    eventually("the caller gives up", || {
        // SAFETY: signalling the bocker-run this test started.
        unsafe { libc::kill(caller, libc::SIGINT) };
        std::thread::sleep(std::time::Duration::from_millis(50));
        !alive(caller)
    });
    let o = r.wait();
    // Docker CLI: "got 3 SIGTERM/SIGINTs, forcefully exiting".
    assert!(
        stderr(&o).contains("got 3 SIGTERM/SIGINTs, forcefully exiting"),
        "{}",
        stderr(&o)
    );
    assert_eq!(record(&t, "s")["state"]["status"], "running");
    let sup = supervisor_pid(&t, &id_of(&t, "s"));
    assert!(alive(sup));
    t.ok("rm", &["-f", "s"]);
    eventually("the supervisor is gone", || !alive(sup));
}

/// A tmux server of this test's own (its socket under the test root), killed on drop.
struct Tmux<'a> {
    t: &'a TestRoot,
    sock: std::path::PathBuf,
}

impl<'a> Tmux<'a> {
    fn new(t: &'a TestRoot, shell: &str) -> Tmux<'a> {
        let tmux = Tmux {
            t,
            sock: t.base.join("tmux.sock"),
        };
        tmux.run(&[
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            "100",
            "-y",
            "30",
            shell,
        ]);
        tmux
    }

    fn run(&self, args: &[&str]) -> String {
        let base = self.t.cmd("run");
        let o = std::process::Command::new("tmux")
            .envs(base.get_envs().filter_map(|(k, v)| Some((k, v?))))
            .arg("-S")
            .arg(&self.sock)
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "tmux {args:?}: {}", stderr(&o));
        stdout(&o)
    }

    fn keys(&self, keys: &str) {
        self.run(&["send-keys", "-t", "t", keys]);
    }

    /// Polls the pane until it shows `what`.
    fn wait_for(&self, what: &str) -> String {
        let mut pane = String::new();
        eventually(&format!("the pane shows {what:?}"), || {
            pane = self.run(&["capture-pane", "-p", "-t", "t"]);
            pane.contains(what)
        });
        pane
    }
}

impl Drop for Tmux<'_> {
    fn drop(&mut self) {
        let _ = std::process::Command::new("tmux")
            .arg("-S")
            .arg(&self.sock)
            .arg("kill-server")
            .status();
    }
}

#[test]
fn run_it_prompt_command_ctrl_c_window_size_status_and_the_terminal_restored() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    let out = t.base.join("out");
    let shell = format!(
        "stty -g > {o}.before; {run} --rm -it {img} sh; echo $? > {o}.status; stty -g > {o}.after; sleep 60",
        o = out.display(),
        run = bocker_e2e::bin("run").display(),
    );
    let tmux = Tmux::new(&t, &shell);
    // busybox sh's root prompt, from inside the container.
    tmux.wait_for("/ #");
    tmux.keys("tty; stty size");
    tmux.keys("Enter");
    tmux.wait_for("30 100");
    assert!(tmux.wait_for("/dev/pts/").contains("/dev/pts/0"));
    tmux.run(&["resize-window", "-t", "t", "-x", "120", "-y", "40"]);
    tmux.keys("stty size");
    tmux.keys("Enter");
    tmux.wait_for("40 120");
    // Ctrl-C reaches the command in the container (the shell goes on).
    tmux.keys("sleep 100; echo after-sleep");
    tmux.keys("Enter");
    std::thread::sleep(std::time::Duration::from_millis(300));
    tmux.keys("C-c");
    tmux.keys("echo still-$((40+2))");
    tmux.keys("Enter");
    tmux.wait_for("still-42");
    tmux.keys("exit 3");
    tmux.keys("Enter");
    eventually("run returns", || {
        fs::read_to_string(out.with_extension("after")).is_ok_and(|s| !s.is_empty())
    });
    assert_eq!(
        fs::read_to_string(out.with_extension("status")).unwrap(),
        "3\n"
    );
    assert_eq!(
        fs::read_to_string(out.with_extension("before")).unwrap(),
        fs::read_to_string(out.with_extension("after")).unwrap(),
        "the caller's terminal settings changed"
    );
}

#[test]
fn detach_keys_leave_an_it_container_running_and_i_alone_gives_no_terminal() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    let run = bocker_e2e::bin("run");
    let shell = format!(
        "{run} -i --rm {img} tty; {run} --name d -ti {img} sh; echo detached=$?; sleep 60",
        run = run.display(),
    );
    let tmux = Tmux::new(&t, &shell);
    // -i without -t: the container's stdin is a pipe, never the caller's terminal.
    tmux.wait_for("not a tty");
    tmux.wait_for("/ #");
    // Docker's detach keys: Ctrl-P Ctrl-Q.
    tmux.keys("C-p");
    tmux.keys("C-q");
    tmux.wait_for("detached=0");
    assert_eq!(record(&t, "d")["state"]["status"], "running");
    t.ok("rm", &["-f", "d"]);
}

#[test]
fn a_foreground_it_run_detached_by_its_keys_can_be_attached_again() {
    // Docker 20.10: `docker run -it` left with Ctrl-P Ctrl-Q, then `docker attach` gets
    // the container's terminal back. Before, only a `run -d` could be attached.
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    let shell = format!(
        "{run} --name f -ti {img} sh; echo detached=$?; {attach} f; echo status=$?; sleep 60",
        run = bocker_e2e::bin("run").display(),
        attach = bocker_e2e::bin("attach").display(),
    );
    let tmux = Tmux::new(&t, &shell);
    tmux.wait_for("/ #");
    tmux.keys("C-p");
    tmux.keys("C-q");
    tmux.wait_for("detached=0");
    tmux.keys("echo back-$((3+3))");
    tmux.keys("Enter");
    tmux.wait_for("back-6");
    tmux.keys("exit 5");
    tmux.keys("Enter");
    tmux.wait_for("status=5");
    assert_eq!(t.ok("wait", &["f"]), "5\n");
    t.ok("rm", &["f"]);
}

#[test]
fn attach_to_a_detached_it_container_gets_its_terminal_detaches_and_reattaches() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    t.ok("run", &["-d", "-it", "--name", "a", &img, "sh"]);
    let attach = bocker_e2e::bin("attach");
    let shell = format!(
        "{a} a; echo detached-$((1+1)); {a} a; echo status=$?; sleep 60",
        a = attach.display(),
    );
    let tmux = Tmux::new(&t, &shell);
    // Docker 20.10: `attach` gives the container's terminal, at our window size.
    tmux.keys("stty size; echo in-$((2+2))");
    tmux.keys("Enter");
    tmux.wait_for("in-4");
    tmux.wait_for("30 100");
    // Ctrl-P Ctrl-Q: we leave, the container goes on.
    tmux.keys("C-p");
    tmux.keys("C-q");
    tmux.wait_for("detached-2");
    assert_eq!(record(&t, "a")["state"]["status"], "running");
    // Attached again, the container's exit status is ours.
    tmux.keys("exit 4");
    tmux.keys("Enter");
    tmux.wait_for("status=4");
    assert_eq!(t.ok("wait", &["a"]), "4\n");
    t.ok("rm", &["a"]);
}
