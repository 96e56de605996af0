//! The btrfs layer diff found through `btrfs send` (bocker-image `btrfs_send`) against
//! the full walk of both trees it replaces: for the same commits, `bocker save` writes
//! byte-identical archives either way (`BOCKER_DIFF=walk` forces the walk), over adds,
//! modifications, deletions, renames (of files and of directories), swaps, hard links
//! (new ones, and changed files with names in several directories), xattrs, mode, owner
//! and mtime changes, a directory replaced by a file and the reverse, a directory removed
//! and made again (what an overlay layer marks opaque), symlinks, fifos and devices.

use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use bocker_e2e::run::{code, image_with, stderr, stdout};
use bocker_e2e::{random_hex, TestRoot};

fn cstr(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).unwrap()
}

fn set_xattr(p: &Path, name: &str, value: &[u8]) {
    let n = CString::new(name).unwrap();
    // SAFETY: valid C strings and a buffer of the given length.
    let r = unsafe {
        libc::lsetxattr(
            cstr(p).as_ptr(),
            n.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    assert_eq!(r, 0, "setxattr {}", p.display());
}

fn remove_xattr(p: &Path, name: &str) {
    let n = CString::new(name).unwrap();
    // SAFETY: valid C strings.
    let r = unsafe { libc::lremovexattr(cstr(p).as_ptr(), n.as_ptr()) };
    assert_eq!(r, 0, "removexattr {}", p.display());
}

fn set_mtime(p: &Path, secs: i64) {
    let t = [libc::timespec {
        tv_sec: secs,
        tv_nsec: 0,
    }; 2];
    // SAFETY: a valid C string and a two-element timespec array.
    let r = unsafe { libc::utimensat(libc::AT_FDCWD, cstr(p).as_ptr(), t.as_ptr(), 0) };
    assert_eq!(r, 0);
}

fn write(root: &Path, rel: &str, content: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, content).unwrap();
}

/// A stopped container of `image`; returns (id, its rootfs on the host).
fn container(t: &TestRoot, image: &str) -> (String, PathBuf) {
    let name = format!("c{}", random_hex(8));
    let o = t.run(
        "run",
        &["--name", &name, "--network", "none", image, "true"],
    );
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&t.ok("inspect", &[&name])).unwrap();
    let id = v[0]["Bocker"]["id"].as_str().unwrap().to_string();
    let rootfs = t.root.join("containers").join(&id).join("rootfs");
    assert!(rootfs.join("bin/busybox").exists(), "{}", rootfs.display());
    (id, rootfs)
}

fn commit(t: &TestRoot, ctr: &str) -> String {
    let out = t.ok("commit", &[ctr]);
    out.trim()
        .rsplit("Created: ")
        .next()
        .unwrap()
        .trim()
        .to_string()
}

/// `bocker save` of `image` twice, through btrfs send and through the forced walk:
/// the archives must be the same bytes. Returns the entries of the top layer.
fn same_either_way(t: &TestRoot, image: &str, tag: &str) -> Vec<String> {
    let a = t.base.join(format!("{tag}-send.tar"));
    let b = t.base.join(format!("{tag}-walk.tar"));
    let o = t
        .cmd("save")
        .env("BOCKER_DEBUG", "1")
        .args([image, "-o", a.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("btrfs send: "),
        "the send path was not taken: {}",
        stderr(&o)
    );
    let o = t
        .cmd("save")
        .env("BOCKER_DIFF", "walk")
        .args([image, "-o", b.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        fs::read(&a).unwrap() == fs::read(&b).unwrap(),
        "{tag}: the send-based layer differs from the walk's"
    );
    top_layer_entries(t, &a, tag)
}

fn top_layer_entries(t: &TestRoot, archive: &Path, tag: &str) -> Vec<String> {
    let dir = t.base.join(format!("{tag}-x"));
    fs::create_dir(&dir).unwrap();
    let st = Command::new("tar")
        .arg("-xf")
        .arg(archive)
        .arg("-C")
        .arg(&dir)
        .status()
        .unwrap();
    assert!(st.success());
    let m: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let layers = m[0]["Layers"].as_array().unwrap();
    let top = dir.join(layers.last().unwrap().as_str().unwrap());
    let out = Command::new("tar").arg("-tvf").arg(&top).output().unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

fn has(entries: &[String], name: &str) -> bool {
    entries
        .iter()
        .any(|l| l.ends_with(&format!(" {name}")) || l.contains(&format!(" {name} ")))
}

#[test]
fn the_btrfs_send_diff_is_byte_identical_to_the_full_walk() {
    let t = TestRoot::btrfs();
    let img = image_with(&t, |r| {
        write(r, "etc/motd", "hello\n");
        write(r, "data/keep/a", "a");
        write(r, "data/keep/b", "b");
        write(r, "data/gone", "gone");
        write(r, "data/dir_to_file/x", "x");
        write(r, "data/dir_to_file/y", "y");
        write(r, "data/file_to_dir", "f");
        write(r, "data/opaque/old1", "1");
        write(r, "data/opaque/old2", "2");
        write(r, "data/mv_src/sub/f", "f");
        write(r, "data/mv_src/g", "g");
        write(r, "links/one", "shared");
        fs::hard_link(r.join("links/one"), r.join("links/two")).unwrap();
        write(r, "links2/p", "pq");
        write(r, "other/placeholder", "");
        fs::hard_link(r.join("links2/p"), r.join("other/q")).unwrap();
        write(r, "links3/u", "u");
        write(r, "mvdir/h", "h");
        fs::create_dir_all(r.join("outside")).unwrap();
        fs::hard_link(r.join("mvdir/h"), r.join("outside/h2")).unwrap();
        write(r, "x/attr_file", "k");
        write(r, "x/attr_rm", "z");
        set_xattr(&r.join("x/attr_rm"), "user.z", b"zz");
        write(r, "x/chmod_only", "m");
        write(r, "x/chown_only", "o");
        write(r, "x/mtime_only", "t");
        write(r, "swap/a", "A");
        write(r, "swap/b", "B");
        symlink("target1", r.join("x/sym")).unwrap();
        for i in 0..200 {
            write(r, &format!("pad/{i:03}"), &format!("{i}"));
        }
    });

    // Round 1: a container of the init image, changed from the host side.
    let (ctr, r) = container(&t, &img);
    write(&r, "etc/motd", "changed\n");
    write(&r, "new/file", "new");
    write(&r, "new/dir/deep", "deep");
    fs::remove_file(r.join("data/gone")).unwrap();
    fs::remove_dir_all(r.join("data/dir_to_file")).unwrap();
    write(&r, "data/dir_to_file", "now a file");
    fs::remove_file(r.join("data/file_to_dir")).unwrap();
    write(&r, "data/file_to_dir/inside", "now a dir");
    fs::remove_dir_all(r.join("data/opaque")).unwrap();
    write(&r, "data/opaque/new1", "fresh");
    fs::rename(r.join("data/mv_src"), r.join("data/mv_dst")).unwrap();
    fs::write(r.join("links/one"), "shared, changed").unwrap();
    fs::write(r.join("links2/p"), "pq changed").unwrap();
    fs::hard_link(r.join("links3/u"), r.join("links3/v")).unwrap();
    fs::rename(r.join("mvdir"), r.join("mvdir2")).unwrap();
    fs::write(r.join("mvdir2/h"), "h changed").unwrap();
    set_xattr(&r.join("x/attr_file"), "user.k", b"v");
    remove_xattr(&r.join("x/attr_rm"), "user.z");
    fs::set_permissions(r.join("x/chmod_only"), fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::lchown(r.join("x/chown_only"), Some(1000), Some(1000)).unwrap();
    set_mtime(&r.join("x/mtime_only"), 1_000_000);
    fs::rename(r.join("swap/a"), r.join("swap/tmp")).unwrap();
    fs::rename(r.join("swap/b"), r.join("swap/a")).unwrap();
    fs::rename(r.join("swap/tmp"), r.join("swap/b")).unwrap();
    fs::remove_file(r.join("x/sym")).unwrap();
    symlink("target2", r.join("x/sym")).unwrap();
    let fifo = cstr(&r.join("new/fifo"));
    // SAFETY: a valid C string.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    let dev = cstr(&r.join("new/null"));
    // SAFETY: a valid C string; a character device 1:3 (as /dev/null).
    let made = unsafe { libc::mknod(dev.as_ptr(), libc::S_IFCHR | 0o666, libc::makedev(1, 3)) };
    assert_eq!(made, 0);
    let one = commit(&t, &ctr);
    let e = same_either_way(&t, &one, "one");
    for name in [
        "etc/motd",
        "new/dir/deep",
        "new/fifo",
        "new/null",
        "data/.wh.gone",
        "data/dir_to_file",
        "data/file_to_dir/inside",
        "data/opaque/.wh.old1",
        "data/opaque/new1",
        "data/.wh.mv_src",
        "data/mv_dst/sub/f",
        "links/one",
        "links/two",
        "other/q",
        "links3/v",
        "mvdir2/h",
        "outside/h2",
        "x/attr_file",
        "x/attr_rm",
        "x/chmod_only",
        "x/chown_only",
        "x/mtime_only",
        "swap/a",
        "swap/b",
        "x/sym",
    ] {
        assert!(has(&e, name), "{name} missing from the layer: {e:#?}");
    }
    for name in ["data/keep/a", "links3/u", "pad/000", "etc/passwd"] {
        assert!(
            !has(&e, name),
            "{name} is unchanged but in the layer: {e:#?}"
        );
    }

    // Round 2: on top of the committed (snapshot) layer, undo and redo some of it.
    let (ctr, r) = container(&t, &one);
    fs::remove_file(r.join("links/two")).unwrap();
    fs::rename(r.join("data/mv_dst"), r.join("data/mv_src2")).unwrap();
    fs::write(r.join("other/q"), "q again").unwrap();
    fs::remove_dir_all(r.join("new/dir")).unwrap();
    fs::rename(r.join("links3"), r.join("data/links3")).unwrap();
    write(&r, "pad/150", "rewritten");
    fs::remove_file(r.join("pad/151")).unwrap();
    let two = commit(&t, &ctr);
    let e = same_either_way(&t, &two, "two");
    for name in [
        "links/.wh.two",
        "data/.wh.mv_dst",
        "data/mv_src2/sub/f",
        "other/q",
        "links2/p",
        "new/.wh.dir",
        ".wh.links3",
        "data/links3/v",
        "pad/150",
        "pad/.wh.151",
    ] {
        assert!(has(&e, name), "{name} missing from the layer: {e:#?}");
    }
    assert!(!has(&e, "pad/149"), "{e:#?}");

    // An image that changed nothing: an empty layer both ways.
    let (ctr, _) = container(&t, &two);
    let three = commit(&t, &ctr);
    same_either_way(&t, &three, "three");
}
