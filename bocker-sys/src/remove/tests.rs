//! Unprivileged tests of tree removal: depth costs no stack, symlinks are never followed.

use super::*;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

/// Build `depth` nested directories `d/d/…` under `at` (fd-relative: deeper than PATH_MAX),
/// with a file at the bottom.
fn deep_tree(at: &Path, depth: usize) {
    let mut cur = sys::open_dir_at(
        libc::AT_FDCWD,
        &cstr(at.as_os_str().as_encoded_bytes()).unwrap(),
    )
    .unwrap();
    for _ in 0..depth {
        sys::mkdirat(cur.as_raw_fd(), c"d", 0o755).unwrap();
        cur = sys::open_dir_at(cur.as_raw_fd(), c"d").unwrap();
    }
    sys::openat(cur.as_raw_fd(), c"f", libc::O_CREAT | libc::O_WRONLY, 0o644).unwrap();
}

fn remove(path: &Path) -> io::Result<()> {
    let parent = fs::File::open(path.parent().unwrap()).unwrap();
    let name = cstr(path.file_name().unwrap().as_encoded_bytes()).unwrap();
    remove_all_at(parent.as_raw_fd(), &name)
}

#[test]
fn removes_a_tree_deeper_than_any_stack_and_fd_limit() {
    // Issue 9 item 18: 30000 levels overflowed the recursive walk (status 134). Run on a
    // small thread stack so any recursion on the depth would crash this test too. On
    // tmpfs when there is one: each rmdir on a disk mounted `discard` costs milliseconds.
    let d = tempfile::tempdir_in("/dev/shm")
        .or_else(|_| tempfile::tempdir())
        .unwrap();
    let t = d.path().join("t");
    fs::create_dir(&t).unwrap();
    deep_tree(&t, 30_000);
    let t2 = t.clone();
    std::thread::Builder::new()
        .stack_size(64 * 1024)
        .spawn(move || remove(&t2))
        .unwrap()
        .join()
        .unwrap()
        .unwrap();
    assert!(!t.exists());
    assert_eq!(
        fs::read_dir(d.path()).unwrap().count(),
        0,
        "nothing left beside it"
    );
}

#[test]
fn removes_wide_trees_files_links_and_missing_paths() {
    let d = tempfile::tempdir().unwrap();
    let outside = d.path().join("outside");
    fs::create_dir(&outside).unwrap();
    fs::write(outside.join("keep"), b"k").unwrap();
    let t = d.path().join("t");
    for i in 0..50 {
        fs::create_dir_all(t.join(format!("a{i}/b/c"))).unwrap();
        fs::write(t.join(format!("a{i}/b/c/f")), b"x").unwrap();
    }
    symlink(&outside, t.join("a0/b/link")).unwrap();
    symlink(&outside, t.join("toplink")).unwrap();
    remove(&t).unwrap();
    assert!(!t.exists());
    assert!(outside.join("keep").exists(), "followed a symlink");
    remove(&t).unwrap();
    // A symlink as the thing removed is unlinked, never its target.
    symlink(&outside, &t).unwrap();
    remove(&t).unwrap();
    assert!(outside.join("keep").exists());
    assert!(fs::symlink_metadata(&t).is_err());
}

#[test]
fn empty_dir_keeps_what_it_is_told_to() {
    let d = tempfile::tempdir().unwrap();
    fs::create_dir_all(d.path().join("x/y")).unwrap();
    fs::write(d.path().join("keep"), b"k").unwrap();
    let fd = sys::open_dir_at(
        libc::AT_FDCWD,
        &cstr(d.path().as_os_str().as_encoded_bytes()).unwrap(),
    )
    .unwrap();
    empty_dir(&fd, |n| n.to_bytes() == b"keep").unwrap();
    let left: Vec<_> = fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("keep")]);
}

#[test]
fn a_directory_swapped_for_a_symlink_is_never_followed() {
    // A container process that outlives its record may swap a directory for a symlink
    // to the host while we remove it.
    let d = tempfile::tempdir().unwrap();
    let victim = d.path().join("victim");
    fs::create_dir(&victim).unwrap();
    for round in 0..200 {
        for i in 0..10 {
            fs::write(victim.join(format!("canary{i}")), b"keep").unwrap();
        }
        let t = d.path().join("t");
        fs::create_dir_all(t.join("a/b")).unwrap();
        for i in 0..10 {
            fs::write(t.join("a/b").join(format!("f{i}")), b"x").unwrap();
        }
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let attacker = {
            let (t, victim, stop) = (t.clone(), victim.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    if fs::rename(t.join("a"), t.join("x")).is_ok() {
                        let _ = symlink(&victim, t.join("a"));
                        let _ = fs::remove_file(t.join("a"));
                        let _ = fs::rename(t.join("x"), t.join("a"));
                    }
                }
            })
        };
        let _ = remove(&t);
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        attacker.join().unwrap();
        let _ = fs::remove_dir_all(&t);
        for i in 0..10 {
            assert!(
                victim.join(format!("canary{i}")).exists(),
                "round {round}: removal followed a symlink out of the tree"
            );
        }
    }
}
