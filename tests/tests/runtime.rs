//! End-to-end tests of `bocker-runtime`'s lifecycle, driven as containerd's shim drives
//! runc: `spec` in a busybox bundle, `create` → `state` (created, a pid) → `start` →
//! output → `state` (stopped) → `delete`; `run` passing the exit status through; `delete`
//! refusing a running container without `--force`; `ps --format json`; `kill` delivering its signal; and a
//! spec field bocker cannot honour refused by name; the spec's seccomp profile applied;
//! `exec` (flags and `--process`, `--detach --pid-file`), `pause`/`resume`, `events
//! --stats`, `update --resources -`, hooks of every kind, `--console-socket`,
//! `--preserve-fds`, signals to a foreground `run` reaching the init. Each test has its own `--root` and its
//! own cgroup parent (`linux.cgroupsPath`), removed in `Drop` whatever happened.

use std::fs::File;
use std::path::Path;
use std::process::{Output, Stdio};

use bocker_e2e::runtime::Bundle;

/// The lifecycle steps these tests drive, on the shared bundle.
trait Lifecycle {
    /// `create` of container `id` with its stdout and stderr in `out` (its init keeps
    /// them open, so they cannot be our pipes).
    fn create(&mut self, id: &str, out: &Path) -> Output;
    fn state(&self, id: &str) -> serde_json::Value;
    fn ok(&self, args: &[&str]);
    /// Wait until `id`'s state says stopped (no timed assertion: the test's own timeout
    /// is the bound).
    fn wait_stopped(&self, id: &str);
}

impl Lifecycle for Bundle {
    fn create(&mut self, id: &str, out: &Path) -> Output {
        self.adopt(id);
        let f = File::create(out).unwrap();
        let bundle = self.path();
        self.cmd(&["create", "--bundle", bundle.to_str().unwrap(), id])
            .stdout(f.try_clone().unwrap())
            .stderr(f)
            .output()
            .unwrap()
    }

    fn state(&self, id: &str) -> serde_json::Value {
        let o = self.runtime(&["state", id]);
        assert!(o.status.success(), "state: {}", stderr(&o));
        serde_json::from_slice(&o.stdout).unwrap()
    }

    fn ok(&self, args: &[&str]) {
        let o = self.runtime(args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    }

    fn wait_stopped(&self, id: &str) {
        while self.state(id)["status"] != "stopped" {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn create_start_state_delete_as_containerd_drives_it() {
    let mut b = Bundle::new("runtime", &["sh", "-c", "echo hello from $(hostname)"]);
    let out = b.dir.path().join("out");
    let o = b.create("c1", &out);
    assert!(
        o.status.success(),
        "create: {}",
        std::fs::read_to_string(&out).unwrap()
    );
    let s = b.state("c1");
    assert_eq!(s["status"], "created", "{s}");
    let pid = s["pid"].as_i64().unwrap();
    assert!(pid > 0, "{s}");
    assert!(Path::new(&format!("/proc/{pid}")).exists());
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "",
        "nothing ran before start"
    );

    b.ok(&["start", "c1"]);
    b.wait_stopped("c1");
    // runc's spec names the host "runc"; bocker-runtime's spec keeps that default.
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("hello from "), "{text}");

    let again = b.runtime(&["start", "c1"]);
    assert!(
        !again.status.success(),
        "a stopped container cannot start again"
    );
    b.ok(&["delete", "c1"]);
    let gone = b.runtime(&["state", "c1"]);
    assert!(
        stderr(&gone).contains("container does not exist"),
        "{}",
        stderr(&gone)
    );
    let cg = format!("/sys/fs/cgroup/memory/{}/c1", b.cgroup_parent);
    assert!(!Path::new(&cg).exists(), "delete removes the cgroup {cg}");
}

#[test]
fn run_passes_the_exit_status_through() {
    let b = Bundle::new("runtime", &["sh", "-c", "echo out; exit 7"]);
    let cg = format!("/{}/r1", b.cgroup_parent);
    b.edit(|c| c["linux"]["cgroupsPath"] = cg.into());
    let bundle = b.path();
    let o = b.runtime(&["run", "--bundle", bundle.to_str().unwrap(), "r1"]);
    assert_eq!(o.status.code(), Some(7), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "out\n");
    // run deletes what it created.
    let gone = b.runtime(&["state", "r1"]);
    assert!(!gone.status.success());
}

#[test]
fn run_forwards_the_signals_it_gets_to_the_init() {
    // runc's foreground `run` passes every signal it receives on to the container's
    // init; before, a SIGTERM to `bocker-runtime run` killed the runtime itself.
    let script = "trap 'echo got USR1' USR1; trap 'echo got TERM; exit 3' TERM; \
                  echo up; while :; do sleep 0.1; done";
    let b = Bundle::new("runtime", &["sh", "-c", script]);
    let cg = format!("/{}/f2", b.cgroup_parent);
    b.edit(|c| c["linux"]["cgroupsPath"] = cg.into());
    let out = b.dir.path().join("out");
    let bundle = b.path();
    let child = b
        .cmd(&["run", "--bundle", bundle.to_str().unwrap(), "f2"])
        .stdout(File::create(&out).unwrap())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let wait_for = |text: &str| {
        while !std::fs::read_to_string(&out).unwrap().contains(text) {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    wait_for("up");
    // SAFETY: signalling the runtime this test started.
    unsafe { libc::kill(pid, libc::SIGUSR1) };
    wait_for("got USR1");
    // SAFETY: as above.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "up\ngot USR1\ngot TERM\n"
    );
    assert!(
        !b.runtime(&["state", "f2"]).status.success(),
        "run deleted it"
    );
}

#[test]
fn delete_refuses_a_running_container_without_force() {
    let mut b = Bundle::new("runtime", &["sleep", "60"]);
    let out = b.dir.path().join("out");
    assert!(b.create("d1", &out).status.success());
    b.ok(&["start", "d1"]);
    // `ps --format json` (what containerd's shim calls): the pids of its cgroup.
    let pid = b.state("d1")["pid"].as_i64().unwrap();
    let ps = b.runtime(&["ps", "--format", "json", "d1"]);
    let pids: Vec<i64> = serde_json::from_slice(&ps.stdout).unwrap();
    assert_eq!(pids, [pid], "{}", stderr(&ps));
    let o = b.runtime(&["delete", "d1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("not stopped: running"),
        "{}",
        stderr(&o)
    );
    assert_eq!(b.state("d1")["status"], "running");
    b.ok(&["delete", "--force", "d1"]);
    assert!(!b.runtime(&["state", "d1"]).status.success());
}

#[test]
fn kill_delivers_the_signal() {
    let script = "trap 'echo got TERM; exit 3' TERM; echo up; while :; do sleep 0.1; done";
    let mut b = Bundle::new("runtime", &["sh", "-c", script]);
    let out = b.dir.path().join("out");
    assert!(b.create("k1", &out).status.success());
    b.ok(&["start", "k1"]);
    while !std::fs::read_to_string(&out).unwrap().contains("up") {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    b.ok(&["kill", "k1", "TERM"]);
    b.wait_stopped("k1");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "up\ngot TERM\n");
    let o = b.runtime(&["kill", "k1", "KILL"]);
    assert!(
        !o.status.success(),
        "killing a stopped container is an error"
    );
    b.ok(&["delete", "k1"]);
}

#[test]
fn an_unsupported_field_is_refused_by_name_and_leaves_nothing() {
    let mut b = Bundle::new("runtime", &["true"]);
    b.edit(|c| c["linux"]["intelRdt"] = serde_json::json!({"closID": "x"}));
    let out = b.dir.path().join("out");
    let o = b.create("u1", &out);
    assert_eq!(o.status.code(), Some(1));
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("linux.intelRdt: not supported"), "{text}");
    assert!(
        !b.runtime(&["state", "u1"]).status.success(),
        "no state left"
    );
}

#[test]
fn a_bundle_without_config_json_and_list_say_what_runc_says() {
    let mut b = Bundle::new("runtime", &["sleep", "60"]);
    let out = b.dir.path().join("out");
    assert!(b.create("l1", &out).status.success());
    // runc 1.1: `list`'s OWNER is the state directory's owner by name.
    let list = String::from_utf8(b.runtime(&["list"]).stdout).unwrap();
    let row = list.lines().find(|l| l.starts_with("l1 ")).unwrap();
    assert!(row.ends_with(" root"), "{list}");
    b.ok(&["delete", "--force", "l1"]);
    std::fs::remove_file(b.path().join("config.json")).unwrap();
    let o = b.runtime(&["run", "--bundle", b.path().to_str().unwrap(), "l2"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("JSON specification file config.json not found"),
        "runc's words: {}",
        stderr(&o)
    );
}

#[test]
fn the_specs_seccomp_profile_is_applied() {
    let b = Bundle::new("runtime", &["sh", "-c", "mkdir /tmp/x; echo status=$?"]);
    let cg = format!("/{}/s1", b.cgroup_parent);
    b.edit(|c| {
        c["linux"]["cgroupsPath"] = cg.into();
        c["linux"]["seccomp"] = serde_json::json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]
        });
    });
    let bundle = b.path();
    let o = b.runtime(&["run", "--bundle", bundle.to_str().unwrap(), "s1"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "status=1\n");
    assert!(
        stderr(&o).contains("Operation not permitted"),
        "{}",
        stderr(&o)
    );
}

/// A started `sleep 60` container `id` in `b`.
fn sleeping(b: &mut Bundle, id: &str) {
    let out = b.dir.path().join(format!("{id}.out"));
    let o = b.create(id, &out);
    assert!(
        o.status.success(),
        "create: {}",
        std::fs::read_to_string(&out).unwrap()
    );
    b.ok(&["start", id]);
}

#[test]
fn exec_runs_in_the_containers_namespaces_and_cgroup() {
    let mut b = Bundle::new("runtime", &["sleep", "60"]);
    sleeping(&mut b, "e1");
    // Its pid namespace: pid 1 is the container's sleep; its hostname; status passed on.
    let o = b.runtime(&[
        "exec",
        "e1",
        "sh",
        "-c",
        "cat /proc/1/cmdline; echo; hostname; exit 5",
    ]);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout).replace('\0', " ");
    let host = b.state("e1");
    assert!(text.starts_with("sleep 60 \n"), "{text} {host}");
    // The flags as runc's: -e, --cwd, -u uid:gid.
    let o = b.runtime(&[
        "exec",
        "-e",
        "A=1",
        "--cwd",
        "/tmp",
        "-u",
        "1000:100",
        "e1",
        "sh",
        "-c",
        "echo $A $(pwd) $(id -u):$(id -g)",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "1 /tmp 1000:100\n",
        "{}",
        stderr(&o)
    );
    // containerd's form: --process F --detach --pid-file P; the process is in the cgroup.
    let process = b.dir.path().join("process.json");
    let pid_file = b.dir.path().join("exec.pid");
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(b.path().join("config.json")).unwrap()).unwrap();
    let mut p = config["process"].clone();
    p["args"] = serde_json::json!(["sleep", "30"]);
    std::fs::write(&process, serde_json::to_vec(&p).unwrap()).unwrap();
    // Its stdio is ours: not the pipes `output()` would wait on for 30 s.
    let o = b
        .cmd(&[
            "exec",
            "--process",
            process.to_str().unwrap(),
            "--detach",
            "--pid-file",
            pid_file.to_str().unwrap(),
            "e1",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(o.success());
    let pid: i64 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    let ps = b.runtime(&["ps", "--format", "json", "e1"]);
    let pids: Vec<i64> = serde_json::from_slice(&ps.stdout).unwrap();
    assert!(pids.contains(&pid), "{pids:?} lacks {pid}");
    // The exec'd process is not in the host's pid namespace.
    let ns = |p: i64| std::fs::read_link(format!("/proc/{p}/ns/pid")).unwrap();
    let init = b.state("e1")["pid"].as_i64().unwrap();
    assert_eq!(ns(pid), ns(init));
    // `kill --all`: the exec'd process too, not only the init.
    b.ok(&["kill", "--all", "e1", "KILL"]);
    b.wait_stopped("e1");
    loop {
        let ps = b.runtime(&["ps", "--format", "json", "e1"]);
        let pids: Vec<i64> = serde_json::from_slice(&ps.stdout).unwrap();
        if pids.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    b.ok(&["delete", "e1"]);
    let o = b.runtime(&["exec", "e1", "true"]);
    assert!(
        stderr(&o).contains("container does not exist"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn pause_and_resume_freeze_and_thaw_the_cgroup() {
    let mut b = Bundle::new("runtime", &["sleep", "60"]);
    sleeping(&mut b, "p1");
    let freezer = format!(
        "/sys/fs/cgroup/freezer/{}/p1/freezer.state",
        b.cgroup_parent
    );
    b.ok(&["pause", "p1"]);
    assert_eq!(b.state("p1")["status"], "paused");
    assert_eq!(std::fs::read_to_string(&freezer).unwrap().trim(), "FROZEN");
    let again = b.runtime(&["pause", "p1"]);
    assert!(
        stderr(&again).contains("cannot pause a container that is paused"),
        "{}",
        stderr(&again)
    );
    b.ok(&["resume", "p1"]);
    assert_eq!(b.state("p1")["status"], "running");
    assert_eq!(std::fs::read_to_string(&freezer).unwrap().trim(), "THAWED");
    // A paused container can be deleted by force (it is thawed to die).
    b.ok(&["pause", "p1"]);
    b.ok(&["delete", "--force", "p1"]);
}

#[test]
fn events_stats_and_update_read_and_write_the_cgroup() {
    let mut b = Bundle::new("runtime", &["sleep", "60"]);
    sleeping(&mut b, "s2");
    let o = b.runtime(&["events", "--stats", "s2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (v["type"].as_str(), v["id"].as_str()),
        (Some("stats"), Some("s2")),
        "{v}"
    );
    assert_eq!(v["data"]["pids"]["current"], 1, "{v}");
    assert!(
        v["data"]["memory"]["usage"]["usage"].as_u64().unwrap() > 0,
        "{v}"
    );
    // containerd's `update --resources -`, the JSON on stdin.
    let mut c = b.cmd(&["update", "--resources", "-", "s2"]);
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    std::io::Write::write_all(
        child.stdin.as_mut().unwrap(),
        br#"{"memory": {"limit": 67108864}, "pids": {"limit": 42}}"#,
    )
    .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let read = |f: &str| std::fs::read_to_string(format!("/sys/fs/cgroup/{f}")).unwrap();
    let parent = &b.cgroup_parent;
    assert_eq!(
        read(&format!("memory/{parent}/s2/memory.limit_in_bytes")).trim(),
        "67108864"
    );
    assert_eq!(read(&format!("pids/{parent}/s2/pids.max")).trim(), "42");
    b.ok(&["update", "--pids-limit", "7", "s2"]);
    assert_eq!(read(&format!("pids/{parent}/s2/pids.max")).trim(), "7");
    b.ok(&["delete", "--force", "s2"]);
}

#[test]
fn hooks_run_in_order_with_the_state_on_stdin() {
    let mut b = Bundle::new("runtime", &["true"]);
    let log = b.dir.path().join("hooks.log");
    let host_hook = |kind: &str| {
        // The state's id and status, one line per hook, appended on the host.
        let script = format!(
            "read -r s; echo {kind} $(echo \"$s\" | grep -o '\"status\":\"[a-z]*\"') >> {}",
            log.display()
        );
        serde_json::json!({"path": "/bin/sh", "args": ["sh", "-c", script]})
    };
    // startContainer runs inside the container: its path and files are the container's.
    let start = serde_json::json!({"path": "/bin/sh", "args": ["sh", "-c", "cat > /start-hook"]});
    b.edit(|c| {
        c["hooks"] = serde_json::json!({
            "prestart": [host_hook("prestart")],
            "createRuntime": [host_hook("createRuntime")],
            "createContainer": [host_hook("createContainer")],
            "startContainer": [start],
            "poststart": [host_hook("poststart")],
            "poststop": [host_hook("poststop")],
        });
        c["root"]["readonly"] = false.into();
    });
    let out = b.dir.path().join("out");
    let o = b.create("h1", &out);
    assert!(
        o.status.success(),
        "create: {}",
        std::fs::read_to_string(&out).unwrap()
    );
    b.ok(&["start", "h1"]);
    b.wait_stopped("h1");
    b.ok(&["delete", "h1"]);
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "prestart \"status\":\"creating\"\ncreateRuntime \"status\":\"creating\"\n\
         createContainer \"status\":\"creating\"\npoststart \"status\":\"running\"\n\
         poststop \"status\":\"stopped\"\n"
    );
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(b.path().join("rootfs/start-hook")).unwrap())
            .unwrap();
    assert_eq!(
        (state["id"].as_str(), state["status"].as_str()),
        (Some("h1"), Some("created"))
    );
    // A failing createRuntime hook fails create and leaves nothing.
    b.edit(|c| c["hooks"] = serde_json::json!({"createRuntime": [{"path": "/bin/false"}]}));
    let o = b.create("h2", &out);
    assert_eq!(o.status.code(), Some(1));
    assert!(std::fs::read_to_string(&out)
        .unwrap()
        .contains("hook /bin/false: exit status 1"));
    assert!(!b.runtime(&["state", "h2"]).status.success());
}

/// Receive one fd sent with SCM_RIGHTS on `sock`.
fn recv_fd(sock: &std::os::unix::net::UnixStream) -> std::os::fd::OwnedFd {
    use std::os::fd::{AsRawFd, FromRawFd};
    let mut byte = [0u8; 64];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: byte.len(),
    };
    let mut cbuf = [0u64; 8];
    // SAFETY: msghdr is plain data; the pointers set below outlive the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&cbuf);
    // SAFETY: msg points at valid buffers for the call.
    let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, 0) };
    assert!(n > 0, "recvmsg: {}", std::io::Error::last_os_error());
    // SAFETY: the kernel filled the control buffer; one SCM_RIGHTS header with one fd.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        assert!(!c.is_null() && (*c).cmsg_type == libc::SCM_RIGHTS);
        let fd = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<libc::c_int>());
        std::os::fd::OwnedFd::from_raw_fd(fd)
    }
}

#[test]
fn a_terminal_goes_to_the_console_socket() {
    let mut b = Bundle::new("runtime", &["sh", "-c", "tty; echo tty-ok"]);
    b.edit(|c| c["process"]["terminal"] = true.into());
    let sock_path = b.dir.path().join("console.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock_path).unwrap();
    let cg = format!("/{}/t1", b.cgroup_parent);
    b.edit(|c| c["linux"]["cgroupsPath"] = cg.into());
    b.ids.push("t1".into());
    let bundle = b.path();
    let mut create = b
        .cmd(&[
            "create",
            "--bundle",
            bundle.to_str().unwrap(),
            "--console-socket",
            sock_path.to_str().unwrap(),
            "t1",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (conn, _) = listener.accept().unwrap();
    let master = std::fs::File::from(recv_fd(&conn));
    let o = create.wait().unwrap();
    assert!(o.success());
    b.ok(&["start", "t1"]);
    let mut text = String::new();
    let mut buf = [0u8; 256];
    // Read until the container's output is in (EIO once the slave is closed).
    while !text.contains("tty-ok") {
        match std::io::Read::read(&mut &master, &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => text.push_str(&String::from_utf8_lossy(&buf[..n])),
        }
    }
    assert!(text.starts_with("/dev/pts/"), "{text:?}");
    assert!(text.contains("tty-ok"), "{text:?}");
    // Without --console-socket a terminal is refused.
    b.wait_stopped("t1");
    b.ok(&["delete", "t1"]);
    let o = b.create("t2", &b.dir.path().join("out"));
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn preserve_fds_passes_fd_3_through() {
    use std::os::unix::process::CommandExt;
    let b = Bundle::new("runtime", &["sh", "-c", "echo through-3 >&3"]);
    let cg = format!("/{}/f1", b.cgroup_parent);
    b.edit(|c| c["linux"]["cgroupsPath"] = cg.into());
    let target = b.dir.path().join("fd3");
    let f = File::create(&target).unwrap();
    let fd = std::os::fd::AsRawFd::as_raw_fd(&f);
    let bundle = b.path();
    let mut c = b.cmd(&[
        "run",
        "--preserve-fds",
        "1",
        "--bundle",
        bundle.to_str().unwrap(),
        "f1",
    ]);
    // SAFETY: dup2 between the fork and the exec touches only the child's fd table.
    unsafe {
        c.pre_exec(move || {
            // dup2 onto itself keeps close-on-exec: clear it explicitly.
            if libc::dup2(fd, 3) == -1 || libc::fcntl(3, libc::F_SETFD, 0) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let o = c.output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "through-3\n");
    // Without the flag, fd 3 is not the container's.
    let mut c = b.cmd(&["run", "--bundle", bundle.to_str().unwrap(), "f1"]);
    // SAFETY: as above.
    unsafe {
        c.pre_exec(move || {
            // dup2 onto itself keeps close-on-exec: clear it explicitly.
            if libc::dup2(fd, 3) == -1 || libc::fcntl(3, libc::F_SETFD, 0) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let o = c.output().unwrap();
    assert_ne!(o.status.code(), Some(0));
}

/// Verbs on one container at once are serialized by its lock (flock on its directory):
/// while the test holds it, `delete --force` waits in flock and the container lives;
/// released, the delete goes through.
#[test]
fn a_verb_waits_for_the_containers_lock() {
    use std::os::fd::AsRawFd;
    let mut b = Bundle::new("runtime", &["sleep", "60"]);
    sleeping(&mut b, "l1");
    let dir = File::open(b.root().join("l1")).unwrap();
    // SAFETY: flock on an fd we own.
    assert_eq!(unsafe { libc::flock(dir.as_raw_fd(), libc::LOCK_EX) }, 0);
    let mut child = b
        .cmd(&["delete", "--force", "l1"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Until it either finishes (no lock: the bug) or sleeps in the kernel's flock wait.
    let wchan = format!("/proc/{}/wchan", child.id());
    loop {
        if child.try_wait().unwrap().is_some() {
            panic!("delete did not wait for the container's lock");
        }
        let w = std::fs::read_to_string(&wchan).unwrap_or_default();
        if w.contains("lock") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(b.state("l1")["status"], "running");
    drop(dir); // releases the lock
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!b.runtime(&["state", "l1"]).status.success());
}
