//! The network step: where bocker-net plugs into the runtime.
//!
//! [`setup_network`] runs on the host side (the supervisor) while the container's first
//! process waits on its sync pipe, before anything of the image runs, given the child's
//! pid (its network namespace is `/proc/<pid>/ns/net`): in bridge mode it makes sure the
//! bridge is up, attaches a veth with a leased address and publishes ports; in `none`
//! mode it brings loopback up; in every mode it writes the container's `/etc/hosts`,
//! once, with the content bocker-net generates. Every lease, veth and rule is made and
//! given back only through bocker-net's library.
//!
//! [`release_network`] gives the lease and the port rules back once the container's
//! processes are gone (the veth dies with the namespace; nobody waits for it). Leases
//! are owned by [`bocker_net::container_owner`] (store identity + container id), so
//! two stores on one bridge never release each other's.
//!
//! [`etc_files`]: the container's generated hostname, hosts and resolv.conf, which are
//! its network identity (made at create, bind-mounted in; `hosts` filled here).

pub mod etc_files;

use std::io;
use std::path::Path;
use std::str::FromStr;

use bocker_net::{NetConfig, PortMapping};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
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
    /// The store root: its identity goes into the lease owner.
    pub root: &'a Path,
    /// The container id; with the root, the owner of the lease and the port rules.
    pub owner: &'a str,
    pub hostname: &'a str,
    /// The container's /etc/hosts (bind-mounted; filled here, in place, once).
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

/// A container's hostname when `--hostname` is not given: its id, or in host mode the
/// host's own name (Docker 20.10: a `--network host` container sees the host's name).
pub fn default_hostname(mode: NetworkMode, id: &str) -> String {
    let host = || std::fs::read_to_string("/proc/sys/kernel/hostname").ok();
    match mode {
        NetworkMode::Host => host()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| id.to_string()),
        _ => id.to_string(),
    }
}

/// The sockets that hold this container's published host ports (see
/// [`bocker_net::publish_held`]); the supervisor lives as long as the container.
static HELD_PORTS: std::sync::Mutex<Vec<bocker_net::PortHolds>> = std::sync::Mutex::new(Vec::new());

/// The bridge new containers attach to (`BOCKER_BRIDGE`, read by bocker-net).
pub fn configured_bridge() -> io::Result<String> {
    Ok(NetConfig::from_env()?.bridge)
}

/// Host side, while the child waits. `netns` is the container's network namespace:
/// the one made ahead for it (`process::netns`), else its process's (a pid in the
/// host's pid namespace).
pub fn setup_network(
    mode: NetworkMode,
    netns: bocker_net::Netns<'_>,
    ctx: &NetContext,
) -> io::Result<Attachment> {
    match mode {
        NetworkMode::Bridge => {}
        NetworkMode::None => {
            bocker_net::loopback_up(netns)?;
            return write_hosts(ctx, None).map(|()| Attachment::default());
        }
        NetworkMode::Host => {
            // Docker: a host-network container sees the host's own /etc/hosts.
            let host = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
            let extra = extra_hosts(ctx)?;
            return std::fs::write(ctx.hosts_file, host + &extra).map(|()| Attachment::default());
        }
    }
    let cfg = NetConfig::from_env()?;
    let owner = bocker_net::container_owner(ctx.root, ctx.owner);
    bocker_net::ensure_setup(&cfg)?;
    let att = bocker_net::attach(&cfg, &owner, netns, "eth0")?;
    let done = (|| -> io::Result<Vec<String>> {
        let holds = bocker_net::publish_held(&cfg, &owner, att.ip, ctx.ports)?;
        // As published: `-p 80` got a host port only now.
        let ports = holds.ports().iter().map(|p| p.to_string()).collect();
        // Held for the life of this process, the container's supervisor.
        HELD_PORTS
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(holds);
        write_hosts(ctx, Some(att.ip))?;
        Ok(ports)
    })();
    let ports = match done {
        Ok(ports) => ports,
        Err(e) => {
            if let Err(r) = bocker_net::release(&cfg, &owner) {
                bocker_cli::warn(&format!("releasing the network of {}: {r}", ctx.owner));
            }
            return Err(e);
        }
    };
    Ok(Attachment {
        bridge: Some(cfg.bridge.clone()),
        ip: Some(att.ip.to_string()),
        gateway: Some(att.gateway.to_string()),
        mac: Some(att.mac_string()),
        ports,
    })
}

/// The one writer of the container's /etc/hosts (same inode as the bind mount's source):
/// bocker-net's content, then the `--add-host` entries the file was seeded with. Written
/// over the seed, then cut to its length, never truncated to zero first: ext4 flushes a
/// file truncated to zero when it is closed (`auto_da_alloc`), milliseconds on a busy
/// disk on every start. Nothing reads the file yet: the container waits for the start.
fn write_hosts(ctx: &NetContext, ip: Option<std::net::Ipv4Addr>) -> io::Result<()> {
    use std::io::Write;
    let text = bocker_net::hosts_file(ctx.hostname, ip) + &extra_hosts(ctx)?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(ctx.hosts_file)?;
    f.write_all(text.as_bytes())?;
    f.set_len(text.len() as u64)
}

/// The `--add-host` lines `etc_files` seeded the file with, `host-gateway` resolved to
/// the bridge's gateway (Docker: the default bridge's gateway address).
fn extra_hosts(ctx: &NetContext) -> io::Result<String> {
    let seed = std::fs::read_to_string(ctx.hosts_file)?;
    let mut out = String::new();
    for line in seed.lines() {
        match line.strip_prefix(etc_files::HOST_GATEWAY) {
            Some(rest) => out += &format!("{}{rest}\n", NetConfig::from_env()?.gateway()),
            None => out += &format!("{line}\n"),
        }
    }
    Ok(out)
}

/// Gives back what [`setup_network`] took (lease, port rules) for container `id` of the
/// store at `root` on `bridge` (the one recorded). Call it once the container's
/// processes are gone. Holding nothing is not an error; every other failure is returned.
pub fn release_network(root: &Path, bridge: &str, id: &str) -> io::Result<()> {
    // In the supervisor: close the held ports (and stop the IPv6 relay) before their
    // claims go, so a next container never finds them still bound. Elsewhere: empty.
    HELD_PORTS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clear();
    let cfg = NetConfig::from_env_with(Some(bridge), None)?;
    bocker_net::release(&cfg, &bocker_net::container_owner(root, id))?;
    Ok(())
}
