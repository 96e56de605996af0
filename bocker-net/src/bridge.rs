//! The host side, once per network: bridge, gateway address, forwarding, NAT.

use std::fs::{self, File, OpenOptions};
use std::path::Path;

use nix::fcntl::{Flock, FlockArg};

use crate::config::NetConfig;
use crate::endpoint;
use crate::error::{IoContext, NetError, Result};
use crate::firewall;
use crate::ipam::{mac_for, Ipam};
use crate::netlink::{self, Rtnl};

fn open_rtnl() -> Result<Rtnl> {
    Rtnl::open().ctx(|| "opening a netlink socket".to_string())
}

/// Serialises setup and teardown of one network between processes.
fn setup_lock(cfg: &NetConfig) -> Result<Flock<File>> {
    fs::create_dir_all(&cfg.state_dir).ctx(|| format!("creating {}", cfg.state_dir.display()))?;
    let path = cfg.state_dir.join("setup.lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .ctx(|| format!("opening {}", path.display()))?;
    Flock::lock(file, FlockArg::LockExclusive)
        .map_err(|(_, e)| NetError::io(format!("locking {}", path.display()), e.into()))
}

fn bridge_is_ready(nl: &mut Rtnl, cfg: &NetConfig) -> Result<bool> {
    let link = netlink::link_by_name(nl, &cfg.bridge)
        .ctx(|| format!("looking up bridge {}", cfg.bridge))?;
    Ok(link.is_some_and(|l| l.up))
}

/// What `bocker run` calls: one netlink query when the bridge is up (setup
/// brings it up last, so an up bridge means a finished setup), else [`setup`].
pub fn ensure_setup(cfg: &NetConfig) -> Result<()> {
    let mut nl = open_rtnl()?;
    if bridge_is_ready(&mut nl, cfg)? {
        return Ok(());
    }
    let _lock = setup_lock(cfg)?;
    // Many first runs at once: the first one sets up, the others find it done.
    if bridge_is_ready(&mut nl, cfg)? {
        return Ok(());
    }
    setup_locked(cfg, &mut nl)
}

/// Create or repair everything; harmless to run again.
pub fn setup(cfg: &NetConfig) -> Result<()> {
    let _lock = setup_lock(cfg)?;
    setup_locked(cfg, &mut open_rtnl()?)
}

fn setup_locked(cfg: &NetConfig, nl: &mut Rtnl) -> Result<()> {
    firewall::ensure(cfg)?;
    write_sysctl(Path::new("/proc/sys/net/ipv4/ip_forward"), "1")?;

    let existing =
        netlink::link_by_name(nl, &cfg.bridge).ctx(|| format!("looking up {}", cfg.bridge))?;
    check_overlap(nl, cfg, existing.as_ref().map(|l| l.index))?;
    let mac = mac_for(cfg.gateway());
    let bridge = match existing {
        Some(link) => {
            if link.mac != mac {
                netlink::set_mac(nl, link.index, mac)
                    .ctx(|| format!("pinning the MAC of {}", cfg.bridge))?;
            }
            link
        }
        None => {
            match netlink::create_bridge(nl, &cfg.bridge, mac) {
                Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                    return Err(NetError::io(format!("creating bridge {}", cfg.bridge), e));
                }
                _ => {}
            }
            netlink::link_by_name(nl, &cfg.bridge)
                .ctx(|| format!("looking up {}", cfg.bridge))?
                .ok_or_else(|| NetError::NoBridge(cfg.bridge.clone()))?
        }
    };
    let gateway = cfg.gateway();
    let prefix = cfg.subnet.prefix_len();
    let addrs = netlink::ipv4_addresses(nl, bridge.index)
        .ctx(|| format!("listing addresses of {}", cfg.bridge))?;
    if !addrs.contains(&(gateway, prefix)) {
        match netlink::add_address(nl, bridge.index, gateway, prefix) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                return Err(NetError::io(
                    format!("adding {gateway}/{prefix} to {}", cfg.bridge),
                    e,
                ));
            }
            _ => {}
        }
    }
    // DNAT of 127.0.0.1:PORT needs loopback-sourced packets to leave via the bridge.
    let localnet = format!("/proc/sys/net/ipv4/conf/{}/route_localnet", cfg.bridge);
    write_sysctl(Path::new(&localnet), "1")?;
    netlink::set_up(nl, bridge.index).ctx(|| format!("bringing {} up", cfg.bridge))
}

/// Refuse a subnet that overlaps any address or route of the host other than our own
/// bridge's (Docker: "Pool overlaps with other one on this address space"): the routes
/// would fight and containers on one side would become unreachable.
fn check_overlap(nl: &mut Rtnl, cfg: &NetConfig, own: Option<u32>) -> Result<()> {
    let ours = cfg.subnet;
    let overlaps = |ip: std::net::Ipv4Addr, len: u8| {
        ipnet::Ipv4Net::new(ip, len)
            .map(|n| n.trunc())
            .is_ok_and(|n| n.contains(&ours.network()) || ours.contains(&n.network()))
    };
    let routes = netlink::main_ipv4_routes(nl).ctx(|| "listing the host's routes".into())?;
    let addrs = netlink::all_ipv4_addresses(nl).ctx(|| "listing the host's addresses".into())?;
    let conflict = routes
        .into_iter()
        .filter(|(_, _, oif)| own.is_none() || *oif != own)
        .map(|(ip, len, _)| (ip, len))
        .chain(
            addrs
                .into_iter()
                .filter(|(i, _, _)| Some(*i) != own)
                .map(|(_, ip, len)| (ip, len)),
        )
        .find(|(ip, len)| overlaps(*ip, *len));
    match conflict {
        Some((ip, len)) => Err(NetError::SubnetOverlap {
            subnet: ours.to_string(),
            other: format!("{ip}/{len}"),
        }),
        None => Ok(()),
    }
}

/// Remove what setup added: bridge, our chains and hooks, the state directory.
/// `ip_forward` stays on: other networks (and other tools) may rely on it.
/// Refuses while addresses are leased, unless `force` (which detaches them).
pub fn teardown(cfg: &NetConfig, force: bool) -> Result<()> {
    let _lock = setup_lock(cfg)?;
    let leases = Ipam::new(cfg).leases()?;
    if !leases.is_empty() && !force {
        return Err(NetError::InUse {
            bridge: cfg.bridge.clone(),
            count: leases.len(),
        });
    }
    for ep in endpoint::endpoints(cfg)? {
        endpoint::detach(cfg, &ep.owner)?;
    }
    for lease in Ipam::new(cfg).leases()? {
        Ipam::new(cfg).release(lease.ip, &lease.owner)?;
    }
    endpoint::drop_claims(cfg)?;
    firewall::remove(cfg)?;
    let mut nl = open_rtnl()?;
    if let Some(link) =
        netlink::link_by_name(&mut nl, &cfg.bridge).ctx(|| format!("looking up {}", cfg.bridge))?
    {
        netlink::delete_link(&mut nl, link.index)
            .ctx(|| format!("deleting bridge {}", cfg.bridge))?;
    }
    // Keep the lock file until we are done with it; remove everything else.
    for entry in
        fs::read_dir(&cfg.state_dir).ctx(|| format!("reading {}", cfg.state_dir.display()))?
    {
        let entry = entry.ctx(|| format!("reading {}", cfg.state_dir.display()))?;
        let path = entry.path();
        let res = if path.is_dir() {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        res.ctx(|| format!("removing {}", path.display()))?;
    }
    let _ = fs::remove_dir(&cfg.state_dir);
    Ok(())
}

fn write_sysctl(path: &Path, value: &str) -> Result<()> {
    if fs::read_to_string(path).is_ok_and(|v| v.trim() == value) {
        return Ok(());
    }
    fs::write(path, value).ctx(|| format!("writing {value} to {}", path.display()))
}
