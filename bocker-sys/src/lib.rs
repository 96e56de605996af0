//! `bocker-sys`: the one safe-path and syscall layer every bocker crate shares.
//!
//! - [`sys`]: thin, typed wrappers over the raw syscalls (the only place `libc` calls
//!   live for the crates that use this one).
//! - [`root`]: a directory used as a root; paths from images and users are resolved
//!   inside it by the kernel (`openat2` with `RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS`).
//! - [`path`]: the same layer over raw fds and `&str` paths, the shape bocker-run's
//!   rootfs code uses.
//! - [`remove`]: removing a tree that a container, an image or a user wrote, at any depth,
//!   without recursion and without ever following a symlink out of it.

pub mod path;
pub mod remove;
pub mod root;
pub mod sys;

pub use remove::{empty_dir, remove_all_at};
pub use root::{RelPath, Root};
