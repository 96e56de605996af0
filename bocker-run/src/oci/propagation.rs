//! `linux.rootfsPropagation` (runtime spec config-linux.md "Rootfs Mount Propagation"):
//! the propagation of the container's `/`, set after `pivot_root` as runc does.

use crate::sys;
use oci_spec::runtime::Spec;
use std::io;

/// The mount flags of a `linux.rootfsPropagation` value (runtime spec: `shared`,
/// `slave`, `private`, `unbindable`, their `r` forms); `None` for anything else.
pub fn flags(p: &str) -> Option<libc::c_ulong> {
    let (rec, kind) = match p.strip_prefix('r') {
        Some(k) if !k.is_empty() => (libc::MS_REC, k),
        _ => (0, p),
    };
    let flag = match kind {
        "" => return Some(0),
        "shared" => libc::MS_SHARED,
        "slave" => libc::MS_SLAVE,
        "private" => libc::MS_PRIVATE,
        "unbindable" => libc::MS_UNBINDABLE,
        _ => return None,
    };
    Some(flag | rec)
}

/// After `pivot_root`, give the container's `/` the spec's `rootfsPropagation` (runc's
/// order: before the pivot it would act on the host's mount the rootfs came from). Its
/// mounts were made private first (`rootfs::make_private`), so `shared` makes a new peer
/// group of the container's own, never one with the host.
pub fn apply(spec: &Spec) -> io::Result<()> {
    let p = spec
        .linux()
        .as_ref()
        .and_then(|l| l.rootfs_propagation().clone())
        .unwrap_or_default();
    match flags(&p) {
        Some(0) | None => Ok(()),
        Some(flags) => sys::mount(None, c"/", None, flags, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_map_to_mount_flags() {
        assert_eq!(flags(""), Some(0));
        assert_eq!(flags("shared"), Some(libc::MS_SHARED));
        assert_eq!(flags("rslave"), Some(libc::MS_SLAVE | libc::MS_REC));
        assert_eq!(flags("rprivate"), Some(libc::MS_PRIVATE | libc::MS_REC));
        assert_eq!(flags("unbindable"), Some(libc::MS_UNBINDABLE));
        for bad in ["r", "bogus", "rr", "Shared"] {
            assert_eq!(flags(bad), None, "{bad}");
        }
    }
}
