//! End-to-end tests of the verbs that act on a running container: `wait`, `stop`,
//! `kill`, `pause`/`unpause`, `top`, `stats`, and `rm -f` of a running `--rm` one. Each
//! container is a foreground `bocker-run` started as a child of the test (until `run -d`
//! lands), always ended when the test ends. Expected values are Docker 20.10's.

use std::time::{Duration, Instant};

use bocker_e2e::run::{code, stderr, stdout, Running};
use bocker_e2e::TestRoot;

/// A running container named `x` from `args` (run flags, then the command after the
/// image); `rm -f` and a SIGKILL of its run when dropped.
struct Ctr {
    run: Option<Running>,
    rec: serde_json::Value,
    t: TestRoot,
}

impl Ctr {
    fn start(flags: &[&str], cmd: &[&str]) -> Ctr {
        let t = TestRoot::overlay();
        let img = t.busybox_image();
        let mut args = vec!["--name", "x"];
        args.extend_from_slice(flags);
        args.push(&img);
        args.extend_from_slice(cmd);
        let run = Running::start(&t, &args);
        let rec = run.wait_running(&t);
        Ctr {
            run: Some(run),
            rec,
            t,
        }
    }

    /// Stdout of a successful `bocker <verb> <args>`.
    fn ok(&self, verb: &str, args: &[&str]) -> String {
        let o = self.t.run(verb, args);
        assert_eq!(code(&o), 0, "{verb} {args:?}: {}", stderr(&o));
        stdout(&o)
    }

    /// The container's record now.
    fn record(&self) -> serde_json::Value {
        let v: serde_json::Value = serde_json::from_str(&self.ok("inspect", &["x"])).unwrap();
        // `inspect` prints Docker's shape; bocker's own record is under `Bocker`.
        v[0]["Bocker"].clone()
    }

    /// The foreground run's own exit status, once the container has ended.
    fn run_status(&mut self) -> i32 {
        code(&self.run.take().unwrap().wait())
    }

    /// A file of the container's filesystem, read from the host through its first process.
    fn file(&self, path: &str) -> Option<String> {
        let pid = self.rec["state"]["pid"].as_i64().unwrap();
        std::fs::read_to_string(format!("/proc/{pid}/root{path}")).ok()
    }

    fn until(&self, what: &str, f: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !f() {
            assert!(Instant::now() < deadline, "never: {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Ctr {
    fn drop(&mut self) {
        let _ = self.t.run("rm", &["-f", "x"]);
        if let Some(run) = &self.run {
            run.signal(libc::SIGKILL);
        }
    }
}

/// A shell loop that exits 7 on SIGTERM (PID 1 gets the signals it handles).
/// It touches /ready once the trap is set.
const COOPERATIVE: &str = "trap 'exit 7' TERM; touch /ready; while true; do sleep 0.1; done";

#[test]
fn wait_prints_the_exit_code() {
    let c = Ctr::start(
        &[],
        &[
            "sh",
            "-c",
            "while [ ! -f /go ]; do sleep 0.05; done; exit 3",
        ],
    );
    // `wait` blocks until the exit, so the container is told to exit from a thread.
    let go = std::thread::scope(|s| {
        let h = s.spawn(|| c.t.cmd("wait").arg("x").output().unwrap());
        c.ok("exec", &["x", "touch", "/go"]);
        h.join().unwrap()
    });
    assert_eq!(code(&go), 0, "{}", stderr(&go));
    assert_eq!(stdout(&go), "3\n", "Docker 20.10 prints the exit code");
    // Waiting on an exited container answers at once with the same code.
    assert_eq!(c.ok("wait", &["x"]), "3\n");
}

#[test]
fn stop_of_a_process_that_ignores_sigterm_kills_it_after_the_timeout() {
    // `sleep` as PID 1 has no SIGTERM handler: the kernel drops the signal.
    let mut c = Ctr::start(&[], &["sleep", "60"]);
    assert_eq!(
        c.ok("stop", &["-t", "1", "x"]),
        "x\n",
        "Docker prints the name given"
    );
    assert_eq!(c.record()["state"]["exit_code"], 137);
    assert_eq!(c.ok("wait", &["x"]), "137\n");
    assert_eq!(c.run_status(), 137);
}

#[test]
fn stop_of_a_cooperative_process_returns_with_its_own_code() {
    let mut c = Ctr::start(&[], &["sh", "-c", COOPERATIVE]);
    c.until("the trap is set", || c.file("/ready").is_some());
    // With a timeout far beyond the test's, only the SIGTERM can have ended it.
    c.ok("stop", &["-t", "600", "x"]);
    assert_eq!(
        c.record()["state"]["exit_code"],
        7,
        "not killed: its trap ran"
    );
    assert_eq!(c.run_status(), 7);
    // Stopping a stopped container succeeds (Docker 20.10).
    assert_eq!(c.ok("stop", &["x"]), "x\n");
}

#[test]
fn stop_uses_the_signal_asked_for() {
    let mut c = Ctr::start(
        &[],
        &[
            "sh",
            "-c",
            "trap 'exit 5' USR2; touch /ready; while true; do sleep 0.1; done",
        ],
    );
    // PID 1 without a handler drops the signal: wait for the trap.
    c.until("the trap is set", || c.file("/ready").is_some());
    c.ok("stop", &["-s", "USR2", "-t", "600", "x"]);
    assert_eq!(c.run_status(), 5);
}

#[test]
fn kill_delivers_the_signal_given_by_name_or_number() {
    let mut c = Ctr::start(
        &[],
        &[
            "sh",
            "-c",
            "trap 'touch /usr1' USR1; trap 'touch /hup' HUP; touch /ready; while true; do sleep 0.1; done",
        ],
    );
    // Until its traps are set, the kernel drops USR1 and HUP (PID 1 has no handler).
    c.until("the traps are set", || c.file("/ready").is_some());
    assert_eq!(c.ok("kill", &["-s", "USR1", "x"]), "x\n");
    c.until("the USR1 trap ran", || c.file("/usr1").is_some());
    c.ok("kill", &["--signal", "1", "x"]);
    c.until("the HUP trap ran", || c.file("/hup").is_some());
    // Docker's parser: an unknown name is refused before anything is sent.
    let o = c.t.run("kill", &["-s", "BOGUS", "x"]);
    assert_eq!(code(&o), 1, "Docker 20.10: a daemon error");
    assert!(
        stderr(&o).contains("Invalid signal: BOGUS"),
        "{}",
        stderr(&o)
    );
    // Default: SIGKILL, and `kill` returns once the container has stopped (Docker
    // 20.10's daemon waits after a SIGKILL), so `kill x && rm x` works.
    c.ok("kill", &["x"]);
    assert_eq!(c.record()["state"]["status"], "exited");
    assert_eq!(c.run_status(), 137);
    let o = c.t.run("kill", &["x"]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("is not running"), "{}", stderr(&o));
}

#[test]
fn pause_freezes_and_unpause_resumes() {
    let c = Ctr::start(
        &[],
        &[
            "sh",
            "-c",
            "i=0; while true; do i=$((i+1)); echo $i > /count; sleep 0.02; done",
        ],
    );
    let count = || c.file("/count").and_then(|s| s.trim().parse::<u64>().ok());
    c.until("the counter moves", || count().is_some_and(|n| n > 2));
    assert_eq!(c.ok("pause", &["x"]), "x\n");
    assert_eq!(c.record()["state"]["paused"], true);
    assert!(
        c.ok("ps", &[]).to_lowercase().contains("paused"),
        "ps shows it paused (Docker: `Up 2 seconds (Paused)`)"
    );
    let frozen = count();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(count(), frozen, "the counter moved while paused");
    // Docker's rule: a paused container cannot be paused again.
    assert!(stderr(&c.t.run("pause", &["x"])).contains("is already paused"));
    assert_eq!(c.ok("unpause", &["x"]), "x\n");
    c.until("the counter moves again", || count() > frozen);
    assert!(c.record()["state"].get("paused").is_none_or(|p| p == false));
    assert!(stderr(&c.t.run("unpause", &["x"])).contains("is not paused"));
}

#[test]
fn stop_of_a_paused_container_signals_then_thaws_it() {
    let mut c = Ctr::start(&[], &["sh", "-c", COOPERATIVE]);
    c.until("the trap is set", || c.file("/ready").is_some());
    c.ok("pause", &["x"]);
    c.ok("stop", &["x"]);
    // Docker 20.10 (checked): the stop signal, then a thaw: the trap's 7, not 137.
    assert_eq!(c.run_status(), 7);
}

#[test]
fn top_lists_the_containers_processes_only() {
    let c = Ctr::start(&[], &["sh", "-c", "sleep 60 & sleep 61"]);
    c.until("both sleeps run", || {
        c.ok("top", &["x"])
            .lines()
            .filter(|l| l.contains("sleep 6"))
            .count()
            == 2
    });
    let out = c.ok("top", &["x"]);
    let mut lines = out.lines();
    assert!(
        lines.next().unwrap().contains("PID"),
        "header first:\n{out}"
    );
    let rows: Vec<&str> = lines.collect();
    // The two sleeps (busybox sh execs its last command): nothing of the host's.
    assert_eq!(rows.len(), 2, "{out}");
    assert!(!out.contains("lifecycle_verbs"), "{out}");
    // ps options pass through.
    let out = c.ok("top", &["x", "-o", "pid,comm"]);
    assert_eq!(
        out.lines()
            .next()
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["PID", "COMMAND"]
    );
    assert_eq!(
        out.lines().filter(|l| l.ends_with("sleep")).count(),
        2,
        "{out}"
    );
}

#[test]
fn stats_shows_the_memory_limit_and_pids() {
    let c = Ctr::start(&["--memory", "64m"], &["sh", "-c", "sleep 60 & sleep 61"]);
    c.until("two sleeps", || {
        c.ok("top", &["x"])
            .lines()
            .filter(|l| l.contains("sleep 6"))
            .count()
            == 2
    });
    let out = c.ok("stats", &["--no-stream", "x"]);
    let mut lines = out.lines();
    let header = lines.next().unwrap();
    for col in [
        "CONTAINER ID",
        "NAME",
        "CPU %",
        "MEM USAGE / LIMIT",
        "NET I/O",
        "BLOCK I/O",
        "PIDS",
    ] {
        assert!(header.contains(col), "{header}");
    }
    let row = lines.next().expect("one row");
    assert!(
        row.contains("/ 64MiB"),
        "Docker shows the limit as 64MiB: {row}"
    );
    assert!(row.trim_end().ends_with(" 2"), "two sleeps: {row}");
    let json = c.ok("stats", &["--no-stream", "--format", "json", "x"]);
    let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert!(v["MemUsage"].as_str().unwrap().ends_with("/ 64MiB"), "{v}");
    assert_eq!(v["PIDs"], "2");
    assert_eq!(v["Name"], "x");
    assert_eq!(
        c.ok("stats", &["--no-stream", "--format", "{{.Name}} {{.PIDs}}"]),
        "x 2\n",
        "every running container when none is named"
    );
}

#[test]
fn rm_f_of_a_running_rm_container_succeeds() {
    let mut c = Ctr::start(&["--rm"], &["sleep", "60"]);
    let id = c.rec["id"].as_str().unwrap().to_string();
    let o = c.t.run("rm", &["-f", "x"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stdout(&o), format!("Removed: {id}\n"));
    assert_eq!(c.ok("ps", &["-q"]), "");
    assert_eq!(c.run_status(), 137);
}

#[test]
fn rm_f_of_a_running_container_stops_and_removes_it() {
    let mut c = Ctr::start(&[], &["sleep", "60"]);
    c.ok("rm", &["-f", "x"]);
    assert_eq!(c.ok("ps", &["-q"]), "");
    assert_eq!(c.run_status(), 137);
}

#[test]
fn commit_of_a_paused_container_leaves_it_paused() {
    let c = Ctr::start(
        &[],
        &[
            "sh",
            "-c",
            "i=0; while true; do i=$((i+1)); echo $i > /count; sleep 0.02; done",
        ],
    );
    let count = || c.file("/count").and_then(|s| s.trim().parse::<u64>().ok());
    c.until("the counter moves", || count().is_some_and(|n| n > 2));
    c.ok("pause", &["x"]);
    let frozen = count();
    // commit pauses (Docker's default) and lets go after: a paused container stays so.
    c.ok("commit", &["x", "snap:1"]);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(count(), frozen, "commit thawed a paused container");
    c.ok("unpause", &["x"]);
    c.until("the counter moves again", || count() > frozen);
}
