//! End-to-end tests of `-P/--publish-all`, `--expose` and `bocker port` (issue 13):
//! every exposed port published to its own free host port, reachable on 127.0.0.1, and
//! listed as Docker's `docker port` lists them (Docker 20.10.24 engine, CLI 28.2.2,
//! 2026-11-29: `80/tcp -> 0.0.0.0:49153`, `80/tcp -> [::]:49153`; with a port, the
//! addresses only; `Error: No public port '99/tcp' published for c`).

use std::collections::BTreeMap;
use std::fs;
use std::time::{Duration, Instant};

use bocker_e2e::TestRoot;

/// Sets the stored image's `exposed_ports` (as a pull of an image with EXPOSE records).
fn expose(t: &TestRoot, img: &str, ports: &[&str]) {
    let path = t.root.join("images").join(img).join("image.json");
    let mut rec: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    rec["config"]["exposed_ports"] = serde_json::json!(ports);
    fs::write(&path, serde_json::to_vec(&rec).unwrap()).unwrap();
}

fn get(port: u16) -> String {
    let url = format!("http://127.0.0.1:{port}/");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let o = std::process::Command::new("curl")
            .args(["-s", "-m", "1", &url])
            .output()
            .unwrap();
        let s = String::from_utf8_lossy(&o.stdout).into_owned();
        if !s.is_empty() || Instant::now() > deadline {
            return s;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn publish_all_maps_every_exposed_port_to_its_own_free_host_port() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    expose(&t, &img, &["80/tcp"]);
    let www = t.base.join("www");
    fs::create_dir(&www).unwrap();
    fs::write(www.join("index.html"), "served\n").unwrap();
    let vol = format!("{}:/www:ro", www.display());
    let id = t
        .ok(
            "run",
            &[
                "-d",
                "-P",
                "--expose",
                "81",
                "-v",
                &vol,
                &img,
                "sh",
                "-c",
                "httpd -p 80 -h /www; httpd -p 81 -h /www; sleep 60",
            ],
        )
        .trim()
        .to_string();
    let listed = t.ok("port", &[&id]);
    // `PORT/PROTO -> ADDRESS:HOSTPORT`, IPv4 and IPv6 for each port.
    let mut host_ports = BTreeMap::new();
    for line in listed.lines() {
        let (ctr, addr) = line.split_once(" -> ").expect(&listed);
        let (ip, port) = addr.rsplit_once(':').unwrap();
        assert!(ip == "0.0.0.0" || ip == "[::]", "{listed}");
        if ip == "0.0.0.0" {
            host_ports.insert(ctr.to_string(), port.parse::<u16>().unwrap());
        }
    }
    let keys: Vec<&String> = host_ports.keys().collect();
    assert_eq!(keys, ["80/tcp", "81/tcp"], "{listed}");
    assert_ne!(
        host_ports["80/tcp"], host_ports["81/tcp"],
        "distinct host ports"
    );
    for port in host_ports.values() {
        assert_eq!(get(*port), "served\n", "127.0.0.1:{port}");
    }
    let one = t.ok("port", &[&id, "80"]);
    assert!(
        one.lines()
            .any(|l| l == format!("0.0.0.0:{}", host_ports["80/tcp"])),
        "{one}"
    );
    let err = t.fails("port", &[&id, "99"]);
    assert!(
        err.contains(&format!("No public port '99/tcp' published for {id}")),
        "{err}"
    );
    t.ok("rm", &["-f", &id]);
}

#[test]
fn expose_and_publish_all_refusals() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    expose(&t, &img, &["80/tcp"]);
    // Docker's CLI: `invalid range format for --expose: x`.
    let err = t.fails("run", &["--rm", "--expose", "x", &img, "true"]);
    assert!(
        err.contains("invalid range format for --expose: x"),
        "{err}"
    );
    // As `-p`: publishing needs the bridge network.
    let err = t.fails("run", &["--rm", "--network", "none", "-P", &img, "true"]);
    assert!(err.contains("--network none"), "{err}");
}
