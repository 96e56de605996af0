//! A container on the bridge: attach, publish, release, reclaim.

use std::net::Ipv4Addr;

use serde::Serialize;

use crate::config::NetConfig;
use crate::error::{IoContext, NetError, Result};
use crate::firewall;
use crate::ipam::{check_owner, mac_for, remove_if_present, Ipam};
use crate::netlink::{self, Rtnl, VethSpec};
use crate::netns::{in_netns, Netns};
use crate::ports::{PortMapping, Proto};
use crate::record::{self, Endpoint, PortClaim};
use crate::relay::{Relay, Route};

/// What a container got from [`attach`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attachment {
    pub ip: Ipv4Addr,
    pub prefix_len: u8,
    pub gateway: Ipv4Addr,
    #[serde(serialize_with = "mac_text")]
    pub mac: [u8; 6],
    pub host_veth: String,
}

impl Attachment {
    pub fn mac_string(&self) -> String {
        mac_to_string(&self.mac)
    }
}

pub fn mac_to_string(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn mac_text<S: serde::Serializer>(mac: &[u8; 6], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&mac_to_string(mac))
}

/// The host end of the veth for an address: derived from the address, so a
/// lease alone says which veth belongs to it (and an address whose old veth
/// still exists is never handed out again).
pub fn host_veth_name(ip: Ipv4Addr) -> String {
    format!("bkv{:08x}", u32::from(ip))
}

fn open_rtnl() -> Result<Rtnl> {
    Rtnl::open().ctx(|| "opening a netlink socket".to_string())
}

/// Give the network namespace `netns` an interface `ifname` on the bridge: a
/// leased address, a MAC derived from it, loopback up, default route via the
/// bridge. The bridge must exist ([`crate::ensure_setup`]).
pub fn attach<'a>(
    cfg: &NetConfig,
    owner: &str,
    netns: impl Into<Netns<'a>>,
    ifname: &str,
) -> Result<Attachment> {
    check_owner(owner)?;
    if let Some(ep) = record::read::<Endpoint>(&record::endpoint_path(cfg, owner))? {
        return Err(NetError::AlreadyAttached {
            owner: owner.into(),
            bridge: cfg.bridge.clone(),
            ip: ep.ip,
        });
    }
    let ns = netns.into().hold()?;
    ns.check_not_own()?;
    let mut nl = open_rtnl()?;
    let bridge = netlink::link_by_name(&mut nl, &cfg.bridge)
        .ctx(|| format!("looking up bridge {}", cfg.bridge))?
        .ok_or_else(|| NetError::NoBridge(cfg.bridge.clone()))?;

    let ip = Ipam::new(cfg).allocate(owner, &mut |ip| {
        // An address whose veth is still there (its namespace not yet gone) waits.
        netlink::link_by_name(&mut nl, &host_veth_name(ip)).map_or(true, |l| l.is_some())
    })?;
    let att = Attachment {
        ip,
        prefix_len: cfg.subnet.prefix_len(),
        gateway: cfg.gateway(),
        mac: mac_for(ip),
        host_veth: host_veth_name(ip),
    };
    let ep = Endpoint {
        owner: owner.into(),
        ip,
        host_veth: att.host_veth.clone(),
        ports: Vec::new(),
    };

    let plumbed = (|| {
        record::write(&record::endpoint_path(cfg, owner), &ep)?;
        let spec = VethSpec {
            host_name: &att.host_veth,
            bridge_index: bridge.index,
            peer_name: ifname,
            peer_mac: att.mac,
            peer_netns: ns.fd(),
        };
        netlink::create_veth(&mut nl, &spec).ctx(|| {
            format!(
                "creating veth {} (peer {ifname}) on {}",
                att.host_veth, cfg.bridge
            )
        })?;
        in_netns(ns.fd(), || configure_inside(ifname, &att))
    })();
    if let Err(e) = plumbed {
        // Undo in reverse; the veth delete is slow but this is the error path.
        if let Ok(Some(link)) = netlink::link_by_name(&mut nl, &att.host_veth) {
            let _ = netlink::delete_link(&mut nl, link.index);
        }
        let _ = remove_if_present(&record::endpoint_path(cfg, owner));
        let _ = Ipam::new(cfg).release(ip, owner);
        return Err(e);
    }
    Ok(att)
}

/// Inside the container's namespace: lo up, address on `ifname`, default route.
fn configure_inside(ifname: &str, att: &Attachment) -> Result<()> {
    let mut nl = open_rtnl()?;
    set_loopback_up(&mut nl)?;
    let link = netlink::link_by_name(&mut nl, ifname)
        .ctx(|| format!("looking up {ifname} in the container"))?
        .ok_or_else(|| {
            NetError::io(
                format!("{ifname} did not appear in the container"),
                std::io::ErrorKind::NotFound.into(),
            )
        })?;
    netlink::add_address(&mut nl, link.index, att.ip, att.prefix_len)
        .ctx(|| format!("adding {}/{} to {ifname}", att.ip, att.prefix_len))?;
    netlink::set_up(&mut nl, link.index).ctx(|| format!("bringing {ifname} up"))?;
    netlink::add_default_route(&mut nl, att.gateway)
        .ctx(|| format!("adding default route via {}", att.gateway))
}

fn set_loopback_up(nl: &mut Rtnl) -> Result<()> {
    let lo = netlink::link_by_name(nl, "lo")
        .ctx(|| "looking up lo".to_string())?
        .ok_or_else(|| {
            NetError::io(
                "the namespace has no lo",
                std::io::ErrorKind::NotFound.into(),
            )
        })?;
    netlink::set_up(nl, lo.index).ctx(|| "bringing lo up".to_string())
}

/// Bring loopback up in a namespace that gets no other interface (`--network none`).
pub fn loopback_up<'a>(netns: impl Into<Netns<'a>>) -> Result<()> {
    let ns = netns.into().hold()?;
    ns.check_not_own()?;
    in_netns(ns.fd(), || set_loopback_up(&mut open_rtnl()?))
}

/// Sockets bound to published host ports: while they are open no other process can
/// bind those ports (as Docker's docker-proxy holds them). The IPv6 ones are served by a
/// relay thread of this process (`relay.rs`: every signal blocked, no async runtime).
/// Dropping closes them all and stops the relay; so does the process exiting.
#[derive(Debug, Default)]
pub struct PortHolds {
    ports: Vec<PortMapping>,
    _sockets: Vec<std::os::fd::OwnedFd>,
    _relay: Option<Relay>,
}

impl PortHolds {
    /// The mappings as published: a host port 0 (`-p 80`) replaced by the one picked.
    pub fn ports(&self) -> &[PortMapping] {
        &self.ports
    }
}

/// Publish host ports to `owner`'s address `ip`. A host port already taken by
/// another owner, or bound by any process, is an error and nothing is published.
/// The ports are checked, not held: see [`publish_held`].
pub fn publish(cfg: &NetConfig, owner: &str, ip: Ipv4Addr, ports: &[PortMapping]) -> Result<()> {
    publish_held(cfg, owner, ip, ports).map(drop)
}

/// [`publish`], returning the sockets that hold the host ports: keep them for the
/// container's life (the runtime's supervisor does) so that a host process cannot bind
/// a published port later and silently lose its traffic to the DNAT rule.
pub fn publish_held(
    cfg: &NetConfig,
    owner: &str,
    ip: Ipv4Addr,
    ports: &[PortMapping],
) -> Result<PortHolds> {
    check_owner(owner)?;
    if ports.is_empty() {
        return Ok(PortHolds::default());
    }
    let mut holds = Vec::new();
    let mut routes = Vec::new();
    let ep_path = record::endpoint_path(cfg, owner);
    let mut ep =
        record::read::<Endpoint>(&ep_path)?.ok_or_else(|| NetError::NotAttached(owner.into()))?;
    let mut claimed = Vec::new();
    let undo = |claimed: &[PortMapping]| {
        for m in claimed {
            let _ = remove_if_present(&record::claim_path(cfg, m));
        }
    };
    for m in ports {
        // Host port 0 (`-p 80`): a port the kernel says is free, claimed and held as any
        // other; another taker between the pick and the hold means another pick.
        let mut tries = 0;
        let (m, fd, route) = loop {
            let picked = match m.host_port {
                0 => free_port(m)?,
                _ => *m,
            };
            match claim_and_hold(cfg, owner, ip, &picked) {
                Ok((fd, route)) => break (picked, fd, route),
                Err(NetError::PortTaken { .. } | NetError::PortBusy { .. })
                    if m.host_port == 0 && tries < 16 =>
                {
                    tries += 1
                }
                Err(e) => {
                    undo(&claimed);
                    return Err(e);
                }
            }
        };
        claimed.push(m);
        holds.extend(fd);
        routes.extend(route);
    }
    // Record first, so a crash after the rules leaves something to reclaim them by.
    ep.ports.extend_from_slice(&claimed);
    record::write(&ep_path, &ep)?;
    let v4 = on_ipv4(&claimed);
    let relayed = firewall::add_ports(cfg, ip, &v4).and_then(|()| {
        let relay = (!routes.is_empty())
            .then(|| Relay::start(routes))
            .transpose();
        relay.map_err(|e| {
            let _ = firewall::remove_ports(cfg, ip, &v4);
            NetError::io("starting the IPv6 port relay", e)
        })
    });
    match relayed {
        Ok(relay) => Ok(PortHolds {
            ports: claimed,
            _sockets: holds,
            _relay: relay,
        }),
        Err(e) => {
            ep.ports.truncate(ep.ports.len() - claimed.len());
            let _ = record::write(&ep_path, &ep);
            undo(&claimed);
            Err(e)
        }
    }
}

/// Claim `m`'s host port for `owner` and bind it (IPv4 and/or IPv6); on failure
/// nothing is left claimed or bound.
fn claim_and_hold(
    cfg: &NetConfig,
    owner: &str,
    ip: Ipv4Addr,
    m: &PortMapping,
) -> Result<(Option<std::os::fd::OwnedFd>, Option<Route>)> {
    let claim = PortClaim {
        owner: owner.into(),
        bridge: cfg.bridge.clone(),
        ip,
        mapping: *m,
    };
    let path = record::claim_path(cfg, m);
    if !record::create_new(&path, &claim)? {
        let holder = record::read::<PortClaim>(&path)?
            .map(|c| c.owner)
            .unwrap_or_else(|| "another container".into());
        return Err(NetError::PortTaken {
            port: m.host_port,
            proto: m.proto.to_string(),
            owner: holder,
        });
    }
    let held = hold_port(m).and_then(|fd| {
        let to = std::net::SocketAddrV4::new(ip, m.container_port);
        Ok((fd, hold_port_v6(m, to)?))
    });
    if held.is_err() {
        let _ = remove_if_present(&path);
    }
    held
}

/// `m` with a host port the kernel reports free for its protocol (on IPv4 when the
/// mapping has an IPv4 side, else on its IPv6 address), as Docker picks one for `-p 80`.
fn free_port(m: &PortMapping) -> Result<PortMapping> {
    let addr: std::net::SocketAddr = match (m.ipv4_host(), m.ipv6_host()) {
        (Some(v4), _) => (v4, 0).into(),
        (None, Some(v6)) => (v6, 0).into(),
        (None, None) => unreachable!("a mapping has a host address of one family"),
    };
    let port = match m.proto {
        Proto::Tcp => std::net::TcpListener::bind(addr).and_then(|l| l.local_addr()),
        Proto::Udp => std::net::UdpSocket::bind(addr).and_then(|s| s.local_addr()),
    }
    .map_err(|e| port_busy(m, addr, e))?
    .port();
    Ok(PortMapping {
        host_port: port,
        ..*m
    })
}

/// The mappings that have an IPv4 host address (and so a DNAT rule).
fn on_ipv4(ports: &[PortMapping]) -> Vec<PortMapping> {
    ports
        .iter()
        .filter(|m| m.ipv4_host().is_some())
        .copied()
        .collect()
}

/// Give back everything `owner` holds: port rules, host ports, the address.
/// The host veth is not waited for: it dies with the container's namespace
/// (and the address is not handed out again while it lingers). Releasing an
/// owner that holds nothing is not an error.
pub fn release(cfg: &NetConfig, owner: &str) -> Result<()> {
    check_owner(owner)?;
    let ep_path = record::endpoint_path(cfg, owner);
    if let Some(ep) = record::read::<Endpoint>(&ep_path)? {
        unpublish(cfg, &ep.ports, ep.ip)?;
        Ipam::new(cfg).release(ep.ip, owner)?;
        remove_if_present(&ep_path)?;
        return Ok(());
    }
    // No record: a crash between lease and record may have left a lease alone. Only then
    // is every lease read (a normal exit stays O(1) in the number of containers).
    for lease in Ipam::new(cfg).leases()? {
        if lease.owner == owner {
            Ipam::new(cfg).release(lease.ip, owner)?;
        }
    }
    Ok(())
}

/// Bind a published host port on IPv4 (none for an IPv6-only mapping): a port some
/// process (a host service, Docker's docker-proxy) already listens on or has bound is
/// refused, as Docker refuses it, instead of silently taking its traffic through DNAT.
/// (TCP with SO_REUSEADDR, as std does: only a listener blocks it. Connections never
/// reach the socket: the DNAT rule takes them first.)
fn hold_port(m: &PortMapping) -> Result<Option<std::os::fd::OwnedFd>> {
    let Some(ip) = m.ipv4_host() else {
        return Ok(None);
    };
    let addr = std::net::SocketAddr::from((ip, m.host_port));
    let bound = match m.proto {
        Proto::Tcp => std::net::TcpListener::bind(addr).map(Into::into),
        Proto::Udp => std::net::UdpSocket::bind(addr).map(Into::into),
    };
    bound.map(Some).map_err(|e| port_busy(m, addr, e))
}

/// Bind a published host port on IPv6 (`[::]` for a plain `-p P:C`, as Docker 20.10's
/// docker-proxy listens there too), IPv6-only so that it stands beside the IPv4 hold,
/// for the relay to serve by forwarding to `to`. A host without IPv6 gets no IPv6
/// listener for a plain publish; an explicit IPv6 address it cannot bind is an error.
fn hold_port_v6(m: &PortMapping, to: std::net::SocketAddrV4) -> Result<Option<Route>> {
    use socket2::{Domain, Protocol, Socket, Type};
    let Some(ip) = m.ipv6_host() else {
        return Ok(None);
    };
    let addr = std::net::SocketAddr::from((ip, m.host_port));
    let bound = (|| -> std::io::Result<Route> {
        let (ty, proto) = match m.proto {
            Proto::Tcp => (Type::STREAM, Protocol::TCP),
            Proto::Udp => (Type::DGRAM, Protocol::UDP),
        };
        let s = Socket::new(Domain::IPV6, ty, Some(proto))?;
        s.set_only_v6(true)?;
        if m.proto == Proto::Tcp {
            s.set_reuse_address(true)?;
        }
        s.bind(&addr.into())?;
        Ok(match m.proto {
            Proto::Tcp => {
                s.listen(128)?;
                Route::Tcp(s.into(), to)
            }
            Proto::Udp => Route::Udp(s.into(), to),
        })
    })();
    match bound {
        Ok(route) => Ok(Some(route)),
        Err(e)
            if m.host_ip.is_none()
                && matches!(
                    e.raw_os_error(),
                    Some(libc::EAFNOSUPPORT) | Some(libc::EADDRNOTAVAIL)
                ) =>
        {
            Ok(None)
        }
        Err(e) => Err(port_busy(m, addr, e)),
    }
}

fn port_busy(m: &PortMapping, addr: std::net::SocketAddr, e: std::io::Error) -> NetError {
    NetError::PortBusy {
        addr: format!("{addr}/{}", m.proto),
        why: match e.kind() {
            std::io::ErrorKind::AddrInUse => "address already in use".into(),
            _ => e.to_string(),
        },
    }
}

fn unpublish(cfg: &NetConfig, ports: &[PortMapping], ip: Ipv4Addr) -> Result<()> {
    firewall::remove_ports(cfg, ip, &on_ipv4(ports))?;
    for m in ports {
        remove_claim(cfg, m, ip)?;
    }
    Ok(())
}

/// Drop a port claim if it is this bridge's claim for `ip` (never another's).
fn remove_claim(cfg: &NetConfig, m: &PortMapping, ip: Ipv4Addr) -> Result<()> {
    let path = record::claim_path(cfg, m);
    match record::read::<PortClaim>(&path)? {
        Some(c) if c.ip == ip && (c.bridge == cfg.bridge || c.bridge.is_empty()) => {
            remove_if_present(&path)
        }
        _ => Ok(()),
    }
}

/// Take a still-running namespace off the bridge: delete its veth now (slow,
/// ~30 ms, the kernel waits for quiescence), then [`release`].
pub fn detach(cfg: &NetConfig, owner: &str) -> Result<()> {
    check_owner(owner)?;
    let ep = record::read::<Endpoint>(&record::endpoint_path(cfg, owner))?
        .ok_or_else(|| NetError::NotAttached(owner.into()))?;
    let mut nl = open_rtnl()?;
    if let Some(link) = netlink::link_by_name(&mut nl, &ep.host_veth)
        .ctx(|| format!("looking up {}", ep.host_veth))?
    {
        netlink::delete_link(&mut nl, link.index).ctx(|| format!("deleting {}", ep.host_veth))?;
    }
    release(cfg, owner)
}

/// [`detach`] when `owner` is attached, else [`release`] whatever lease it may still
/// hold: for a container whose supervisor died (its namespace may still be alive).
pub fn detach_if_attached(cfg: &NetConfig, owner: &str) -> Result<()> {
    check_owner(owner)?;
    if record::read::<Endpoint>(&record::endpoint_path(cfg, owner))?.is_some() {
        detach(cfg, owner)
    } else {
        release(cfg, owner)
    }
}

/// Garbage-collect after crashes: release every owner that `is_alive` says is
/// gone, drop orphaned port claims, delete bocker veths on the bridge that no
/// lease accounts for.
pub fn reclaim(cfg: &NetConfig, is_alive: &dyn Fn(&str) -> bool) -> Result<()> {
    for ep in record::list::<Endpoint>(&cfg.endpoints_dir())? {
        if !is_alive(&ep.owner) {
            release(cfg, &ep.owner)?;
        }
    }
    let ipam = Ipam::new(cfg);
    for lease in ipam.leases()? {
        if !is_alive(&lease.owner) {
            release(cfg, &lease.owner)?;
        }
    }
    for claim in record::list::<PortClaim>(&cfg.ports_dir())? {
        if claim.bridge != cfg.bridge {
            continue;
        }
        let ep = record::read::<Endpoint>(&record::endpoint_path(cfg, &claim.owner))?;
        let recorded = ep.is_some_and(|ep| ep.ports.contains(&claim.mapping));
        if !recorded {
            unpublish(cfg, &[claim.mapping], claim.ip)?;
        }
    }
    let leased: Vec<String> = ipam
        .leases()?
        .iter()
        .map(|l| host_veth_name(l.ip))
        .collect();
    let mut nl = open_rtnl()?;
    let Some(bridge) =
        netlink::link_by_name(&mut nl, &cfg.bridge).ctx(|| format!("looking up {}", cfg.bridge))?
    else {
        return Ok(());
    };
    for link in netlink::links_with_master(&mut nl, bridge.index)
        .ctx(|| format!("listing ports of {}", cfg.bridge))?
    {
        if link.name.starts_with("bkv") && !leased.contains(&link.name) {
            netlink::delete_link(&mut nl, link.index).ctx(|| format!("deleting {}", link.name))?;
        }
    }
    Ok(())
}

/// Drop every host-port claim of this bridge (teardown), and the shared claims
/// directory once it is empty.
pub(crate) fn drop_claims(cfg: &NetConfig) -> Result<()> {
    for claim in record::list::<PortClaim>(&cfg.ports_dir())? {
        if claim.bridge == cfg.bridge {
            remove_if_present(&record::claim_path(cfg, &claim.mapping))?;
        }
    }
    // Fails while another bridge still holds a claim: that is the point.
    let _ = std::fs::remove_dir(cfg.ports_dir());
    Ok(())
}

/// Every attached owner.
pub fn endpoints(cfg: &NetConfig) -> Result<Vec<Endpoint>> {
    record::list(&cfg.endpoints_dir())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn veth_names_fit_and_differ() {
        let a = host_veth_name(Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(a, "bkv0a000002");
        assert!(a.len() <= 15);
        assert_ne!(a, host_veth_name(Ipv4Addr::new(10, 0, 0, 3)));
    }

    /// A fresh network namespace held by an fd (needs root).
    fn new_netns() -> std::os::fd::OwnedFd {
        std::thread::spawn(|| {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).expect("unshare");
            std::fs::File::open("/proc/thread-self/ns/net")
                .expect("netns")
                .into()
        })
        .join()
        .expect("netns thread")
    }

    #[test]
    fn loopback_comes_up_and_the_host_namespace_is_refused() {
        use std::os::fd::AsFd;
        if !nix::unistd::geteuid().is_root() {
            assert!(
                std::env::var_os("BOCKER_TEST_ALLOW_SKIP").is_some(),
                "cannot run: needs root (set BOCKER_TEST_ALLOW_SKIP=1 to skip)"
            );
            return;
        }
        let ns = new_netns();
        let lo_up = || {
            in_netns(ns.as_fd(), || {
                let link = netlink::link_by_name(&mut open_rtnl()?, "lo").ctx(|| "lo".into())?;
                Ok(link.is_some_and(|l| l.up))
            })
            .unwrap()
        };
        assert!(!lo_up());
        loopback_up(ns.as_fd()).unwrap();
        assert!(lo_up());

        let own = std::fs::File::open("/proc/thread-self/ns/net").unwrap();
        assert!(matches!(
            loopback_up(own.as_fd()),
            Err(NetError::HostNamespace)
        ));
        let cfg = NetConfig::new(
            std::path::Path::new("/nonexistent"),
            "bkt-unit",
            "10.9.9.0/24",
        )
        .unwrap();
        assert!(matches!(
            attach(&cfg, "x", own.as_fd(), "eth0"),
            Err(NetError::HostNamespace)
        ));
    }

    #[test]
    fn mac_prints_like_ip_link() {
        assert_eq!(mac_to_string(&[2, 0x42, 10, 0, 0, 2]), "02:42:0a:00:00:02");
    }
}
