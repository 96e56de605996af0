//! `process.rlimits` of the spec. Without CAP_SYS_RESOURCE (some sandboxes) a hard limit
//! above ours cannot be set: the soft limit is then raised as far as our hard limit.

use crate::sys;
use oci_spec::runtime::{PosixRlimit, PosixRlimitType};
use std::io;

/// The `RLIMIT_*` resource of a spec rlimit type.
fn resource(t: PosixRlimitType) -> libc::__rlimit_resource_t {
    use PosixRlimitType::*;
    match t {
        RlimitCpu => libc::RLIMIT_CPU,
        RlimitFsize => libc::RLIMIT_FSIZE,
        RlimitData => libc::RLIMIT_DATA,
        RlimitStack => libc::RLIMIT_STACK,
        RlimitCore => libc::RLIMIT_CORE,
        RlimitRss => libc::RLIMIT_RSS,
        RlimitNproc => libc::RLIMIT_NPROC,
        RlimitNofile => libc::RLIMIT_NOFILE,
        RlimitMemlock => libc::RLIMIT_MEMLOCK,
        RlimitAs => libc::RLIMIT_AS,
        RlimitLocks => libc::RLIMIT_LOCKS,
        RlimitSigpending => libc::RLIMIT_SIGPENDING,
        RlimitMsgqueue => libc::RLIMIT_MSGQUEUE,
        RlimitNice => libc::RLIMIT_NICE,
        RlimitRtprio => libc::RLIMIT_RTPRIO,
        RlimitRttime => libc::RLIMIT_RTTIME,
    }
}

/// Set every rlimit of the spec.
pub fn set(rlimits: &[PosixRlimit]) -> io::Result<()> {
    for r in rlimits {
        let res = resource(r.typ());
        if sys::setrlimit(res, r.soft(), r.hard()).is_ok() {
            continue;
        }
        let (_, hard) = sys::getrlimit(res)?;
        sys::setrlimit(res, r.soft().min(hard), hard)?;
    }
    Ok(())
}
