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
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

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
    prepare_joining(spec, steps, cgroups, &mut || Ok(()))
}

/// [`prepare`], with `before_cgroup` run before the cgroupfs is mounted
/// ([`apply::apply`]): the caller's cgroup join, after the mounts that do not need it.
pub fn prepare_joining(
    spec: &Spec,
    steps: &[MountStep],
    cgroups: &CgroupView,
    before_cgroup: &mut dyn FnMut() -> io::Result<()>,
) -> io::Result<OwnedFd> {
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
    apply::apply(root.as_raw_fd(), &rootfs, steps, cgroups, before_cgroup)?;
    Ok(root)
}

/// `open_tree(2)`'s "clone the tree" flag (linux/mount.h).
const OPEN_TREE_CLONE: libc::c_uint = 1;
/// `move_mount(2)`: the source and the target are the fds themselves (linux/mount.h).
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;

/// [`prepare`] of the current directory, the rootfs the init's creator entered before
/// cloning it (so that it is the copy in the init's mount namespace): in a user
/// namespace the container's root may not be allowed to walk the rootfs' path (a
/// bundle under a 0700 directory), while its cwd needs no walk. A recursive clone of
/// that tree (`open_tree`) is attached over it (`move_mount`); the clone's fd is the
/// new mount's root, what [`pivot`] enters.
pub fn prepare_cwd(steps: &[MountStep], cgroups: &CgroupView) -> io::Result<OwnedFd> {
    let flags =
        OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint | libc::AT_RECURSIVE as libc::c_uint;
    // SAFETY: open_tree on the cwd with a valid path; the result is a new fd we own.
    let fd = unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, c".".as_ptr(), flags) };
    let fd = sys::cvt_long(fd)
        .map_err(|e| io::Error::new(e.kind(), format!("cloning the rootfs tree: {e}")))?;
    // SAFETY: open_tree returned a new fd nobody else owns.
    let root = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd as RawFd) };
    let move_flags = MOVE_MOUNT_F_EMPTY_PATH;
    // SAFETY: move_mount of the fd we own onto the cwd; valid C strings.
    let r = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            root.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_FDCWD,
            c".".as_ptr(),
            move_flags,
        )
    };
    sys::cvt_long(r).map_err(|e| io::Error::new(e.kind(), format!("binding the rootfs: {e}")))?;
    apply::apply(
        root.as_raw_fd(),
        &sys::fd_path(root.as_raw_fd()),
        steps,
        cgroups,
        &mut || Ok(()),
    )?;
    Ok(root)
}
