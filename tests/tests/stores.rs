//! Two stores on one host never touch each other's containers (issue 8): each store's
//! cgroups live under `<BOCKER_CGROUP_PARENT>/<store id>`, and its reclaim sweeps only
//! those.

use std::time::Duration;

use bocker_e2e::run::{code, stderr, store_cgroup_parent, Running};
use bocker_e2e::TestRoot;

#[test]
fn a_run_in_another_store_never_reclaims_a_running_container() {
    // The scenario: `run --name long IMG sleep …` in store A; 35 s later (past
    // the 30 s after which the old reclaim took any group without a record in its own
    // store for an orphan) `run --rm IMG true` in store B, under the same cgroup parent.
    // A's container went `exited (137)`; it must run on and end normally.
    let a = TestRoot::overlay();
    let mut b = TestRoot::overlay();
    b.cgroup_parent = a.cgroup_parent.clone(); // one parent, as with the default `bocker`
    let (img_a, img_b) = (a.busybox_image(), b.busybox_image());
    let long = Running::start(&a, &["--name", "long", &img_a, "sleep", "45"]);
    let rec = long.wait_running(&a);
    let pid = rec["state"]["pid"].as_i64().unwrap() as i32;
    std::thread::sleep(Duration::from_secs(35));
    b.ok("run", &["--rm", &img_b, "true"]);
    b.ok("ps", &[]);
    assert!(alive(pid), "store B killed A's container");
    assert!(a.ok("ps", &[]).contains("Up "));
    let o = long.wait();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let ps = a.ok("ps", &["--filter", "name=long"]);
    assert!(ps.contains("Exited (0)"), "{ps}");
    // Each store's groups hang under its own id below the shared parent.
    assert_ne!(store_cgroup_parent(&a), store_cgroup_parent(&b));
}

#[test]
fn rm_in_one_store_never_touches_a_container_of_another() {
    // Both stores under one cgroup parent; B's `rm -f` of every container it has (and
    // its reclaim) leaves A's running container alone.
    let a = TestRoot::overlay();
    let mut b = TestRoot::overlay();
    b.cgroup_parent = a.cgroup_parent.clone();
    let (img_a, img_b) = (a.busybox_image(), b.busybox_image());
    let long = Running::start(&a, &["--init", &img_a, "sleep", "30"]);
    let rec = long.wait_running(&a);
    let pid = rec["state"]["pid"].as_i64().unwrap() as i32;
    b.ok("run", &["--name", "x", &img_b, "true"]);
    b.ok("rm", &["-f", "x"]);
    b.ok("run", &["--rm", &img_b, "true"]);
    assert!(alive(pid), "store B killed A's container");
    let path = rec["config"]["cgroup_paths"][0]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        path.contains(&format!("/{}/", store_cgroup_parent(&a))),
        "{path}"
    );
    long.signal(libc::SIGTERM);
    assert_eq!(code(&long.wait()), 143);
}

fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only probes for existence.
    unsafe { libc::kill(pid, 0) == 0 }
}
