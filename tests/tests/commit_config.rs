//! Every image has its own image config (its Docker id), as in Docker: `bocker init`
//! writes one (the layer's diff id computed at import, as `docker import` does), and a
//! commit of a container of it writes its own, extending it. Each is the very config
//! `bocker save` writes (save keeps a stored config only when the layers it exports have
//! exactly its diff ids), on both drivers.

use std::fs;
use std::process::Command;

use bocker_e2e::run::{code, image_with, stderr, stdout};
use bocker_e2e::{random_hex, Driver, TestRoot};

const DRIVERS: [Driver; 2] = [Driver::Overlay, Driver::Btrfs];

/// The image's stored config: (hex digest, parsed).
fn stored_config(t: &TestRoot, id: &str) -> (String, serde_json::Value) {
    let rec: serde_json::Value = serde_json::from_slice(
        &fs::read(t.root.join("images").join(id).join("image.json")).unwrap(),
    )
    .unwrap();
    let hex = rec["blobs"][0]
        .as_str()
        .unwrap_or_else(|| panic!("{id} has no config blob: {rec}"))
        .to_string();
    let cfg =
        serde_json::from_slice(&fs::read(t.root.join("blobs/sha256").join(&hex)).unwrap()).unwrap();
    (hex, cfg)
}

/// The config `bocker save` writes for `image` (hex digest).
fn saved_config(t: &TestRoot, image: &str) -> String {
    let dir = t.base.join(format!("save-{}", random_hex(6)));
    fs::create_dir(&dir).unwrap();
    let tar = dir.join("img.tar");
    t.ok("save", &[image, "-o", tar.to_str().unwrap()]);
    let st = Command::new("tar")
        .arg("-xf")
        .arg(&tar)
        .arg("-C")
        .arg(&dir)
        .status()
        .unwrap();
    assert!(st.success());
    let m: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    m[0]["Config"]
        .as_str()
        .unwrap()
        .trim_start_matches("blobs/sha256/")
        .to_string()
}

#[test]
fn init_and_commit_write_the_config_save_writes() {
    for driver in DRIVERS {
        let t = TestRoot::new(driver);
        let img = image_with(&t, |r| fs::write(r.join("hello"), "hi").unwrap());
        let (hex, cfg) = stored_config(&t, &img);
        assert_eq!(cfg["rootfs"]["diff_ids"].as_array().unwrap().len(), 1);
        assert_eq!(cfg["os"], "linux");
        assert!(cfg["architecture"].is_string(), "{cfg}");
        // `docker import`'s history: one entry, "Imported from …".
        let history = cfg["history"].as_array().unwrap();
        assert_eq!(history.len(), 1, "{cfg}");
        assert!(
            history[0]["comment"]
                .as_str()
                .unwrap()
                .starts_with("Imported from /"),
            "{cfg}"
        );
        assert_eq!(saved_config(&t, &img), hex, "{driver:?}: init's diff id");

        let name = format!("c{}", random_hex(8));
        let o = t.run(
            "run",
            &[
                "--name",
                &name,
                "--network",
                "none",
                &img,
                "sh",
                "-c",
                "echo changed >/hello",
            ],
        );
        assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
        let out = t.ok("commit", &[&name]);
        let new = out.trim().rsplit("Created: ").next().unwrap().to_string();
        let (own, ccfg) = stored_config(&t, &new);
        assert_ne!(own, hex);
        let ids = ccfg["rootfs"]["diff_ids"].as_array().unwrap();
        assert_eq!(ids.len(), 2, "{ccfg}");
        assert_eq!(ids[0], cfg["rootfs"]["diff_ids"][0]);
        assert_eq!(ccfg["history"].as_array().unwrap().len(), 2, "{ccfg}");
        assert_eq!(
            saved_config(&t, &new),
            own,
            "{driver:?}: the commit's diff id"
        );
    }
}
