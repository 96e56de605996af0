//! `-p` port mappings: `[HOSTIP:]HOSTPORT:CTRPORT[/tcp|/udp]`.

use std::fmt;
use std::net::Ipv4Addr;
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

/// One published port. `host_ip` None means every host address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PortMapping {
    pub host_ip: Option<Ipv4Addr>,
    pub host_port: u16,
    pub container_port: u16,
    pub proto: Proto,
}

impl fmt::Display for PortMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(ip) = self.host_ip {
            write!(f, "{ip}:")?;
        }
        write!(
            f,
            "{}:{}/{}",
            self.host_port, self.container_port, self.proto
        )
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

impl FromStr for PortMapping {
    type Err = NetError;

    fn from_str(s: &str) -> Result<Self, NetError> {
        let bad = |why| NetError::BadPortMapping(s.to_string(), why);
        let (spec, proto) = match s.rsplit_once('/') {
            Some((spec, "tcp")) => (spec, Proto::Tcp),
            Some((spec, "udp")) => (spec, Proto::Udp),
            Some(_) => return Err(bad("the protocol must be tcp or udp")),
            None => (s, Proto::Tcp),
        };
        let parts: Vec<&str> = spec.split(':').collect();
        let (host_ip, host, ctr) = match parts.as_slice() {
            [host, ctr] => (None, *host, *ctr),
            [ip, host, ctr] => {
                let ip: Ipv4Addr = ip
                    .parse()
                    .map_err(|_| bad("the host address must be IPv4"))?;
                (
                    if ip.is_unspecified() { None } else { Some(ip) },
                    *host,
                    *ctr,
                )
            }
            [_] => return Err(bad("a host port is required")),
            _ => return Err(bad("too many ':'")),
        };
        Ok(PortMapping {
            host_ip,
            host_port: port(host, s)?,
            container_port: port(ctr, s)?,
            proto,
        })
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
        assert_eq!(p.host_ip, Some(Ipv4Addr::LOCALHOST));
        assert_eq!(p.to_string(), "127.0.0.1:18080:80/tcp");
        let p: PortMapping = "0.0.0.0:1:2".parse().unwrap();
        assert_eq!(p.host_ip, None);
    }

    #[test]
    fn rejects_garbage() {
        for s in [
            "80",
            "a:80",
            "0:80",
            "80:70000",
            "1:2:3:4",
            "80:80/sctp",
            "::1:80:80",
            "x.y:1:2",
            "",
        ] {
            assert!(s.parse::<PortMapping>().is_err(), "{s} should be rejected");
        }
    }
}
