//! Which bridge, which subnet, where the state lives.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use ipnet::Ipv4Net;

use crate::error::{NetError, Result};

pub const DEFAULT_BRIDGE: &str = "bridge0";
pub const DEFAULT_SUBNET: &str = "10.0.0.0/24";

/// One bridged network: the bridge, its subnet (the gateway is the first host
/// address, on the bridge) and the directory holding its leases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetConfig {
    pub bridge: String,
    pub subnet: Ipv4Net,
    pub state_dir: PathBuf,
}

impl NetConfig {
    /// `BOCKER_BRIDGE` (default `bridge0`) and `BOCKER_SUBNET` (default
    /// `10.0.0.0/24`); state under `<bocker_root>/net/<bridge>`.
    pub fn from_env(bocker_root: &Path) -> Result<NetConfig> {
        let bridge = std::env::var("BOCKER_BRIDGE").unwrap_or_else(|_| DEFAULT_BRIDGE.into());
        let subnet = std::env::var("BOCKER_SUBNET").unwrap_or_else(|_| DEFAULT_SUBNET.into());
        NetConfig::new(bocker_root, &bridge, &subnet)
    }

    /// Validate a bridge name and a subnet given as text.
    pub fn new(bocker_root: &Path, bridge: &str, subnet: &str) -> Result<NetConfig> {
        check_bridge_name(bridge)?;
        let subnet = parse_subnet(subnet)?;
        Ok(NetConfig {
            bridge: bridge.to_string(),
            subnet,
            state_dir: bocker_root.join("net").join(bridge),
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

    pub fn ports_dir(&self) -> PathBuf {
        self.state_dir.join("ports")
    }
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
        assert_eq!(c.state_dir, Path::new("/r/net/br-x"));
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
