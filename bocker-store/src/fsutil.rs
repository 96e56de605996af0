//! Small filesystem facts and removal that understands mounts and btrfs subvolumes.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::error::{IoContext, Result, StoreError};

/// `statfs` magic of btrfs.
pub const BTRFS_MAGIC: i64 = 0x9123_683e;
/// `statfs` magic of overlayfs.
pub const OVERLAY_MAGIC: i64 = 0x794c_7630;
/// Inode number of every btrfs subvolume root.
const BTRFS_FIRST_FREE_OBJECTID: u64 = 256;

/// The filesystem type (statfs magic) holding `path`.
pub fn fs_magic(path: &Path) -> Result<i64> {
    let st = nix::sys::statfs::statfs(path).ctx("inspecting filesystem of", path)?;
    // The field's integer type differs between libcs; the magic fits in 32 bits.
    #[allow(clippy::unnecessary_cast)]
    Ok(st.filesystem_type().0 as i64)
}

/// True when `path` is the root of a btrfs subvolume.
pub fn is_subvolume(path: &Path) -> bool {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() && m.ino() == BTRFS_FIRST_FREE_OBJECTID => {
            fs_magic(path).map(|t| t == BTRFS_MAGIC).unwrap_or(false)
        }
        _ => false,
    }
}

/// Removes `path` whatever it is: detaches a mount on it, destroys btrfs subvolumes
/// (fast, without walking them), removes trees. Missing paths are fine.
pub fn remove_path(path: &Path) -> Result<()> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(StoreError::io("inspecting", path, e)),
    };
    if !meta.is_dir() {
        return fs::remove_file(path)
            .or_else(ignore_missing)
            .ctx("removing", path);
    }
    if let Some(parent) = path.parent() {
        let parent_dev = fs::symlink_metadata(parent)
            .map(|m| m.dev())
            .unwrap_or(meta.dev());
        if parent_dev != meta.dev() {
            // A mount point (or a subvolume, which also has its own st_dev).
            let _ = nix::mount::umount2(path, nix::mount::MntFlags::MNT_DETACH);
        }
    }
    if is_subvolume(path) && crate::driver::btrfs::destroy_subvolume(path).is_ok() {
        return Ok(());
    }
    for entry in fs::read_dir(path).ctx("listing", path)? {
        let entry = entry.ctx("listing", path)?;
        remove_path(&entry.path())?;
    }
    fs::remove_dir(path)
        .or_else(ignore_missing)
        .ctx("removing", path)
}

fn ignore_missing(e: io::Error) -> io::Result<()> {
    if e.kind() == io::ErrorKind::NotFound {
        Ok(())
    } else {
        Err(e)
    }
}

/// Apparent size of the regular files under `path` (each hardlinked inode once).
pub fn tree_size(path: &Path) -> u64 {
    let mut seen = std::collections::HashSet::new();
    let mut total = 0;
    let mut stack = vec![path.to_path_buf()];
    while let Some(p) = stack.pop() {
        let Ok(rd) = fs::read_dir(&p) else { continue };
        for e in rd.flatten() {
            let Ok(m) = e.metadata() else { continue };
            if m.is_dir() {
                stack.push(e.path());
            } else if m.is_file() && (m.nlink() == 1 || seen.insert((m.dev(), m.ino()))) {
                total += m.len();
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_trees_files_and_missing_paths() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path().join("t");
        fs::create_dir_all(t.join("a/b")).unwrap();
        fs::write(t.join("a/b/f"), b"1234").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", t.join("a/link")).unwrap();
        assert_eq!(tree_size(&t), 4);
        remove_path(&t).unwrap();
        assert!(!t.exists());
        assert!(
            Path::new("/etc/passwd").exists(),
            "symlink target must survive"
        );
        remove_path(&t).unwrap();
    }

    #[test]
    fn tree_size_counts_hardlinks_once() {
        let d = tempfile::tempdir().unwrap();
        fs::write(d.path().join("a"), vec![0u8; 100]).unwrap();
        fs::hard_link(d.path().join("a"), d.path().join("b")).unwrap();
        assert_eq!(tree_size(d.path()), 100);
    }
}
