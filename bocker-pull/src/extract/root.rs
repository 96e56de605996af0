//! The layer's directory as a root: bocker-sys's one safe-path layer (openat2
//! `RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS`, depth-safe removal), re-exported under the
//! names the extraction code uses. See bocker-sys's `root` and `remove` modules.

pub use bocker_sys::remove::{empty_dir, remove_all_at};
pub use bocker_sys::root::{RelPath, Root};
pub use bocker_sys::sys::{cstr, cvt, lstat_at, open_dir_at, readlinkat};
