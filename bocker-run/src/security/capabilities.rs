//! `process.capabilities` of the spec applied to the container's first process: the
//! bounding set trimmed, then effective/permitted/inheritable set with `capset`, and the
//! ambient set raised to exactly the spec's. Numbers as in `linux/capability.h`.

use crate::sys::{capset, prctl, CapSets};
use oci_spec::runtime::{Capabilities, Capability, LinuxCapabilities};
use std::io;

/// The kernel's number of a capability (`linux/capability.h`).
pub fn number(cap: Capability) -> u32 {
    use Capability::*;
    match cap {
        Chown => 0,
        DacOverride => 1,
        DacReadSearch => 2,
        Fowner => 3,
        Fsetid => 4,
        Kill => 5,
        Setgid => 6,
        Setuid => 7,
        Setpcap => 8,
        LinuxImmutable => 9,
        NetBindService => 10,
        NetBroadcast => 11,
        NetAdmin => 12,
        NetRaw => 13,
        IpcLock => 14,
        IpcOwner => 15,
        SysModule => 16,
        SysRawio => 17,
        SysChroot => 18,
        SysPtrace => 19,
        SysPacct => 20,
        SysAdmin => 21,
        SysBoot => 22,
        SysNice => 23,
        SysResource => 24,
        SysTime => 25,
        SysTtyConfig => 26,
        Mknod => 27,
        Lease => 28,
        AuditWrite => 29,
        AuditControl => 30,
        Setfcap => 31,
        MacOverride => 32,
        MacAdmin => 33,
        Syslog => 34,
        WakeAlarm => 35,
        BlockSuspend => 36,
        AuditRead => 37,
        Perfmon => 38,
        Bpf => 39,
        CheckpointRestore => 40,
    }
}

/// A capability set as the kernel's bitmask (as /proc/<pid>/status shows it).
pub fn mask(set: Option<&Capabilities>) -> u64 {
    set.into_iter()
        .flatten()
        .fold(0, |m, &c| m | (1u64 << number(c)))
}

/// The sets a process running as `uid` gets, as Docker 20.10 puts them in the spec
/// (moby's `setCapabilities`, 2018): root keeps the spec's; any other uid gets an empty
/// effective, permitted and inheritable set (the bounding set kept), "to match what
/// execve does". So a non-root user's *first* execve already lacks CAP_DAC_OVERRIDE: it
/// cannot execute a root-owned mode-0700 file (126), as with Docker.
pub fn for_user(caps: &LinuxCapabilities, uid: u32) -> LinuxCapabilities {
    let mut c = caps.clone();
    if uid != 0 {
        c.set_effective(Some(Capabilities::new()));
        c.set_permitted(Some(Capabilities::new()));
        c.set_inheritable(Some(Capabilities::new()));
        c.set_ambient(Some(Capabilities::new()));
    }
    c
}

/// Drop every capability outside `bounding` from the bounding set.
pub fn drop_bounding_set(caps: &LinuxCapabilities) -> io::Result<()> {
    let keep = mask(caps.bounding().as_ref());
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

/// Effective, permitted and inheritable as the spec says, then the ambient set cleared
/// and raised to exactly the spec's. After execve a root process keeps the bounding set;
/// any other uid gets only the ambient set (Docker since 20.10.14: empty).
pub fn set(caps: &LinuxCapabilities) -> io::Result<()> {
    capset(CapSets {
        effective: mask(caps.effective().as_ref()),
        permitted: mask(caps.permitted().as_ref()),
        inheritable: mask(caps.inheritable().as_ref()),
    })?;
    prctl(
        libc::PR_CAP_AMBIENT,
        libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
        0,
    )?;
    for cap in caps.ambient().iter().flatten() {
        prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
            number(*cap).into(),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::spec::defaults;

    #[test]
    fn docker_default_set_is_a80425fb() {
        // Docker 20.10: CapEff/CapBnd of a root container.
        let caps = defaults::capabilities();
        assert_eq!(super::mask(caps.bounding().as_ref()), 0xa80425fb);
        assert_eq!(super::mask(caps.effective().as_ref()), 0xa80425fb);
        assert_eq!(super::mask(caps.ambient().as_ref()), 0);
        // Docker 20.10: a non-root user starts with no capability but the bounding set.
        let user = super::for_user(&caps, 1000);
        assert_eq!(super::mask(user.effective().as_ref()), 0);
        assert_eq!(super::mask(user.permitted().as_ref()), 0);
        assert_eq!(super::mask(user.bounding().as_ref()), 0xa80425fb);
        assert_eq!(super::for_user(&caps, 0), caps);
    }
}
