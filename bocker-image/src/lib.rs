//! bocker-image: images as OCI blobs and archives, both ways.
//!
//! [`diff`] turns a layer of the store into a reproducible OCI layer tar ([`btrfs_send`]
//! finds where two btrfs snapshots differ, [`tarball`]
//! writes its entries, [`pgzip`] compresses them on every core); [`export`] makes an image's config and layer blobs (the stored
//! blobs of pulled layers, diffs for the others); [`archive`] writes `docker save`
//! archives and OCI image layouts; [`load`] reads them back, verified, through
//! bocker-pull's extractor; [`init_config`] is the config `bocker init` writes for an
//! imported tree. Design: docs/IMAGES.md.

pub mod archive;
pub mod btrfs_send;
pub mod diff;
pub mod export;
pub mod init_config;
pub mod load;
pub mod pgzip;
pub mod tarball;

use std::io;
use std::path::Path;

/// Why an image could not be saved or loaded.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error(transparent)]
    Store(#[from] bocker_store::StoreError),
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
    /// The archive is malformed or hostile (one line, what and where).
    #[error("{0}")]
    Invalid(String),
}

impl ImageError {
    /// `map_err` helper naming the file an I/O error is about.
    pub fn io(path: &Path) -> impl FnOnce(io::Error) -> ImageError + '_ {
        move |source| ImageError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}
