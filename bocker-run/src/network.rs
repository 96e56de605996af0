//! The network step: the plug point for bocker-net.
//!
//! Two halves, run while the container's first process waits on its sync pipe, before
//! anything of the image runs:
//! - [`setup_network`] on the host side (the supervisor), given the child's pid, whose
//!   network namespace is `/proc/<pid>/ns/net`: bridge mode will attach a veth, lease an
//!   address and publish ports here and return what to record.
//! - [`in_container`] inside the container's namespaces, still privileged: loopback up.
//!
//! Today only `none` (own netns, loopback up) and `host` exist.

use std::io;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NetworkMode {
    #[default]
    None,
    Host,
}

impl FromStr for NetworkMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" => Ok(NetworkMode::None),
            "host" => Ok(NetworkMode::Host),
            "bridge" => Err("--network bridge is not available yet (use none or host)".into()),
            other => Err(format!("unknown network mode '{other}' (none, host)")),
        }
    }
}

impl NetworkMode {
    /// Whether the container gets its own network namespace.
    pub fn own_netns(self) -> bool {
        self != NetworkMode::Host
    }
}

/// What the host side set up, to be recorded and later released.
#[derive(Debug, Clone, Default)]
pub struct Attachment {
    pub ip: Option<String>,
}

/// Host side, while the child waits. `child_pid` is in the host's pid namespace.
pub fn setup_network(mode: NetworkMode, child_pid: libc::pid_t) -> io::Result<Attachment> {
    let _ = (mode, child_pid);
    Ok(Attachment::default())
}

/// Undo [`setup_network`] (called after the container exited, and by reclaim).
pub fn release_network(mode: NetworkMode, attachment: &Attachment) -> io::Result<()> {
    let _ = (mode, attachment);
    Ok(())
}

/// Container side, in its own namespaces before privileges are dropped.
pub fn in_container(mode: NetworkMode) -> io::Result<()> {
    if mode.own_netns() {
        loopback_up()?;
    }
    Ok(())
}

/// `ip link set lo up` with one ioctl.
fn loopback_up() -> io::Result<()> {
    // SAFETY: plain socket; closed below.
    let s = crate::sys::cvt(unsafe {
        libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0)
    })?;
    // SAFETY: ifreq is plain old data; the name fits in IFNAMSIZ.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in ifr.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    let res = (|| {
        // SAFETY: SIOCGIFFLAGS/SIOCSIFFLAGS read and write the flags member of ifr.
        crate::sys::cvt(unsafe { libc::ioctl(s, libc::SIOCGIFFLAGS, &mut ifr) })?;
        unsafe { ifr.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
        crate::sys::cvt(unsafe { libc::ioctl(s, libc::SIOCSIFFLAGS, &ifr) })
    })();
    // SAFETY: we own s.
    unsafe { libc::close(s) };
    res.map(drop)
}
