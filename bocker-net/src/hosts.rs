//! The container's `/etc/hosts`: its own name on its own address.

use std::net::Ipv4Addr;

/// Docker-style `/etc/hosts`: the localhost entries, then `IP HOSTNAME` for
/// the leased address. Without an address (`--network none`) the name goes on
/// 127.0.0.1 so that it still resolves. A dotted name also gets its first label as
/// an alias (Docker 20.10: `--hostname web.example` gives `IP web.example web`).
pub fn hosts_file(hostname: &str, ip: Option<Ipv4Addr>) -> String {
    let names = match hostname.split_once('.') {
        Some((short, _)) if !short.is_empty() => format!("{hostname} {short}"),
        _ => hostname.to_string(),
    };
    let hostname = names.as_str();
    let mut s = String::new();
    match ip {
        Some(_) => s.push_str("127.0.0.1\tlocalhost\n"),
        None => s.push_str(&format!("127.0.0.1\tlocalhost {hostname}\n")),
    }
    s.push_str(
        "::1\tlocalhost ip6-localhost ip6-loopback\n\
         fe00::0\tip6-localnet\n\
         ff00::0\tip6-mcastprefix\n\
         ff02::1\tip6-allnodes\n\
         ff02::2\tip6-allrouters\n",
    );
    if let Some(ip) = ip {
        s.push_str(&format!("{ip}\t{hostname}\n"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_name_on_own_address() {
        let h = hosts_file("web", Some(Ipv4Addr::new(10, 0, 0, 7)));
        assert!(h.starts_with("127.0.0.1\tlocalhost\n"));
        assert!(h.ends_with("10.0.0.7\tweb\n"));
    }

    #[test]
    fn a_dotted_name_gets_its_short_alias() {
        let h = hosts_file("web.example", Some(Ipv4Addr::new(10, 0, 0, 7)));
        assert!(h.ends_with("10.0.0.7\tweb.example web\n"), "{h}");
    }

    #[test]
    fn without_an_address_the_name_is_local() {
        let h = hosts_file("lonely", None);
        assert!(h.starts_with("127.0.0.1\tlocalhost lonely\n"));
        assert!(!h.contains("10."));
    }
}
