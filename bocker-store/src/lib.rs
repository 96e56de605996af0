//! `bocker-store`: the on-disk store every bocker verb shares.
//!
//! It owns the root directory and its layout, collision-free ids, image and container
//! records (JSON written atomically beside — never inside — a rootfs), name and tag
//! resolution, the store lock and crash journals, garbage collection, and the snapshot
//! drivers (btrfs and overlay) behind one trait. See docs/STORE-API.md.

pub mod atomic;
pub mod cli;
pub mod docker_fields;
pub mod docker_inspect;
pub mod docker_ps;
pub mod driver;
pub mod error;
pub mod format;
pub mod fsutil;
pub mod gc;
pub mod id;
pub mod image_config;
pub mod image_list;
pub mod image_refs;
pub mod import;
pub mod journal;
pub mod layer_digests;
pub mod live;
pub mod liveness;
pub mod lock;
pub mod log;
pub mod names;
pub mod record;
pub mod remove;
pub mod resolve;
pub mod store;
pub mod time;
pub mod volume;

pub use driver::{Durability, SnapshotDriver, StagedLayer, WhiteoutStyle};
pub use error::{Result, StoreError};
pub use id::{ContainerId, ImageId};
pub use journal::Journal;
pub use live::LiveEntry;
pub use record::{
    ContainerConfig, ContainerRecord, ContainerState, History, ImageConfig, ImageRecord, Status,
};
pub use store::{Buried, Store, Unwatched};
