//! Copying a directory tree into the store with everything that makes a rootfs:
//! owners, modes (setuid/setgid/sticky), mtimes, symlinks, hardlinks, xattrs, devices.
//!
//! The source is trusted (a directory the administrator named on `bocker init`); the
//! walk never follows symlinks, so a link in the source is copied as a link.

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::{lchown, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::sys::stat::{mknod, utimensat, Mode, SFlag, UtimensatFlags};
use nix::sys::time::TimeSpec;

use crate::error::{IoContext, Result, StoreError};

/// Copies the contents of directory `src` into existing directory `dst`; returns the
/// apparent size of the regular files copied (hardlinked inodes counted once).
pub fn copy_tree(src: &Path, dst: &Path) -> Result<u64> {
    let meta = fs::symlink_metadata(src).ctx("reading", src)?;
    if !meta.is_dir() {
        return Err(StoreError::io(
            "importing",
            src,
            std::io::Error::from(std::io::ErrorKind::NotADirectory),
        ));
    }
    let mut c = Copier::default();
    c.copy_children(src, dst)?;
    c.finish_node(src, dst, &meta)?;
    Ok(c.bytes)
}

#[derive(Default)]
struct Copier {
    /// (dev, ino) of multiply linked sources -> first destination path.
    links: HashMap<(u64, u64), PathBuf>,
    bytes: u64,
}

impl Copier {
    fn copy_children(&mut self, src: &Path, dst: &Path) -> Result<()> {
        let mut entries: Vec<_> = fs::read_dir(src)
            .ctx("listing", src)?
            .collect::<std::io::Result<_>>()
            .ctx("listing", src)?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let s = e.path();
            let d = dst.join(e.file_name());
            self.copy_node(&s, &d)?;
        }
        Ok(())
    }

    fn copy_node(&mut self, src: &Path, dst: &Path) -> Result<()> {
        let m = fs::symlink_metadata(src).ctx("reading", src)?;
        let ft = m.file_type();
        if !ft.is_dir() && m.nlink() > 1 {
            if let Some(first) = self.links.get(&(m.dev(), m.ino())) {
                return fs::hard_link(first, dst).ctx("linking", dst);
            }
            self.links.insert((m.dev(), m.ino()), dst.to_path_buf());
        }
        if ft.is_dir() {
            fs::create_dir(dst).ctx("creating", dst)?;
            self.copy_children(src, dst)?;
        } else if ft.is_symlink() {
            let target = fs::read_link(src).ctx("reading link", src)?;
            std::os::unix::fs::symlink(&target, dst).ctx("creating link", dst)?;
        } else if ft.is_file() {
            fs::copy(src, dst).ctx("copying", dst)?;
            self.bytes += m.len();
        } else {
            // Character and block devices, fifos and sockets keep their type and number.
            let kind = SFlag::from_bits_truncate(m.mode() & libc::S_IFMT);
            mknod(
                dst,
                kind,
                Mode::from_bits_truncate(m.mode() & 0o7777),
                m.rdev(),
            )
            .ctx("creating node", dst)?;
        }
        self.finish_node(src, dst, &m)
    }

    /// Owner, then mode (chown clears setuid bits), xattrs, then times (last, as
    /// everything before touches them).
    fn finish_node(&mut self, src: &Path, dst: &Path, m: &fs::Metadata) -> Result<()> {
        lchown(dst, Some(m.uid()), Some(m.gid())).ctx("setting owner of", dst)?;
        if !m.file_type().is_symlink() {
            fs::set_permissions(dst, fs::Permissions::from_mode(m.mode() & 0o7777))
                .ctx("setting mode of", dst)?;
        }
        copy_xattrs(src, dst)?;
        copy_times(dst, m)
    }
}

/// Copies the extended attributes of `src` onto `dst` (symlinks' own, not their targets').
fn copy_xattrs(src: &Path, dst: &Path) -> Result<()> {
    let names = match xattr::list(src) {
        Ok(n) => n,
        Err(e) if e.raw_os_error() == Some(libc::ENOTSUP) => return Ok(()),
        Err(e) => return Err(StoreError::io("listing xattrs of", src, e)),
    };
    for name in names {
        if let Some(value) = xattr::get(src, &name).ctx("reading xattr of", src)? {
            match xattr::set(dst, &name, &value) {
                Ok(()) => {}
                // A namespace the destination filesystem does not store.
                Err(e) if e.raw_os_error() == Some(libc::ENOTSUP) => {}
                Err(e) => return Err(StoreError::io("setting xattr on", dst, e)),
            }
        }
    }
    Ok(())
}

/// Sets `dst`'s access and modification times to those in `m`.
fn copy_times(dst: &Path, m: &fs::Metadata) -> Result<()> {
    let atime = TimeSpec::new(m.atime(), m.atime_nsec());
    let mtime = TimeSpec::new(m.mtime(), m.mtime_nsec());
    utimensat(
        nix::fcntl::AT_FDCWD,
        dst,
        &atime,
        &mtime,
        UtimensatFlags::NoFollowSymlink,
    )
    .ctx("setting times of", dst)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn preserves_types_modes_owners_links_xattrs_times() {
        let s = tempfile::tempdir().unwrap();
        let d = tempfile::tempdir().unwrap();
        let src = s.path();
        fs::create_dir(src.join("dir")).unwrap();
        fs::write(src.join("dir/file"), b"hello").unwrap();
        lchown(src.join("dir/file"), Some(1000), Some(1000)).unwrap();
        fs::set_permissions(src.join("dir/file"), fs::Permissions::from_mode(0o4755)).unwrap();
        fs::hard_link(src.join("dir/file"), src.join("hard")).unwrap();
        symlink("dir/file", src.join("rel")).unwrap();
        symlink("/nonexistent/abs", src.join("dangling")).unwrap();
        fs::create_dir(src.join("sticky")).unwrap();
        fs::set_permissions(src.join("sticky"), fs::Permissions::from_mode(0o1777)).unwrap();
        mknod(
            &src.join("null"),
            SFlag::S_IFCHR,
            Mode::from_bits_truncate(0o666),
            nix::sys::stat::makedev(1, 3),
        )
        .unwrap();
        let has_xattr = xattr::set(src.join("dir/file"), "user.bocker", b"v").is_ok();
        utimensat(
            nix::fcntl::AT_FDCWD,
            &src.join("dir"),
            &TimeSpec::new(1000, 0),
            &TimeSpec::new(2000, 0),
            UtimensatFlags::NoFollowSymlink,
        )
        .unwrap();

        let bytes = copy_tree(src, d.path()).unwrap();
        let dst = d.path();
        assert_eq!(bytes, 5, "hardlinked data counted once");
        let f = fs::symlink_metadata(dst.join("dir/file")).unwrap();
        assert_eq!(f.mode() & 0o7777, 0o4755, "setuid survives chown");
        assert_eq!((f.uid(), f.gid()), (1000, 1000));
        let h = fs::symlink_metadata(dst.join("hard")).unwrap();
        assert_eq!(h.ino(), f.ino(), "hardlink identity kept");
        assert_eq!(
            fs::read_link(dst.join("rel")).unwrap(),
            Path::new("dir/file")
        );
        assert_eq!(
            fs::read_link(dst.join("dangling")).unwrap(),
            Path::new("/nonexistent/abs")
        );
        assert_eq!(
            fs::symlink_metadata(dst.join("sticky")).unwrap().mode() & 0o7777,
            0o1777
        );
        let n = fs::symlink_metadata(dst.join("null")).unwrap();
        assert_eq!(n.rdev(), nix::sys::stat::makedev(1, 3));
        assert_eq!(
            fs::symlink_metadata(dst.join("dir")).unwrap().mtime(),
            2000,
            "dir mtime set after children"
        );
        if has_xattr {
            assert_eq!(
                xattr::get(dst.join("dir/file"), "user.bocker")
                    .unwrap()
                    .unwrap(),
                b"v"
            );
        }
    }

    #[test]
    fn refuses_a_non_directory() {
        let s = tempfile::tempdir().unwrap();
        fs::write(s.path().join("f"), b"x").unwrap();
        assert!(copy_tree(&s.path().join("f"), s.path()).is_err());
    }
}
