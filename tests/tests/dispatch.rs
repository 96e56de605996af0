//! End-to-end tests of the `bocker` dispatcher.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use bocker_e2e::{bin, bin_dir, TestRoot};

#[test]
fn list_shows_the_store_verbs_with_summaries() {
    let o = Command::new(bin("")).arg("--list").output().unwrap();
    assert!(o.status.success());
    let s = String::from_utf8(o.stdout).unwrap();
    for v in ["images", "init", "inspect", "ps", "rm", "rmi"] {
        let line = s
            .lines()
            .find(|l| l.split_whitespace().next() == Some(v))
            .unwrap_or_else(|| panic!("{v} missing:\n{s}"));
        assert!(
            line.split_whitespace().count() > 1,
            "no summary for {v}: {line}"
        );
    }
}

#[test]
fn verbs_run_through_the_dispatcher_like_directly() {
    let t = TestRoot::overlay();
    let id = t.busybox_image();
    let via = t.cmd("").args(["images", "-q"]).output().unwrap();
    assert!(via.status.success());
    assert_eq!(String::from_utf8(via.stdout).unwrap().trim(), id);
    // Exit status passes through.
    let bad = t.cmd("").args(["rm", "ps_000000000000"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr)
        .contains("No container named 'ps_000000000000' exists"));
}

#[test]
fn plugins_on_path_are_verbs_and_get_their_arguments_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = dir.path().join("bocker-echoargs");
    fs::write(
        &plugin,
        "#!/bin/sh\nfor a in \"$@\"; do printf '<%s>' \"$a\"; done\necho\nexit 7\n",
    )
    .unwrap();
    fs::set_permissions(&plugin, fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap()
    );
    let o = Command::new(bin(""))
        .args(["echoargs", "a b", "", "--flag", "-x"])
        .env("PATH", &path)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(7), "exit status must pass through");
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        "<a b><><--flag><-x>\n"
    );
    let list = Command::new(bin(""))
        .arg("--list")
        .env("PATH", &path)
        .output()
        .unwrap();
    assert!(String::from_utf8(list.stdout).unwrap().contains("echoargs"));
}

#[test]
fn verbs_beside_the_dispatcher_win_over_path() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("bocker-images");
    fs::write(&fake, "#!/bin/sh\necho fake\n").unwrap();
    fs::set_permissions(&fake, fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", dir.path().display(), bin_dir().display());
    let root = tempfile::tempdir().unwrap();
    let o = Command::new(bin(""))
        .arg("images")
        .env("PATH", path)
        .env("BOCKER_ROOT", root.path().join("r"))
        .output()
        .unwrap();
    assert!(String::from_utf8(o.stdout).unwrap().starts_with("IMAGE_ID"));
}

#[test]
fn a_mistyped_verb_suggests_the_nearest() {
    let o = Command::new(bin("")).arg("imagess").output().unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(err.contains("Did you mean 'images'?"), "{err}");
    let o = Command::new(bin(""))
        .arg("../../bin/true")
        .output()
        .unwrap();
    assert!(
        !o.status.success(),
        "a path must never be executed as a verb"
    );
}

#[test]
fn help_and_version() {
    let o = Command::new(bin("")).arg("--version").output().unwrap();
    assert!(String::from_utf8(o.stdout).unwrap().starts_with("bocker "));
    let o = Command::new(bin(""))
        .args(["help", "init"])
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(String::from_utf8(o.stdout)
        .unwrap()
        .contains("root filesystem"));
}
