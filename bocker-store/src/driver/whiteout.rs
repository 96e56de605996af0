//! Overlayfs's on-disk markers in a committed diff layer.
//!
//! A deletion is a 0/0 character device and a replaced directory carries
//! `trusted.overlay.opaque=y` (Documentation/filesystems/overlayfs.rst, "whiteouts and
//! opaque directories"); both keep their meaning when the diff becomes a lower layer.
//! The other `trusted.overlay.*` attributes an upper dir collects (`origin`, `impure`,
//! `nlink`, …) name inodes of the host they were made on, so a layer must not keep them.

use std::fs;
use std::path::Path;

use crate::error::{IoContext, Result, StoreError};

/// The xattr that marks an opaque directory.
pub const OPAQUE_XATTR: &str = "trusted.overlay.opaque";

/// True for an overlay private xattr a layer must not carry (every `trusted.overlay.*`
/// but the opaque marker).
pub fn is_private_xattr(name: &str) -> bool {
    name.starts_with("trusted.overlay.") && name != OPAQUE_XATTR
}

/// Removes overlay's private xattrs from every entry under `dir` (itself included).
/// `dir` is a freshly made layer inside the store: nobody else writes there.
pub fn strip_private_xattrs(dir: &Path) -> Result<()> {
    strip_one(dir)?;
    for e in fs::read_dir(dir).ctx("listing", dir)? {
        let e = e.ctx("listing", dir)?;
        let ft = e.file_type().ctx("reading", &e.path())?;
        if ft.is_dir() {
            strip_private_xattrs(&e.path())?;
        } else if !ft.is_symlink() {
            strip_one(&e.path())?;
        }
    }
    Ok(())
}

fn strip_one(path: &Path) -> Result<()> {
    let names = match xattr::list(path) {
        Ok(n) => n,
        Err(e) if e.raw_os_error() == Some(libc::ENOTSUP) => return Ok(()),
        Err(e) => return Err(StoreError::io("listing xattrs of", path, e)),
    };
    for name in names {
        if name.to_str().is_some_and(is_private_xattr) {
            xattr::remove(path, &name).ctx("removing xattr of", path)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_opaque_marker_is_kept() {
        assert!(!is_private_xattr(OPAQUE_XATTR));
        assert!(is_private_xattr("trusted.overlay.origin"));
        assert!(is_private_xattr("trusted.overlay.impure"));
        assert!(!is_private_xattr("user.overlay.origin"));
        assert!(!is_private_xattr("security.capability"));
    }

    #[test]
    fn private_xattrs_are_stripped_and_opaque_kept() {
        let d = tempfile::tempdir().unwrap();
        let sub = d.path().join("dir");
        fs::create_dir(&sub).unwrap();
        fs::write(sub.join("f"), b"x").unwrap();
        // trusted.* needs CAP_SYS_ADMIN and a filesystem that stores it.
        if xattr::set(&sub, OPAQUE_XATTR, b"y").is_err() {
            return;
        }
        xattr::set(&sub, "trusted.overlay.impure", b"y").unwrap();
        xattr::set(sub.join("f"), "trusted.overlay.origin", b"\0\x01").unwrap();
        strip_private_xattrs(d.path()).unwrap();
        assert_eq!(
            xattr::get(&sub, OPAQUE_XATTR).unwrap().as_deref(),
            Some(&b"y"[..])
        );
        assert_eq!(xattr::get(&sub, "trusted.overlay.impure").unwrap(), None);
        assert_eq!(
            xattr::get(sub.join("f"), "trusted.overlay.origin").unwrap(),
            None
        );
    }

    #[test]
    fn copying_an_upper_dir_keeps_the_opaque_marker_of_directories() {
        let d = tempfile::tempdir().unwrap();
        let (src, dst) = (d.path().join("src"), d.path().join("dst"));
        fs::create_dir_all(src.join("dir")).unwrap();
        fs::create_dir(&dst).unwrap();
        if xattr::set(src.join("dir"), OPAQUE_XATTR, b"y").is_err() {
            return;
        }
        crate::import::copy_tree(&src, &dst).unwrap();
        assert_eq!(
            xattr::get(dst.join("dir"), OPAQUE_XATTR)
                .unwrap()
                .as_deref(),
            Some(&b"y"[..])
        );
    }
}
