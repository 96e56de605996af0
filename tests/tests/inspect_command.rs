//! `inspect`'s `Config.Entrypoint` / `Config.Cmd` as the image and the flags gave them,
//! kept on the container record at create (issue 13), beside `Path`/`Args` (the argv
//! run). Docker 20.10.24's answers (2026-11-29) with an image whose Cmd is `["sh"]`:
//! `--entrypoint "" IMG echo hi` → `"echo" ["hi"] null ["echo","hi"]`;
//! `--entrypoint /bin/echo IMG` → `"/bin/echo" [] ["/bin/echo"] null`;
//! `--entrypoint /bin/echo IMG a b` → `"/bin/echo" ["a","b"] ["/bin/echo"] ["a","b"]`;
//! `IMG` → `"sh" [] null ["sh"]`.

use std::fs;

use bocker_e2e::TestRoot;

fn set_config(t: &TestRoot, img: &str, config: serde_json::Value) {
    let path = t.root.join("images").join(img).join("image.json");
    let mut rec: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    for (k, v) in config.as_object().unwrap() {
        rec["config"][k] = v.clone();
    }
    fs::write(&path, serde_json::to_vec(&rec).unwrap()).unwrap();
}

const FORMAT: &str =
    "{{json .Path}} {{json .Args}} {{json .Config.Entrypoint}} {{json .Config.Cmd}}";

fn shown(t: &TestRoot, name: &str) -> String {
    t.ok("inspect", &["-f", FORMAT, name]).trim().to_string()
}

#[test]
fn entrypoint_and_cmd_are_shown_as_docker_records_them() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    set_config(
        &t,
        &img,
        serde_json::json!({"entrypoint": null, "cmd": ["true"]}),
    );
    let run = |name: &str, args: &[&str]| {
        let mut all = vec!["--name", name, "--network", "none"];
        all.extend_from_slice(args);
        t.ok("run", &all);
    };
    run("e1", &["--entrypoint", "", &img, "echo", "hi"]);
    assert_eq!(shown(&t, "e1"), r#""echo" ["hi"] null ["echo","hi"]"#);
    run("e2", &["--entrypoint", "/bin/echo", &img]);
    assert_eq!(shown(&t, "e2"), r#""/bin/echo" [] ["/bin/echo"] null"#);
    run("e3", &["--entrypoint", "/bin/echo", &img, "a", "b"]);
    assert_eq!(
        shown(&t, "e3"),
        r#""/bin/echo" ["a","b"] ["/bin/echo"] ["a","b"]"#
    );
    run("e4", &[&img]);
    assert_eq!(shown(&t, "e4"), r#""true" [] null ["true"]"#);
    // An entrypoint of the image: kept as it was at create, whatever the image becomes.
    set_config(
        &t,
        &img,
        serde_json::json!({"entrypoint": ["/bin/echo", "x"], "cmd": null}),
    );
    run("e5", &[&img, "a"]);
    set_config(&t, &img, serde_json::json!({"entrypoint": ["/bin/echo"]}));
    assert_eq!(
        shown(&t, "e5"),
        r#""/bin/echo" ["x","a"] ["/bin/echo","x"] ["a"]"#
    );
}
