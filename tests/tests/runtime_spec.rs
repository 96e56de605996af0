//! End-to-end tests of the runtime spec fields `bocker-runtime` honours beyond what
//! `bocker run` uses (issue 14): `linux.sysctl`, `linux.personality`, `linux.devices`
//! block and fifo nodes with mode and owner, `linux.resources.cpu.cpus` (cpuset) and
//! `memory.swappiness`, a namespace joined by `path`, and a host-wide sysctl refused by
//! name. Each test
//! drives `bocker-runtime run` on a busybox bundle with its own `--root` and cgroup
//! parent, removed in `Drop`.

use std::process::{Command, Output, Stdio};

use bocker_e2e::runtime::Bundle;

/// A bundle whose process is `sh -c script`, as container `c` of this test.
fn bundle(script: &str) -> Bundle {
    let mut b = Bundle::new("rtspec", &["sh", "-c", script]);
    b.adopt("c");
    b
}

/// `bocker-runtime run` of container `c`.
fn run(b: &Bundle) -> Output {
    let bundle = b.path();
    b.runtime(&["run", "--bundle", bundle.to_str().unwrap(), "c"])
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn sysctl_personality_and_devices_reach_the_container() {
    let b = bundle(
        "cat /proc/sys/net/ipv4/ip_forward; uname -m; \
         stat -c '%F %a %u:%g %t:%T' /dev/blk /dev/fifo",
    );
    b.edit(|c| {
        c["linux"]["sysctl"] = serde_json::json!({"net.ipv4.ip_forward": "1"});
        c["linux"]["personality"] = serde_json::json!({"domain": "LINUX32"});
        c["linux"]["devices"] = serde_json::json!([
            {"path": "/dev/blk", "type": "b", "major": 7, "minor": 200,
             "fileMode": 0o640, "uid": 1, "gid": 2},
            {"path": "/dev/fifo", "type": "p", "major": 0, "minor": 0}
        ]);
        c["linux"]["resources"]["cpu"] = serde_json::json!({"cpus": "0", "mems": "0"});
        c["linux"]["resources"]["memory"] = serde_json::json!({"swappiness": 17});
    });
    let o = run(&b);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    // The container's own network namespace got the value; the host's is untouched.
    assert_eq!(lines[0], "1", "{out}");
    // PER_LINUX32 on x86_64: uname -m says i686 (as `setarch i686 uname -m`).
    if cfg!(target_arch = "x86_64") {
        assert_eq!(lines[1], "i686", "{out}");
    }
    assert_eq!(lines[2], "block special file 640 1:2 7:c8", "{out}");
    assert_eq!(lines[3], "fifo 666 0:0 0:0", "{out}");
}

#[test]
fn cpuset_and_swappiness_are_written_before_the_init_joins() {
    let b = bundle("true");
    b.edit(|c| {
        c["linux"]["resources"]["cpu"] = serde_json::json!({"cpus": "0", "mems": "0"});
        c["linux"]["resources"]["memory"] = serde_json::json!({"swappiness": 17});
    });
    let bundle = b.path();
    // The init keeps create's stdio open: never a pipe we would wait on.
    let o = b
        .cmd(&["create", "--bundle", bundle.to_str().unwrap(), "c"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(o.success());
    // Created: the init waits at the gate, inside the group (cgroup v1 on the CI host).
    let group = |ctrl: &str, file: &str| {
        let p = format!("/sys/fs/cgroup/{ctrl}/{}/c/{file}", b.cgroup_parent);
        std::fs::read_to_string(&p).map(|s| s.trim().to_string())
    };
    if let Ok(cpus) = group("cpuset", "cpuset.cpus") {
        assert_eq!(cpus, "0");
        assert_eq!(group("memory", "memory.swappiness").unwrap(), "17");
    }
}

#[test]
fn a_namespace_given_by_path_is_joined() {
    // A process in a network namespace of its own, as the suite's linux_ns_path makes.
    let mut holder = Command::new("unshare")
        .args(["--net", "sleep", "600"])
        .spawn()
        .unwrap();
    let ns = format!("/proc/{}/ns/net", holder.id());
    let want = loop {
        // unshare switches namespaces right after it starts: wait for the link to differ.
        let link = std::fs::read_link(&ns).unwrap();
        if link != std::fs::read_link("/proc/self/ns/net").unwrap() {
            break link;
        }
        std::thread::yield_now();
    };
    let b = bundle("readlink /proc/self/ns/net");
    b.edit(|c| {
        let list = c["linux"]["namespaces"].as_array_mut().unwrap();
        list.retain(|n| n["type"] != "network");
        list.push(serde_json::json!({"type": "network", "path": ns}));
    });
    let o = run(&b);
    let _ = holder.kill();
    let _ = holder.wait();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        want.to_string_lossy()
    );
}

#[test]
fn a_host_wide_sysctl_is_refused_by_name() {
    let b = bundle("true");
    b.edit(|c| c["linux"]["sysctl"] = serde_json::json!({"kernel.panic": "1"}));
    let o = run(&b);
    assert!(!o.status.success());
    let text = stderr(&o);
    assert!(text.contains("linux.sysctl \"kernel.panic\""), "{text}");
    // Nothing was left: the container's id is free again.
    assert!(!b.runtime(&["state", "c"]).status.success());
}
