//! Unprivileged tests of resolution inside a root: `..`, absolute symlinks, loops, magic
//! links and a symlink swapped in while we resolve never reach outside it.

use super::*;
use crate::path;
use std::fs;
use std::os::unix::fs::symlink;

fn setup() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("root");
    let outside = d.path().join("outside");
    fs::create_dir_all(root.join("etc")).unwrap();
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("secret"), b"host").unwrap();
    fs::write(root.join("etc/secret"), b"inside").unwrap();
    (d, root, outside)
}

fn read(fd: OwnedFd) -> String {
    fs::read_to_string(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap()
}

#[test]
fn dotdot_clamps_at_the_root() {
    let (_d, root, _o) = setup();
    let r = Root::open(&root).unwrap();
    // Lexically cleaned (RelPath) and resolved by the kernel (path::open) alike.
    let fd = r
        .open_in(
            &RelPath::clean(b"../../outside/../etc/secret"),
            libc::O_RDONLY,
        )
        .unwrap();
    assert_eq!(read(fd), "inside");
    let fd = path::open(r.raw(), "/../../../etc/secret", libc::O_RDONLY).unwrap();
    assert_eq!(read(fd), "inside");
    assert!(path::open(r.raw(), "../outside/secret", libc::O_RDONLY).is_err());
}

#[test]
fn absolute_and_relative_symlinks_resolve_inside() {
    let (_d, root, outside) = setup();
    symlink("/etc", root.join("abs")).unwrap();
    symlink("../../../../etc", root.join("rel")).unwrap();
    symlink(&outside, root.join("host")).unwrap();
    let r = Root::open(&root).unwrap();
    for p in ["abs/secret", "rel/secret"] {
        let fd = path::open(r.raw(), p, libc::O_RDONLY).unwrap();
        assert_eq!(read(fd), "inside", "{p}");
    }
    // The host path, taken as a path inside the root, does not exist there.
    let e = path::open(r.raw(), "host/secret", libc::O_RDONLY).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ENOENT));
    // Creating through a dangling absolute symlink creates inside the root.
    symlink(outside.join("newdir"), root.join("dangling")).unwrap();
    path::mkdir_all(r.raw(), "dangling/sub", 0o755).unwrap();
    assert!(!outside.join("newdir").exists());
    assert!(root
        .join(outside.strip_prefix("/").unwrap())
        .join("newdir/sub")
        .is_dir());
}

#[test]
fn symlink_loops_are_eloop() {
    let (_d, root, _o) = setup();
    symlink("b", root.join("a")).unwrap();
    symlink("a", root.join("b")).unwrap();
    let r = Root::open(&root).unwrap();
    let e = path::open(r.raw(), "a/x", libc::O_RDONLY).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ELOOP));
    let e = path::mkdir_all(r.raw(), "a/x", 0o755).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ELOOP));
    let e = path::touch(r.raw(), "a/x/f").unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ELOOP));
}

#[test]
fn magic_links_are_refused() {
    let (_d, root, _o) = setup();
    // An image can ship /proc/self/root as a plain symlink; the real /proc is mounted
    // over the rootfs's /proc only in the container, but a magic link reached some other
    // way (here: a symlink to the host's /proc) must not be followed.
    symlink("/proc/self/root", root.join("escape")).unwrap();
    let r = Root::open(&root).unwrap();
    assert!(path::open(r.raw(), "escape/etc/passwd", libc::O_RDONLY).is_err());
    let fd = path::open(r.raw(), "/", libc::O_PATH).unwrap();
    let magic = format!("/proc/self/fd/{}", fd.as_raw_fd());
    symlink(&magic, root.join("fdlink")).unwrap();
    assert!(path::open(r.raw(), "fdlink", libc::O_RDONLY).is_err());
}

#[test]
fn touch_and_file_type() {
    let (_d, root, _o) = setup();
    let r = Root::open(&root).unwrap();
    let f = path::touch(r.raw(), "/new/dir/file").unwrap();
    assert_eq!(path::file_type(f.as_raw_fd()).unwrap(), libc::S_IFREG);
    let d = path::open_path(r.raw(), "/new/dir").unwrap();
    assert_eq!(path::file_type(d.as_raw_fd()).unwrap(), libc::S_IFDIR);
    // An existing path is returned as is.
    let e = path::touch(r.raw(), "/etc").unwrap();
    assert_eq!(path::file_type(e.as_raw_fd()).unwrap(), libc::S_IFDIR);
}

#[test]
fn a_directory_swapped_for_a_symlink_never_leads_outside() {
    let (_d, root, outside) = setup();
    fs::create_dir_all(root.join("a")).unwrap();
    fs::write(root.join("a/secret"), b"inside").unwrap();
    let r = Root::open(&root).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let attacker = {
        let (root, outside, stop) = (root.clone(), outside.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = fs::rename(root.join("a"), root.join("x"));
                let _ = symlink(&outside, root.join("a"));
                let _ = fs::remove_file(root.join("a"));
                let _ = fs::rename(root.join("x"), root.join("a"));
            }
        })
    };
    for _ in 0..20000 {
        if let Ok(fd) = path::open(r.raw(), "a/secret", libc::O_RDONLY) {
            assert_eq!(read(fd), "inside", "resolved through a swapped symlink");
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    attacker.join().unwrap();
}
