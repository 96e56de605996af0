//! Privilege setup of the container's first process: Docker's default capability set,
//! rlimits, user and groups, `no_new_privs`.

use crate::sys::{cvt, cvt_long, prctl};
use crate::user::ExecUser;
use std::io;

/// Docker's default capabilities: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID
/// SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP.
pub const DEFAULT_CAPS: [u32; 14] = [0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 27, 29, 31];

/// The same set as the bitmask /proc/<pid>/status shows (CapEff/CapBnd): 00000000a80425fb.
pub fn default_caps_mask() -> u64 {
    DEFAULT_CAPS.iter().fold(0, |m, c| m | (1u64 << c))
}

/// Drop every capability outside the default set from the bounding set.
pub fn drop_bounding_set() -> io::Result<()> {
    let keep = default_caps_mask();
    for cap in 0..64u32 {
        if keep & (1 << cap) != 0 {
            continue;
        }
        match prctl(libc::PR_CAPBSET_DROP, cap.into(), 0) {
            Ok(()) => {}
            // Past the kernel's last capability.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => break,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Switch to the container user, keeping the permitted set across setuid so that
/// [`set_caps`] can then install exactly the default set.
pub fn switch_user(user: &ExecUser) -> io::Result<()> {
    prctl(libc::PR_SET_KEEPCAPS, 1, 0)?;
    let groups: Vec<libc::gid_t> = user.groups.clone();
    // SAFETY: the pointer/length pair describes `groups`.
    cvt(unsafe { libc::setgroups(groups.len(), groups.as_ptr()) })?;
    // SAFETY: plain id syscalls.
    cvt(unsafe { libc::setresgid(user.gid, user.gid, user.gid) })?;
    // SAFETY: plain syscall on integers.
    cvt(unsafe { libc::setresuid(user.uid, user.uid, user.uid) })?;
    prctl(libc::PR_SET_KEEPCAPS, 0, 0)
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// Effective = permitted = the default set; inheritable and ambient empty (as Docker since
/// 20.10.14). After execve a root process keeps the bounding set, any other uid gets none.
pub fn set_caps() -> io::Result<()> {
    let mask = default_caps_mask();
    let lo = mask as u32;
    let hi = (mask >> 32) as u32;
    let header = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let data = [
        CapData {
            effective: lo,
            permitted: lo,
            inheritable: 0,
        },
        CapData {
            effective: hi,
            permitted: hi,
            inheritable: 0,
        },
    ];
    // SAFETY: header and a two-element data array in the v3 layout.
    cvt_long(unsafe {
        libc::syscall(libc::SYS_capset, &header as *const CapHeader, data.as_ptr())
    })?;
    prctl(
        libc::PR_CAP_AMBIENT,
        libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
        0,
    )
}

pub fn set_no_new_privs() -> io::Result<()> {
    prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0)
}

/// rlimits as Docker gives containers on common hosts: open files 1048576. Without
/// CAP_SYS_RESOURCE (some sandboxes) the hard limit cannot be raised: keep ours then.
pub fn set_rlimits() -> io::Result<()> {
    let nofile = libc::rlimit {
        rlim_cur: 1_048_576,
        rlim_max: 1_048_576,
    };
    // SAFETY: valid rlimit structs.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &nofile) } == 0 {
        return Ok(());
    }
    let mut cur = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit fills the rlimit we own.
    cvt(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut cur) })?;
    cur.rlim_cur = cur.rlim_max;
    // SAFETY: setrlimit reads the rlimit we own.
    cvt(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &cur) }).map(drop)
}

#[cfg(test)]
mod tests {
    #[test]
    fn default_mask_matches_docker() {
        assert_eq!(super::default_caps_mask(), 0xa80425fb);
    }
}
