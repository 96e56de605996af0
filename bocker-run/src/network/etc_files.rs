//! The generated /etc/hostname, /etc/hosts and /etc/resolv.conf, written beside the
//! container record (never into the image) and bind-mounted into the container.
//! /etc/hosts is only seeded here with the user's `--add-host` entries (the bind mount
//! needs its source): its content is bocker-net's, written once by the network step
//! (`network::setup_network`) when the address is known.

use crate::network::NetworkMode;
use crate::spec::EtcFiles;
use std::io;
use std::net::IpAddr;
use std::path::Path;

/// The host's resolver configuration.
const HOST_RESOLV: &str = "/etc/resolv.conf";
/// systemd-resolved's list of the real upstream servers, used when the host's own file
/// points only at its local stub (127.0.0.53), as Docker does.
const SYSTEMD_RESOLV: &str = "/run/systemd/resolve/resolv.conf";
/// Docker's fallback when no usable nameserver is left (Docker 20.10, libnetwork
/// resolvconf: Google's public resolvers).
pub const FALLBACK_NAMESERVERS: [&str; 2] = ["8.8.8.8", "8.8.4.4"];
/// What `--add-host NAME:host-gateway` stands for until the network step resolves it.
pub const HOST_GATEWAY: &str = "host-gateway";

/// `--dns`, `--dns-search`, `--dns-option`: each, when given, replaces the host's.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Dns {
    pub servers: Vec<String>,
    pub search: Vec<String>,
    pub options: Vec<String>,
}

impl Dns {
    /// Checks the flags: nameservers must be IP addresses (Docker: "invalid IP address").
    pub fn new(servers: &[String], search: &[String], options: &[String]) -> io::Result<Dns> {
        for s in servers {
            s.parse::<IpAddr>().map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("--dns: '{s}' is not an IP address"),
                )
            })?;
        }
        Ok(Dns {
            servers: servers.to_vec(),
            search: search.to_vec(),
            options: options.to_vec(),
        })
    }

    fn is_empty(&self) -> bool {
        self.servers.is_empty() && self.search.is_empty() && self.options.is_empty()
    }
}

/// A resolv.conf's parts.
#[derive(Default)]
struct Resolv {
    nameservers: Vec<String>,
    search: Vec<String>,
    domain: Option<String>,
    options: Vec<String>,
}

fn parse(text: &str) -> Resolv {
    let mut r = Resolv::default();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("nameserver") => r.nameservers.extend(words.next().map(str::to_string)),
            Some("search") => r.search = words.map(str::to_string).collect(),
            Some("domain") => r.domain = words.next().map(str::to_string),
            Some("options") => r.options.extend(words.map(str::to_string)),
            _ => {}
        }
    }
    r
}

fn is_loopback(ns: &str) -> bool {
    ns.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The container's resolv.conf, as Docker 20.10 writes it for a container without
/// IPv6: from the host's file (`host`), or systemd-resolved's upstream list
/// (`systemd`) when the host's names only loopback stubs; loopback and IPv6
/// nameservers dropped (they are unreachable from the container); `search`, `domain`
/// and `options` kept; [`FALLBACK_NAMESERVERS`] when nothing is left; each of `dns`'s
/// parts, when given, replaces the host's.
pub fn resolv_conf(host: &str, systemd: Option<&str>, dns: &Dns) -> String {
    let mut r = parse(host);
    let stub_only = !r.nameservers.is_empty() && r.nameservers.iter().all(|ns| is_loopback(ns));
    if let (true, Some(upstream)) = (stub_only, systemd) {
        let up = parse(upstream);
        r.nameservers = up.nameservers;
        if r.search.is_empty() && r.domain.is_none() {
            (r.search, r.domain) = (up.search, up.domain);
        }
    }
    let mut servers: Vec<String> = if dns.servers.is_empty() {
        r.nameservers
            .into_iter()
            .filter(|ns| {
                ns.parse::<std::net::Ipv4Addr>()
                    .is_ok_and(|ip| !ip.is_loopback())
            })
            .collect()
    } else {
        dns.servers.clone()
    };
    if servers.is_empty() {
        servers = FALLBACK_NAMESERVERS.iter().map(|s| s.to_string()).collect();
    }
    let mut out = String::new();
    if !dns.search.is_empty() {
        out += &format!("search {}\n", dns.search.join(" "));
    } else {
        if let Some(d) = &r.domain {
            out += &format!("domain {d}\n");
        }
        if !r.search.is_empty() {
            out += &format!("search {}\n", r.search.join(" "));
        }
    }
    for ns in &servers {
        out += &format!("nameserver {ns}\n");
    }
    let options = if dns.options.is_empty() {
        &r.options
    } else {
        &dns.options
    };
    if !options.is_empty() {
        out += &format!("options {}\n", options.join(" "));
    }
    out
}

/// `--add-host NAME:IP` (or `NAME:host-gateway`) as `IP\tNAME` lines, in order.
pub fn add_host_lines(entries: &[String]) -> io::Result<String> {
    let mut out = String::new();
    for e in entries {
        let bad = |why: &str| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("--add-host '{e}': {why} (expected NAME:IP or NAME:host-gateway)"),
            )
        };
        let (name, ip) = e.split_once(':').ok_or_else(|| bad("no ':'"))?;
        let name_ok = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
        if !name_ok {
            return Err(bad("invalid host name"));
        }
        if ip != HOST_GATEWAY && ip.parse::<IpAddr>().is_err() {
            return Err(bad("invalid IP address"));
        }
        out += &format!("{ip}\t{name}\n");
    }
    Ok(out)
}

/// Write the three files into `dir` and return their paths. In host mode without DNS
/// flags the container sees the host's own resolv.conf, as with Docker.
pub fn write(
    dir: &Path,
    hostname: &str,
    mode: NetworkMode,
    dns: &Dns,
    add_hosts: &[String],
) -> io::Result<EtcFiles> {
    let files = EtcFiles {
        hostname: dir.join("hostname"),
        hosts: dir.join("hosts"),
        resolv_conf: dir.join("resolv.conf"),
    };
    let host_resolv = std::fs::read_to_string(HOST_RESOLV).unwrap_or_default();
    let resolv = if mode == NetworkMode::Host && dns.is_empty() {
        host_resolv
    } else {
        let systemd = std::fs::read_to_string(SYSTEMD_RESOLV).ok();
        resolv_conf(&host_resolv, systemd.as_deref(), dns)
    };
    std::fs::write(&files.hostname, format!("{hostname}\n"))?;
    std::fs::write(&files.hosts, add_host_lines(add_hosts)?)?;
    std::fs::write(&files.resolv_conf, resolv)?;
    Ok(files)
}

/// Writes the container's /etc/hosts back to what [`write`] seeded it with (the
/// `--add-host` lines), in place (the bind mount's inode), before a container that ran
/// before starts again: the network step then fills it as on the first start.
pub fn reseed_hosts(hosts: &Path, add_hosts: &[String]) -> io::Result<()> {
    std::fs::write(hosts, add_host_lines(add_hosts)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dns(servers: &[&str], search: &[&str], options: &[&str]) -> Dns {
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        Dns::new(&v(servers), &v(search), &v(options)).unwrap()
    }

    #[test]
    fn real_servers_search_domain_and_options_are_kept() {
        let r = resolv_conf(
            "# x\nnameserver 127.0.0.53\nnameserver 192.0.2.1\nnameserver 2001:db8::1\ndomain corp\nsearch lan\noptions ndots:2\n",
            None,
            &Dns::default(),
        );
        assert_eq!(
            r,
            "domain corp\nsearch lan\nnameserver 192.0.2.1\noptions ndots:2\n"
        );
    }

    #[test]
    fn systemd_resolved_stub_is_replaced_by_its_upstreams() {
        let host = "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch home\n";
        let upstream = "nameserver 192.0.2.53\nnameserver 198.51.100.53\nsearch other\n";
        let r = resolv_conf(host, Some(upstream), &Dns::default());
        assert_eq!(
            r,
            "search home\nnameserver 192.0.2.53\nnameserver 198.51.100.53\noptions edns0 trust-ad\n"
        );
    }

    #[test]
    fn nothing_usable_falls_back_like_docker() {
        let r = resolv_conf(
            "nameserver 127.0.0.53\nnameserver ::1\n",
            None,
            &Dns::default(),
        );
        assert_eq!(r, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
    }

    #[test]
    fn flags_override_each_part() {
        let host = "nameserver 192.0.2.1\nsearch lan\noptions ndots:2\n";
        let r = resolv_conf(host, None, &dns(&["192.0.2.9"], &[], &[]));
        assert_eq!(r, "search lan\nnameserver 192.0.2.9\noptions ndots:2\n");
        let r = resolv_conf(
            host,
            None,
            &dns(&[], &["a.example", "b.example"], &["timeout:1"]),
        );
        assert_eq!(
            r,
            "search a.example b.example\nnameserver 192.0.2.1\noptions timeout:1\n"
        );
        assert!(Dns::new(&["banana".into()], &[], &[]).is_err());
    }

    #[test]
    fn add_host_entries_are_checked() {
        let l = add_host_lines(&["db:192.0.2.7".into(), "gw:host-gateway".into()]).unwrap();
        assert_eq!(l, "192.0.2.7\tdb\nhost-gateway\tgw\n");
        assert!(add_host_lines(&["db".into()]).is_err());
        assert!(add_host_lines(&["db:nope".into()]).is_err());
        assert!(add_host_lines(&["d b:192.0.2.7".into()]).is_err());
    }
}
