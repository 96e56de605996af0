//! `bocker run` leaves nothing behind: 200 runs in a row, and a supervisor killed with
//! SIGKILL mid-container whose leftovers the next command cleans.

use std::time::{Duration, Instant};

use bocker_e2e::run::{census, code, stderr, Running};
use bocker_e2e::TestRoot;

#[test]
fn two_hundred_runs_leave_nothing_behind() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    // One run first so that lazily created things (the cgroup parent) exist before counting.
    t.ok("run", &["--rm", &img, "true"]);
    let before = census(&t);
    for i in 0..200 {
        let o = t.run("run", &["--rm", &img, "true"]);
        assert_eq!(code(&o), 0, "run {i}: {}", stderr(&o));
    }
    // Allow a moment for the last container's processes to be reaped.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut after = census(&t);
    while after != before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        after = census(&t);
    }
    assert_eq!(after.mounts, before.mounts, "mounts leaked");
    assert_eq!(after.cgroups, before.cgroups, "cgroups leaked");
    assert_eq!(after.containers, 0, "records leaked");
    assert_eq!(after.net_namespaces, 0, "namespaces still held: {after:?}");
}

#[test]
fn killed_supervisor_is_cleaned_by_the_next_command() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    let before = census(&t);
    let r = Running::start(&t, &["--name", "victim", &img, "sleep", "60"]);
    let rec = r.wait_running(&t);
    let pid = rec["state"]["pid"].as_i64().unwrap() as i32;
    r.signal(libc::SIGKILL);
    let _ = r.wait();
    // The container dies with its supervisor (parent-death signal of PID 1).
    let deadline = Instant::now() + Duration::from_secs(5);
    // SAFETY: signal 0 only probes for existence.
    while unsafe { libc::kill(pid, 0) } == 0 {
        assert!(
            Instant::now() < deadline,
            "container outlived its supervisor"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !census(&t).cgroups.is_empty(),
        "the killed run's cgroup should still be there"
    );
    // The next run reclaims: the victim is marked exited, its cgroup removed.
    t.ok("run", &["--rm", &img, "true"]);
    let ps = t.ok("ps", &[]);
    assert!(ps.contains("exited (137)"), "{ps}");
    let after = census(&t);
    assert!(after.cgroups.is_empty(), "cgroup left: {:?}", after.cgroups);
    assert_eq!(after.mounts, before.mounts);
    t.ok("rm", &["victim"]);
    assert_eq!(census(&t).containers, 0);
}

#[test]
fn killed_supervisor_is_cleaned_by_rm() {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    let r = Running::start(&t, &["--name", "victim", &img, "sleep", "60"]);
    r.wait_running(&t);
    r.signal(libc::SIGKILL);
    let _ = r.wait();
    t.ok("rm", &["-f", "victim"]);
    let after = census(&t);
    assert!(
        after.cgroups.is_empty() && after.containers == 0,
        "{after:?}"
    );
}

#[test]
fn container_mounts_never_reach_the_host() {
    // Systemd hosts mount / shared: run bocker-run in a namespace whose mounts are all
    // shared, and look from there while the container runs (rootfs, volume, /proc…).
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    let vol = t.base.join("vol");
    std::fs::create_dir(&vol).unwrap();
    let script = format!(
        "{run} --init --network none -v {vol}:/data {img} sleep 2 & sleep 1; grep -c '{base}' /proc/self/mountinfo; wait",
        run = bocker_e2e::bin("run").display(),
        vol = vol.display(),
        base = t.base.display(),
    );
    let o = std::process::Command::new("unshare")
        .args(["-m", "--propagation", "shared", "sh", "-c", &script])
        .env("BOCKER_ROOT", &t.root)
        .env("BOCKER_CGROUP_PARENT", &t.cgroup_parent)
        // Never the host's default bridge0 / 10.0.0.0/24, whatever the mode.
        .env("BOCKER_BRIDGE", &t.bridge)
        .env("BOCKER_SUBNET", &t.subnet)
        .output()
        .unwrap();
    assert_eq!(bocker_e2e::run::stdout(&o), "0\n", "{}", stderr(&o));
}

#[test]
fn unrecorded_old_cgroup_is_swept_young_one_kept() {
    // A run killed between creating its cgroup and writing its record leaves an empty
    // group without a record; the next run removes it once it is clearly not in progress.
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    t.ok("run", &["--rm", &img, "true"]); // creates the parent groups
    let (old, young) = ("ps_0123456789ab", "ps_0123456789ac");
    let mut dirs = Vec::new();
    for e in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        let parent = e.path().join(&t.cgroup_parent);
        if parent.is_dir() {
            std::fs::create_dir(parent.join(old)).unwrap();
            std::fs::create_dir(parent.join(young)).unwrap();
            let st = std::process::Command::new("touch")
                .args(["-d", "1 hour ago"])
                .arg(parent.join(old))
                .status()
                .unwrap();
            assert!(st.success());
            dirs.push(parent);
        }
    }
    assert!(!dirs.is_empty());
    t.ok("run", &["--rm", &img, "true"]);
    for p in &dirs {
        assert!(!p.join(old).exists(), "{} not swept", p.join(old).display());
        assert!(
            p.join(young).exists(),
            "{} swept too early",
            p.join(young).display()
        );
    }
}
