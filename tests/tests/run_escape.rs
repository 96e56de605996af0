//! Escape attempts against `bocker run`: each must fail without touching the host.

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt};

use bocker_e2e::run::{code, image_with, stderr, stdout, HostMarker};
use bocker_e2e::{bin, TestRoot};

fn setup() -> (TestRoot, String) {
    let t = TestRoot::overlay();
    let img = t.busybox_image();
    (t, img)
}

#[test]
fn mount_is_refused() {
    let (t, img) = setup();
    let o = t.run(
        "run",
        &[
            &img,
            "sh",
            "-c",
            "mkdir -p /m && mount -t tmpfs none /m && echo mounted",
        ],
    );
    assert_ne!(code(&o), 0);
    assert!(!stdout(&o).contains("mounted"));
    let o = t.run(
        "run",
        &[
            &img,
            "sh",
            "-c",
            "mount -o remount,rw /sys && echo remounted",
        ],
    );
    assert!(!stdout(&o).contains("remounted"), "{}", stdout(&o));
}

#[test]
fn module_loading_is_refused() {
    let (t, img) = setup();
    let o = t.run(
        "run",
        &[
            &img,
            "sh",
            "-c",
            "echo junk > /tmp/m.ko; insmod /tmp/m.ko && echo loaded",
        ],
    );
    assert!(!stdout(&o).contains("loaded"));
    // EPERM (capability dropped, seccomp): not the "invalid module" or "modules not
    // supported" answer a privileged caller would get, which would prove nothing.
    assert!(
        stderr(&o).contains("Operation not permitted"),
        "{}",
        stderr(&o)
    );
    let o = t.run(
        "run",
        &[
            &img,
            "sh",
            "-c",
            "echo /tmp/x > /proc/sys/kernel/modprobe && echo wrote",
        ],
    );
    assert!(!stdout(&o).contains("wrote"));
}

#[test]
fn proc_sys_and_sys_are_read_only() {
    let (t, img) = setup();
    let before = fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let o = t.run("run", &[&img, "sh", "-c", "echo pwned > /proc/sys/kernel/hostname; echo pwned > /proc/sys/kernel/domainname; echo 1 > /sys/kernel/rcu_normal; echo done"]);
    assert_eq!(stdout(&o), "done\n");
    let err = stderr(&o);
    assert_eq!(err.matches("Read-only file system").count(), 3, "{err}");
    assert_eq!(
        fs::read_to_string("/proc/sys/kernel/hostname").unwrap(),
        before
    );
}

#[test]
fn masked_proc_paths_are_empty() {
    let (t, img) = setup();
    let o = t.run(
        "run",
        &[
            &img,
            "sh",
            "-c",
            "wc -c < /proc/keys; wc -c < /proc/timer_list; ls /sys/firmware | wc -l",
        ],
    );
    assert_eq!(stdout(&o), "0\n0\n0\n", "{}", stderr(&o));
}

#[test]
fn host_processes_are_invisible_and_unkillable() {
    let (t, img) = setup();
    let me = std::process::id().to_string();
    let o = t.run(
        "run",
        &[
            &img,
            "sh",
            "-c",
            &format!(
                "ls /proc | grep -c '^[0-9]'; kill -9 {me} && echo killed; kill -9 1; echo alive"
            ),
        ],
    );
    let out = stdout(&o);
    let n: u32 = out.lines().next().unwrap().parse().unwrap();
    assert!(n <= 3, "container sees {n} processes");
    assert!(!out.contains("killed"), "{out}");
    assert!(out.ends_with("alive\n"), "{out}");
}

#[test]
fn host_filesystem_is_unreachable() {
    let (t, img) = setup();
    let marker = HostMarker::dir();
    fs::write(marker.0.join("secret"), "s3cret").unwrap();
    let p = marker.0.join("secret");
    let p = p.display();
    let script = format!(
        "cat {p}; cat /../../../..{p}; cd /../../..; cat .{p}; mkdir -p /jail/bin; cp /bin/busybox /jail/bin/; \
         chroot /jail /bin/busybox sh -c 'cd ../../../../..; cat .{p}; ls /'; ls /proc/1/root/tmp | grep -c host-marker"
    );
    let o = t.run("run", &[&img, "sh", "-c", &script]);
    assert!(
        !stdout(&o).contains("s3cret"),
        "host file read: {}",
        stdout(&o)
    );
    assert!(stdout(&o).ends_with("0\n"), "{}", stdout(&o));
}

#[test]
fn runtime_binary_cannot_be_overwritten_via_proc_exe() {
    let (t, img) = setup();
    let runtime = fs::read(bin("run")).unwrap();
    let busybox = fs::read("/bin/busybox").unwrap();
    let script = "echo x >> /proc/self/exe; echo x >> /proc/1/exe; cat /proc/1/exe > /dev/null && echo readable; \
                  ls -l /proc/1/exe; for p in /proc/[0-9]*; do echo x >> $p/exe; done 2>/dev/null; echo end";
    let o = t.run("run", &["--init", &img, "sh", "-c", script]);
    assert!(stdout(&o).ends_with("end\n"), "{}", stderr(&o));
    assert!(
        !stdout(&o).contains("readable"),
        "PID 1's executable is readable: {}",
        stdout(&o)
    );
    let o = t.run("run", &[&img, "sh", "-c", script]);
    assert!(stdout(&o).ends_with("end\n"));
    assert_eq!(
        fs::read(bin("run")).unwrap(),
        runtime,
        "bocker-run was modified"
    );
    assert_eq!(
        fs::read("/bin/busybox").unwrap(),
        busybox,
        "host busybox was modified"
    );
}

#[test]
fn only_stdio_fds_reach_the_container() {
    let (t, img) = setup();
    // What the container's processes inherit: a child of PID 1 (the shell bocker-run
    // exec'd) holds exactly the fds nobody marked close-on-exec.
    let script = "sleep 2 & sleep 0.3; ls /proc/$!/fd > /tmp/fds; echo $(cat /tmp/fds)";
    let o = t.run("run", &[&img, "sh", "-c", script]);
    assert_eq!(stdout(&o), "0 1 2\n", "{}", stderr(&o));
    // With --init: what the command's own children inherit.
    let o = t.run("run", &["--init", &img, "sh", "-c", script]);
    assert_eq!(stdout(&o), "0 1 2\n", "{}", stderr(&o));
}

#[test]
fn workdir_through_proc_fd_magic_link_is_refused() {
    let (t, img) = setup();
    for w in ["/proc/self/fd/3", "/proc/self/fd/7", "/proc/1/cwd"] {
        let o = t.run("run", &["-w", w, &img, "sh", "-c", "pwd; ls"]);
        assert_eq!(code(&o), 125, "-w {w}: {}", stdout(&o));
        assert!(stderr(&o).contains("working directory"), "{}", stderr(&o));
    }
}

#[test]
fn image_proc_symlink_out_of_rootfs_stays_inside() {
    let (t, _) = setup();
    let marker = HostMarker::dir();
    let target = marker.0.clone();
    let img = image_with(&t, |d| {
        fs::remove_dir(d.join("proc")).unwrap();
        symlink(&target, d.join("proc")).unwrap();
    });
    let o = t.run(
        "run",
        &[&img, "sh", "-c", "cat /proc/self/stat | cut -d' ' -f1"],
    );
    assert!(
        marker.is_untouched_empty_dir(),
        "host dir touched: {}",
        stderr(&o)
    );
}

#[test]
fn volume_destination_symlink_out_of_rootfs_stays_inside() {
    let (t, _) = setup();
    let marker = HostMarker::dir();
    let target = marker.0.clone();
    let img = image_with(&t, |d| symlink(&target, d.join("data")).unwrap());
    let src = t.base.join("vol");
    fs::create_dir(&src).unwrap();
    let v = format!("{}:/data", src.display());
    let o = t.run("run", &["-v", &v, &img, "sh", "-c", "echo hi > /data/f"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(marker.is_untouched_empty_dir(), "host dir touched");
    assert_eq!(fs::read_to_string(src.join("f")).unwrap(), "hi\n");
}

#[test]
fn image_dev_null_symlink_does_not_redirect_masking() {
    let (t, _) = setup();
    let before = fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap();
    let img = image_with(&t, |d| {
        symlink("/proc/sys/kernel/core_pattern", d.join("dev/null")).unwrap()
    });
    let o = t.run("run", &[&img, "sh", "-c", "stat -c '%F %t:%T' /dev/null; wc -c < /proc/keys; echo '|/tmp/x' > /proc/sys/kernel/core_pattern"]);
    assert_eq!(
        stdout(&o),
        "character special file 1:3\n0\n",
        "{}",
        stderr(&o)
    );
    assert_eq!(
        fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap(),
        before
    );
}

#[test]
fn users_come_from_the_images_files_not_its_libraries() {
    let (t, _) = setup();
    let marker = HostMarker::dir();
    // An image whose NSS config points at a library: bocker never loads it (it has none
    // to load: a bogus .so would crash any process that dlopen'ed it).
    let img = image_with(&t, |d| {
        fs::write(d.join("etc/nsswitch.conf"), "passwd: evil\ngroup: evil\n").unwrap();
        fs::create_dir_all(d.join("lib")).unwrap();
        fs::write(d.join("lib/libnss_evil.so.2"), "not a library").unwrap();
        fs::write(
            d.join("etc/passwd"),
            "root:x:0:0::/root:/bin/sh\nweb:x:4242:4343::/srv:/bin/sh\n",
        )
        .unwrap();
        fs::write(
            d.join("etc/group"),
            "root:x:0:\nweb:x:4343:\nops:x:5000:web\n",
        )
        .unwrap();
    });
    let o = t.run("run", &["-u", "web", &img, "id"]);
    assert_eq!(
        stdout(&o),
        // Docker 20.10: the primary group is listed too.
        "uid=4242(web) gid=4343(web) groups=4343(web),5000(ops)\n",
        "{}",
        stderr(&o)
    );
    assert!(marker.is_untouched_empty_dir());
}

#[test]
fn store_root_is_private_to_root() {
    let (t, img) = setup();
    t.ok("run", &[&img, "true"]);
    let mode = fs::metadata(&t.root).unwrap().mode();
    assert_eq!(mode & 0o077, 0, "store root mode {mode:o}");
    let id = t.ok("ps", &["-q"]).trim().to_string();
    let log = t.root.join("containers").join(id).join("log");
    assert_eq!(fs::metadata(log).unwrap().mode() & 0o077, 0);
}

#[test]
fn capabilities_are_dockers_default_set() {
    let (t, img) = setup();
    let o = t.run("run", &[&img, "grep", "^Cap", "/proc/self/status"]);
    let out = stdout(&o);
    for line in [
        "CapEff:\t00000000a80425fb",
        "CapBnd:\t00000000a80425fb",
        "CapPrm:\t00000000a80425fb",
        "CapInh:\t0000000000000000",
        "CapAmb:\t0000000000000000",
    ] {
        assert!(out.contains(line), "missing {line:?} in\n{out}");
    }
    let o = t.run(
        "run",
        &["-u", "app", &img, "grep", "^CapEff", "/proc/self/status"],
    );
    assert_eq!(stdout(&o), "CapEff:\t0000000000000000\n");
    let o = t.run(
        "run",
        &[
            &img,
            "grep",
            "-E",
            "^(NoNewPrivs|Seccomp):",
            "/proc/self/status",
        ],
    );
    // Docker 20.10: no_new_privs off by default (SPEC §4), the filter on all the same.
    assert_eq!(stdout(&o), "NoNewPrivs:\t0\nSeccomp:\t2\n");
}

#[test]
fn namespace_syscalls_are_filtered() {
    let (t, img) = setup();
    let o = t.run(
        "run",
        &[
            &img,
            "sh",
            "-c",
            "unshare -m true && echo unshared; nsenter -t 1 -n true && echo entered; echo end",
        ],
    );
    assert_eq!(stdout(&o), "end\n", "{}", stderr(&o));
}
