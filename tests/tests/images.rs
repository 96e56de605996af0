//! End-to-end tests of image identity and listing as Docker users expect them: `tag`,
//! `history`, `rmi` that untags, `images` one row per reference (CREATED from the
//! image's config, newest first, `--digests`, `--no-trunc`, `--filter`, `REPO[:TAG]`),
//! and a pull of what is already present.
//!
//! Docker's answers for the same fixture are recorded in tests/data/docker_images.json
//! (docker CLI 28.2.2 beside engine 20.10.24, 2026-11-29: `docker pull` of the fixture
//! from a local registry, then the commands named by each key); the tests do not need
//! Docker. `REGISTRY` stands for the registry's address.

use std::time::{Duration, SystemTime};

use bocker_e2e::pull::oci::{self, Comp, Flavor, Image};
use bocker_e2e::pull::tar::{dir, file, Tar};
use bocker_e2e::pull::{self as h, Auth, Registry};
use bocker_e2e::{Driver, TestRoot};

/// When the fixture's config says it was created (and as seconds since the epoch).
const CREATED: &str = "2019-06-02T08:30:00Z";
const CREATED_UNIX: u64 = 1_559_464_200;
const ADD: &str = "/bin/sh -c #(nop) ADD file:5b4f6e8a3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f in / ";

/// A two-layer image whose config has a build date and a history of three steps (one
/// without a layer), as a Dockerfile build makes.
fn fixture() -> Image {
    let l1 = Tar::with(vec![
        dir("bin"),
        file("bin/hello", &[b'h'; 1500]).mode(0o755),
    ]);
    let l2 = Tar::with(vec![dir("etc"), file("etc/motd", &[b'm'; 20_000])]);
    let layers: Vec<oci::Layer> = [l1, l2]
        .iter()
        .map(|t| oci::layer(t, Comp::Gzip, Flavor::Docker))
        .collect();
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "created": CREATED,
        "config": {"Cmd": ["sh"]},
        "history": [
            {"created": "2019-06-01T10:00:00Z", "created_by": ADD},
            {"created": "2019-06-01T10:00:01Z", "created_by": "/bin/sh -c #(nop)  CMD [\"sh\"]", "empty_layer": true},
            {"created": CREATED, "created_by": "/bin/sh -c echo hello > /etc/motd", "comment": "bocker fixture"},
        ],
        "rootfs": {"type": "layers", "diff_ids": layers.iter().map(|l| l.diff_id.clone()).collect::<Vec<_>>()},
    });
    let cbytes = serde_json::to_vec(&config).unwrap();
    let config = oci::Blob {
        digest: oci::sha256(&cbytes),
        media_type: "application/vnd.docker.container.image.v1+json".into(),
        bytes: cbytes,
    };
    let mt = "application/vnd.docker.distribution.manifest.v2+json";
    let desc = |b: &oci::Blob| serde_json::json!({"mediaType": b.media_type, "digest": b.digest, "size": b.bytes.len()});
    let m = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": mt,
        "config": desc(&config),
        "layers": layers.iter().map(|l| desc(&l.blob)).collect::<Vec<_>>(),
    });
    let mbytes = serde_json::to_vec(&m).unwrap();
    Image {
        config,
        layers,
        manifest: oci::Blob {
            digest: oci::sha256(&mbytes),
            media_type: mt.into(),
            bytes: mbytes,
        },
    }
}

/// Pushes the fixture to `BOCKER_RECORD_REGISTRY` (a registry you started) as
/// `fixtures/hist:v1`, for recording Docker's answers; not a test.
#[test]
#[ignore]
fn push_fixture_for_recording() {
    let addr = std::env::var("BOCKER_RECORD_REGISTRY").unwrap();
    oci::Pusher {
        addr,
        basic: None,
        bearer: None,
    }
    .image("fixtures/hist", "v1", &fixture());
}

/// Docker's recorded answer to `key` (status, stdout, stderr), `REGISTRY` replaced by
/// `addr` and the fixture's age brought up to today.
fn docker(key: &str, addr: &str) -> (i32, String, String) {
    let all: serde_json::Value =
        serde_json::from_str(include_str!("../data/docker_images.json")).unwrap();
    let v = &all[key];
    assert!(v.is_object(), "no recorded answer for {key}");
    let fix = |s: &serde_json::Value| {
        s.as_str()
            .unwrap()
            .replace("REGISTRY", addr)
            .replace("7 years ago", &format!("{} years ago", fixture_age_years()))
    };
    (
        v["status"].as_i64().unwrap() as i32,
        fix(&v["stdout"]),
        fix(&v["stderr"]),
    )
}

/// go-units' years: whole hours since CREATED / 24 / 365.
fn fixture_age_years() -> u64 {
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(CREATED_UNIX);
    SystemTime::now()
        .duration_since(t)
        .unwrap_or(Duration::ZERO)
        .as_secs()
        / 3600
        / 24
        / 365
}

/// A table's rows as cells (columns are separated by at least two spaces).
fn cells(table: &str) -> Vec<Vec<String>> {
    table
        .lines()
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(String::from)
                .collect()
        })
        .collect()
}

/// The columns named `names` of every row of `table` (by the header's titles).
fn columns(table: &str, names: &[&str]) -> Vec<Vec<String>> {
    let header = table.lines().next().unwrap();
    let starts: Vec<usize> = names
        .iter()
        .map(|n| {
            header
                .match_indices(n)
                .find(|(i, _)| *i == 0 || header[..*i].ends_with("  "))
                .unwrap_or_else(|| panic!("no column {n} in {header}"))
                .0
        })
        .collect();
    let mut all: Vec<usize> = header
        .char_indices()
        .filter(|(i, c)| *c != ' ' && (*i == 0 || header[..*i].ends_with("  ")))
        .map(|(i, _)| i)
        .collect();
    all.push(usize::MAX);
    table
        .lines()
        .map(|l| {
            starts
                .iter()
                .map(|&s| {
                    let end = *all.iter().find(|&&e| e > s).unwrap();
                    let chars: Vec<char> = l.chars().collect();
                    let (s, e) = (
                        char_at(header, s),
                        if end == usize::MAX {
                            usize::MAX
                        } else {
                            char_at(header, end)
                        },
                    );
                    chars
                        .get(s..e.min(chars.len()))
                        .unwrap_or(&[])
                        .iter()
                        .collect::<String>()
                        .trim()
                        .to_string()
                })
                .collect()
        })
        .collect()
}

fn char_at(s: &str, byte: usize) -> usize {
    s[..byte].chars().count()
}

/// A registry serving the fixture, a store with it pulled; (registry, root, reference, id).
fn pulled(driver: Driver) -> (Registry, TestRoot, String, String) {
    let reg = Registry::start(Auth::None);
    reg.pusher().image("fixtures/hist", "v1", &fixture());
    let t = TestRoot::new(driver);
    let reference = format!("{}/fixtures/hist:v1", reg.addr);
    let id = h::pull_ok(&t, &reference);
    (reg, t, reference, id)
}

fn history_as_docker(driver: Driver) {
    let (reg, t, reference, id) = pulled(driver);
    let docker_id = "337b10c2debb";
    let ours = |args: &[&str]| {
        let mut a = args.to_vec();
        a.push(&reference);
        t.ok("history", &a)
    };
    // Templates do not depend on the id's width: the same bytes as Docker.
    let fmt = "{{.CreatedBy}}|{{.Size}}|{{.Comment}}";
    assert_eq!(
        ours(&["--format", fmt]),
        docker(&format!("history --format {fmt}"), &reg.addr).1
    );
    // Tables: the same cells, bocker's id where Docker's is.
    for (args, key) in [
        (&[][..], "history"),
        (&["-H=false"][..], "history -H=false"),
        (&["--no-trunc"][..], "history --no-trunc"),
        (&["-q"][..], "history -q"),
    ] {
        let want = docker(key, &reg.addr)
            .1
            .replace(
                &format!("sha256:{docker_id}8114b595bec2adf8275c387df89b52c60aad94a3d92e44bc3cb0"),
                &id,
            )
            .replace(docker_id, &id);
        assert_eq!(cells(&ours(args)), cells(&want), "history {args:?}");
    }
    // By id and by prefix too; an unknown image is the seed's message.
    assert_eq!(t.ok("history", &["-q", &id]).lines().count(), 3);
    let err = t.fails("history", &["nope:1"]);
    assert_eq!(err, "bocker history: No image named 'nope:1' exists\n");
}

#[test]
fn history_as_docker_overlay() {
    history_as_docker(Driver::Overlay);
}

#[test]
fn history_as_docker_btrfs() {
    history_as_docker(Driver::Btrfs);
}

#[test]
fn history_of_an_imported_image_is_one_step() {
    let t = TestRoot::overlay();
    let id = t.busybox_image();
    let out = t.ok(
        "history",
        &[
            "--format",
            "{{.ID}}|{{.CreatedSince}}|{{.CreatedBy}}|{{.Comment}}",
            &id,
        ],
    );
    let f: Vec<&str> = out.trim().split('|').collect();
    assert_eq!(f[0], id);
    assert!(
        f[1].ends_with("seconds ago") || f[1] == "1 second ago" || f[1] == "Less than a second ago",
        "{out}"
    );
    assert_eq!(f[2], "");
    assert!(f[3].starts_with("Imported from /"), "{out}");
}

#[test]
fn images_one_row_per_reference_newest_first() {
    let (reg, t, reference, id) = pulled(Driver::Overlay);
    t.ok("tag", &[&reference, "other:1"]);
    let newer = t.busybox_image();

    let out = t.ok("images", &[]);
    let header: Vec<&str> = out.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["IMAGE_ID", "SOURCE", "REPOSITORY", "TAG", "CREATED", "SIZE"],
        "{out}"
    );
    let rows = columns(&out, &["IMAGE_ID", "REPOSITORY", "TAG"]);
    assert_eq!(
        rows[1],
        [newer.as_str(), "<none>", "<none>"],
        "newest first:\n{out}"
    );
    assert_eq!(rows[2][0], id);
    // The fixture's rows carry Docker's REPOSITORY, TAG, CREATED and SIZE.
    let docker_cols = ["REPOSITORY", "TAG", "CREATED", "SIZE"];
    let mine: Vec<Vec<String>> = columns(&out, &docker_cols).into_iter().skip(2).collect();
    let theirs: Vec<Vec<String>> = columns(&docker("images", &reg.addr).1, &docker_cols)
        .into_iter()
        .skip(1)
        .collect();
    assert_eq!(mine, theirs, "{out}");
    // One id per row, as Docker's -q.
    assert_eq!(t.ok("images", &["-q"]), format!("{newer}\n{id}\n{id}\n"));
    // No intermediate images: -a lists the same.
    assert_eq!(t.ok("images", &["-a", "-q"]), t.ok("images", &["-q"]));

    // --digests: Docker's DIGEST column (the pulled repository's manifest digest).
    let out = t.ok("images", &["--digests"]);
    let cols = ["REPOSITORY", "TAG", "DIGEST", "CREATED", "SIZE"];
    let mine: Vec<Vec<String>> = columns(&out, &cols).into_iter().skip(2).collect();
    let theirs: Vec<Vec<String>> = columns(&docker("images --digests", &reg.addr).1, &cols)
        .into_iter()
        .skip(1)
        .collect();
    assert_eq!(mine, theirs, "{out}");

    // REPO[:TAG] and reference= select rows, as Docker's.
    for (args, key) in [
        (&["other"][..], "images other"),
        (
            &["--filter", "reference=oth*"][..],
            "images --filter reference=oth*",
        ),
    ] {
        let mine = columns(&t.ok("images", args), &docker_cols);
        assert_eq!(
            mine,
            columns(&docker(key, &reg.addr).1, &docker_cols),
            "images {args:?}"
        );
    }
    assert_eq!(t.ok("images", &["-q", &reference]), format!("{id}\n"));
    assert_eq!(t.ok("images", &["-q", "other:2"]), "");
    // dangling, since, before.
    assert_eq!(
        t.ok("images", &["-q", "--filter", "dangling=true"]),
        format!("{newer}\n")
    );
    assert_eq!(
        t.ok("images", &["-q", "-f", "dangling=false"]),
        format!("{id}\n{id}\n")
    );
    assert_eq!(
        t.ok("images", &["-q", "--filter", "since=other:1"]),
        format!("{newer}\n")
    );
    assert_eq!(
        t.ok("images", &["-q", "--filter", &format!("before={newer}")]),
        format!("{id}\n{id}\n")
    );
    // Templates see one row per reference too.
    assert_eq!(
        t.ok(
            "images",
            &[
                "--format",
                "{{.Repository}}:{{.Tag}}",
                "--filter",
                "dangling=false"
            ]
        ),
        format!("{}\nother:1\n", reference)
    );
    // Unknown filters are refused with Docker's words (and status 1).
    for key in ["images --filter foo=bar", "images --filter dangling=maybe"] {
        let (status, _, err) = docker(key, &reg.addr);
        let args: Vec<&str> = key.split(' ').skip(1).collect();
        let o = t.run("images", &args);
        assert_eq!(o.status.code(), Some(status), "{key}");
        assert_eq!(
            String::from_utf8_lossy(&o.stderr),
            err.replace("Error response from daemon", "bocker images"),
            "{key}"
        );
    }
}

#[test]
fn images_cuts_a_long_source_unless_no_trunc() {
    let t = TestRoot::overlay();
    let src = t.base.join(format!(
        "a-directory-with-a-rather-long-name-{}",
        "x".repeat(40)
    ));
    std::fs::create_dir(&src).unwrap();
    bocker_e2e::busybox_rootfs(&src);
    t.ok("init", &[src.to_str().unwrap()]);
    let full = src.to_str().unwrap();
    let out = t.ok("images", &[]);
    assert!(!out.contains(full) && out.contains('…'), "{out}");
    assert!(t.ok("images", &["--no-trunc"]).contains(full));
}

#[test]
fn rmi_untags_until_the_last_reference() {
    let (reg, t, reference, id) = pulled(Driver::Overlay);
    t.ok("tag", &[&reference, "other:1"]);
    // One of two references: only untagged (Docker's line), the image stays.
    assert_eq!(
        t.ok("rmi", &["other:1"]),
        docker("rmi other:1", &reg.addr).1
    );
    assert_eq!(t.ok("images", &["-q"]), format!("{id}\n"));
    assert_eq!(
        t.fails("rmi", &["other:1"]),
        "bocker rmi: No image named 'other:1' exists\n"
    );
    // The last reference takes the image: Docker's Untagged and Deleted (its id, the
    // config's digest) lines, then the seed's Removed line.
    t.ok("tag", &[&reference, "other:1"]);
    let out = t.ok("rmi", &[&reference, "other:1"]);
    let theirs = docker("rmi REF other:1", &reg.addr).1;
    let theirs: Vec<&str> = theirs.lines().collect();
    let mine: Vec<&str> = out.lines().collect();
    assert_eq!(mine[0], theirs[0], "{out}");
    assert_eq!(mine[1..3], theirs[2..4], "{out}");
    assert_eq!(mine[3], format!("Removed: {id}"), "{out}");
    assert_eq!(mine.len(), 4, "{out}");
    assert_eq!(t.ok("images", &["-q"]), "");
}

#[test]
fn rmi_by_id_takes_every_reference() {
    let (_reg, t, reference, id) = pulled(Driver::Overlay);
    t.ok("tag", &[&reference, "other:1"]);
    // In several repositories: Docker wants -f to delete by id.
    let err = t.fails("rmi", &[&id]);
    assert_eq!(
        err,
        format!("bocker rmi: conflict: unable to delete {id} (must be forced) - image is referenced in multiple repositories\n")
    );
    let out = t.ok("rmi", &["-f", &id]);
    assert!(
        out.starts_with(&format!(
            "Untagged: {reference}\nUntagged: other:1\nDeleted: sha256:"
        )) && out.ends_with(&format!("Removed: {id}\n")),
        "{out}"
    );
    assert_eq!(t.ok("images", &["-q"]), "");
    // Tags of one repository go with the image without -f.
    let img = t.busybox_image();
    t.ok("tag", &[&img, "mine:1"]);
    t.ok("tag", &[&img, "mine:2"]);
    // An imported image has its own config too (Docker 20.10's `docker import`), so
    // its Docker id is deleted as well.
    let out = t.ok("rmi", &[&img]);
    assert!(
        out.starts_with("Untagged: mine:1\nUntagged: mine:2\nDeleted: sha256:")
            && out.ends_with(&format!("Removed: {img}\n")),
        "{out}"
    );
}

#[test]
fn tag_names_an_image_as_docker() {
    let (reg, t, reference, id) = pulled(Driver::Overlay);
    let img = t.busybox_image();
    assert_eq!(t.ok("tag", &[&img, "mine"]), "");
    assert_eq!(t.ok("images", &["-q", "mine:latest"]), format!("{img}\n"));
    assert_eq!(
        t.ok("images", &["--format", "{{.Repository}} {{.Tag}}", "mine"]),
        "mine latest\n"
    );
    // A tag moves to another image.
    t.ok("tag", &[&reference, "mine"]);
    assert_eq!(t.ok("images", &["-q", "mine"]), format!("{id}\n"));
    assert_eq!(
        t.ok("images", &["-q", "--filter", "dangling=true"]),
        format!("{img}\n")
    );
    // Docker's refusal of a bad name; the seed's message for an unknown source.
    let (status, _, err) = docker("tag Bad:1", &reg.addr);
    let o = t.run("tag", &[&img, "Bad:1"]);
    assert_eq!(o.status.code(), Some(status));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!("bocker tag: {err}")
    );
    assert_eq!(
        t.fails("tag", &["nope:1", "x:1"]),
        "bocker tag: No image named 'nope:1' exists\n"
    );
    // Through the dispatcher too.
    let o = std::process::Command::new(bocker_e2e::bin(""))
        .args(["tag", &img, "127.0.0.1:5000/team/app:v2"])
        .env("BOCKER_ROOT", &t.root)
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    assert_eq!(
        t.ok("images", &["-q", "127.0.0.1:5000/team/app:v2"]),
        format!("{img}\n")
    );
}

#[test]
fn a_pull_of_what_is_present_says_so() {
    let (reg, t, reference, id) = pulled(Driver::Overlay);
    let (ok, out, _) = h::pull(&t, &[&reference]);
    assert!(ok);
    let docker_out = docker("pull again", &reg.addr).1;
    let status = docker_out
        .lines()
        .find(|l| l.starts_with("Status: "))
        .unwrap();
    assert_eq!(out, format!("{status}\n"));
    let (ok, out, _) = h::pull(&t, &["-q", &reference]);
    assert!(ok);
    assert_eq!(out, format!("{id}\n"));
    assert_eq!(t.ok("images", &["-q"]), format!("{id}\n"));
}

#[test]
fn images_order_by_the_config_date_not_the_pull_date() {
    let reg = Registry::start(Auth::None);
    reg.pusher().image("fixtures/hist", "v1", &fixture());
    let t = TestRoot::overlay();
    let made_first = t.busybox_image();
    let pulled_later = h::pull_ok(&t, &format!("{}/fixtures/hist:v1", reg.addr));
    // Docker lists by the image's own date: the 2019 build after today's import.
    assert_eq!(
        t.ok("images", &["-q"]),
        format!("{made_first}\n{pulled_later}\n")
    );
    let out = t.ok(
        "images",
        &["--format", "{{.CreatedAt}}", "--filter", "dangling=false"],
    );
    assert_eq!(out, format!("{CREATED}\n"));
}
