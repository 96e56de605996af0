//! End-to-end tests of `bocker-runtime` with a user namespace (`linux.uidMappings`,
//! `gidMappings`: the container's root is host uid 100000), `exec` joining it, a second
//! container joining it by `path`, runc's rules for mappings refused before anything is
//! made; the spec's `cgroup` mount showing
//! the container's own groups with and without a cgroup namespace; and the hooks'
//! timing (`prestart`/`createRuntime` after the mounts, before `pivot_root`). Each test
//! has its own `--root` and cgroup parent, removed in `Drop`.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::process::Output;

use bocker_e2e::runtime::Bundle;

/// The host ids the container's 0..65536 map to.
const HOST_ID: u32 = 100000;

/// A bundle whose process is `sh -c script`, its rootfs writable.
fn bundle(script: &str) -> Bundle {
    let b = Bundle::new("rtuserns", &["sh", "-c", script]);
    b.edit(|c| c["root"]["readonly"] = false.into());
    b
}

/// A user namespace mapping the container's 0..65536 to the host's 100000.., and the
/// rootfs' /tmp owned by the container's root.
fn with_user_namespace(b: Bundle) -> Bundle {
    let map = serde_json::json!([{"containerID": 0, "hostID": HOST_ID, "size": 65536}]);
    b.edit(|c| {
        let ns = c["linux"]["namespaces"].as_array_mut().unwrap();
        ns.push(serde_json::json!({"type": "user"}));
        c["linux"]["uidMappings"] = map.clone();
        c["linux"]["gidMappings"] = map;
    });
    let tmp = b.path().join("rootfs/tmp");
    std::os::unix::fs::chown(&tmp, Some(HOST_ID), Some(HOST_ID)).unwrap();
    b
}

/// `run` container `id` in this test's own cgroup parent.
fn run(b: &mut Bundle, id: &str) -> Output {
    b.adopt(id);
    let bundle = b.path();
    b.runtime(&["run", "--bundle", bundle.to_str().unwrap(), id])
}

/// `create` + `start` of container `id` (its output into a file: its init keeps it).
fn start(b: &mut Bundle, id: &str) {
    b.adopt(id);
    let out = File::create(b.dir.path().join(format!("{id}.out"))).unwrap();
    let bundle = b.path();
    let o = b
        .cmd(&["create", "--bundle", bundle.to_str().unwrap(), id])
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .output()
        .unwrap();
    let log = std::fs::read_to_string(b.dir.path().join(format!("{id}.out"))).unwrap();
    assert!(o.status.success(), "create: {log}");
    let o = b.runtime(&["start", id]);
    assert!(o.status.success(), "start: {}", stderr(&o));
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn words(s: &str) -> Vec<&str> {
    s.split_whitespace().collect()
}

#[test]
fn the_containers_root_is_the_mapped_host_id() {
    let script = "cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g; touch /tmp/made; \
                  ls -n /dev/null";
    let mut b = with_user_namespace(bundle(script));
    let o = run(&mut b, "u1");
    assert!(o.status.success(), "run: {}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(words(lines[0]), ["0", "100000", "65536"], "{out}");
    assert_eq!(words(lines[1]), ["0", "100000", "65536"], "{out}");
    assert_eq!(&lines[2..4], ["0", "0"], "{out}");
    // /dev/null is the host's node bound in (no mknod in a user namespace), owned by
    // an id the namespace does not map (the overflow id).
    assert!(lines[4].starts_with("crw-rw-rw-"), "{out}");
    assert!(words(lines[4])[2] == "65534", "{out}");
    // A file the container's root made is the host's 100000's.
    let meta = std::fs::metadata(b.path().join("rootfs/tmp/made")).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (HOST_ID, HOST_ID));
}

#[test]
fn exec_joins_the_containers_user_namespace() {
    let mut b = with_user_namespace(bundle("sleep 1000"));
    start(&mut b, "u2");
    let o = b.runtime(&["exec", "u2", "sh", "-c", "cat /proc/self/uid_map; id -u"]);
    assert!(o.status.success(), "exec: {}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(words(lines[0]), ["0", "100000", "65536"], "{out}");
    assert_eq!(lines[1], "0", "{out}");
    let o = b.runtime(&["exec", "u2", "touch", "/tmp/by-exec"]);
    assert!(o.status.success(), "exec: {}", stderr(&o));
    let meta = std::fs::metadata(b.path().join("rootfs/tmp/by-exec")).unwrap();
    assert_eq!(meta.uid(), HOST_ID);
}

#[test]
fn mappings_are_checked_by_runcs_rules_before_anything_is_made() {
    let mut b = with_user_namespace(bundle("true"));
    b.edit(|c| c["linux"]["uidMappings"] = serde_json::json!([]));
    let o = run(&mut b, "u3");
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("user namespaces enabled, but no uid mappings found"),
        "{}",
        stderr(&o)
    );
    assert!(!b.runtime(&["state", "u3"]).status.success());
    // Mappings without a user namespace.
    b.edit(|c| {
        let ns = c["linux"]["namespaces"].as_array_mut().unwrap();
        ns.retain(|n| n["type"] != "user");
        c["linux"]["uidMappings"] = c["linux"]["gidMappings"].clone();
    });
    let o = run(&mut b, "u4");
    assert!(
        stderr(&o).contains("user namespaces not enabled in config"),
        "{}",
        stderr(&o)
    );
    // Mappings with a path.
    b.edit(|c| {
        let ns = c["linux"]["namespaces"].as_array_mut().unwrap();
        ns.push(serde_json::json!({"type": "user", "path": "/proc/self/ns/user"}));
    });
    let o = run(&mut b, "u5");
    assert!(
        stderr(&o).contains("not allowed with a user namespace path"),
        "{}",
        stderr(&o)
    );
}

/// The spec's `cgroup` mount shows the container's groups: the hierarchies, and the
/// memory limit of its own group (runc's and Docker's view: 64 MiB → 67108864).
fn check_cgroup_mount(cgroup_namespace: bool) {
    let script = "ls /sys/fs/cgroup; cat /sys/fs/cgroup/memory/memory.limit_in_bytes";
    let mut b = bundle(script);
    b.edit(|c| {
        c["linux"]["resources"]["memory"] = serde_json::json!({"limit": 64 << 20});
        let ns = c["linux"]["namespaces"].as_array_mut().unwrap();
        ns.retain(|n| n["type"] != "cgroup");
        if cgroup_namespace {
            ns.push(serde_json::json!({"type": "cgroup"}));
        }
    });
    let o = run(&mut b, "cg");
    assert!(o.status.success(), "run: {}", stderr(&o));
    let out = stdout(&o);
    for controller in ["cpu", "memory", "pids"] {
        assert!(out.lines().any(|l| l == controller), "{controller}: {out}");
    }
    assert_eq!(out.lines().last(), Some("67108864"), "{out}");
}

#[test]
fn the_cgroup_mount_shows_the_containers_groups_in_a_cgroup_namespace() {
    check_cgroup_mount(true);
}

#[test]
fn the_cgroup_mount_shows_the_containers_groups_without_one() {
    // containerd's default spec on a cgroup v1 host has no cgroup namespace.
    check_cgroup_mount(false);
}

#[test]
fn prestart_and_create_runtime_run_after_the_mounts_before_pivot_root() {
    let mut b = bundle("true");
    let log = b.dir.path().join("hooks.log");
    // Each hook logs its kind, the status it read, whether the init still has the
    // host's root (not pivoted yet) and whether its /proc is mounted in the rootfs.
    let hook = |kind: &str| {
        let script = format!(
            "read -r s; pid=$(echo \"$s\" | grep -o '\"pid\":[0-9]*' | cut -d: -f2); \
             st=$(echo \"$s\" | grep -o '\"status\":\"[a-z]*\"'); \
             root=other; [ \"$(stat -L -c %d:%i /proc/$pid/root/)\" = \"$(stat -c %d:%i /)\" ] && root=host; \
             proc=no; grep -q '/rootfs/proc ' /proc/$pid/mountinfo && proc=mounted; \
             echo {kind} $st $root $proc >> {}",
            log.display()
        );
        serde_json::json!({"path": "/bin/sh", "args": ["sh", "-c", script]})
    };
    b.edit(|c| {
        c["hooks"] = serde_json::json!({
            "prestart": [hook("prestart")],
            "createRuntime": [hook("createRuntime")],
        });
    });
    let o = run(&mut b, "h");
    assert!(o.status.success(), "run: {}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "prestart \"status\":\"creating\" host mounted\n\
         createRuntime \"status\":\"creating\" host mounted\n"
    );
}

#[test]
fn a_user_namespace_given_by_path_is_joined_and_owns_the_new_ones() {
    let mut b = with_user_namespace(bundle("sleep 1000"));
    start(&mut b, "owner");
    let pid = b.runtime(&["state", "owner"]);
    let state: serde_json::Value = serde_json::from_slice(&pid.stdout).unwrap();
    let pid = state["pid"].as_i64().unwrap();
    let theirs = std::fs::read_link(format!("/proc/{pid}/ns/user")).unwrap();
    // A second container in the first one's user namespace, its other namespaces new.
    let user_path = format!("/proc/{pid}/ns/user");
    b.edit(|c| {
        let ns = c["linux"]["namespaces"].as_array_mut().unwrap();
        ns.retain(|n| n["type"] != "user");
        ns.push(serde_json::json!({"type": "user", "path": user_path}));
        c["linux"].as_object_mut().unwrap().remove("uidMappings");
        c["linux"].as_object_mut().unwrap().remove("gidMappings");
        c["process"]["args"] = serde_json::json!([
            "sh",
            "-c",
            "readlink /proc/self/ns/user; cat /proc/self/uid_map; id -u; touch /tmp/joined"
        ]);
    });
    let o = run(&mut b, "joiner");
    assert!(o.status.success(), "run: {}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], theirs.to_str().unwrap(), "{out}");
    assert_eq!(words(lines[1]), ["0", "100000", "65536"], "{out}");
    assert_eq!(lines[2], "0", "{out}");
    let meta = std::fs::metadata(b.path().join("rootfs/tmp/joined")).unwrap();
    assert_eq!(meta.uid(), HOST_ID);
}

#[test]
fn without_an_own_network_namespace_sys_is_the_hosts_bound_read_only() {
    // sysfs cannot be mounted by a user namespace that does not own the network
    // namespace; runc binds the host's /sys then, and so does bocker.
    let script = "ls /sys/class/net >/dev/null && echo listed; touch /sys/x 2>/dev/null || echo ro";
    let mut b = with_user_namespace(bundle(script));
    b.edit(|c| {
        let ns = c["linux"]["namespaces"].as_array_mut().unwrap();
        ns.retain(|n| n["type"] != "network");
    });
    let o = run(&mut b, "nonet");
    assert!(o.status.success(), "run: {}", stderr(&o));
    assert_eq!(stdout(&o), "listed\nro\n");
}

#[test]
fn process_fields_and_sysctls_apply_in_a_user_namespace() {
    // oomScoreAdj is written before the user namespace (runc's nsexec order): the
    // container's root cannot write its /proc files once it has setresuid'd.
    let script = "cat /proc/self/oom_score_adj; cat /proc/sys/net/ipv4/ip_forward; hostname; \
                  id -u; id -G";
    let mut b = with_user_namespace(bundle(script));
    b.edit(|c| {
        c["process"]["oomScoreAdj"] = 100.into();
        c["process"]["user"] = serde_json::json!({"uid": 1000, "gid": 1000, "additionalGids": [5]});
        c["linux"]["sysctl"] = serde_json::json!({"net.ipv4.ip_forward": "1"});
        c["hostname"] = "inside".into();
    });
    let o = run(&mut b, "fields");
    assert!(o.status.success(), "run: {}", stderr(&o));
    assert_eq!(stdout(&o), "100\n1\ninside\n1000\n1000 5\n");
}
