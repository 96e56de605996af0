//! What `bocker-net status` shows: bridge, addresses, rules, leases, veths.

use std::fmt::Write;
use std::net::Ipv4Addr;

use serde::Serialize;

use crate::config::NetConfig;
use crate::endpoint;
use crate::error::{IoContext, Result};
use crate::firewall;
use crate::ipam::Ipam;
use crate::netlink::{self, Rtnl};

#[derive(Debug, Clone, Serialize)]
pub struct LeaseStatus {
    pub ip: Ipv4Addr,
    pub owner: String,
    pub ports: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub bridge: String,
    pub subnet: String,
    pub gateway: Ipv4Addr,
    pub present: bool,
    pub up: bool,
    pub addresses: Vec<String>,
    pub ip_forward: bool,
    pub veths: Vec<String>,
    pub rules: Vec<String>,
    pub leases: Vec<LeaseStatus>,
}

pub fn status(cfg: &NetConfig) -> Result<Status> {
    let mut nl = Rtnl::open().ctx(|| "opening a netlink socket".to_string())?;
    let link =
        netlink::link_by_name(&mut nl, &cfg.bridge).ctx(|| format!("looking up {}", cfg.bridge))?;
    let (mut addresses, mut veths) = (Vec::new(), Vec::new());
    if let Some(l) = &link {
        for (ip, len) in netlink::ipv4_addresses(&mut nl, l.index)
            .ctx(|| format!("listing addresses of {}", cfg.bridge))?
        {
            addresses.push(format!("{ip}/{len}"));
        }
        for port in netlink::links_with_master(&mut nl, l.index)
            .ctx(|| format!("listing ports of {}", cfg.bridge))?
        {
            veths.push(port.name);
        }
    }
    let endpoints = endpoint::endpoints(cfg)?;
    let leases = Ipam::new(cfg)
        .leases()?
        .into_iter()
        .map(|l| {
            let ports = endpoints
                .iter()
                .find(|e| e.owner == l.owner && e.ip == l.ip)
                .map(|e| e.ports.iter().map(|p| p.to_string()).collect())
                .unwrap_or_default();
            LeaseStatus {
                ip: l.ip,
                owner: l.owner,
                ports,
            }
        })
        .collect();
    Ok(Status {
        bridge: cfg.bridge.clone(),
        subnet: cfg.subnet.to_string(),
        gateway: cfg.gateway(),
        present: link.is_some(),
        up: link.is_some_and(|l| l.up),
        addresses,
        ip_forward: std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward")
            .is_ok_and(|v| v.trim() == "1"),
        veths,
        rules: firewall::rules(cfg)?,
        leases,
    })
}

impl Status {
    /// The human form.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let state = match (self.present, self.up) {
            (false, _) => "missing",
            (true, false) => "down",
            (true, true) => "up",
        };
        let _ = writeln!(
            s,
            "BRIDGE    {} ({state}) {}",
            self.bridge,
            self.addresses.join(" ")
        );
        let _ = writeln!(s, "SUBNET    {} gateway {}", self.subnet, self.gateway);
        let _ = writeln!(
            s,
            "FORWARD   {}",
            if self.ip_forward { "on" } else { "off" }
        );
        let _ = writeln!(
            s,
            "VETHS     {}",
            if self.veths.is_empty() {
                "-".into()
            } else {
                self.veths.join(" ")
            }
        );
        let _ = writeln!(s, "RULES");
        for r in &self.rules {
            let _ = writeln!(s, "  {r}");
        }
        let _ = writeln!(s, "LEASES");
        let _ = writeln!(s, "  {:<16} {:<24} PORTS", "IP", "OWNER");
        for l in &self.leases {
            let _ = writeln!(
                s,
                "  {:<16} {:<24} {}",
                l.ip.to_string(),
                l.owner,
                l.ports.join(",")
            );
        }
        s
    }
}
