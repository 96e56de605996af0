//! Which bridge, which subnet, where the state lives: the one place that reads the
//! network settings from the environment.
//!
//! A bridge is a host-wide resource, so its state (leases, endpoints, port claims) is
//! host-wide too: `/run/bocker/net/<bridge>` (tmpfs: it dies with the bridge at reboot),
//! never inside one store. Two stores (two `BOCKER_ROOT`s) on one bridge share one lease
//! table and so never hand out one address twice; their owners differ by
//! [`container_owner`].

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use ipnet::Ipv4Net;

use crate::error::{NetError, Result};

pub const DEFAULT_BRIDGE: &str = "bridge0";
pub const DEFAULT_SUBNET: &str = "10.0.0.0/24";
/// Where per-bridge state lives unless `BOCKER_NET_STATE` says otherwise.
pub const DEFAULT_STATE_ROOT: &str = "/run/bocker/net";

/// One bridged network: the bridge, its subnet (the gateway is the first host
/// address, on the bridge) and the directory holding its leases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetConfig {
    pub bridge: String,
    pub subnet: Ipv4Net,
    pub state_dir: PathBuf,
}

impl NetConfig {
    /// `BOCKER_BRIDGE` (default `bridge0`), `BOCKER_SUBNET` (default `10.0.0.0/24`)
    /// and `BOCKER_NET_STATE` (default `/run/bocker/net`; state goes under
    /// `<it>/<bridge>`). Empty variables count as unset.
    pub fn from_env() -> Result<NetConfig> {
        NetConfig::from_env_with(None, None)
    }

    /// [`NetConfig::from_env`], with a bridge and subnet given explicitly (flags, or
    /// the bridge a container recorded) taking precedence over the environment.
    pub fn from_env_with(bridge: Option<&str>, subnet: Option<&str>) -> Result<NetConfig> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let bridge = bridge
            .map(str::to_string)
            .or_else(|| var("BOCKER_BRIDGE"))
            .unwrap_or_else(|| DEFAULT_BRIDGE.into());
        let subnet = subnet
            .map(str::to_string)
            .or_else(|| var("BOCKER_SUBNET"))
            .unwrap_or_else(|| DEFAULT_SUBNET.into());
        let state = var("BOCKER_NET_STATE").unwrap_or_else(|| DEFAULT_STATE_ROOT.into());
        NetConfig::new(Path::new(&state), &bridge, &subnet)
    }

    /// Validate a bridge name and a subnet given as text; state under
    /// `<state_root>/<bridge>`.
    pub fn new(state_root: &Path, bridge: &str, subnet: &str) -> Result<NetConfig> {
        check_bridge_name(bridge)?;
        let subnet = parse_subnet(subnet)?;
        Ok(NetConfig {
            bridge: bridge.to_string(),
            subnet,
            state_dir: state_root.join(bridge),
        })
    }

    /// The bridge's own address, the containers' default route.
    pub fn gateway(&self) -> Ipv4Addr {
        nth_host(&self.subnet, 1)
    }

    pub fn leases_dir(&self) -> PathBuf {
        self.state_dir.join("leases")
    }

    pub fn endpoints_dir(&self) -> PathBuf {
        self.state_dir.join("endpoints")
    }

    /// Host ports are one resource for the whole host, whatever the bridge: their
    /// claims live beside the bridges' directories, `<state root>/ports`.
    pub fn ports_dir(&self) -> PathBuf {
        self.state_dir
            .parent()
            .unwrap_or(&self.state_dir)
            .join("ports")
    }
}

/// The lease owner for container `id` of the store at `store_root`: the store's
/// identity (a 64-bit FNV-1a hash of its root path, stable across versions) then the id,
/// so that two stores sharing a bridge never release each other's leases or rules
/// even if their container ids met. At most 17 + `id.len()` characters.
pub fn container_owner(store_root: &Path, id: &str) -> String {
    let root = std::fs::canonicalize(store_root).unwrap_or_else(|_| store_root.to_path_buf());
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in root.as_os_str().as_encoded_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}-{id}")
}

/// The `n`th address of a subnet (0 is the network address).
pub(crate) fn nth_host(net: &Ipv4Net, n: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(net.network()) + n)
}

/// An interface name the kernel accepts and that fits in our iptables chain names.
fn check_bridge_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 15
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
        && name != "."
        && name != "..";
    if ok {
        Ok(())
    } else {
        Err(NetError::BadConfig(format!(
            "bridge name '{name}' must be 1-15 characters of [A-Za-z0-9_.-]"
        )))
    }
}

/// An IPv4 network with room for a gateway and at least one container.
fn parse_subnet(text: &str) -> Result<Ipv4Net> {
    let net: Ipv4Net = text.parse().map_err(|_| {
        NetError::BadConfig(format!(
            "subnet '{text}' is not an IPv4 CIDR like 10.0.0.0/24"
        ))
    })?;
    if net.prefix_len() > 30 || net.prefix_len() < 8 {
        return Err(NetError::BadConfig(format!(
            "subnet '{text}' must have a prefix length between /8 and /30"
        )));
    }
    if net.addr() != net.network() {
        return Err(NetError::BadConfig(format!(
            "subnet '{text}' has host bits set (did you mean {}?)",
            net.trunc()
        )));
    }
    Ok(net)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_is_first_host() {
        let c = NetConfig::new(Path::new("/r"), "br-x", "10.201.3.0/24").unwrap();
        assert_eq!(c.gateway(), Ipv4Addr::new(10, 201, 3, 1));
        assert_eq!(c.state_dir, Path::new("/r/br-x"));
    }

    #[test]
    fn owners_differ_between_stores() {
        let a = container_owner(Path::new("/nonexistent/a"), "ps_0123456789ab");
        let b = container_owner(Path::new("/nonexistent/b"), "ps_0123456789ab");
        assert_ne!(a, b);
        assert!(a.ends_with("-ps_0123456789ab") && a.len() == 32, "{a}");
        assert_eq!(
            a,
            container_owner(Path::new("/nonexistent/a"), "ps_0123456789ab")
        );
    }

    #[test]
    fn rejects_bad_input() {
        let r = Path::new("/r");
        assert!(NetConfig::new(r, "", "10.0.0.0/24").is_err());
        assert!(NetConfig::new(r, "a-name-longer-than-15", "10.0.0.0/24").is_err());
        assert!(NetConfig::new(r, "br x", "10.0.0.0/24").is_err());
        assert!(NetConfig::new(r, "br0", "10.0.0.5/24").is_err());
        assert!(NetConfig::new(r, "br0", "10.0.0.0/31").is_err());
        assert!(NetConfig::new(r, "br0", "banana").is_err());
        assert!(NetConfig::new(r, "br0", "10.0.0.0/30").is_ok());
    }
}
