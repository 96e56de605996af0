//! End-to-end tests of the prunes' `--filter` (issue 13): `until=` and `label=` /
//! `label!=` on `container prune`, `image prune` and `system prune`, Docker 20.10's
//! refusals (answers recorded with Docker 20.10.24, CLI 28.2.2, 2026-11-29).

use std::fs;

use bocker_e2e::TestRoot;

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// Sets `key` of a stored record's `config` (as `run -l` or a pulled image would).
fn set_record(path: &std::path::Path, key: &str, value: serde_json::Value) {
    let mut rec = json(&fs::read_to_string(path).unwrap());
    rec["config"][key] = value;
    fs::write(path, serde_json::to_vec(&rec).unwrap()).unwrap();
}

fn exited(t: &TestRoot, img: &str) -> String {
    let id = t
        .ok("run", &["-d", "--network", "none", img, "true"])
        .trim()
        .to_string();
    bocker_e2e::run::eventually("the container exits", || {
        json(&t.ok("inspect", &[&id]))[0]["State"]["Status"] == "exited"
    });
    id
}

fn all_ids(t: &TestRoot) -> String {
    t.ok("ps", &["-a", "-q", "--no-trunc"])
}

#[test]
fn container_prune_filters_until_and_labels() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    let a = exited(&t, &img);
    let b = exited(&t, &img);
    // Created a moment ago: not before "one hour ago".
    assert_eq!(
        t.ok("container", &["prune", "-f", "--filter", "until=1h"]),
        "Total reclaimed space: 0B\n"
    );
    assert!(all_ids(&t).contains(&a) && all_ids(&t).contains(&b));
    let rec = t.root.join("containers").join(&a).join("container.json");
    set_record(&rec, "labels", serde_json::json!({"keep": "1"}));
    let out = t.ok(
        "container",
        &[
            "prune",
            "-f",
            "--filter",
            "label!=keep",
            "--filter",
            "until=2099-01-01T00:00:00Z",
        ],
    );
    assert!(
        out.starts_with(&format!("Deleted Containers:\n{b}\n\n")),
        "{out}"
    );
    assert!(all_ids(&t).contains(&a) && !all_ids(&t).contains(&b));
    let out = t.ok("container", &["prune", "-f", "--filter", "label=keep=1"]);
    assert!(
        out.starts_with(&format!("Deleted Containers:\n{a}\n\n")),
        "{out}"
    );
    // Docker 20.10's daemon, word for word.
    let err = t.fails("container", &["prune", "-f", "--filter", "until=zz"]);
    assert!(
        err.contains("failed to parse value as time or duration: \"zz\""),
        "{err}"
    );
    let err = t.fails("container", &["prune", "-f", "--filter", "bogus=1"]);
    assert!(err.contains("Invalid filter 'bogus'"), "{err}");
}

#[test]
fn image_and_system_prune_filter_by_label() {
    let t = TestRoot::overlay();
    let labelled = t.busybox_image();
    let plain = t.busybox_image();
    let rec = t.root.join("images").join(&labelled).join("image.json");
    set_record(&rec, "labels", serde_json::json!({"x": "y"}));
    let out = t.ok("image", &["prune", "-a", "-f", "--filter", "label=x=y"]);
    assert!(out.contains(&format!("deleted: {labelled}")), "{out}");
    assert!(!out.contains(&plain), "{out}");
    // `until` in the past of both: nothing.
    assert_eq!(
        t.ok(
            "system",
            &["prune", "-a", "-f", "--filter", "until=1970-01-02"]
        ),
        "Total reclaimed space: 0B\n"
    );
    let out = t.ok(
        "system",
        &["prune", "-a", "-f", "--filter", "until=2099-01-01"],
    );
    assert!(out.contains(&format!("deleted: {plain}")), "{out}");
}
