//! End-to-end tests of what a container's process gets, item by item of issue 9's "Run
//! semantics", each with Docker 20.10's answer: argument composition, the environment,
//! the generated /etc files against volumes, a non-root user's view, no_new_privs,
//! cgroupfs inside, /dev, `rm` of an image, `--cpus`, signal dispositions.

use std::fs;

use bocker_e2e::run::{code, image_with, stderr, stdout};
use bocker_e2e::TestRoot;

fn setup() -> (TestRoot, String) {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    (t, img)
}

/// Changes the stored image config of `img` (as a pull of such an image would record it).
fn set_config(t: &TestRoot, img: &str, config: serde_json::Value) {
    let path = t.root.join("images").join(img).join("image.json");
    let mut rec: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    for (k, v) in config.as_object().unwrap() {
        rec["config"][k] = v.clone();
    }
    fs::write(&path, serde_json::to_vec(&rec).unwrap()).unwrap();
}

fn ok(t: &TestRoot, args: &[&str]) -> String {
    let o = t.run("run", args);
    assert_eq!(code(&o), 0, "run {args:?}: {}", stderr(&o));
    stdout(&o)
}

// Item 1: the seed's one-argument shell form only without an entrypoint.
#[test]
fn one_argument_goes_to_the_entrypoint_unchanged() {
    let (t, img) = setup();
    // Docker 20.10: `Entrypoint ["/bin/echo","arg:"]`, no Cmd, argument '.a | keys'
    // prints `arg: .a | keys`.
    set_config(
        &t,
        &img,
        serde_json::json!({"entrypoint": ["/bin/echo", "arg:"], "cmd": null}),
    );
    assert_eq!(
        ok(&t, &["--rm", "--network", "none", &img, ".a | keys"]),
        "arg: .a | keys\n"
    );
    // Docker 20.10: `--entrypoint /bin/echo IMG 'hello world'` prints `hello world`.
    assert_eq!(
        ok(
            &t,
            &[
                "--rm",
                "--network",
                "none",
                "--entrypoint",
                "/bin/echo",
                &img,
                "hello world"
            ]
        ),
        "hello world\n"
    );
    // No entrypoint at all (`--entrypoint ""`): the seed's shell form stays.
    assert_eq!(
        ok(
            &t,
            &[
                "--rm",
                "--network",
                "none",
                "--entrypoint",
                "",
                &img,
                "echo a | tr a b"
            ]
        ),
        "b\n"
    );
}

// Item 3: every path where variables enter, as Docker's rules.
#[test]
fn environment_follows_dockers_rules() {
    let (t, img) = setup();
    set_config(
        &t,
        &img,
        serde_json::json!({"env": ["PATH=/usr/bin:/bin", "MY_VAR=default", "KEEP=image"]}),
    );
    // Docker 20.10: a BOM before the first line is not part of the name.
    let bom = t.base.join("bom.env");
    fs::write(&bom, b"\xEF\xBB\xBFFOO=bar\nSECOND=2\n").unwrap();
    let show = "echo ${FOO-unset} ${SECOND-unset} ${MY_VAR-unset} ${KEEP-unset}";
    let out = ok(
        &t,
        &[
            "--rm",
            "--network",
            "none",
            "--env-file",
            bom.to_str().unwrap(),
            "-e",
            "BOCKER_E2E_SURELY_UNSET_VAR",
            "-e",
            "MY_VAR",
            &img,
            "sh",
            "-c",
            show,
        ],
    );
    // `-e MY_VAR` with MY_VAR unset here unsets the image's value (Docker prints `unset`).
    assert_eq!(out, "bar 2 unset image\n");
    // Docker 20.10: `export X=1` in an env file is refused with status 125.
    let bad = t.base.join("bad.env");
    fs::write(&bad, "export X=1\n").unwrap();
    let o = t.run(
        "run",
        &["--rm", "--env-file", bad.to_str().unwrap(), &img, "true"],
    );
    assert_eq!(code(&o), 125);
    assert!(
        stderr(&o)
            .contains("poorly formatted environment: variable 'export X' contains whitespaces"),
        "{}",
        stderr(&o)
    );
    let o = t.run("run", &["--rm", "-e", "=x", &img, "true"]);
    assert_eq!(code(&o), 125);
    assert!(
        stderr(&o).contains("invalid environment variable: =x"),
        "{}",
        stderr(&o)
    );
}

// Item 10: --cpus above the host's CPU count.
#[test]
fn cpus_above_the_host_count_are_refused_as_docker_does() {
    let (t, img) = setup();
    let n = std::thread::available_parallelism().unwrap().get();
    let o = t.run(
        "run",
        &["--rm", "--cpus", &(n + 1).to_string(), &img, "true"],
    );
    assert_eq!(code(&o), 125);
    // Docker 20.10's daemon message.
    let want =
        format!("Range of CPUs is from 0.01 to {n}.00, as there are only {n} CPUs available");
    assert!(stderr(&o).contains(&want), "{}", stderr(&o));
    let o = t.run("run", &["--rm", "--cpus", "-1", &img, "true"]);
    assert_eq!(code(&o), 125, "{}", stderr(&o));
    assert_eq!(
        ok(
            &t,
            &[
                "--rm",
                "--network",
                "none",
                "--cpus",
                &n.to_string(),
                &img,
                "true"
            ]
        ),
        ""
    );
}

// Item 9: the seed's `rm img_…` removes an image containers were made from; `rmi` refuses.
#[test]
fn rm_of_an_image_goes_even_with_stopped_containers_and_rmi_refuses() {
    let t = TestRoot::overlay();
    let a = t.busybox_image();
    let b = t.busybox_image();
    ok(&t, &["--name", "from-a", "--network", "none", &a, "true"]);
    ok(&t, &["--name", "from-b", "--network", "none", &b, "true"]);
    // Docker 20.10's rmi refuses an image a stopped container uses (status 1).
    let err = t.fails("rmi", &[&b]);
    assert!(err.contains("is used by container"), "{err}");
    // The seed's rm removes it; the container it made is still listed and removable.
    assert_eq!(t.ok("rm", &[&a]), format!("Removed: {a}\n"));
    assert!(!t.ok("images", &[]).contains(&a));
    assert!(t.ok("ps", &[]).contains("from-a") || t.ok("ps", &["-a"]).contains("from-a"));
    t.ok("rm", &["from-a", "from-b"]);
    t.ok("rmi", &[&b]);
}
