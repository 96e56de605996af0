//! The btrfs driver: layers and containers are subvolumes; containers are snapshots.

use std::ffi::CString;
use std::fs::{self, File};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::{staging_name, SnapshotDriver, StagedLayer, WhiteoutStyle};
use crate::error::{IoContext, Result, StoreError};
use crate::journal::Journal;

const BTRFS_IOCTL_MAGIC: u8 = 0x94;
const BTRFS_SUBVOL_RDONLY: u64 = 1 << 1;

/// `struct btrfs_ioctl_vol_args` (linux/btrfs.h): 4096 bytes.
#[repr(C)]
struct VolArgs {
    fd: i64,
    name: [u8; 4088],
}

/// `struct btrfs_ioctl_vol_args_v2` (linux/btrfs.h): 4096 bytes.
#[repr(C)]
struct VolArgsV2 {
    fd: i64,
    transid: u64,
    flags: u64,
    unused: [u64; 4],
    name: [u8; 4040],
}

nix::ioctl_write_ptr!(ioc_subvol_create, BTRFS_IOCTL_MAGIC, 14, VolArgs);
nix::ioctl_write_ptr!(ioc_snap_destroy, BTRFS_IOCTL_MAGIC, 15, VolArgs);
nix::ioctl_write_ptr!(ioc_snap_create_v2, BTRFS_IOCTL_MAGIC, 23, VolArgsV2);
nix::ioctl_read!(ioc_subvol_getflags, BTRFS_IOCTL_MAGIC, 25, u64);
nix::ioctl_write_ptr!(ioc_subvol_setflags, BTRFS_IOCTL_MAGIC, 26, u64);

fn split(path: &Path) -> Result<(File, CString)> {
    let parent = path.parent().unwrap_or(Path::new("/"));
    let name = path.file_name().ok_or_else(|| {
        StoreError::io(
            "naming subvolume",
            path,
            std::io::Error::from(std::io::ErrorKind::InvalidInput),
        )
    })?;
    let dir = File::open(parent).ctx("opening", parent)?;
    let c = CString::new(name.as_bytes())
        .map_err(|e| StoreError::io("naming subvolume", path, e.into()))?;
    Ok((dir, c))
}

fn fill(dst: &mut [u8], name: &CString, path: &Path) -> Result<()> {
    let b = name.as_bytes();
    if b.len() >= dst.len() {
        return Err(StoreError::io(
            "naming subvolume",
            path,
            std::io::Error::from(std::io::ErrorKind::InvalidFilename),
        ));
    }
    dst[..b.len()].copy_from_slice(b);
    Ok(())
}

/// Creates an empty subvolume at `path`.
pub fn create_subvolume(path: &Path) -> Result<()> {
    let (dir, name) = split(path)?;
    let mut args = VolArgs {
        fd: 0,
        name: [0; 4088],
    };
    fill(&mut args.name, &name, path)?;
    // SAFETY: `args` is a properly sized, initialised btrfs_ioctl_vol_args; `dir` is open.
    unsafe { ioc_subvol_create(dir.as_raw_fd(), &args) }.ctx("creating subvolume", path)?;
    Ok(())
}

/// Snapshots subvolume `src` to the new path `dst`, read-only or writable.
pub fn snapshot(src: &Path, dst: &Path, read_only: bool) -> Result<()> {
    let source = File::open(src).ctx("opening subvolume", src)?;
    let (dir, name) = split(dst)?;
    let mut args = VolArgsV2 {
        fd: i64::from(source.as_raw_fd()),
        transid: 0,
        flags: if read_only { BTRFS_SUBVOL_RDONLY } else { 0 },
        unused: [0; 4],
        name: [0; 4040],
    };
    fill(&mut args.name, &name, dst)?;
    // SAFETY: `args` is a properly sized, initialised btrfs_ioctl_vol_args_v2.
    unsafe { ioc_snap_create_v2(dir.as_raw_fd(), &args) }.ctx("snapshotting into", dst)?;
    Ok(())
}

/// Destroys the subvolume at `path` (read-only ones too).
pub fn destroy_subvolume(path: &Path) -> Result<()> {
    let (dir, _) = split(path)?;
    let name = path.file_name().map(Path::new).unwrap_or(path);
    destroy_subvolume_at(dir.as_fd(), name).map_err(|e| match e {
        StoreError::Io { source, .. } => StoreError::io("deleting subvolume", path, source),
        other => other,
    })
}

/// Destroys subvolume `name` of the open directory `dir` (no path is resolved).
pub(crate) fn destroy_subvolume_at(dir: BorrowedFd<'_>, name: &Path) -> Result<()> {
    let c = CString::new(name.as_os_str().as_bytes())
        .map_err(|e| StoreError::io("naming subvolume", name, e.into()))?;
    let mut args = VolArgs {
        fd: 0,
        name: [0; 4088],
    };
    fill(&mut args.name, &c, name)?;
    // SAFETY: `args` is a properly sized, initialised btrfs_ioctl_vol_args; `dir` is open.
    unsafe { ioc_snap_destroy(dir.as_raw_fd(), &args) }.ctx("deleting subvolume", name)?;
    Ok(())
}

/// Marks the subvolume at `path` read-only.
pub fn set_read_only(path: &Path) -> Result<()> {
    let f = File::open(path).ctx("opening subvolume", path)?;
    let mut flags: u64 = 0;
    // SAFETY: the ioctl writes one u64 into `flags`.
    unsafe { ioc_subvol_getflags(f.as_raw_fd(), &mut flags) }.ctx("reading flags of", path)?;
    flags |= BTRFS_SUBVOL_RDONLY;
    // SAFETY: the ioctl reads one u64 from `flags`.
    unsafe { ioc_subvol_setflags(f.as_raw_fd(), &flags) }.ctx("making read-only", path)?;
    Ok(())
}

/// The btrfs snapshot driver.
pub struct Btrfs {
    layers: PathBuf,
}

impl Btrfs {
    /// The driver for the store at `root`.
    pub fn new(root: &Path) -> Btrfs {
        Btrfs {
            layers: root.join("layers"),
        }
    }
}

/// Checks that `root` is on btrfs.
pub fn probe(root: &Path) -> Result<()> {
    if crate::fsutil::fs_magic(root)? != crate::fsutil::BTRFS_MAGIC {
        return Err(StoreError::DriverUnusable {
            driver: "btrfs".into(),
            root: root.to_path_buf(),
            reason: "it is not a btrfs filesystem (scripts/btrfs-loop.sh makes one)".into(),
        });
    }
    Ok(())
}

impl SnapshotDriver for Btrfs {
    fn name(&self) -> &'static str {
        "btrfs"
    }

    fn whiteout_style(&self) -> WhiteoutStyle {
        WhiteoutStyle::Delete
    }

    fn layer_path(&self, key: &str) -> PathBuf {
        self.layers.join(key)
    }

    fn create_layer(&self, p: &mut Journal, parent: Option<&str>) -> Result<StagedLayer> {
        if let Some(k) = parent {
            super::check_layers(&self.layers, &[k.to_string()])?;
        }
        let path = self.layers.join(staging_name());
        p.add(&path)?;
        match parent {
            Some(k) => snapshot(&self.layer_path(k), &path, false)?,
            None => create_subvolume(&path)?,
        }
        Ok(StagedLayer { path })
    }

    fn commit_layer(&self, staged: StagedLayer, key: &str) -> Result<()> {
        let dst = self.layer_path(key);
        if super::is_valid_layer_key(key) && !dst.exists() {
            set_read_only(&staged.path)?;
        }
        super::publish_layer(&staged.path, &dst, key)
    }

    fn create_container(&self, ctr_dir: &Path, layers: &[String]) -> Result<()> {
        super::check_layers(&self.layers, layers)?;
        let rootfs = super::rootfs_of(ctr_dir);
        match layers.last() {
            Some(top) => snapshot(&self.layer_path(top), &rootfs, false),
            None => create_subvolume(&rootfs),
        }
    }

    fn mount_container(
        &self,
        _ctr_dir: &Path,
        _layers: &[String],
        _d: super::Durability,
    ) -> Result<()> {
        Ok(())
    }

    fn remove_container(&self, ctr_dir: &Path) -> Result<()> {
        crate::fsutil::remove_path(&super::rootfs_of(ctr_dir))
    }

    /// One read-only snapshot of the container's subvolume: constant time whatever the
    /// image's size. The new layer is a full tree (as every btrfs layer); it goes on top
    /// of `layers` so the image keeps its ancestry (a later diff against the parent).
    fn commit_container(
        &self,
        p: &mut Journal,
        ctr_dir: &Path,
        layers: &[String],
    ) -> Result<Vec<String>> {
        let key = super::local_layer_key();
        let staged = self.layers.join(staging_name());
        p.add(&staged)?;
        snapshot(&super::rootfs_of(ctr_dir), &staged, true)?;
        let dst = self.layer_path(&key);
        fs::rename(&staged, &dst).ctx("committing layer", &dst)?;
        let mut out = layers.to_vec();
        out.push(key);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ioctl_argument_layouts_match_the_kernel() {
        assert_eq!(std::mem::size_of::<VolArgs>(), 4096);
        assert_eq!(std::mem::size_of::<VolArgsV2>(), 4096);
    }
}
