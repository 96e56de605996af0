//! End-to-end tests of the verbs that answer in Docker's shape: `inspect` (containers
//! and images as Docker's JSON array, read by a real `jq` pipeline and by `-f`
//! templates) and `ps` (Docker's columns, durations, order, flags and filters).
//!
//! Docker's answers for the same containers and image are recorded in
//! tests/data/docker_inspect.json and tests/data/docker_ps.txt (Docker engine 20.10.24,
//! docker CLI 28.2.2, 2026-11-29); the tests do not need Docker.

use std::process::{Command, Stdio};

use bocker_e2e::run::{code, stderr, Running};
use bocker_e2e::TestRoot;
use serde_json::Value;

/// Docker 20.10's `inspect` answers (see the file's `recorded` and `commands`).
fn docker() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/docker_inspect.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `bocker inspect args…` as a JSON value.
fn inspect(t: &TestRoot, args: &[&str]) -> Value {
    serde_json::from_str(&t.ok("inspect", args)).unwrap()
}

/// The JSON kind of a value, to compare shapes.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every `path` (`State.Pid`) is in `ours` with the kind Docker gave it (a `null` of
/// Docker's may be a value of ours and the other way round: Go's nil slices).
fn same_shape(ours: &Value, docker: &Value, paths: &[&str]) {
    for path in paths {
        let pointer = format!("/{}", path.replace('.', "/"));
        let o = ours
            .pointer(&pointer)
            .unwrap_or_else(|| panic!("no {path} in {ours:#}"));
        let d = docker.pointer(&pointer).expect(path);
        assert!(
            kind(o) == kind(d) || o.is_null() || d.is_null(),
            "{path}: ours {o} is a {}, Docker's {d} a {}",
            kind(o),
            kind(d)
        );
    }
}

/// The container fields issue 13 names (Docker 20.10's names).
const CONTAINER_FIELDS: &[&str] = &[
    "Id",
    "Name",
    "Created",
    "Path",
    "Args",
    "State.Status",
    "State.Running",
    "State.Paused",
    "State.Pid",
    "State.ExitCode",
    "State.StartedAt",
    "State.FinishedAt",
    "State.Error",
    "Image",
    "Config.Hostname",
    "Config.User",
    "Config.Env",
    "Config.Cmd",
    "Config.Entrypoint",
    "Config.WorkingDir",
    "Config.Labels",
    "Config.Image",
    "HostConfig.Binds",
    "HostConfig.Memory",
    "HostConfig.NanoCpus",
    "HostConfig.CpuShares",
    "HostConfig.PidsLimit",
    "HostConfig.NetworkMode",
    "HostConfig.PortBindings",
    "HostConfig.ReadonlyRootfs",
    "HostConfig.AutoRemove",
    "HostConfig.Privileged",
    "HostConfig.CapAdd",
    "HostConfig.CapDrop",
    "NetworkSettings.IPAddress",
    "NetworkSettings.Gateway",
    "NetworkSettings.MacAddress",
    "NetworkSettings.Ports",
    "NetworkSettings.Networks",
    "Mounts",
    "GraphDriver.Name",
    "GraphDriver.Data",
];

/// Docker's `run --name web -e A=1 -w /tmp --memory 64m --pids-limit 50 --network none
/// IMG echo hi`, inspected after it exited: same shape, same values where bocker has them.
#[test]
fn inspect_of_an_exited_container_is_dockers() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    t.ok(
        "run",
        &[
            "--name",
            "web",
            "-e",
            "A=1",
            "-w",
            "/tmp",
            "--memory",
            "64m",
            "--pids-limit",
            "50",
            "--network",
            "none",
            &img,
            "echo",
            "hi",
        ],
    );
    let all = inspect(&t, &["web"]);
    assert_eq!(all.as_array().map(Vec::len), Some(1), "a JSON array: {all}");
    let ours = &all[0];
    let d = &docker()["exited"][0];
    same_shape(ours, d, CONTAINER_FIELDS);
    for path in [
        "/Name",
        "/Path",
        "/Args",
        "/State/Status",
        "/State/Running",
        "/State/Paused",
        "/State/Pid",
        "/State/ExitCode",
        "/State/Error",
        "/Config/Cmd",
        "/Config/Entrypoint",
        "/Config/WorkingDir",
        "/HostConfig/Binds",
        "/HostConfig/Memory",
        "/HostConfig/NanoCpus",
        "/HostConfig/PidsLimit",
        "/HostConfig/NetworkMode",
        "/HostConfig/PortBindings",
        "/HostConfig/ReadonlyRootfs",
        "/HostConfig/AutoRemove",
        "/HostConfig/Privileged",
        "/HostConfig/CapAdd",
        "/HostConfig/CapDrop",
        "/NetworkSettings/IPAddress",
        "/NetworkSettings/Ports",
        "/Mounts",
    ] {
        assert_eq!(ours.pointer(path), d.pointer(path), "{path}");
    }
    assert!(ours["Config"]["Env"]
        .as_array()
        .unwrap()
        .contains(&"A=1".into()));
    assert!(ours["NetworkSettings"]["Networks"]["none"].is_object());
    assert_ne!(ours["State"]["StartedAt"], "0001-01-01T00:00:00Z");
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(
        keys(&ours["GraphDriver"]["Data"]),
        keys(&d["GraphDriver"]["Data"]),
        "overlay's four directories, as overlay2's"
    );
    // bocker's own facts, under one key.
    assert_eq!(ours["Bocker"]["id"], ours["Id"]);
    assert!(ours["Bocker"]["dir"]
        .as_str()
        .unwrap()
        .starts_with(t.root.to_str().unwrap()));
}

/// Docker's `-v DIR:/data:ro --cpus 0.5 --cpu-shares 512 --read-only -u 1000`: the
/// mount, binds, CPU and user fields are Docker's.
#[test]
fn inspect_shows_mounts_limits_and_user_as_docker() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    let vol = tempfile::tempdir().unwrap();
    let bind = format!("{}:/data:ro", vol.path().display());
    t.ok(
        "run",
        &[
            "--name",
            "withvol",
            "-v",
            &bind,
            "--cpus",
            "0.5",
            "--cpu-shares",
            "512",
            "--read-only",
            "-u",
            "1000",
            "--network",
            "none",
            &img,
            "true",
        ],
    );
    let ours = &inspect(&t, &["withvol"])[0];
    let d = &docker()["created"][0];
    same_shape(ours, d, CONTAINER_FIELDS);
    let mut want_mount = d["Mounts"][0].clone();
    want_mount["Source"] = vol.path().to_str().unwrap().into();
    assert_eq!(ours["Mounts"], serde_json::json!([want_mount]));
    assert_eq!(ours["HostConfig"]["Binds"], serde_json::json!([bind]));
    for path in [
        "/HostConfig/NanoCpus",
        "/HostConfig/CpuShares",
        "/HostConfig/ReadonlyRootfs",
        "/Config/User",
    ] {
        assert_eq!(ours.pointer(path), d.pointer(path), "{path}");
    }
}

/// A running container: Docker's state fields, and the scripts people write against
/// Docker (`jq '.[0].State.Pid'`, `-f '{{.NetworkSettings.IPAddress}}'`) work unchanged.
#[test]
fn scripts_read_a_running_container_as_from_docker() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    let r = Running::start(&t, &["--name", "up", &img, "sleep", "30"]);
    let rec = r.wait_running(&t);
    let ours = &inspect(&t, &["up"])[0];
    let d = &docker()["running"][0];
    same_shape(ours, d, CONTAINER_FIELDS);
    assert_eq!(ours["State"]["Status"], "running");
    assert_eq!(ours["State"]["Running"], true);
    assert_eq!(ours["State"]["FinishedAt"], d["State"]["FinishedAt"]);
    let pid = rec["state"]["pid"].as_i64().unwrap();
    assert!(pid > 0);

    // A real jq pipeline over inspect's output.
    let mut inspect = t
        .cmd("inspect")
        .arg("up")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let jq = Command::new("jq")
        .arg(".[0].State.Pid")
        .stdin(inspect.stdout.take().unwrap())
        .output()
        .expect("jq installed (scripts/deps.sh)");
    assert!(inspect.wait().unwrap().success());
    assert!(jq.status.success(), "{}", stderr(&jq));
    assert_eq!(String::from_utf8_lossy(&jq.stdout), format!("{pid}\n"));

    let ip = rec["config"]["network"]["ip"].as_str().unwrap().to_string();
    assert_eq!(
        t.ok("inspect", &["-f", "{{.NetworkSettings.IPAddress}}", "up"]),
        format!("{ip}\n")
    );
    assert_eq!(
        t.ok(
            "inspect",
            &["-f", "{{.NetworkSettings.Networks.bridge.IPAddress}}", "up"]
        ),
        format!("{ip}\n")
    );
    drop(r);
}

/// `docker image inspect`'s shape; several names give one array, a missing name is
/// reported while the others are still printed (status 1), `--type` narrows the search.
#[test]
fn inspect_of_an_image_and_of_many_names_is_dockers() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    let ours = &inspect(&t, &[&img])[0];
    let d = &docker()["image"][0];
    same_shape(
        ours,
        d,
        &[
            "Id",
            "RepoTags",
            "RepoDigests",
            "Created",
            "Config.Env",
            "Config.Cmd",
            "Config.Entrypoint",
            "Config.WorkingDir",
            "Config.User",
            "Config.Labels",
            "Architecture",
            "Os",
            "Size",
            "RootFS.Type",
            "RootFS.Layers",
        ],
    );
    for path in ["/Architecture", "/Os", "/RootFS/Type", "/RepoDigests"] {
        assert_eq!(ours.pointer(path), d.pointer(path), "{path}");
    }
    assert!(ours["Size"].as_u64().unwrap() > 0);
    assert_eq!(ours["Bocker"]["id"], img.as_str());

    t.ok("run", &["--name", "c1", "--network", "none", &img, "true"]);
    let both = inspect(&t, &["c1", &img]);
    assert_eq!(both[0]["Name"], "/c1");
    assert_eq!(both[1]["Id"], img.as_str());
    assert_eq!(
        t.ok("inspect", &["-f", "{{.Id}}", &img, &img]),
        format!("{img}\n{img}\n"),
        "a template is applied to each object"
    );

    let o = t.run("inspect", &["c1", "nosuch"]);
    assert_eq!(code(&o), 1);
    let found: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(found.as_array().unwrap().len(), 1, "c1 is still printed");
    assert!(stderr(&o).starts_with("bocker inspect: "), "{}", stderr(&o));

    t.fails("inspect", &["--type", "image", "c1"]);
    assert_eq!(
        t.ok("inspect", &["--type", "container", "-f", "{{.Name}}", "c1"]),
        "/c1\n"
    );
}
