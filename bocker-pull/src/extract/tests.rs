//! Unit tests of the extraction loop on hand-made tars (run as root: owners and xattrs).

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use super::{extract, WhiteoutStyle};

/// Append an entry with a raw (uncleaned) name.
fn add(b: &mut tar::Builder<Vec<u8>>, name: &str, kind: tar::EntryType, link: &str, data: &[u8]) {
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    h.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
    h.set_entry_type(kind);
    h.set_mode(if kind == tar::EntryType::Directory {
        0o755
    } else {
        0o644
    });
    h.set_size(data.len() as u64);
    h.set_mtime(1_500_000_000);
    h.set_cksum();
    b.append(&h, data).unwrap();
}

fn tar(entries: &[(&str, tar::EntryType, &str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (n, k, l, d) in entries {
        add(&mut b, n, *k, l, d);
    }
    b.into_inner().unwrap()
}

use tar::EntryType::{Directory as D, Regular as F, Symlink as S};

fn apply(dir: &Path, style: WhiteoutStyle, t: &[u8]) {
    extract(t, dir, style).unwrap().finish(&[]).unwrap();
}

#[test]
fn delete_style_whiteouts_and_opaque_dirs() {
    let d = tempfile::tempdir().unwrap();
    let l1 = tar(&[
        ("a", F, "", b"1"),
        ("dir/", D, "", b""),
        ("dir/old", F, "", b"o"),
        ("dir/sub/", D, "", b""),
    ]);
    let l2 = tar(&[
        (".wh.a", F, "", b""),
        ("dir/", D, "", b""),
        ("dir/.wh..wh..opq", F, "", b""),
        ("dir/new", F, "", b"n"),
    ]);
    apply(d.path(), WhiteoutStyle::Delete, &l1);
    apply(d.path(), WhiteoutStyle::Delete, &l2);
    assert!(!d.path().join("a").exists());
    assert!(!d.path().join("dir/old").exists() && !d.path().join("dir/sub").exists());
    assert_eq!(fs::read(d.path().join("dir/new")).unwrap(), b"n");
}

#[test]
fn overlay_style_writes_overlay_whiteouts() {
    let d = tempfile::tempdir().unwrap();
    let l = tar(&[
        (".wh.gone", F, "", b""),
        ("dir/.wh..wh..opq", F, "", b""),
        ("dir/x", F, "", b"x"),
    ]);
    apply(d.path(), WhiteoutStyle::Overlay, &l);
    let m = fs::symlink_metadata(d.path().join("gone")).unwrap();
    assert!(m.file_type().is_char_device() && m.rdev() == 0);
    let v = xattr_get(&d.path().join("dir"), "trusted.overlay.opaque");
    assert_eq!(v.as_deref(), Some(&b"y"[..]));
    assert!(!d.path().join(".wh.gone").exists());
}

fn xattr_get(p: &Path, name: &str) -> Option<Vec<u8>> {
    let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
    let n = std::ffi::CString::new(name).unwrap();
    let mut buf = [0u8; 64];
    // SAFETY: valid strings and buffer.
    let r = unsafe { libc::lgetxattr(c.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    (r >= 0).then(|| buf[..r as usize].to_vec())
}

#[test]
fn nothing_escapes_the_root() {
    let outer = tempfile::tempdir().unwrap();
    let root = outer.path().join("root");
    fs::create_dir(&root).unwrap();
    let outside = outer.path().join("outside");
    fs::create_dir(&outside).unwrap();
    let o = outside.to_str().unwrap();
    let l = tar(&[
        ("../outside/dotdot", F, "", b"x"),
        ("link", S, o, b""),
        ("link/through", F, "", b"x"),
        ("rel", S, "../../../../outside", b""),
        ("rel/through", F, "", b"x"),
    ]);
    apply(&root, WhiteoutStyle::Delete, &l);
    assert_eq!(
        fs::read_dir(&outside).unwrap().count(),
        0,
        "something escaped"
    );
    assert!(root.join("outside/dotdot").is_file());
    assert!(root.join(&o[1..]).join("through").is_file());
    assert!(root.join("outside/through").is_file());
}

#[test]
fn invalid_whiteouts_are_refused() {
    for n in [".wh..", ".wh...", ".wh."] {
        let d = tempfile::tempdir().unwrap();
        let err = extract(
            &tar(&[(n, F, "", b"")])[..],
            d.path(),
            WhiteoutStyle::Delete,
        )
        .err()
        .unwrap();
        assert!(err.to_string().contains("invalid whiteout"), "{n}: {err}");
    }
}

#[test]
fn pax_size_lies_are_refused() {
    for lie in ["0", "100", "1073741824"] {
        let mut b = tar::Builder::new(Vec::new());
        b.append_pax_extensions([("size", lie.as_bytes())]).unwrap();
        add(&mut b, "liar", F, "", &[b'A'; 2000]);
        add(&mut b, "after", F, "", b"x");
        let t = b.into_inner().unwrap();
        let d = tempfile::tempdir().unwrap();
        let r = extract(&t[..], d.path(), WhiteoutStyle::Delete);
        assert!(r.is_err(), "PAX size {lie} must not parse");
    }
}

/// A device entry with numbers, owner and mode.
fn device(b: &mut tar::Builder<Vec<u8>>, name: &str, kind: tar::EntryType, major: u32, minor: u32) {
    let mut h = tar::Header::new_ustar();
    h.set_path(name).unwrap();
    h.set_entry_type(kind);
    h.set_mode(0o4620);
    h.set_uid(1000);
    h.set_gid(6);
    h.set_device_major(major).unwrap();
    h.set_device_minor(minor).unwrap();
    h.set_size(0);
    h.set_mtime(1_500_000_000);
    h.set_cksum();
    b.append(&h, &[][..]).unwrap();
}

#[test]
fn device_nodes_are_created_with_numbers_owner_and_mode() {
    // Docker 20.10 extracts char and block devices with the layer's metadata.
    for style in [WhiteoutStyle::Delete, WhiteoutStyle::Overlay] {
        let outer = tempfile::tempdir().unwrap();
        let root = outer.path().join("root");
        fs::create_dir(&root).unwrap();
        let victim = outer.path().join("victim");
        fs::write(&victim, b"host file").unwrap();
        let mut b = tar::Builder::new(Vec::new());
        add(&mut b, "opt/", D, "", b"");
        // A symlink to a host file, then a device under its name: the link is replaced.
        add(&mut b, "opt/link", S, victim.to_str().unwrap(), b"");
        device(&mut b, "opt/link", tar::EntryType::Block, 8, 0);
        device(&mut b, "opt/mem", tar::EntryType::Char, 1, 1);
        let t = b.into_inner().unwrap();
        apply(&root, style, &t);
        let blk = fs::symlink_metadata(root.join("opt/link")).unwrap();
        assert!(blk.file_type().is_block_device(), "{style:?}");
        assert_eq!(blk.rdev(), libc::makedev(8, 0));
        let chr = fs::symlink_metadata(root.join("opt/mem")).unwrap();
        assert!(chr.file_type().is_char_device());
        assert_eq!(chr.rdev(), libc::makedev(1, 1));
        for m in [&blk, &chr] {
            assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (1000, 6, 0o4620));
            assert_eq!(m.mtime(), 1_500_000_000);
        }
        let host = fs::symlink_metadata(&victim).unwrap();
        assert!(host.is_file() && host.mode() & 0o7777 != 0o4620 && host.uid() == 0);
        assert_eq!(fs::read(&victim).unwrap(), b"host file");
    }
}
