//! `bocker-commit`: a container's filesystem and config saved as an image.
//!
//! The snapshot itself is the store driver's (`SnapshotDriver::commit_container`: a
//! btrfs snapshot, or an overlay diff layer copied from the upper dir); this crate picks
//! the target (`target`), builds the config and history as `docker commit` does
//! (`config`, `change`) and writes its own image config blob (`config_blob`), pauses a running container through its freezer cgroup, and
//! writes the image record under the store's lock and journal (`commit`).

pub mod change;
pub mod commit;
pub mod config;
pub mod config_blob;
pub mod target;

pub use commit::{commit, CommitError, Committed, Options};
pub use target::Target;
