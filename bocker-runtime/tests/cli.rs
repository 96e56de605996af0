//! bocker-runtime's command line driven as containerd's shim and a user would: `spec`
//! whose config runc accepts, `state`/`list` over a state root, `features`, the global
//! flags (`--log --log-format json`, `--systemd-cgroup` refused).

use std::path::Path;
use std::process::{Command, Output};

use bocker_runtime::state::{Record, State, Status};

fn runtime(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bocker-runtime"))
        .args(args)
        .output()
        .expect("bocker-runtime runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn record(id: &str, pid: i32, start: u64, status: Status) -> Record {
    Record {
        state: State {
            oci_version: "1.0.2-dev".into(),
            id: id.into(),
            pid,
            status,
            bundle: "/bundles/x".into(),
            rootfs: "/bundles/x/rootfs".into(),
            created: "2026-11-29T10:00:00.000000001Z".into(),
            owner: "root".into(),
            annotations: Default::default(),
        },
        init_start_time: start,
        cgroup_parent: String::new(),
        cgroup_name: String::new(),
        hooks: None,
    }
}

/// A busybox root filesystem: the host's static busybox and the two applets used.
fn busybox_rootfs(rootfs: &Path) {
    std::fs::create_dir_all(rootfs.join("bin")).unwrap();
    std::fs::copy("/bin/busybox", rootfs.join("bin/busybox")).unwrap();
    for applet in ["sh", "echo", "hostname"] {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet)).unwrap();
    }
}

#[test]
fn spec_output_is_accepted_by_runc_run() {
    if Command::new("runc").arg("--version").output().is_err() {
        panic!("runc not installed: run scripts/deps.sh");
    }
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle");
    std::fs::create_dir(&bundle).unwrap();
    let o = runtime(&["spec", "--bundle", bundle.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    busybox_rootfs(&bundle.join("rootfs"));

    // As a user would after `runc spec`: a non-interactive command, all else as written.
    let path = bundle.join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    config["process"]["terminal"] = false.into();
    config["process"]["args"] = serde_json::json!(["sh", "-c", "echo hi from $(hostname)"]);
    std::fs::write(&path, serde_json::to_vec(&config).unwrap()).unwrap();

    let id = format!("bocker-runtime-e2e-{}", std::process::id());
    let root = dir.path().join("runc-root");
    let out = Command::new("runc")
        .arg("--root")
        .arg(&root)
        .args(["run", "--bundle"])
        .arg(&bundle)
        .arg(&id)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    // Whatever happened, leave no container behind.
    let _ = Command::new("runc")
        .arg("--root")
        .arg(&root)
        .args(["delete", "--force", &id])
        .output();
    assert!(out.status.success(), "runc run: {}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hi from bocker\n");
}

#[test]
fn spec_refuses_to_overwrite_as_runc_does() {
    let dir = tempfile::tempdir().unwrap();
    let b = dir.path().to_str().unwrap();
    assert!(runtime(&["spec", "-b", b]).status.success());
    std::fs::write(dir.path().join("config.json"), "mine").unwrap();
    let o = runtime(&["spec", "-b", b]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("File config.json exists. Remove it first"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("config.json")).unwrap(),
        "mine"
    );
}

#[test]
fn state_prints_the_record_as_runc_and_stopped_when_the_init_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap();
    // This test process stands in for a live init.
    let me = std::process::id() as i32;
    let start = bocker_runtime::state::start_time_of(me).unwrap();
    record("live", me, start, Status::Running)
        .save(dir.path())
        .unwrap();
    record("gone", me, start + 1, Status::Running)
        .save(dir.path())
        .unwrap();

    let o = runtime(&["--root", root, "state", "live"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["status"], "running");
    assert_eq!(v["pid"], me);
    assert_eq!(v["rootfs"], "/bundles/x/rootfs");
    assert!(v.get("initStartTime").is_none(), "internal field printed");

    let o = runtime(&["--root", root, "state", "gone"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (v["status"].as_str(), v["pid"].as_i64()),
        (Some("stopped"), Some(0))
    );
}

#[test]
fn state_of_a_missing_container_fails_and_logs_json_for_containerd() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.json");
    let o = runtime(&[
        "--root",
        dir.path().to_str().unwrap(),
        "--log",
        log.to_str().unwrap(),
        "--log-format",
        "json",
        "state",
        "nope",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    assert!(
        stderr(&o).contains("container does not exist"),
        "{}",
        stderr(&o)
    );
    let line: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&log).unwrap().trim_end()).unwrap();
    assert_eq!(line["level"], "error");
    assert!(line["msg"].as_str().unwrap().contains("does not exist"));
}

#[test]
fn list_prints_json_table_and_ids() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap();
    record("b", 0, 0, Status::Stopped).save(dir.path()).unwrap();
    record("a", 0, 0, Status::Created).save(dir.path()).unwrap();

    let o = runtime(&["--root", root, "list", "--format", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let ids: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["a", "b"]);
    // "a" claims `created` with no init: it is stopped.
    assert_eq!(v[0]["status"], "stopped");

    let o = runtime(&["--root", root, "list", "-q"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "a\nb\n");
    let o = runtime(&["--root", root, "list"]);
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("ID          PID         STATUS"));

    // A root that does not exist yet lists nothing (runc: nothing was ever created).
    let o = runtime(&[
        "--root",
        dir.path().join("none").to_str().unwrap(),
        "list",
        "-q",
    ]);
    assert!(o.status.success() && o.stdout.is_empty());
}

#[test]
fn features_is_json_in_runcs_shape() {
    let o = runtime(&["features"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["ociVersionMin"], "1.0.0");
    assert_eq!(v["linux"]["cgroup"]["systemd"], false);
}

#[test]
fn systemd_cgroup_is_refused_in_one_line() {
    let o = runtime(&["--systemd-cgroup", "features"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    let e = stderr(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(e.contains("--systemd-cgroup is not supported"), "{e}");
}

/// Every verb on a container that does not exist fails with runc's words (containerd
/// only tests for a non-zero status, and reads the `--log` JSON's message).
#[test]
fn verbs_on_a_missing_container_fail_as_runc() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_str().unwrap();
    for verb in [
        &["exec", "x", "true"][..],
        &["pause", "x"],
        &["resume", "x"],
        &["events", "--stats", "x"],
        &["update", "--memory", "67108864", "x"],
        &["start", "x"],
        &["kill", "x"],
    ] {
        let o = runtime(&[&["--root", root][..], verb].concat());
        assert_eq!(o.status.code(), Some(1), "{verb:?}");
        assert!(
            stderr(&o).contains("container does not exist"),
            "{verb:?}: {}",
            stderr(&o)
        );
    }
    let o = runtime(&["--root", root, "delete", "--force", "x"]);
    assert!(
        o.status.success(),
        "delete --force of a missing id succeeds, as runc's"
    );
}
