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
    let ours = &inspect(&t, &["withvol", "-s"])[0];
    let d = &docker()["created"][0];
    // Docker's `inspect -s`: SizeRw, SizeRootFs (bytes).
    let image_size = inspect(&t, &[&img])[0]["Size"].as_u64().unwrap();
    assert_eq!(ours["SizeRw"], 0);
    assert_eq!(ours["SizeRootFs"], image_size);
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
    assert_eq!(
        stderr(&o),
        "bocker inspect: No such object: nosuch\n",
        "Docker 20.10's words when no --type is given"
    );

    t.fails("inspect", &["--type", "image", "c1"]);
    assert_eq!(
        t.ok("inspect", &["--type", "container", "-f", "{{.Name}}", "c1"]),
        "/c1\n"
    );
}

/// Docker's three containers of tests/data/docker_ps.txt, oldest first: `web` (`echo
/// hi`, exited 0, from an image labelled k=v), `up` (`sleep 600`, running) and `withvol`
/// (`-v DIR:/data:ro … sh -c 'echo x'`; Docker's was only created, bocker's ran and
/// exited: bocker has no `create` yet). All `--network none`.
struct Three {
    t: TestRoot,
    img: String,
    _up: Running,
    _vol: tempfile::TempDir,
}

fn three() -> Three {
    let t = TestRoot::overlay();
    let base = t.busybox_image();
    // `web`'s image carries the label (bocker's `run` has no `-l` yet).
    t.ok(
        "run",
        &["--name", "base", "--network", "none", &base, "true"],
    );
    t.ok("commit", &["-c", "LABEL k=v", "base", "bb:1"]);
    t.ok("rm", &["base"]);
    t.ok(
        "run",
        &["--name", "web", "--network", "none", "bb:1", "echo", "hi"],
    );
    let up = Running::start(
        &t,
        &["--name", "up", "--network", "none", &base, "sleep", "600"],
    );
    up.wait_running(&t);
    let vol = tempfile::tempdir().unwrap();
    let bind = format!("{}:/data:ro", vol.path().display());
    t.ok(
        "run",
        &[
            "--name",
            "withvol",
            "-v",
            &bind,
            "--network",
            "none",
            &base,
            "sh",
            "-c",
            "echo x",
        ],
    );
    Three {
        t,
        img: base,
        _up: up,
        _vol: vol,
    }
}

/// The NAMES column (the last) of each row of a `ps` table.
fn names(table: &str) -> Vec<String> {
    table
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().last().unwrap().to_string())
        .collect()
}

/// Cells of the row of container `name`: two spaces or more separate them.
fn row(table: &str, name: &str) -> Vec<String> {
    let line = table
        .lines()
        .find(|l| l.split_whitespace().last() == Some(name))
        .unwrap_or_else(|| panic!("no {name} in {table}"));
    line.split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect()
}

/// `ps`, `-a`, `-n`, `-l`, `-s`, `--no-trunc`, `--format`: Docker's columns, durations,
/// quoting and order (Docker 20.10 in tests/data/docker_ps.txt).
#[test]
fn ps_lists_as_docker() {
    let all = three();
    let t = &all.t;
    let ps = t.ok("ps", &[]);
    let header: Vec<&str> = ps.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "CONTAINER_ID",
            "COMMAND",
            "STATUS",
            "IMAGE",
            "PORTS",
            "IP",
            "NAMES"
        ],
        "the seed's first two columns, then Docker's"
    );
    // Newest first, as `docker ps -a`; without -a every container still (the seed's).
    assert_eq!(names(&ps), ["withvol", "up", "web"]);
    assert_eq!(t.ok("ps", &["-a"]), ps);
    let (up, web, vol) = (row(&ps, "up"), row(&ps, "web"), row(&ps, "withvol"));
    assert_eq!(up[1], "\"sleep 600\"");
    assert!(up[2].starts_with("Up "), "{up:?}");
    assert_eq!(web[1], "\"echo hi\"");
    assert!(
        web[2].starts_with("Exited (0) ") && web[2].ends_with(" ago"),
        "{web:?}"
    );
    assert_eq!(web[3], "bb:1");
    // Docker's `"/bin/sh -c 'echo x'"` (its argv began with the entrypoint /bin/sh).
    assert_eq!(vol[1], "\"sh -c 'echo x'\"");
    let ids: Vec<String> = t.ok("ps", &["-q"]).lines().map(str::to_string).collect();
    assert_eq!(ids.len(), 3);
    assert_eq!(ids[0], vol[0], "-q in the same order");

    // -n N, -l: the last created (Docker: withvol for both).
    assert_eq!(names(&t.ok("ps", &["-n", "1"])), ["withvol"]);
    assert_eq!(names(&t.ok("ps", &["-l"])), ["withvol"]);
    assert_eq!(names(&t.ok("ps", &["-n", "2"])), ["withvol", "up"]);

    // -s: SIZE last, Docker's "0B (virtual 1.98MB)" form.
    let sized = t.ok("ps", &["-s"]);
    let words: Vec<&str> = sized.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(words[words.len() - 2..], ["NAMES", "SIZE"], "{sized}");
    let s = sized.lines().nth(1).unwrap();
    assert!(s.contains(" 0B (virtual ") && s.ends_with("MB)"), "{sized}");

    // Docker cuts a command at 20 characters (`…` last) unless --no-trunc.
    t.ok(
        "run",
        &[
            "--name",
            "long",
            "--network",
            "none",
            "bb:1",
            "echo",
            "a",
            "long",
            "line",
            "here",
        ],
    );
    assert_eq!(row(&t.ok("ps", &[]), "long")[1], "\"echo a long line he…\"");
    assert_eq!(
        row(&t.ok("ps", &["--no-trunc"]), "long")[1],
        "\"echo a long line here\""
    );

    // Docker: `Exited (0) 9 seconds ago|exited|"echo hi"`, `Up 9 seconds|running|"sleep 600"`.
    let f = t.ok(
        "ps",
        &[
            "--filter",
            "name=web",
            "--format",
            "{{.Status}}|{{.State}}|{{.Command}}",
        ],
    );
    assert!(
        f.starts_with("Exited (0) ") && f.ends_with(" ago|exited|\"echo hi\"\n"),
        "{f}"
    );
    let f = t.ok(
        "ps",
        &["--filter", "name=up", "--format", "{{.Status}}|{{.State}}"],
    );
    assert!(f.starts_with("Up ") && f.ends_with("|running\n"), "{f}");
}

/// Docker's `--filter` keys over the same containers; values of one key are
/// alternatives; an unknown key or value is an error with Docker's words, never an
/// empty list.
#[test]
fn ps_filters_as_docker() {
    let all = three();
    let (t, img) = (&all.t, &all.img);
    let by = |filters: &[&str]| -> Vec<String> {
        let mut args = vec![];
        for f in filters {
            args.extend(["--filter", f]);
        }
        names(&t.ok("ps", &args))
    };
    // Docker 20.10's answers (withvol differs only where Docker's was never started).
    assert_eq!(by(&["name=e"]), ["web"], "a substring of the name");
    assert_eq!(by(&["name=nosuch"]), Vec::<String>::new());
    assert_eq!(by(&["ancestor=bb:1"]), ["web"]);
    assert_eq!(by(&[&format!("ancestor={img}")]), ["withvol", "up"]);
    assert_eq!(by(&["label=k=v"]), ["web"]);
    assert_eq!(by(&["label=k"]), ["web"]);
    assert_eq!(by(&["label=k=w"]), Vec::<String>::new());
    assert_eq!(by(&["volume=/data"]), ["withvol"]);
    assert_eq!(by(&["network=none"]), ["withvol", "up", "web"]);
    assert_eq!(by(&["before=up"]), ["web"]);
    assert_eq!(by(&["since=web"]), ["withvol", "up"]);
    assert_eq!(by(&["publish=80"]), Vec::<String>::new());
    assert_eq!(by(&["status=running"]), ["up"]);
    assert_eq!(by(&["status=exited"]), ["withvol", "web"]);
    assert_eq!(by(&["exited=0"]), ["withvol", "web"]);
    assert_eq!(by(&["exited=1"]), Vec::<String>::new());
    assert_eq!(
        by(&["status=running", "status=exited"]),
        ["withvol", "up", "web"]
    );
    assert_eq!(by(&["status=exited", "name=web"]), ["web"]);
    let id = row(&t.ok("ps", &[]), "up")[0].clone();
    assert_eq!(by(&[&format!("id={}", &id[..7])]), ["up"]);

    // Docker: `Invalid filter 'status=bogus'`, `Invalid filter 'bogus'`,
    // `strconv.Atoi: parsing "abc"`, `no such container nosuch`; all status 1.
    for (filter, says) in [
        ("status=bogus", "invalid filter 'status=bogus'"),
        ("bogus=1", "invalid filter 'bogus'"),
        ("exited=abc", "invalid filter 'exited=abc'"),
        ("before=nosuch", "no such container nosuch"),
        ("since=nosuch", "no such container nosuch"),
    ] {
        let o = t.run("ps", &["--filter", filter]);
        assert_eq!(code(&o), 1, "{filter}");
        assert!(o.stdout.is_empty(), "{filter}: no list");
        assert!(
            stderr(&o).starts_with(&format!("bocker ps: {says}")),
            "{filter}: {}",
            stderr(&o)
        );
    }
}

/// `system df`, `container prune`, `image prune [-a]`, `system prune -a`: Docker's
/// tables, reports (`Deleted Containers:`, `Deleted Images:`, `untagged:`/`deleted:`,
/// `Total reclaimed space:`) and rules: a running container and the images containers
/// use stay; without `-f` and without a terminal nothing is removed.
#[test]
fn prunes_and_df_as_docker() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    let dangling = t.busybox_image();
    t.ok("run", &["--name", "web", "--network", "none", &img, "true"]);
    t.ok("commit", &["web", "keep:1"]);
    let keep = inspect(&t, &["keep:1"])[0]["Id"]
        .as_str()
        .unwrap()
        .to_string();
    let up = Running::start(
        &t,
        &["--name", "up", "--network", "none", &img, "sleep", "600"],
    );
    up.wait_running(&t);
    let web = t
        .ok("ps", &["-q", "--filter", "name=web"])
        .trim()
        .to_string();

    // Docker: `Images 1 1 1.982MB 0B (0%)`, `Containers 3 0 0B 0B`, then volumes, cache.
    let df = t.ok("system", &["df"]);
    let rows: Vec<Vec<&str>> = df.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(
        rows[0],
        ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"],
        "{df}"
    );
    assert_eq!(rows[1][..3], ["Images", "3", "1"], "{df}");
    assert_eq!(rows[2][..3], ["Containers", "2", "1"], "{df}");
    assert_eq!(rows[3][..4], ["Local", "Volumes", "0", "0"], "{df}");
    assert_eq!(
        t.ok("system", &["df", "--format", "{{.Type}}:{{.TotalCount}}"]),
        "Images:3\nContainers:2\nLocal Volumes:0\nBuild Cache:0\n"
    );

    // No terminal to ask on, no -f: nothing goes.
    let o = t.run("container", &["prune"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(stderr(&o).contains("use -f"), "{}", stderr(&o));
    assert_eq!(t.ok("ps", &["-q"]).lines().count(), 2);

    let out = t.ok("container", &["prune", "-f"]);
    assert!(
        out.starts_with(&format!(
            "Deleted Containers:\n{web}\n\nTotal reclaimed space: "
        )),
        "{out}"
    );
    assert_eq!(names(&t.ok("ps", &[])), ["up"], "the running one stays");

    // Dangling (untagged, unused) only; then every unused one.
    let size = reclaimed_of(&t, &dangling);
    assert_eq!(
        t.ok("image", &["prune", "-f"]),
        format!("Deleted Images:\ndeleted: {dangling}\n\nTotal reclaimed space: {size}\n")
    );
    let out = t.ok("image", &["prune", "-a", "-f"]);
    assert!(
        out.starts_with("Deleted Images:\nuntagged: ")
            && out.contains(&format!(
                "keep:1\ndeleted: {keep}\n\nTotal reclaimed space: "
            )),
        "{out}"
    );
    let left: Vec<String> = t
        .ok("images", &["-q"])
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(left, [img.as_str()], "the image a container uses stays");

    assert_eq!(
        t.ok(
            "info",
            &[
                "-f",
                "{{.Containers}} {{.ContainersRunning}} {{.Images}} {{.Driver}}"
            ]
        ),
        "1 1 1 overlay\n"
    );
    assert_eq!(
        t.ok("system", &["info", "-f", "{{.CgroupVersion}}"])
            .trim()
            .len(),
        1
    );

    // Ending `bocker run` detaches it (Docker's behaviour): the container is stopped.
    drop(up);
    t.ok("stop", &["-t", "1", "up"]);
    let out = t.ok("system", &["prune", "-a", "-f"]);
    assert!(
        out.starts_with("Deleted Containers:\n")
            && out.contains(&format!(
                "\n\nDeleted Images:\ndeleted: {img}\n\nTotal reclaimed space: "
            )),
        "{out}"
    );
    assert_eq!(t.ok("ps", &["-q"]), "");
    assert_eq!(t.ok("images", &["-q"]), "");
}

/// The human size of image `id` (what pruning it reclaims).
fn reclaimed_of(t: &TestRoot, id: &str) -> String {
    let size = inspect(t, &[id])[0]["Size"].as_u64().unwrap();
    let v = size as f64 / 1e6;
    if v < 10.0 {
        format!("{v:.2}MB")
    } else {
        format!("{v:.1}MB")
    }
}

/// `version --format` reads Docker's `{{.Server.Version}}`/`{{.Client.Version}}`.
#[test]
fn version_reads_as_dockers() {
    let t = TestRoot::overlay();
    let v = t.ok(
        "version",
        &["--format", "{{.Server.Version}} {{.Client.Os}}"],
    );
    assert!(v.ends_with(" linux\n") && v.starts_with("0."), "{v}");
}

/// `bocker completion bash`, generated from the verbs' clap definitions: sourced into a
/// real bash, it completes `bocker ru` to `run` and `bocker run --na` to `--name`; the
/// other shells' scripts are made too, and each verb has a man page (`man bocker-run`).
#[test]
fn completions_and_man_pages_come_from_the_definitions() {
    let dispatcher = bocker_e2e::bin("");
    let script = Command::new(&dispatcher)
        .args(["completion", "bash"])
        .output()
        .unwrap();
    assert!(script.status.success(), "{}", stderr(&script));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bocker.bash");
    std::fs::write(&file, &script.stdout).unwrap();
    let complete = |words: &[&str]| -> String {
        let line = words.join(" ");
        let prog = format!(
            "source {file}; COMP_WORDS=({line}); COMP_CWORD={cword}; COMP_LINE='{line}'; \
             COMP_POINT={point}; _bocker bocker '{cur}' '{prev}'; echo \"${{COMPREPLY[*]}}\"",
            file = file.display(),
            cword = words.len() - 1,
            point = line.len(),
            cur = words[words.len() - 1],
            prev = words[words.len() - 2],
        );
        let o = Command::new("bash").args(["-c", &prog]).output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    // `runtime` (bocker-runtime, the OCI runtime CLI) is a verb on PATH too.
    assert!(complete(&["bocker", "ru"])
        .split_whitespace()
        .any(|w| w == "run"));
    assert_eq!(complete(&["bocker", "run", "--na"]), "--name");
    assert_eq!(complete(&["bocker", "ps", "--no-t"]), "--no-trunc");
    assert!(complete(&["bocker", "image", "pr"]).contains("prune"));

    // Container names from the store the user's `bocker` sees.
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    t.ok(
        "run",
        &["--name", "webby", "--network", "none", &img, "true"],
    );
    let env = t.cmd("ps");
    let mut bash = Command::new("bash");
    for (k, v) in env.get_envs() {
        if let Some(v) = v {
            bash.env(k, v);
        }
    }
    let path = format!(
        "{}:{}",
        bocker_e2e::bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let prog = format!(
        "source {}; COMP_WORDS=(bocker rm we); COMP_CWORD=2; COMP_LINE='bocker rm we'; \
         COMP_POINT=12; _bocker_names bocker we rm; echo \"${{COMPREPLY[*]}}\"",
        file.display()
    );
    let o = bash.env("PATH", path).args(["-c", &prog]).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "webby",
        "{}",
        stderr(&o)
    );
    for shell in ["zsh", "fish"] {
        let o = Command::new(&dispatcher)
            .args(["completion", shell])
            .output()
            .unwrap();
        assert!(o.status.success() && !o.stdout.is_empty(), "{shell}");
    }
    let man = Command::new(bocker_e2e::bin("run"))
        .arg("--bocker-man")
        .output()
        .unwrap();
    let man = String::from_utf8_lossy(&man.stdout);
    assert!(man.contains(".TH bocker-run 1"), "{man}");
    assert!(man.contains("\\-\\-memory"), "{man}");
}
