//! The generated /etc/hostname, /etc/hosts and /etc/resolv.conf, written beside the
//! container record (never into the image) and bind-mounted into the container.
//! /etc/hosts is only created here (the bind mount needs its source): its content is
//! bocker-net's, written once by the network step when the address is known.

use crate::spec::EtcFiles;
use std::io;
use std::path::Path;

/// The host's resolver config, with loopback nameservers dropped (they would point at the
/// container's own, empty, loopback).
pub fn resolv_conf(host: &str) -> String {
    let mut out = String::new();
    for line in host.lines() {
        let t = line.trim();
        if let Some(ns) = t.strip_prefix("nameserver") {
            let ns = ns.trim();
            if ns.starts_with("127.") || ns == "::1" {
                continue;
            }
        }
        if t.starts_with("nameserver") || t.starts_with("search") || t.starts_with("options") {
            out.push_str(t);
            out.push('\n');
        }
    }
    out
}

/// Write the three files into `dir` and return their paths.
pub fn write(dir: &Path, hostname: &str) -> io::Result<EtcFiles> {
    let files = EtcFiles {
        hostname: dir.join("hostname"),
        hosts: dir.join("hosts"),
        resolv_conf: dir.join("resolv.conf"),
    };
    let host_resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    std::fs::write(&files.hostname, format!("{hostname}\n"))?;
    std::fs::write(&files.hosts, "")?;
    std::fs::write(&files.resolv_conf, resolv_conf(&host_resolv))?;
    Ok(files)
}

#[cfg(test)]
mod tests {
    #[test]
    fn resolv_conf_keeps_real_servers_only() {
        let r =
            super::resolv_conf("# x\nnameserver 127.0.0.53\nnameserver 192.0.2.1\nsearch lan\n");
        assert_eq!(r, "nameserver 192.0.2.1\nsearch lan\n");
    }
}
