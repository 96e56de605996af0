//! End-to-end tests of `bocker-runtime`'s `events` OOM notifications and of `run` on a
//! terminal without `--console-socket`, driven as runc is driven: a busybox bundle from
//! `bocker-runtime spec`, its own `--root` and cgroup parent (removed in `Drop`).
//! runc 1.1's behaviour is the reference: `events` prints `{"type":"oom","id":…}` when
//! the container's cgroup has an OOM kill; `run` with `process.terminal` and no console
//! socket relays a pty to its own stdio (under `script`, and interactively under a tmux
//! of the test's own: prompt, resize, Ctrl-C); `create` with a terminal and no socket
//! fails with "cannot allocate tty if runc will detach without setting console socket".
//! poststop hooks: at `delete`, past a failing one, and after a failed `create`.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use bocker_e2e::bin;
use bocker_e2e::runtime::Bundle;

/// A bundle with `args` as the process, `terminal` as given, as container `id`.
fn bundle(id: &str, args: &[&str], terminal: bool) -> Bundle {
    let mut b = Bundle::new("rtio", args);
    b.adopt(id);
    b.edit(|c| c["process"]["terminal"] = terminal.into());
    b
}

/// The command line of `run` of container `id` in `b`, for a shell.
fn run_line(b: &Bundle, id: &str) -> String {
    format!(
        "{} --root {} run --bundle {} {id}",
        bin("runtime").display(),
        b.root().display(),
        b.path().display()
    )
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A child process killed and reaped on drop (the `events` stream).
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn events_reports_an_oom_kill_of_the_container() {
    // Doubles a shell variable until the 16 MiB limit's OOM killer ends it.
    let script = "x=0123456789abcdef; while :; do x=$x$x; done";
    let b = bundle("oom1", &["sh", "-c", script], false);
    b.edit(|c| {
        let limit = 16 << 20;
        c["linux"]["resources"]["memory"] = serde_json::json!({"limit": limit, "swap": limit});
    });
    let log = std::fs::File::create(b.dir.path().join("out")).unwrap();
    let o = b
        .cmd(&["create", "--bundle", b.path().to_str().unwrap(), "oom1"])
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .output()
        .unwrap();
    assert!(o.status.success(), "create: {}", stderr(&o));
    let mut events = Reaped(
        b.cmd(&["events", "--interval", "1h", "oom1"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(events.0.stdout.take().unwrap()).lines();
    // The first line (stats) comes once the OOM watch is registered.
    let first: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(first["type"], "stats", "{first}");
    let o = b.runtime(&["start", "oom1"]);
    assert!(o.status.success(), "start: {}", stderr(&o));
    // The stream ends when the init is gone; the OOM line comes before that.
    let rest: Vec<serde_json::Value> = lines
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect();
    assert!(
        rest.contains(&serde_json::json!({"type": "oom", "id": "oom1"})),
        "{rest:?}"
    );
    let status = events.0.wait().unwrap();
    assert!(status.success(), "events: {status}");
    let o = b.runtime(&["state", "oom1"]);
    let state: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(state["status"], "stopped", "{state}");
}

/// Runs `shell` under `script`, which gives it a real pty as its terminal; returns what
/// the terminal showed.
fn in_a_terminal(shell: &str) -> String {
    // Our end of script's stdin stays open and silent: at EOF script would type for us.
    let mut child = Command::new("script")
        .args(["-qec", shell, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _stdin = child.stdin.take();
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "script: {status}\n{out}");
    out.replace('\r', "")
}

#[test]
fn run_on_a_terminal_relays_a_pty_and_restores_the_callers_terminal() {
    let b = bundle("tty1", &["sh", "-c", "tty; stty size; exit 7"], true);
    let out = in_a_terminal(&format!(
        "stty rows 33 cols 101; stty -g; stty size; {}; echo status=$?; stty -g",
        run_line(&b, "tty1")
    ));
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.len() >= 6, "{out}");
    let (before, after) = (lines[0], lines[lines.len() - 1]);
    assert_eq!(before, after, "terminal settings changed:\n{out}");
    // The container's stdio is a pty of its own devpts, sized as the caller's.
    assert!(lines.iter().any(|l| l.starts_with("/dev/pts/")), "{out}");
    assert_eq!(lines.iter().filter(|l| **l == "33 101").count(), 2, "{out}");
    assert!(out.contains("status=7"), "{out}");
    // `run` deleted the container.
    let o = b.runtime(&["state", "tty1"]);
    assert!(!o.status.success());
}

#[test]
fn a_detached_terminal_without_console_socket_is_refused_as_runc() {
    let b = bundle("tty2", &["true"], true);
    let bundle = b.path();
    for verb in [&["create"][..], &["run", "--detach"][..]] {
        let mut args = verb.to_vec();
        args.extend(["--bundle", bundle.to_str().unwrap(), "tty2"]);
        let o = b.runtime(&args);
        assert!(!o.status.success(), "{verb:?}");
        assert!(
            stderr(&o)
                .contains("cannot allocate tty if runc will detach without setting console socket"),
            "{verb:?}: {}",
            stderr(&o)
        );
        // Nothing was made.
        assert!(!b.runtime(&["state", "tty2"]).status.success());
    }
}

/// A poststop hook appending `word` to `log` on the host.
fn poststop_echo(log: &std::path::Path, word: &str) -> serde_json::Value {
    let script = format!("echo {word} >> {}", log.display());
    serde_json::json!({"path": "/bin/sh", "args": ["sh", "-c", script]})
}

#[test]
fn poststop_hooks_run_at_delete_and_a_failing_one_is_only_a_warning() {
    let b = bundle("ps1", &["true"], false);
    let log = b.dir.path().join("poststop.log");
    let (one, two) = (poststop_echo(&log, "one"), poststop_echo(&log, "two"));
    b.edit(|c| {
        c["hooks"] = serde_json::json!({"poststop": [one, {"path": "/bin/false"}, two]});
    });
    let out = std::fs::File::create(b.dir.path().join("out")).unwrap();
    let o = b
        .cmd(&["create", "--bundle", b.path().to_str().unwrap(), "ps1"])
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .output()
        .unwrap();
    assert!(o.status.success(), "create: {}", stderr(&o));
    let o = b.runtime(&["start", "ps1"]);
    assert!(o.status.success(), "start: {}", stderr(&o));
    while b
        .runtime(&["state", "ps1"])
        .stdout
        .windows(9)
        .all(|w| w != b"\"stopped\"")
    {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // Not before delete (runtime spec: after the container is deleted).
    assert!(!log.exists());
    // Every hook runs, the failing one a warning; delete succeeds (runc 1.1 stops at
    // the failure; the spec says the rest run "as if the hook had succeeded").
    let o = b.runtime(&["delete", "ps1"]);
    assert!(o.status.success(), "delete: {}", stderr(&o));
    assert!(stderr(&o).contains("warning: poststop"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "one\ntwo\n");

    // A create that fails in a createRuntime hook still runs poststop (spec lifecycle
    // step 12; runc's destroy), and leaves nothing.
    std::fs::remove_file(&log).unwrap();
    let one = poststop_echo(&log, "after-failed-create");
    b.edit(|c| {
        c["hooks"] = serde_json::json!({
            "createRuntime": [{"path": "/bin/false"}],
            "poststop": [one],
        });
    });
    let o = b.runtime(&["create", "--bundle", b.path().to_str().unwrap(), "ps1"]);
    assert!(!o.status.success());
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "after-failed-create\n"
    );
    assert!(!b.runtime(&["state", "ps1"]).status.success());
}

/// A tmux server of this test's own (its socket in the test's directory), killed on drop.
struct Tmux {
    sock: PathBuf,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> String {
        let o = Command::new("tmux")
            .env_remove("TMUX")
            .arg("-S")
            .arg(&self.sock)
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "tmux {args:?}: {}", stderr(&o));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Polls the pane until `pred` holds on its text (the test's own bound: 20 s).
    fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let pane = self.run(&["capture-pane", "-p", "-t", "t"]);
            if pred(&pane) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "never saw {what}:\n{pane}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .env_remove("TMUX")
            .arg("-S")
            .arg(&self.sock)
            .arg("kill-server")
            .status();
    }
}

#[test]
fn run_on_a_terminal_is_interactive_resizes_and_passes_ctrl_c_on() {
    let b = bundle("tty3", &["sh"], true);
    let tmux = Tmux {
        sock: b.dir.path().join("tmux.sock"),
    };
    let out = b.dir.path().join("out");
    let shell = format!(
        "stty -g > {o}.before; {run}; echo $? > {o}.status; stty -g > {o}.after; sleep 60",
        o = out.display(),
        run = run_line(&b, "tty3")
    );
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "t",
        "-x",
        "100",
        "-y",
        "30",
        &shell,
    ]);
    // busybox sh's root prompt, from inside the container.
    tmux.wait_for("the prompt", |p| p.contains("/ #"));
    tmux.run(&["send-keys", "-t", "t", "stty size", "Enter"]);
    tmux.wait_for("the size", |p| p.contains("30 100"));
    tmux.run(&["resize-window", "-t", "t", "-x", "120", "-y", "40"]);
    tmux.run(&["send-keys", "-t", "t", "stty size", "Enter"]);
    tmux.wait_for("the new size", |p| p.contains("40 120"));
    // Ctrl-C is a byte to the container's terminal: its foreground job dies, the shell
    // and the runtime go on.
    tmux.run(&[
        "send-keys",
        "-t",
        "t",
        "sleep 100; echo after-sleep",
        "Enter",
    ]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    tmux.run(&["send-keys", "-t", "t", "C-c"]);
    tmux.run(&["send-keys", "-t", "t", "echo still-$((40+2))", "Enter"]);
    tmux.wait_for("the shell after ^C", |p| p.contains("still-42"));
    tmux.run(&["send-keys", "-t", "t", "exit 3", "Enter"]);
    let after = out.with_extension("after");
    tmux.wait_for("run's end", |_| {
        std::fs::read_to_string(&after).is_ok_and(|s| !s.is_empty())
    });
    assert_eq!(
        std::fs::read_to_string(out.with_extension("status")).unwrap(),
        "3\n"
    );
    assert_eq!(
        std::fs::read_to_string(out.with_extension("before")).unwrap(),
        std::fs::read_to_string(after).unwrap(),
        "the caller's terminal settings changed"
    );
}
