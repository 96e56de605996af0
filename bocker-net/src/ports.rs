//! `-p` port mappings: `[HOSTIP:]HOSTPORT:CTRPORT[/tcp|/udp]`, with Docker's other
//! forms: ranges (`8000-8001:80-81`, see [`PortMapping::parse_all`]), bracketed IPv6
//! hosts (`[::1]:8080:80`, served by the userland relay, `relay.rs`), `/sctp` (refused
//! clearly).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::NetError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        })
    }
}

/// One published port. `host_ip` None means every host address, IPv4 and IPv6
/// (Docker 20.10: `-p 8080:80` listens on `0.0.0.0:8080` and `[::]:8080`).
/// `host_port` 0 means a free port picked when it is published (`-p 80`, `-p IP::80`);
/// [`crate::PortHolds::ports`] says which.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PortMapping {
    pub host_ip: Option<IpAddr>,
    pub host_port: u16,
    pub container_port: u16,
    pub proto: Proto,
}

impl PortMapping {
    /// The IPv4 host address this mapping publishes on (a DNAT rule), if any:
    /// `0.0.0.0` for every address.
    pub fn ipv4_host(&self) -> Option<Ipv4Addr> {
        match self.host_ip {
            None => Some(Ipv4Addr::UNSPECIFIED),
            Some(IpAddr::V4(ip)) => Some(ip),
            Some(IpAddr::V6(_)) => None,
        }
    }

    /// The IPv6 host address this mapping publishes on (through the userland relay:
    /// the container has no IPv6 address to DNAT to), if any: `::` for every address.
    pub fn ipv6_host(&self) -> Option<Ipv6Addr> {
        match self.host_ip {
            None => Some(Ipv6Addr::UNSPECIFIED),
            Some(IpAddr::V6(ip)) => Some(ip),
            Some(IpAddr::V4(_)) => None,
        }
    }
}

impl fmt::Display for PortMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.host_ip {
            Some(IpAddr::V6(ip)) => write!(f, "[{ip}]:")?,
            Some(ip) => write!(f, "{ip}:")?,
            None => {}
        }
        match self.host_port {
            0 if self.host_ip.is_none() => write!(f, "{}/{}", self.container_port, self.proto),
            0 => write!(f, ":{}/{}", self.container_port, self.proto),
            p => write!(f, "{p}:{}/{}", self.container_port, self.proto),
        }
    }
}

fn port(text: &str, whole: &str) -> Result<u16, NetError> {
    match text.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(NetError::BadPortMapping(
            whole.to_string(),
            "ports are numbers from 1 to 65535",
        )),
    }
}

/// `A` or `A-B` as an inclusive range.
fn range(text: &str, whole: &str) -> Result<(u16, u16), NetError> {
    match text.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (port(a, whole)?, port(b, whole)?);
            if a > b {
                return Err(NetError::BadPortMapping(
                    whole.to_string(),
                    "a range must go up",
                ));
            }
            Ok((a, b))
        }
        None => port(text, whole).map(|p| (p, p)),
    }
}

impl PortMapping {
    /// Every mapping one `-p` value stands for: `8000-8001:80-81/udp` is two. Host and
    /// container ranges must have the same length.
    pub fn parse_all(s: &str) -> Result<Vec<PortMapping>, NetError> {
        let bad = |why| NetError::BadPortMapping(s.to_string(), why);
        let (spec, proto) = match s.rsplit_once('/') {
            Some((spec, "tcp")) => (spec, Proto::Tcp),
            Some((spec, "udp")) => (spec, Proto::Udp),
            Some((_, "sctp")) => return Err(bad("sctp is not supported, only tcp and udp")),
            Some(_) => return Err(bad("the protocol must be tcp or udp")),
            None => (s, Proto::Tcp),
        };
        // A bracketed IPv6 host address: `[::1]:8080:80`.
        let (host_ip, ports) = match spec.strip_prefix('[') {
            Some(rest) => {
                let (ip, rest) = rest.split_once(']').ok_or_else(|| bad("unclosed '['"))?;
                let ip: Ipv6Addr = ip
                    .parse()
                    .map_err(|_| bad("not an IPv6 address between '[' and ']'"))?;
                let rest = rest
                    .strip_prefix(':')
                    .ok_or_else(|| bad("':' must follow ']'"))?;
                // `[::]` is every IPv6 address and no IPv4 one: kept as `::`.
                (Some(IpAddr::V6(ip)), rest)
            }
            None => (None, spec),
        };
        let parts: Vec<&str> = ports.split(':').collect();
        let (host_ip, host, ctr) = match (host_ip, parts.as_slice()) {
            (Some(v6), [host, ctr]) => (Some(v6), *host, *ctr),
            (None, [host, ctr]) => (None, *host, *ctr),
            (None, [ip, host, ctr]) => {
                let ip: Ipv4Addr = ip.parse().map_err(|_| {
                    bad("the host address must be IPv4, or IPv6 in brackets ([::1])")
                })?;
                (
                    if ip.is_unspecified() {
                        None
                    } else {
                        Some(IpAddr::V4(ip))
                    },
                    *host,
                    *ctr,
                )
            }
            // `-p 80`: the container port alone, a free host port picked at publish.
            (None, [ctr]) => (None, "", *ctr),
            _ => return Err(bad("too many ':' (an IPv6 host address goes in brackets)")),
        };
        let (c0, c1) = range(ctr, s)?;
        // An empty host port (`80`, `IP::80`, `[::1]::80`): 0, "any free port", for each.
        let (h0, step) = match host {
            "" => (0, 0),
            _ => {
                let (h0, h1) = range(host, s)?;
                if h1 - h0 != c1 - c0 {
                    return Err(bad(
                        "the host and container ranges must have the same length",
                    ));
                }
                (h0, 1)
            }
        };
        Ok((0..=c1 - c0)
            .map(|i| PortMapping {
                host_ip,
                host_port: h0 + i * step,
                container_port: c0 + i,
                proto,
            })
            .collect())
    }
}

/// One mapping; a range is an error here (use [`PortMapping::parse_all`]).
impl FromStr for PortMapping {
    type Err = NetError;

    fn from_str(s: &str) -> Result<Self, NetError> {
        match PortMapping::parse_all(s)?.as_slice() {
            [one] => Ok(*one),
            _ => Err(NetError::BadPortMapping(
                s.to_string(),
                "a range stands for several mappings here",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_docker_forms() {
        let p: PortMapping = "8080:80".parse().unwrap();
        assert_eq!(
            p,
            PortMapping {
                host_ip: None,
                host_port: 8080,
                container_port: 80,
                proto: Proto::Tcp
            }
        );
        let p: PortMapping = "53:5353/udp".parse().unwrap();
        assert_eq!(
            (p.host_port, p.container_port, p.proto),
            (53, 5353, Proto::Udp)
        );
        let p: PortMapping = "127.0.0.1:18080:80/tcp".parse().unwrap();
        assert_eq!(p.host_ip, Some(Ipv4Addr::LOCALHOST.into()));
        assert_eq!(p.to_string(), "127.0.0.1:18080:80/tcp");
        let p: PortMapping = "0.0.0.0:1:2".parse().unwrap();
        assert_eq!(p.host_ip, None);
    }

    #[test]
    fn ranges_and_ipv6_parse_and_sctp_is_refused_clearly() {
        let all = PortMapping::parse_all("127.0.0.1:8000-8002:80-82/udp").unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[2].to_string(), "127.0.0.1:8002:82/udp");
        let p: PortMapping = "[::1]:8080:80".parse().unwrap();
        assert_eq!(p.host_ip, Some(Ipv6Addr::LOCALHOST.into()));
        assert_eq!(
            (p.ipv4_host(), p.ipv6_host()),
            (None, Some(Ipv6Addr::LOCALHOST))
        );
        assert_eq!(p.to_string(), "[::1]:8080:80/tcp");
        assert_eq!(p.to_string().parse::<PortMapping>().unwrap(), p);
        let all = PortMapping::parse_all("[::]:9000-9001:90-91/udp").unwrap();
        assert_eq!(all[1].to_string(), "[::]:9001:91/udp");
        assert_eq!(all[1].ipv4_host(), None);
        // A plain publish is every address of both families.
        let p: PortMapping = "8080:80".parse().unwrap();
        assert_eq!(
            (p.ipv4_host(), p.ipv6_host()),
            (Some(Ipv4Addr::UNSPECIFIED), Some(Ipv6Addr::UNSPECIFIED))
        );
        let p: PortMapping = "127.0.0.1:8080:80".parse().unwrap();
        assert_eq!(p.ipv6_host(), None);
        let e = PortMapping::parse_all("80:80/sctp")
            .unwrap_err()
            .to_string();
        assert!(e.contains("sctp is not supported"), "{e}");
    }

    #[test]
    fn an_empty_host_port_is_any_free_port() {
        for (s, ip, ctr) in [
            ("80", None, 80),
            ("127.0.0.1::80/udp", Some(Ipv4Addr::LOCALHOST.into()), 80),
            ("[::1]::81", Some(Ipv6Addr::LOCALHOST.into()), 81),
        ] {
            let p: PortMapping = s.parse().unwrap();
            assert_eq!(
                (p.host_ip, p.host_port, p.container_port),
                (ip, 0, ctr),
                "{s}"
            );
            assert_eq!(p.to_string().parse::<PortMapping>().unwrap(), p, "{s}");
        }
        let all = PortMapping::parse_all("8000-8002").unwrap();
        assert_eq!(all.len(), 3);
        assert!(all.iter().all(|m| m.host_port == 0));
        assert_eq!(all[2].container_port, 8002);
        assert!(PortMapping::parse_all("1-2:8000-8002").is_err());
        // Docker accepts an empty host port before the ':' too.
        assert_eq!(":80".parse::<PortMapping>().unwrap().host_port, 0);
    }

    #[test]
    fn rejects_garbage() {
        for s in [
            "80-",
            "a:80",
            "0:80",
            "80:70000",
            "1:2:3:4",
            "80:80/sctp",
            "::1:80:80",
            "[::1:80:80",
            "[::1]80:80",
            "[::1]:80",
            "[1.2.3.4]:80:80",
            "[::1]:1:80:80",
            "8000-8001:80",
            "8001-8000:80-81",
            "x.y:1:2",
            "",
        ] {
            assert!(s.parse::<PortMapping>().is_err(), "{s} should be rejected");
        }
    }
}
