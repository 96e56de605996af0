//! The network step: where bocker-net plugs into the runtime.
//!
//! Two halves, run while the container's first process waits on its sync pipe, before
//! anything of the image runs:
//! - [`setup_network`] on the host side (the supervisor), given the child's pid, whose
//!   network namespace is `/proc/<pid>/ns/net`: in bridge mode, make sure the bridge is
//!   up, attach a veth with a leased address, publish ports, and write the container's
//!   `/etc/hosts` with its address; return what to record.
//! - [`in_container`] inside the container's namespaces, still privileged: loopback up.
//!
//! [`release_network`] gives the lease and the port rules back once the container's
//! processes are gone (the veth dies with the namespace; nobody waits for it).

use std::io;
use std::path::Path;
use std::str::FromStr;

use bocker_net::{NetConfig, PortMapping};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NetworkMode {
    /// Own namespace with an address on the bridge (Docker's default).
    #[default]
    Bridge,
    /// Own namespace with loopback only.
    None,
    /// The host's network namespace.
    Host,
}

impl FromStr for NetworkMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "bridge" | "default" => Ok(NetworkMode::Bridge),
            "none" => Ok(NetworkMode::None),
            "host" => Ok(NetworkMode::Host),
            other => Err(format!(
                "unknown network mode '{other}' (bridge, none, host)"
            )),
        }
    }
}

impl NetworkMode {
    /// Whether the container gets its own network namespace.
    pub fn own_netns(self) -> bool {
        self != NetworkMode::Host
    }

    /// The name recorded and shown (`bridge`, `none`, `host`).
    pub fn name(self) -> &'static str {
        match self {
            NetworkMode::Bridge => "bridge",
            NetworkMode::None => "none",
            NetworkMode::Host => "host",
        }
    }
}

/// What the network step needs besides the child's pid.
pub struct NetContext<'a> {
    /// The store root (bocker-net keeps its leases under `<root>/net/<bridge>`).
    pub root: &'a Path,
    /// The container id: the owner of the lease and the port rules.
    pub owner: &'a str,
    pub hostname: &'a str,
    /// The container's generated /etc/hosts (bind-mounted; rewritten in place).
    pub hosts_file: &'a Path,
    pub ports: &'a [PortMapping],
}

/// What the host side set up, to be recorded and later released.
#[derive(Debug, Clone, Default)]
pub struct Attachment {
    pub bridge: Option<String>,
    pub ip: Option<String>,
    pub gateway: Option<String>,
    pub mac: Option<String>,
    pub ports: Vec<String>,
}

/// Host side, while the child waits. `child_pid` is in the host's pid namespace.
pub fn setup_network(
    mode: NetworkMode,
    child_pid: libc::pid_t,
    ctx: &NetContext,
) -> io::Result<Attachment> {
    if mode != NetworkMode::Bridge {
        return Ok(Attachment::default());
    }
    let cfg = NetConfig::from_env(ctx.root)?;
    bocker_net::ensure_setup(&cfg)?;
    let att = bocker_net::attach(&cfg, ctx.owner, child_pid, "eth0")?;
    let done = (|| -> io::Result<()> {
        bocker_net::publish(&cfg, ctx.owner, att.ip, ctx.ports)?;
        // Same inode: the container's bind mount of it sees the new content.
        std::fs::write(
            ctx.hosts_file,
            bocker_net::hosts_file(ctx.hostname, Some(att.ip)),
        )
    })();
    if let Err(e) = done {
        let _ = bocker_net::release(&cfg, ctx.owner);
        return Err(e);
    }
    Ok(Attachment {
        bridge: Some(cfg.bridge.clone()),
        ip: Some(att.ip.to_string()),
        gateway: Some(att.gateway.to_string()),
        mac: Some(att.mac_string()),
        ports: ctx.ports.iter().map(|p| p.to_string()).collect(),
    })
}

/// Gives back what [`setup_network`] took (lease, port rules) for container `owner` on
/// `bridge` (the one recorded). Call it once the container's processes are gone.
pub fn release_network(root: &Path, bridge: &str, owner: &str) -> io::Result<()> {
    let subnet = std::env::var("BOCKER_SUBNET")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| bocker_net::DEFAULT_SUBNET.to_string());
    let cfg = NetConfig::new(root, bridge, &subnet)?;
    bocker_net::release(&cfg, owner)?;
    Ok(())
}

/// Container side, in its own namespaces before privileges are dropped.
/// (Bridge mode: `bocker_net::attach` already brought `lo` up from the host side.)
pub fn in_container(mode: NetworkMode) -> io::Result<()> {
    if mode == NetworkMode::None {
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
        // SAFETY: ifru_flags is the member SIOCGIFFLAGS just filled.
        unsafe { ifr.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
        // SAFETY: SIOCSIFFLAGS reads the ifreq we own; s is an open socket.
        crate::sys::cvt(unsafe { libc::ioctl(s, libc::SIOCSIFFLAGS, &ifr) })
    })();
    // SAFETY: we own s.
    unsafe { libc::close(s) };
    res.map(drop)
}
