//! End-to-end tests of `bocker exec`: the seed's exec test without its race (the
//! container is a foreground `bocker-run … sleep 60` child of the test, and exec finds
//! its process by record and pidfd, not by grepping `ps`), the container's namespaces,
//! cgroup, capabilities, seccomp, `-e`/`-w`/`-u`/`-i`/`-t`/`-d`, and exit statuses.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use bocker_e2e::run::{code, stderr, stdout, Running};
use bocker_e2e::TestRoot;

/// A running `sleep 60` container named `x`. The run is killed by its pid when this is
/// dropped (fields drop in order: the run first, then the root's own cleanup).
struct Sleeping {
    run: Running,
    rec: serde_json::Value,
    t: TestRoot,
}

impl Sleeping {
    fn start() -> Sleeping {
        let t = TestRoot::overlay();
        let img = t.busybox_image();
        let run = Running::start(&t, &["--name", "x", &img, "sleep", "60"]);
        let rec = run.wait_running(&t);
        Sleeping { run, rec, t }
    }

    fn exec(&self, args: &[&str]) -> Output {
        self.t.run("exec", args)
    }

    /// stdout of a successful exec.
    fn ok(&self, args: &[&str]) -> String {
        let o = self.exec(args);
        assert_eq!(code(&o), 0, "exec {args:?}: {}", stderr(&o));
        stdout(&o)
    }
}

impl Drop for Sleeping {
    fn drop(&mut self) {
        let _ = self.t.run("rm", &["-f", "x"]);
        self.run.signal(libc::SIGKILL);
    }
}

#[test]
fn ps_aux_shows_only_the_containers_processes() {
    let c = Sleeping::start();
    let out = c.ok(&["x", "ps", "aux"]);
    let procs: Vec<&str> = out.lines().skip(1).collect();
    assert_eq!(procs.len(), 2, "expected sleep and ps only:\n{out}");
    assert!(procs[0].contains("sleep 60"), "{out}");
    assert!(procs[1].contains("ps aux"), "{out}");
    // The container's PID 1 is the sleep: we are in its pid namespace.
    assert!(procs[0].trim_start().starts_with('1'), "{out}");
}

#[test]
fn hostname_network_and_mounts_are_the_containers() {
    let c = Sleeping::start();
    assert_eq!(
        c.ok(&["x", "hostname"]).trim(),
        c.rec["id"].as_str().unwrap()
    );
    // Same namespaces as PID 1 (a recycled or wrong pid would differ).
    let out = c.ok(&[
        "x",
        "sh",
        "-c",
        "for n in mnt uts ipc net pid cgroup; do \
           [ \"$(readlink /proc/self/ns/$n)\" = \"$(readlink /proc/1/ns/$n)\" ] || echo $n differs; \
         done; echo checked",
    ]);
    assert_eq!(out, "checked\n");
}

#[test]
fn a_host_network_container_is_entered_too() {
    // Its network namespace is the host's: joining it with the others changes nothing.
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    let run = Running::start(
        &t,
        &["--name", "h", "--network", "host", &img, "sleep", "60"],
    );
    run.wait_running(&t);
    let o = t.run("exec", &["h", "hostname"]);
    let _ = t.run("rm", &["-f", "h"]);
    drop(run);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // Docker 20.10: a --network host container is named as the host (run_net.rs).
    let ours = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(stdout(&o).trim(), ours.trim());
}

#[test]
fn an_init_container_is_entered_too() {
    // PID 1 is bocker's own init (non-dumpable, never execs): exec waits for nothing
    // more and enters it like any other.
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    let run = Running::start(&t, &["--name", "i", "--init", &img, "sleep", "60"]);
    run.wait_running(&t);
    let o = t.run("exec", &["i", "ps", "-o", "pid,args"]);
    let _ = t.run("rm", &["-f", "i"]);
    drop(run);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 4, "init, sleep and ps only:\n{out}");
    assert!(out.contains("sleep 60"), "{out}");
}

#[test]
fn capabilities_seccomp_and_no_new_privs_are_the_containers() {
    let c = Sleeping::start();
    let status = c.ok(&["x", "cat", "/proc/self/status"]);
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
            .unwrap_or_else(|| panic!("no {name} in\n{status}"))
            .to_string()
    };
    // Docker 20.10's default capability set.
    assert_eq!(field("CapEff:"), "00000000a80425fb");
    assert_eq!(field("CapBnd:"), "00000000a80425fb");
    assert_eq!(field("Seccomp:"), "2");
    // The container's setting: off, as Docker 20.10's default.
    assert_eq!(field("NoNewPrivs:"), "0");
    // Nothing ignored is inherited from the engine (Rust ignores SIGPIPE).
    assert_eq!(field("SigIgn:"), "0000000000000000");
    assert_eq!(field("SigBlk:"), "0000000000000000");
    // And the filter works: unshare is refused inside.
    let o = c.exec(&["x", "unshare", "-n", "true"]);
    assert_ne!(code(&o), 0, "unshare succeeded inside the container");
}

#[test]
fn exec_privileged_gives_the_command_every_capability_bocker_holds() {
    // Docker 20.10's `exec --privileged`: every capability for the command (the
    // container's seccomp filter stays); the container itself keeps its default set.
    let c = Sleeping::start();
    let field = |out: &str, name: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
            .unwrap_or_else(|| panic!("no {name} in\n{out}"))
            .to_string()
    };
    let ours = std::fs::read_to_string("/proc/self/status").unwrap();
    let privileged = c.ok(&["--privileged", "x", "cat", "/proc/self/status"]);
    assert_eq!(field(&privileged, "CapEff:"), field(&ours, "CapPrm:"));
    assert_eq!(field(&privileged, "Seccomp:"), "2");
    let plain = c.ok(&["x", "cat", "/proc/self/status"]);
    assert_eq!(field(&plain, "CapEff:"), "00000000a80425fb");
}

#[test]
fn env_workdir_and_user_take_effect() {
    let c = Sleeping::start();
    let out = c.ok(&[
        "-e",
        "FOO=bar",
        "-w",
        "/tmp",
        "-u",
        "1000",
        "x",
        "sh",
        "-c",
        "echo $FOO; pwd; id -u; echo $HOSTNAME",
    ]);
    let id = c.rec["id"].as_str().unwrap();
    assert_eq!(out, format!("bar\n/tmp\n1000\n{id}\n"));
    // Defaults: the container's working dir (/) and user (root).
    assert_eq!(c.ok(&["x", "sh", "-c", "pwd; id -u"]), "/\n0\n");
    let o = c.exec(&["-w", "/nonexistent", "x", "true"]);
    assert_eq!(code(&o), 126, "{}", stderr(&o));
    let o = c.exec(&["-u", "nosuchuser", "x", "true"]);
    assert_ne!(code(&o), 0);
    assert!(
        stderr(&o).contains("unable to find user nosuchuser"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn env_file_is_read_before_e() {
    // Docker 28: `docker exec --env-file F -e B=flag CTR env`: the file's lines, then -e.
    let c = Sleeping::start();
    let file = c.t.base.join("exec.env");
    std::fs::write(&file, "# a comment\nA=from-file\nB=from-file\n").unwrap();
    let path = file.to_str().unwrap();
    let out = c.ok(&[
        "--env-file",
        path,
        "-e",
        "B=flag",
        "x",
        "sh",
        "-c",
        "echo $A $B",
    ]);
    assert_eq!(out, "from-file flag\n");
    let o = c.exec(&["--env-file", "/nonexistent/env", "x", "true"]);
    assert_ne!(code(&o), 0);
    assert!(stderr(&o).contains("/nonexistent/env"), "{}", stderr(&o));
}

#[test]
fn exit_status_passes_through() {
    let c = Sleeping::start();
    assert_eq!(code(&c.exec(&["x", "sh", "-c", "exit 3"])), 3);
    // Killed by a signal: 128+N.
    assert_eq!(code(&c.exec(&["x", "sh", "-c", "kill -9 $$"])), 137);
    let o = c.exec(&["x", "nosuchcommand"]);
    assert_eq!(code(&o), 127, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("executable file not found"),
        "{}",
        stderr(&o)
    );
    // /etc/hostname is a file but not executable.
    let o = c.exec(&["x", "/etc/hostname"]);
    assert_eq!(code(&o), 126, "{}", stderr(&o));
}

#[test]
fn the_command_is_in_the_containers_cgroup() {
    let c = Sleeping::start();
    // Seen from inside (its cgroup namespace): each controller group of the exec'd
    // process is the container's own, which is that namespace's root.
    let out = c.ok(&[
        "x",
        "sh",
        "-c",
        "cat /proc/self/cgroup; echo --; cat /proc/1/cgroup",
    ]);
    let (mine, pid1) = out.split_once("--\n").unwrap();
    for ctl in ["memory", "pids", "cpu,cpuacct", "devices", "freezer"] {
        let line = |text: &str| {
            text.lines()
                .find(|l| l.split(':').nth(1) == Some(ctl))
                .map(str::to_string)
        };
        if let Some(p1) = line(pid1) {
            assert_eq!(line(mine), Some(p1.clone()), "{ctl}:\n{out}");
            assert!(p1.ends_with(":/"), "{p1}");
        }
    }
    // And from the host: the exec'd sleep is listed in the container's group.
    let o = c.exec(&["-d", "x", "sleep", "30"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let procs = bocker_e2e::run::cgroup_file(&c.rec, "cgroup.procs");
    assert_eq!(
        procs.lines().count(),
        2,
        "expected PID 1 and the exec'd sleep: {procs}"
    );
}

#[test]
fn stdin_is_a_pipe_with_i_and_absent_without() {
    let c = Sleeping::start();
    let mut child =
        c.t.cmd("exec")
            .args(["-i", "x", "cat"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"hi\n").unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(
        (code(&o), stdout(&o).as_str()),
        (0, "hi\n"),
        "{}",
        stderr(&o)
    );
    // Without -i, stdin is the container's /dev/null.
    assert_eq!(c.ok(&["x", "sh", "-c", "cat; echo end"]), "end\n");
}

#[test]
fn detached_exec_returns_at_once_and_runs() {
    let c = Sleeping::start();
    let o = c.exec(&["-d", "x", "sh", "-c", "sleep 0.2; echo done > /tmp/d"]);
    assert_eq!((code(&o), stdout(&o).as_str()), (0, ""), "{}", stderr(&o));
    let deadline = Instant::now() + Duration::from_secs(10);
    while c.exec(&["x", "cat", "/tmp/d"]).stdout != b"done\n" {
        assert!(Instant::now() < deadline, "the detached command never ran");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_recorded_pid_outside_the_containers_cgroup_is_never_entered() {
    let c = Sleeping::start();
    // A host process takes the place of the container's pid in its record, as a recycled
    // pid would: exec must refuse rather than enter the host process's namespaces.
    let mut host = Command::new("sleep").arg("30").spawn().unwrap();
    let id = c.rec["id"].as_str().unwrap();
    let path = c.t.root.join("containers").join(id).join("container.json");
    let mut rec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    rec["state"]["pid"] = serde_json::json!(host.id());
    std::fs::write(&path, serde_json::to_vec(&rec).unwrap()).unwrap();
    let o = c.exec(&["x", "hostname"]);
    let _ = host.kill();
    let _ = host.wait();
    assert_ne!(code(&o), 0, "entered pid {}: {}", host.id(), stdout(&o));
    assert!(
        stderr(&o).contains("exists but is not running"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn exited_and_missing_containers_give_the_seeds_messages() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    t.ok("run", &["--name", "done", &img, "true"]);
    let o = t.run("exec", &["done", "true"]);
    assert_ne!(code(&o), 0);
    assert!(
        stderr(&o).contains("Container 'done' exists but is not running"),
        "{}",
        stderr(&o)
    );
    let o = t.run("exec", &["nope", "true"]);
    assert_ne!(code(&o), 0);
    // One line naming the verb, as every verb's messages (docs/CLI.md).
    assert_eq!(
        stderr(&o),
        "bocker exec: No container named 'nope' exists\n",
        "{}",
        stderr(&o)
    );
    // Through the dispatcher too, as a user types it.
    let o = t.run("", &["exec", "nope", "true"]);
    assert!(stderr(&o).contains("No container named 'nope' exists"));
}

/// Runs `shell` under `script`, which gives it a real pty as its terminal; returns
/// what the terminal showed.
fn in_a_terminal(c: &Sleeping, shell: &str) -> String {
    let base = c.t.cmd("exec");
    let mut script = Command::new("script");
    for (k, v) in base.get_envs() {
        match v {
            Some(v) => script.env(k, v),
            None => script.env_remove(k),
        };
    }
    // Our end of script's stdin stays open and silent: at EOF script would type for us.
    let mut child = script
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
fn tty_is_a_pty_of_the_container_and_the_terminal_is_restored() {
    let c = Sleeping::start();
    let exec = bocker_e2e::bin("exec");
    let exec = exec.display();
    let out = in_a_terminal(
        &c,
        &format!(
            "stty rows 33 cols 101; stty -g; stty size; \
             {exec} -it x sh -c 'tty; stty size; exit 7'; echo status=$?; stty -g"
        ),
    );
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines.len() >= 6, "{out}");
    let (before, after) = (lines[0], lines[lines.len() - 1]);
    assert_eq!(before, after, "terminal settings changed:\n{out}");
    assert!(lines.iter().any(|l| l.starts_with("/dev/pts/")), "{out}");
    // The window size passes through: the same inside as outside.
    assert_eq!(lines.iter().filter(|l| **l == "33 101").count(), 2, "{out}");
    assert!(out.contains("status=7"), "{out}");
    // Without -t there is no terminal inside, even with a terminal outside.
    let out = in_a_terminal(&c, &format!("{exec} -i x tty; true"));
    assert!(out.contains("not a tty"), "{out}");
}

/// A tmux server of this test's own (its socket under the test root), killed on drop.
struct Tmux {
    sock: std::path::PathBuf,
}

impl Tmux {
    fn cmd(&self, c: &Sleeping) -> Command {
        let base = c.t.cmd("exec");
        let mut tmux = Command::new("tmux");
        for (k, v) in base.get_envs() {
            match v {
                Some(v) => tmux.env(k, v),
                None => tmux.env_remove(k),
            };
        }
        tmux.arg("-S").arg(&self.sock);
        tmux
    }

    fn run(&self, c: &Sleeping, args: &[&str]) -> String {
        let o = self.cmd(c).args(args).output().unwrap();
        assert!(o.status.success(), "tmux {args:?}: {}", stderr(&o));
        stdout(&o)
    }

    /// Polls the pane until `pred` holds on its text.
    fn wait_for(&self, c: &Sleeping, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let pane = self.run(c, &["capture-pane", "-p", "-t", "t"]);
            if pred(&pane) {
                return pane;
            }
            assert!(Instant::now() < deadline, "never saw {what}:\n{pane}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(&self.sock)
            .arg("kill-server")
            .status();
    }
}

#[test]
fn interactive_tty_prompt_ctrl_c_window_size_and_status() {
    let c = Sleeping::start();
    let tmux = Tmux {
        sock: c.t.base.join("tmux.sock"),
    };
    let out = c.t.base.join("out");
    let exec = bocker_e2e::bin("exec");
    let shell = format!(
        "stty -g > {o}.before; {exec} -it x sh; echo $? > {o}.status; stty -g > {o}.after; sleep 60",
        o = out.display(),
        exec = exec.display()
    );
    tmux.run(
        &c,
        &[
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            "100",
            "-y",
            "30",
            &shell,
        ],
    );
    // busybox sh's root prompt, from inside the container.
    tmux.wait_for(&c, "the prompt", |p| p.contains("/ #"));
    tmux.run(&c, &["send-keys", "-t", "t", "tty; stty size", "Enter"]);
    tmux.wait_for(&c, "the size", |p| {
        p.contains("/dev/pts/") && p.contains("30 100")
    });
    tmux.run(&c, &["resize-window", "-t", "t", "-x", "120", "-y", "40"]);
    tmux.run(&c, &["send-keys", "-t", "t", "stty size", "Enter"]);
    tmux.wait_for(&c, "the new size", |p| p.contains("40 120"));
    // Ctrl-C reaches the command in the container, not the exec (the shell goes on).
    tmux.run(
        &c,
        &[
            "send-keys",
            "-t",
            "t",
            "sleep 100; echo after-sleep",
            "Enter",
        ],
    );
    std::thread::sleep(Duration::from_millis(300));
    tmux.run(&c, &["send-keys", "-t", "t", "C-c"]);
    tmux.run(
        &c,
        &["send-keys", "-t", "t", "echo still-$((40+2))", "Enter"],
    );
    tmux.wait_for(&c, "the shell after ^C", |p| p.contains("still-42"));
    tmux.run(&c, &["send-keys", "-t", "t", "exit 3", "Enter"]);
    let status = out.with_extension("status");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(out.with_extension("after")).is_ok_and(|s| !s.is_empty()) {
        assert!(Instant::now() < deadline, "exec never returned");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(std::fs::read_to_string(status).unwrap(), "3\n");
    assert_eq!(
        std::fs::read_to_string(out.with_extension("before")).unwrap(),
        std::fs::read_to_string(out.with_extension("after")).unwrap(),
        "the caller's terminal settings changed"
    );
}

#[test]
fn stopping_the_container_ends_an_attached_exec_and_restores_the_terminal() {
    let c = Sleeping::start();
    let exec = bocker_e2e::bin("exec");
    let shell = format!(
        "stty -g; {} -it x sh -c 'sleep 100'; echo status=$?; stty -g",
        exec.display()
    );
    let out = std::thread::scope(|s| {
        s.spawn(|| {
            // Once the exec'd sleep runs, remove the container under it.
            let deadline = Instant::now() + Duration::from_secs(20);
            while !stdout(&c.exec(&["x", "ps", "-o", "args"])).contains("sleep 100") {
                assert!(Instant::now() < deadline, "the exec'd sleep never ran");
                std::thread::sleep(Duration::from_millis(50));
            }
            c.t.ok("rm", &["-f", "x"]);
        });
        in_a_terminal(&c, &shell)
    });
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines.first(),
        lines.last(),
        "terminal settings changed:\n{out}"
    );
    // SIGKILL from the container's end: 128+9.
    assert!(out.contains("status=137"), "{out}");
}
