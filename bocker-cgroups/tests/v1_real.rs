//! cgroup v1 against the real kernel: limit files, placement of a process and
//! of what it forks, kill_all, remove, and real pids/memory enforcement.

mod common;

use std::path::PathBuf;

use bocker_cgroups::{Cgroup, Limits, DEFAULT_DEVICE_RULES};
use common::*;

#[test]
fn limits_land_in_the_v1_files() {
    let Some(h) = real_v1() else { return };
    let parent = unique_parent("v1lim");
    let _guard = Guard::new(h.clone(), &parent);
    let limits = Limits {
        memory_bytes: Some(512_000_000),
        cpu_shares: Some(512),
        cpus: Some(1.5),
        pids_max: Some(100),
    };
    let cg = Cgroup::create(&h, &parent, "ps_limits", &limits).expect("create");
    let d = |c: &str| {
        PathBuf::from("/sys/fs/cgroup")
            .join(c)
            .join(&parent)
            .join("ps_limits")
    };

    assert_eq!(
        read(&d("memory").join("memory.limit_in_bytes")),
        "512000000"
    );
    let memsw = d("memory").join("memory.memsw.limit_in_bytes");
    if memsw.exists() {
        assert_eq!(read(&memsw), "512000000");
    } else {
        assert!(cg.unenforced().contains(&"swap"));
    }
    assert_eq!(read(&d("cpu").join("cpu.shares")), "512");
    assert_eq!(read(&d("cpu").join("cpu.cfs_period_us")), "100000");
    assert_eq!(read(&d("cpu").join("cpu.cfs_quota_us")), "150000");
    assert_eq!(read(&d("pids").join("pids.max")), "100");

    // cpuset got the parent's cpus/mems, else no task could join.
    let cpus = read(&PathBuf::from("/sys/fs/cgroup/cpuset/cpuset.cpus"));
    assert_eq!(read(&d("cpuset").join("cpuset.cpus")), cpus);
    assert!(!read(&d("cpuset").join("cpuset.mems")).is_empty());

    // Docker's device policy: exactly the default allow list, nothing more.
    let mut list: Vec<String> = read(&d("devices").join("devices.list"))
        .lines()
        .map(str::to_string)
        .collect();
    let mut want: Vec<String> = DEFAULT_DEVICE_RULES.iter().map(|r| r.to_v1()).collect();
    list.sort();
    want.sort();
    assert_eq!(list, want);

    // paths() names every controller directory, and they all exist.
    let paths = cg.paths();
    assert!(paths.contains(&d("memory")) && paths.contains(&d("pids")));
    assert!(paths.iter().all(|p| p.is_dir()));

    // The parent's own limits are untouched.
    let parent_mem = PathBuf::from("/sys/fs/cgroup/memory").join(&parent);
    assert_ne!(read(&parent_mem.join("memory.limit_in_bytes")), "512000000");

    cg.remove().expect("remove");
    assert!(paths.iter().all(|p| !p.exists()));
    cg.remove().expect("remove is idempotent");
}

#[test]
fn process_and_its_forks_stay_inside_then_die_and_go() {
    let Some(h) = real_v1() else { return };
    let parent = unique_parent("v1place");
    let mut guard = Guard::new(h.clone(), &parent);
    let cg = Cgroup::create(&h, &parent, "ps_place", &Limits::default()).expect("create");

    // The child waits on stdin until placed, then forks a grandchild.
    let mut p = guard.spawn_sh("read x; sleep 30 & echo $!; wait");
    cg.add_pid(p.pid).expect("add_pid");
    p.go();
    let grandchild: i32 = p.line().parse().expect("grandchild pid");
    guard.extra_pids.push(grandchild);

    assert_eq!(cg.procs().unwrap(), {
        let mut v = vec![p.pid, grandchild];
        v.sort_unstable();
        v
    });
    for dir in cg.paths() {
        let inside = pids_in(&dir);
        assert!(inside.contains(&p.pid), "{} lacks child", dir.display());
        assert!(
            inside.contains(&grandchild),
            "{} lacks grandchild",
            dir.display()
        );
    }
    for c in ["memory", "cpu", "pids", "freezer", "devices"] {
        assert_eq!(
            proc_cgroup(grandchild, c).as_deref(),
            Some(format!("/{parent}/ps_place").as_str()),
            "grandchild's {c} cgroup"
        );
    }

    // Open by name (as a later command would) and list under the parent.
    assert_eq!(
        Cgroup::list_children(&h, &parent).unwrap(),
        vec!["ps_place"]
    );
    let again = Cgroup::open(&h, &parent, "ps_place").expect("open");
    assert_eq!(again.procs().unwrap(), cg.procs().unwrap());

    again.kill_all().expect("kill_all");
    assert!(cg.procs().unwrap().is_empty());
    let status = guard.wait(p.pid);
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
    assert!(
        !PathBuf::from(format!("/proc/{grandchild}")).exists() || {
            // A reaped-by-init zombie may linger a moment; it must not be running.
            wait_for(2, || !PathBuf::from(format!("/proc/{grandchild}")).exists())
        }
    );

    cg.remove().expect("remove");
    assert!(cg.paths().iter().all(|d| !d.exists()));
    assert!(Cgroup::open(&h, &parent, "ps_place").is_err());
    Cgroup::remove_parent_if_empty(&h, &parent).unwrap();
    assert!(!PathBuf::from("/sys/fs/cgroup/memory")
        .join(&parent)
        .exists());
}

#[test]
fn pids_limit_stops_a_fork_loop() {
    let Some(h) = real_v1() else { return };
    let parent = unique_parent("v1pids");
    let mut guard = Guard::new(h.clone(), &parent);
    let limits = Limits {
        pids_max: Some(5),
        ..Limits::default()
    };
    let cg = Cgroup::create(&h, &parent, "ps_pids", &limits).expect("create");
    let mut p = guard.spawn_sh(
        "read x; for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; \
         do sleep 30 & done; wait",
    );
    cg.add_pid(p.pid).expect("add_pid");
    p.go();
    let events = cg
        .paths()
        .into_iter()
        .find(|d| d.join("pids.events").exists())
        .expect("pids dir")
        .join("pids.events");
    // The kernel counts refused forks in pids.events ("max N").
    let refused = || {
        read(&events)
            .strip_prefix("max ")
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    };
    assert!(wait_for(5, || refused() > 0), "no fork was refused");
    let n = cg.procs().unwrap().len();
    assert!(n <= 5, "{n} processes despite pids.max=5");
    cg.kill_all().expect("kill_all");
    cg.remove().expect("remove");
}

#[test]
fn memory_limit_oom_kills_a_hog() {
    let Some(h) = real_v1() else { return };
    if !std::path::Path::new("/bin/busybox").exists() {
        skip("/bin/busybox missing");
        return;
    }
    let parent = unique_parent("v1oom");
    let mut guard = Guard::new(h.clone(), &parent);
    let limits = Limits {
        memory_bytes: Some(20 * 1024 * 1024),
        ..Limits::default()
    };
    let cg = Cgroup::create(&h, &parent, "ps_oom", &limits).expect("create");
    // busybox tail keeps the whole newline-free 100MB "line" in memory.
    let mut p = guard.spawn_sh(
        "read x; head -c 100000000 /dev/zero | /bin/busybox tail >/dev/null; echo status=$?",
    );
    cg.add_pid(p.pid).expect("add_pid");
    p.go();
    assert_eq!(p.line(), "status=137", "the hog was not SIGKILLed");
    let mem = cg
        .paths()
        .into_iter()
        .find(|d| d.join("memory.oom_control").exists())
        .expect("memory dir");
    let oom_kills: u64 = read(&mem.join("memory.oom_control"))
        .lines()
        .find_map(|l| l.strip_prefix("oom_kill "))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(oom_kills >= 1, "kernel recorded no OOM kill");
    let max_usage: u64 = read(&mem.join("memory.max_usage_in_bytes"))
        .parse()
        .unwrap();
    assert!(
        max_usage <= 20 * 1024 * 1024,
        "usage {max_usage} beyond limit"
    );
    guard.wait(p.pid);
    cg.kill_all().expect("kill_all");
    cg.remove().expect("remove");
}

#[test]
fn bad_names_and_values_create_nothing() {
    let Some(h) = real_v1() else { return };
    let parent = unique_parent("v1bad");
    let _guard = Guard::new(h.clone(), &parent);
    assert!(Cgroup::create(&h, &parent, "../escape", &Limits::default()).is_err());
    assert!(Cgroup::create(&h, "../..", "x", &Limits::default()).is_err());
    let bad = Limits {
        cpus: Some(0.0),
        ..Limits::default()
    };
    assert!(Cgroup::create(&h, &parent, "ps_bad", &bad).is_err());
    assert!(!PathBuf::from("/sys/fs/cgroup/memory")
        .join(&parent)
        .exists());
}

#[test]
fn detect_finds_v1_on_this_host() {
    let Some(_) = real_v1() else { return };
    if std::env::var_os("BOCKER_CGROUP_VERSION").is_some() {
        return;
    }
    assert_eq!(
        bocker_cgroups::Hierarchy::detect().unwrap(),
        bocker_cgroups::Hierarchy::V1 {
            root: PathBuf::from("/sys/fs/cgroup")
        }
    );
}

#[test]
fn guard_cleans_up_after_a_failing_test() {
    let Some(h) = real_v1() else { return };
    let parent = unique_parent("v1guard");
    let mut pid = 0;
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut guard = Guard::new(h.clone(), &parent);
        let cg = Cgroup::create(&h, &parent, "ps_guard", &Limits::default()).unwrap();
        let p = guard.spawn_sh("read x; sleep 30");
        pid = p.pid;
        cg.add_pid(p.pid).unwrap();
        panic!("simulated test failure with a live process in the group");
    }));
    assert!(outcome.is_err());
    assert!(pid > 0);
    assert!(Cgroup::list_children(&h, &parent).unwrap().is_empty());
    for c in ["memory", "cpu", "pids", "cpuset"] {
        let d = PathBuf::from("/sys/fs/cgroup").join(c).join(&parent);
        assert!(!d.exists(), "{} left behind", d.display());
    }
    // Our child was reaped by the guard: no such process any more.
    assert!(!PathBuf::from(format!("/proc/{pid}")).exists());
}

#[test]
fn default_device_policy_denies_kmsg_but_allows_null() {
    let Some(h) = real_v1() else { return };
    if !std::path::Path::new("/dev/kmsg").exists() {
        skip("no /dev/kmsg to probe");
        return;
    }
    let parent = unique_parent("v1dev");
    let mut guard = Guard::new(h.clone(), &parent);
    // Outside any bocker group, all three open (proves the probe works).
    assert_eq!(
        probe_devices(&mut guard, None),
        ["null-ok", "zero-ok", "kmsg-open"]
    );
    let cg = Cgroup::create(&h, &parent, "ps_dev", &Limits::default()).expect("create");
    assert!(
        !cg.unenforced().contains(&"devices"),
        "{:?}",
        cg.unenforced()
    );
    assert_eq!(
        probe_devices(&mut guard, Some(&cg)),
        ["null-ok", "zero-ok", "kmsg-denied"]
    );
    cg.kill_all().expect("kill_all");
    cg.remove().expect("remove");
}

#[test]
fn destroy_kills_a_forking_group_and_leaves_the_sibling_stores_group() {
    // bocker's layout: `<parent>/<store id>/<ps_id>`. Destroying one store's group (freeze,
    // kill every member, thaw, remove) never touches the same name under another store.
    let Some(h) = real_v1() else { return };
    let parent = unique_parent("v1destroy");
    let (mine, theirs) = (
        format!("{parent}/st_aaaaaaaaaaaa"),
        format!("{parent}/st_bbbbbbbbbbbb"),
    );
    // One guard per store level, so a failing test still kills and removes both.
    let (mut guard, mut guard_b) = (Guard::new(h.clone(), &mine), Guard::new(h.clone(), &theirs));
    let cg = Cgroup::create(&h, &mine, "ps_same", &Limits::default()).expect("create");
    let other = Cgroup::create(&h, &theirs, "ps_same", &Limits::default()).expect("create");
    let mut p = guard.spawn_sh("read x; sleep 30 & sleep 30 & wait");
    cg.add_pid(p.pid).expect("add_pid");
    let mut q = guard_b.spawn_sh("read x; sleep 30");
    other.add_pid(q.pid).expect("add_pid");
    p.go();
    q.go();
    assert!(wait_for(2, || cg.procs().unwrap().len() > 2), "no forks");
    Cgroup::open(&h, &mine, "ps_same")
        .unwrap()
        .destroy()
        .expect("destroy");
    assert!(cg.paths().iter().all(|d| !d.exists()), "group left");
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&guard.wait(p.pid)),
        Some(9)
    );
    assert!(
        other.procs().unwrap().contains(&q.pid),
        "the other store's group was touched"
    );
    other.destroy().expect("destroy");
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&guard_b.wait(q.pid)),
        Some(9)
    );
}

/// A start makes only its own group when the parent exists, and still works when the
/// parent was removed since (made again), or was made by another tool without
/// `cgroup.clone_children` (its empty cpuset is filled, else no task could join).
#[test]
fn parent_levels_are_made_once_and_again_when_gone() {
    let Some(h) = real_v1() else { return };
    let parent = unique_parent("v1par");
    let mut guard = Guard::new(h.clone(), &format!("{parent}/st"));
    let cpuset = PathBuf::from("/sys/fs/cgroup/cpuset");
    let host_cpus = read(&cpuset.join("cpuset.cpus"));
    // First start: the levels are made, with clone_children set on them.
    let a = Cgroup::create(&h, &format!("{parent}/st"), "ps_a", &Limits::default()).unwrap();
    let level = cpuset.join(&parent).join("st");
    assert_eq!(read(&level.join("cgroup.clone_children")), "1");
    assert_eq!(read(&level.join("ps_a").join("cpuset.cpus")), host_cpus);
    a.destroy().unwrap();
    assert!(a.paths().iter().all(|p| !p.exists()));
    // The store's level removed meanwhile (all hierarchies): made again.
    Cgroup::remove_parent_if_empty(&h, &format!("{parent}/st")).unwrap();
    assert!(!level.exists());
    let b = Cgroup::create(&h, &format!("{parent}/st"), "ps_b", &Limits::default()).unwrap();
    assert!(b.paths().iter().all(|p| p.is_dir()));
    b.destroy().unwrap();
    // A level made by someone else: empty cpuset, no clone_children.
    std::fs::remove_dir(&level).unwrap();
    std::fs::write(cpuset.join(&parent).join("cgroup.clone_children"), "0").unwrap();
    std::fs::create_dir(&level).unwrap();
    assert_eq!(read(&level.join("cpuset.cpus")), "");
    let c = Cgroup::create(&h, &format!("{parent}/st"), "ps_c", &Limits::default()).unwrap();
    assert_eq!(read(&level.join("ps_c").join("cpuset.cpus")), host_cpus);
    assert!(!read(&level.join("ps_c").join("cpuset.mems")).is_empty());
    // And a process can join it.
    let p = guard.spawn_sh("read x; echo in; read y");
    c.add_pid(p.pid).unwrap();
    assert!(c.procs().unwrap().contains(&p.pid));
}

#[test]
fn planned_paths_are_the_paths_create_makes() {
    let Some(h) = real_v1() else { return };
    let parent = unique_parent("v1plan");
    let _guard = Guard::new(h.clone(), &parent);
    // Known before the group exists (the runtime clones the container's process first).
    let planned = Cgroup::planned_paths(&h, &parent, "ps_plan").expect("planned");
    assert!(planned.iter().all(|p| !p.exists()));
    let cg = Cgroup::create(&h, &parent, "ps_plan", &Limits::default()).expect("create");
    assert_eq!(planned, cg.paths());
    assert!(planned.iter().all(|p| p.is_dir()));
    // The same name checks as create: no escaping the parent.
    assert!(Cgroup::planned_paths(&h, &parent, "../x").is_err());
    cg.remove().expect("remove");
}
