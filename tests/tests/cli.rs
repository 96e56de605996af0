//! End-to-end tests of the conventions every verb shares (bocker-cli): usage errors as
//! one line plus a pointer to help with Docker's status, `--version` on every verb,
//! one-line errors with the verb as prefix, the non-root message, refused id prefixes,
//! and "not implemented yet" for Docker's verbs and flags bocker lacks.
//!
//! Docker's answers are recorded in tests/data/docker_usage_errors.json (docker CLI
//! 28.2.2 beside engine 20.10, 2026-11-29); the tests do not need Docker.

use std::process::{Command, Output};

use bocker_e2e::{bin, TestRoot};

/// Every verb binary the workspace builds.
const VERBS: &[&str] = &[
    "init",
    "images",
    "ps",
    "inspect",
    "logs",
    "rm",
    "rmi",
    "pull",
    "net",
    "run",
    "tag",
    "history",
    "version",
    "info",
    "system",
    "container",
    "image",
    "completion",
    "volume",
    "port",
];

/// Runs `bocker-<verb> args` against a store root that does not exist (usage errors
/// must come before anything touches a store).
fn verb(verb: &str, args: &[&str]) -> Output {
    let root = tempfile::tempdir().unwrap();
    Command::new(bin(verb))
        .args(args)
        .env("BOCKER_ROOT", root.path().join("never"))
        .env("BOCKER_BRIDGE", "bkr-never")
        .env("BOCKER_SUBNET", "10.255.254.0/24")
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The shape of every usage error: two lines, nothing on stdout, no clap tip or usage.
fn assert_usage_shape(v: &str, args: &[&str], o: &Output) {
    let err = stderr(o);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{v} {args:?}: {err}");
    assert!(
        lines[0].starts_with(&format!("bocker {v}: ")),
        "{v} {args:?}: {err}"
    );
    assert_eq!(lines[1], format!("see 'bocker {v} --help'"), "{v} {args:?}");
    assert!(o.stdout.is_empty(), "{v} {args:?}");
    assert!(!err.starts_with("error:"), "{v} {args:?}: {err}");
    for clap_noise in [
        "to pass '",
        "tip:",
        "Usage:",
        "similar argument",
        "\nerror:",
    ] {
        assert!(!err.contains(clap_noise), "{v} {args:?}: {err}");
    }
}

#[test]
fn a_bad_flag_is_one_line_and_a_pointer_to_help_on_every_verb() {
    for v in VERBS {
        let args = ["--bogus", "x"];
        let o = verb(v, &args);
        assert_usage_shape(v, &args, &o);
        assert_eq!(
            stderr(&o).lines().next().unwrap(),
            format!("bocker {v}: unknown flag: --bogus")
        );
        // Docker 20.10: every flag error exits 125.
        assert_eq!(o.status.code(), Some(125), "{v}");
    }
}

#[test]
fn a_value_that_looks_like_a_flag_never_gets_clap_s_tip() {
    // clap would add "to pass '-x' as a value, use '-- -x'".
    for (v, args) in [("logs", &["-x", "c"][..]), ("rm", &["-x"][..])] {
        let o = verb(v, args);
        assert_usage_shape(v, args, &o);
        assert_eq!(o.status.code(), Some(125));
    }
}

#[test]
fn usage_errors_match_docker_s_recorded_answers() {
    let data: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/data/docker_usage_errors.json"
        ))
        .unwrap(),
    )
    .unwrap();
    for case in data["cases"].as_array().unwrap() {
        let args: Vec<&str> = case["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        let (v, rest) = args.split_first().unwrap();
        let o = verb(v, rest);
        assert_usage_shape(v, rest, &o);
        assert_eq!(
            o.status.code(),
            case["status"].as_i64().map(|s| s as i32),
            "{args:?}: {}",
            stderr(&o)
        );
        // Flag errors say what Docker says; arity errors are worded by clap.
        let docker = case["stderr_first_line"].as_str().unwrap();
        if !docker.starts_with("docker:") {
            assert_eq!(
                stderr(&o).lines().next().unwrap(),
                format!("bocker {v}: {docker}"),
                "{args:?}"
            );
        }
    }
}

#[test]
fn version_works_on_every_verb() {
    for v in VERBS {
        let o = verb(v, &["--version"]);
        assert!(o.status.success(), "{v}: {}", stderr(&o));
        assert_eq!(
            String::from_utf8(o.stdout).unwrap().trim(),
            format!("bocker {v} {}", env!("CARGO_PKG_VERSION"))
        );
    }
    let o = Command::new(bin("")).arg("--version").output().unwrap();
    assert!(String::from_utf8(o.stdout).unwrap().starts_with("bocker "));
}

#[test]
fn help_still_prints_usage_and_succeeds() {
    let o = verb("rm", &["--help"]);
    assert!(o.status.success());
    assert!(String::from_utf8(o.stdout)
        .unwrap()
        .contains("Usage: bocker rm"));
    let o = verb("run", &["--help"]);
    assert!(o.status.success());
    assert!(String::from_utf8(o.stdout)
        .unwrap()
        .contains("Usage: bocker run"));
}

#[test]
fn docker_flags_bocker_lacks_are_not_supported_never_a_guess() {
    for (flag, rest) in [
        ("--gpus", &["all", "img"][..]),
        // Windows-only in Docker: never built here.
        ("--isolation", &["default", "img"][..]),
    ] {
        let args: Vec<&str> = std::iter::once(flag).chain(rest.iter().copied()).collect();
        let o = verb("run", &args);
        assert_usage_shape("run", &args, &o);
        assert_eq!(
            stderr(&o).lines().next().unwrap(),
            format!("bocker run: {flag} is not supported")
        );
        assert!(!stderr(&o).contains("--init"), "no guess at --init");
        assert_eq!(o.status.code(), Some(125));
    }
    let o = verb("images", &["--tree"]);
    assert_eq!(
        stderr(&o).lines().next().unwrap_or_default(),
        "bocker images: --tree is not supported"
    );
}

#[test]
fn docker_verbs_bocker_lacks_are_not_implemented_yet() {
    for v in ["build", "swarm", "kill"] {
        if bocker_e2e::try_bin(v).is_some() {
            continue; // built since
        }
        let o = Command::new(bin("")).arg(v).output().unwrap();
        assert_eq!(o.status.code(), Some(1), "{v}");
        let err = stderr(&o);
        assert_eq!(err, format!("bocker: '{v}' is not implemented yet\n"));
        assert!(!err.contains("Did you mean"), "{err}");
    }
}

#[test]
fn errors_are_one_line_with_the_verb_prefix() {
    let t = TestRoot::overlay();
    for (v, args, what) in [
        (
            "rm",
            &["ps_000000000000"][..],
            "No container named 'ps_000000000000' exists",
        ),
        ("inspect", &["nosuch"][..], "nosuch"),
        ("rmi", &["img_000000000000"][..], "img_000000000000"),
    ] {
        let o = t.run(v, args);
        assert_eq!(o.status.code(), Some(1), "{v}");
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with(&format!("bocker {v}: ")), "{err}");
        assert!(err.contains(what), "{err}");
    }
}

#[test]
fn a_prefix_must_reach_into_the_hex_part() {
    let t = TestRoot::overlay();
    let id = t.busybox_image();
    // Every id starts with img_: with one image only, `img_` and `i` named it before.
    for q in ["img_", "i", "im"] {
        let err = t.fails("inspect", &[q]);
        assert!(err.starts_with("bocker inspect: "), "{err}");
        let err = t.fails("rmi", &[q]);
        assert!(err.starts_with("bocker rmi: "), "{err}");
    }
    assert_eq!(t.ok("images", &["-q"]).trim(), id, "nothing was removed");
    let hex = &id["img_".len()..];
    t.ok("inspect", &[&hex[..3]]);
    t.ok("inspect", &[&id[..7]]);
}

#[test]
fn a_non_root_user_is_told_bocker_needs_root() {
    // A root-only directory: creating the store below it is refused to nobody.
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(bin("images"))
        .env("BOCKER_ROOT", dir.path().join("root"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "bocker images: bocker needs root (rootless mode is not supported yet)\n"
    );
}

#[test]
fn format_templates_on_images() {
    let t = TestRoot::overlay();
    let id = t.busybox_image();
    assert_eq!(t.ok("images", &["--format", "{{.ID}}"]), format!("{id}\n"));
    assert_eq!(
        t.ok(
            "images",
            &["--format", "{{.Repository}}:{{.Tag}} {{lower .ID | upper}}"]
        ),
        format!("<none>:<none> {}\n", id.to_uppercase())
    );
    // Docker's `table` header titles and tabwriter alignment (minimum 10, padding 3).
    assert_eq!(
        t.ok("images", &["--format", "table {{.ID}}\\t{{.Tag}}"]),
        format!("IMAGE ID           TAG\n{id}   <none>\n")
    );
    // `--format json` keeps working: one record per line.
    let line = t.ok("images", &["--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(v["id"], id.as_str());
    // A template that does not parse is a usage error; one that fails, an error.
    let o = t.run("images", &["--format", "{{.ID"]);
    assert_eq!(o.status.code(), Some(125));
    assert_usage_shape("images", &[], &o);
    let err = t.fails("images", &["--format", "{{.Nope}}"]);
    assert_eq!(
        err,
        "bocker images: template: executing: can't evaluate field Nope\n"
    );
}

#[test]
fn format_templates_on_ps_and_inspect() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    t.ok("run", &["--name", "web", "--network", "none", &img, "true"]);
    let id = t.ok("ps", &["-q"]).trim().to_string();
    assert_eq!(
        t.ok(
            "ps",
            &["--format", "{{.ID}} {{.Names}} {{.State}} {{.Command}}"]
        ),
        format!("{id} web exited \"true\"\n")
    );
    assert_eq!(
        t.ok("ps", &["--format", "table {{.Names}}\\t{{.State}}"]),
        "NAMES     STATE\nweb       exited\n"
    );
    assert_eq!(
        t.ok(
            "ps",
            &[
                "--format",
                "{{if eq .State \"exited\"}}{{.Names}} is down{{end}}"
            ]
        ),
        "web is down\n"
    );
    // `inspect -f` as scripts use it, over Docker's shape (tests/tests/docker_shape.rs).
    assert_eq!(
        t.ok("inspect", &["-f", "{{.State.Status}}", "web"]),
        "exited\n"
    );
    assert_eq!(
        t.ok(
            "inspect",
            &["-f", "{{.State.ExitCode}} {{json .Config.Cmd}}", "web"]
        ),
        "0 [\"true\"]\n"
    );
    assert_eq!(
        t.ok(
            "inspect",
            &["--format", "{{range .Bocker.command}}<{{.}}>{{end}}", &id]
        ),
        "<true>\n"
    );
    let v: serde_json::Value =
        serde_json::from_str(&t.ok("inspect", &["--format", "json", "web"])).unwrap();
    assert_eq!(v[0]["Id"], id.as_str());
    let line = t.ok("ps", &["--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(v["name"], "web");
}

/// Flags of one column of a docs/CLI.md compatibility row: the first backticked word of
/// each `; `-separated entry ("differs"), or every backticked word (the others).
fn flags_in(cell: &str, first_only: bool) -> Vec<String> {
    let words = |s: &str| -> Vec<String> {
        s.split('`')
            .skip(1)
            .step_by(2)
            .filter(|w| w.starts_with("--"))
            .map(str::to_string)
            .collect()
    };
    if first_only {
        cell.split("; ")
            .filter_map(|e| words(e).into_iter().next())
            .collect()
    } else {
        words(cell)
    }
}

#[test]
fn the_compatibility_table_is_true() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/CLI.md")).unwrap();
    let mut rows = 0;
    for line in doc.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split(" | ").collect();
        let [verb_cell, supported, differs, not_yet] = cells[..] else {
            continue;
        };
        let v = verb_cell.trim_start_matches("| ").trim_matches('`');
        let help = String::from_utf8(verb(v, &["--help"]).stdout).unwrap();
        let has = |flag: &str| {
            help.split(|c: char| c.is_whitespace() || c == ',')
                .any(|w| w == flag || w.starts_with(&format!("{flag}=")))
        };
        let not_yet = not_yet.trim_end_matches(" |");
        for f in flags_in(supported, false)
            .into_iter()
            .chain(flags_in(differs, true))
        {
            assert!(
                has(&f),
                "docs/CLI.md: {v} {f} is listed as supported but is not in --help"
            );
        }
        for f in flags_in(not_yet, false) {
            assert!(
                !has(&f),
                "docs/CLI.md: {v} {f} is supported now: move it in the table"
            );
        }
        rows += 1;
    }
    assert!(rows >= 8, "the table lost rows");
}
