//! `bocker completion zsh|fish` complete container names and image references as the
//! bash script does (issue 13), by asking the user's own `bocker ps` / `bocker images`:
//! each script is run in the real shell (zsh's completion function with `compadd`
//! captured, fish's `complete -C`).

use std::process::Command;

use bocker_e2e::TestRoot;

/// `bocker completion SHELL` written to a file in `t`'s base.
fn script(t: &TestRoot, shell: &str) -> std::path::PathBuf {
    let o = Command::new(bocker_e2e::bin(""))
        .args(["completion", shell])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let file = t.base.join(format!("bocker.{shell}"));
    std::fs::write(&file, &o.stdout).unwrap();
    file
}

/// A shell with `t`'s store environment and the built binaries first on PATH.
fn shell(t: &TestRoot, program: &str) -> Command {
    let mut c = Command::new(program);
    for (k, v) in t.cmd("ps").get_envs() {
        if let Some(v) = v {
            c.env(k, v);
        }
    }
    c
}

fn output(mut c: Command) -> String {
    let o = c.output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn setup() -> (TestRoot, String) {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    t.ok("tag", &[&img, "webimg:v1"]);
    t.ok(
        "run",
        &["--name", "webby", "--network", "none", &img, "true"],
    );
    t.ok("volume", &["create", "myvol"]);
    (t, img)
}

#[test]
fn zsh_completes_container_names_and_image_references() {
    let (t, img) = setup();
    let file = script(&t, "zsh");
    // The script's `_bocker` with zsh's completion builtins stubbed: `compadd -a NAME`
    // prints the array, `compdef` is a no-op (no compinit in a script).
    let complete = |words: &str| {
        let prog = format!(
            "compdef() {{ : }}; compadd() {{ [[ $1 == -a ]] && print -l -- ${{(P)2}}; return 0 }}; \
             source {}; words=({words} ''); CURRENT=${{#words}}; _bocker",
            file.display()
        );
        let mut c = shell(&t, "zsh");
        c.args(["-f", "-c", &prog]);
        output(c)
    };
    let names = complete("bocker rm");
    assert!(names.lines().any(|l| l == "webby"), "{names}");
    let images = complete("bocker rmi");
    assert!(images.lines().any(|l| l == "webimg:v1"), "{images}");
    assert!(
        images.lines().any(|l| img.starts_with(l.trim())),
        "{images}"
    );
    assert_eq!(complete("bocker volume rm"), "myvol\n");
}

#[test]
fn fish_completes_container_names_and_image_references() {
    let (t, _img) = setup();
    let file = script(&t, "fish");
    let complete = |line: &str| {
        let prog = format!("source {}; complete -C '{line}'", file.display());
        let mut c = shell(&t, "fish");
        c.args(["--no-config", "-c", &prog]);
        output(c)
    };
    let names = complete("bocker rm ");
    assert!(names.lines().any(|l| l == "webby"), "{names}");
    let images = complete("bocker run ");
    assert!(images.lines().any(|l| l == "webimg:v1"), "{images}");
    assert!(complete("bocker volume rm ").lines().any(|l| l == "myvol"));
    // clap's own completion still works: verbs and flags.
    assert!(complete("bocker ru").lines().any(|l| l.starts_with("run")));
    assert!(complete("bocker ps --no-t").contains("--no-trunc"));
}
