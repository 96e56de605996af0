//! The container's filesystem, built inside its new mount namespace from the OCI spec:
//! the rootfs bind, then the [`steps`] computed from `mounts`, `linux.maskedPaths`,
//! `linux.readonlyPaths` and `root.readonly`, [`apply`]'d in order (the container's
//! cgroups by [`cgroupfs`]); then [`pivot`].

pub mod apply;
pub mod cgroupfs;
pub mod copy_up;
pub mod pivot;
pub mod steps;

use crate::sys::{self, cpath};
use oci_spec::runtime::Spec;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

pub use cgroupfs::CgroupView;
pub use pivot::{enter_workdir, make_workdir, pivot};
pub use steps::{MountStep, StepError};

/// Stop mount propagation to and from the host: must come before any mount in the
/// container's namespace (the rootfs mount included), or it would appear on the host.
pub fn make_private() -> io::Result<()> {
    sys::mount(None, c"/", None, libc::MS_REC | libc::MS_PRIVATE, None)
        .map_err(|e| io::Error::new(e.kind(), format!("making / private: {e}")))
}

/// Bind `root.path` onto itself and build the filesystem of `steps` under it (`cgroups`:
/// what the spec's `cgroup` mount shows); returns an fd of the root for [`pivot`]. Call
/// [`make_private`] first.
pub fn prepare(spec: &Spec, steps: &[MountStep], cgroups: &CgroupView) -> io::Result<OwnedFd> {
    let path = spec
        .root()
        .as_ref()
        .map(|r| r.path().clone())
        .unwrap_or_default();
    let rootfs = cpath(&path)?;
    sys::mount(
        Some(&rootfs),
        &rootfs,
        None,
        libc::MS_BIND | libc::MS_REC,
        None,
    )
    .map_err(|e| io::Error::new(e.kind(), format!("binding rootfs {}: {e}", path.display())))?;
    let root = sys::open(&rootfs, libc::O_PATH | libc::O_DIRECTORY)?;
    apply::apply(root.as_raw_fd(), &rootfs, steps, cgroups)?;
    Ok(root)
}
