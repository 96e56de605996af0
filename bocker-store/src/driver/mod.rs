//! Snapshot drivers: how layers and container filesystems are stored.
//!
//! `btrfs` keeps every layer as a read-only subvolume holding the full tree up to that
//! layer, and makes containers and commits by snapshot (the seed's way). `overlay`
//! keeps every layer as a directory holding only its diff, and a container is an
//! overlay mount of its image's layers under its own upper dir (Docker's overlay2).

pub mod btrfs;
pub mod overlay;
pub mod whiteout;

use std::path::{Path, PathBuf};

use crate::error::{Result, StoreError};
use crate::journal::Journal;

/// How a layer's whiteouts must be written by an extractor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhiteoutStyle {
    /// The staged layer is a full tree (a snapshot of its parent): delete what is whited out.
    Delete,
    /// The staged layer is an empty diff dir: write overlayfs whiteouts (0/0 char devices,
    /// `trusted.overlay.opaque=y`).
    Overlay,
}

/// Whether a container's writable layer must reach the disk when it is unmounted.
///
/// Unmounting an overlay makes the kernel `syncfs` its upper filesystem: the whole
/// filesystem under the store, journal commit and cache flush included, on the path of
/// every container exit. `Volatile` mounts with overlayfs's `volatile` option (Linux
/// 5.10, Documentation/filesystems/overlayfs.rst "Volatile mount"), which skips it; the
/// layer may then be lost in a host crash. Podman does this for `--rm` containers
/// (podman#10220), whose layer is thrown away at exit anyway. Btrfs has no such sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Synced at unmount (the kernel's default; Docker's).
    Synced,
    /// Not synced: for a container removed when it exits (`--rm`).
    Volatile,
}

/// A layer being written; commit it with `SnapshotDriver::commit_layer`.
#[derive(Debug)]
pub struct StagedLayer {
    /// The writable directory to fill.
    pub path: PathBuf,
}

/// The seam between the store and a snapshot technology.
pub trait SnapshotDriver: Send + Sync {
    /// `btrfs` or `overlay`.
    fn name(&self) -> &'static str;
    /// How extractors must express whiteouts in layers of this driver.
    fn whiteout_style(&self) -> WhiteoutStyle;
    /// Where the committed layer `key` lives.
    fn layer_path(&self, key: &str) -> PathBuf;
    /// True when the committed layer `key` exists.
    fn layer_exists(&self, key: &str) -> bool {
        self.layer_path(key).exists()
    }
    /// Starts a new layer on top of `parent`; registered in `p` until committed.
    fn create_layer(&self, p: &mut Journal, parent: Option<&str>) -> Result<StagedLayer>;
    /// Seals `staged` as layer `key` (atomic); if `key` exists already, drops `staged`.
    fn commit_layer(&self, staged: StagedLayer, key: &str) -> Result<()>;
    /// Creates the container filesystem in `ctr_dir` from an image's `layers`.
    fn create_container(&self, ctr_dir: &Path, layers: &[String]) -> Result<()>;
    /// Makes `ctr_dir/rootfs` usable. Overlay mounts it: call this inside the container's
    /// own mount namespace so the mount dies with it. Btrfs: nothing to do.
    fn mount_container(&self, ctr_dir: &Path, layers: &[String], d: Durability) -> Result<()>;
    /// Removes the container filesystem (unmounting it if needed).
    fn remove_container(&self, ctr_dir: &Path) -> Result<()>;
    /// Saves the container's filesystem as new layer(s); returns the new image's layer list.
    fn commit_container(
        &self,
        p: &mut Journal,
        ctr_dir: &Path,
        layers: &[String],
    ) -> Result<Vec<String>>;
}

/// The container's root filesystem path inside its directory.
pub fn rootfs_of(ctr_dir: &Path) -> PathBuf {
    ctr_dir.join("rootfs")
}

/// Picks the driver for a store root: `requested` (BOCKER_DRIVER) or by filesystem type.
pub fn select(root: &Path, requested: Option<&str>) -> Result<Box<dyn SnapshotDriver>> {
    let name = match requested {
        Some(n) => n.to_string(),
        None => {
            if crate::fsutil::fs_magic(root)? == crate::fsutil::BTRFS_MAGIC {
                "btrfs".into()
            } else {
                "overlay".into()
            }
        }
    };
    open(root, &name)
}

/// Opens the driver called `name` for `root`, without probing it.
pub fn open(root: &Path, name: &str) -> Result<Box<dyn SnapshotDriver>> {
    match name {
        "btrfs" => Ok(Box::new(btrfs::Btrfs::new(root))),
        "overlay" => Ok(Box::new(overlay::Overlay::new(root))),
        other => Err(StoreError::UnknownDriver(other.to_string())),
    }
}

/// Checks that `driver` can work at `root` (done once, when a store is created).
pub fn probe(root: &Path, name: &str) -> Result<()> {
    match name {
        "btrfs" => btrfs::probe(root),
        "overlay" => overlay::probe(root),
        other => Err(StoreError::UnknownDriver(other.to_string())),
    }
}

/// A fresh name for a staging directory under `layers/`.
pub(crate) fn staging_name() -> String {
    format!(".tmp-{}", &crate::id::random(crate::id::Kind::Image)[4..])
}

/// True for a layer key that is one plain file name under `layers/` and safe inside
/// overlayfs mount options: `[A-Za-z0-9_-]` and `.` (not first), at most 128 bytes.
/// (`:` and `,` would split overlay's `lowerdir=`; a leading `.` is a staging dir.)
pub fn is_valid_layer_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 128
        && !key.starts_with('.')
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// `Ok` when every key in `keys` is valid and its layer exists in `layers_dir`.
pub(crate) fn check_layers(layers_dir: &Path, keys: &[String]) -> Result<()> {
    for k in keys {
        let path = layers_dir.join(k);
        if !is_valid_layer_key(k) {
            return Err(StoreError::io(
                "using layer",
                path,
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "invalid layer key"),
            ));
        }
        if !path.is_dir() {
            return Err(StoreError::io(
                "using layer",
                path,
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "the layer is gone (was its image removed meanwhile?)",
                ),
            ));
        }
    }
    Ok(())
}

/// Moves the finished `staged` layer to `dst` (the name `key`); if another writer
/// committed the same key first (same content address), drops ours.
pub(crate) fn publish_layer(staged: &Path, dst: &Path, key: &str) -> Result<()> {
    if !is_valid_layer_key(key) {
        return Err(StoreError::io(
            "committing layer",
            dst,
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "invalid layer key"),
        ));
    }
    if dst.exists() {
        return crate::fsutil::remove_path(staged);
    }
    match std::fs::rename(staged, dst) {
        Ok(()) => Ok(()),
        Err(_) if dst.exists() => crate::fsutil::remove_path(staged),
        Err(e) => Err(StoreError::io("committing layer", dst, e)),
    }
}

/// A fresh key for a layer that has no content address (init, commit).
pub fn local_layer_key() -> String {
    let a = crate::id::random(crate::id::Kind::Image);
    let b = crate::id::random(crate::id::Kind::Image);
    format!("local-{}{}", &a[4..], &b[4..])
}
