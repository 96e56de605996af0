//! How a registry is reached: which hosts may be spoken to over plain HTTP, which go
//! through `HTTP(S)_PROXY`, and the HTTP client's timeouts.
//!
//! Rules (Docker's, see `registry.isSecureIndex` and Go's `httpproxy`):
//! - plain HTTP only for a loopback IP literal (`127.0.0.0/8`, `::1`), the name
//!   `localhost`, `--insecure`, or a registry listed under `insecure-registries` in
//!   `/etc/bocker/daemon.json` (`$BOCKER_DAEMON_CONFIG` overrides the path; entries are
//!   `host[:port]` or an IP CIDR, as in Docker's `daemon.json`). A DNS name is never
//!   loopback by its spelling: `127.0.0.1.example.com` is a remote host.
//! - loopback hosts and `localhost` never go through a proxy (Go's clients never proxy
//!   them); other hosts honour `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY`.
//! - a read that stalls for `$BOCKER_PULL_TIMEOUT` seconds (default 60) fails the
//!   request; the caller retries or resumes it.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

#[cfg(feature = "registry")]
use reqwest::blocking::Client;
#[cfg(feature = "registry")]
use reqwest::{NoProxy, Proxy};

/// The host of `host[:port]` (brackets of an IPv6 literal removed).
pub fn host_of(registry: &str) -> &str {
    if let Some(rest) = registry.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    registry.split(':').next().unwrap_or(registry)
}

/// True for a loopback IP literal or `localhost`; never decided by a DNS name's spelling.
pub fn is_loopback(registry: &str) -> bool {
    let host = host_of(registry);
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The daemon config holding `insecure-registries`.
pub fn daemon_config_path() -> PathBuf {
    std::env::var_os("BOCKER_DAEMON_CONFIG")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/etc/bocker/daemon.json"))
}

/// The `insecure-registries` list of the daemon config (empty if there is none).
/// A config that exists but cannot be parsed is an error.
pub fn insecure_registries() -> Result<Vec<String>, String> {
    let path = daemon_config_path();
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("reading {}: {e}", path.display())),
    };
    #[derive(serde::Deserialize)]
    struct Daemon {
        #[serde(default, rename = "insecure-registries")]
        insecure: Vec<String>,
    }
    let d: Daemon =
        serde_json::from_slice(&text).map_err(|e| format!("parsing {}: {e}", path.display()))?;
    Ok(d.insecure)
}

/// Does `entry` (`host[:port]` or `ip/prefix`) name `registry`?
fn listed(entry: &str, registry: &str) -> bool {
    let entry = entry
        .trim()
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .trim_end_matches('/');
    if entry.eq_ignore_ascii_case(registry) || entry.eq_ignore_ascii_case(host_of(registry)) {
        return true;
    }
    let Some((net, bits)) = entry.split_once('/') else {
        return false;
    };
    let (Ok(net), Ok(bits), Ok(ip)) = (
        net.parse::<IpAddr>(),
        bits.parse::<u32>(),
        host_of(registry).parse::<IpAddr>(),
    ) else {
        return false;
    };
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

/// May `registry` be spoken to over plain HTTP?
pub fn plain_http_allowed(registry: &str, insecure: bool) -> Result<bool, String> {
    Ok(insecure
        || is_loopback(registry)
        || insecure_registries()?.iter().any(|e| listed(e, registry)))
}

/// Seconds a read may stall before the request fails.
pub fn stall_timeout() -> Duration {
    let secs = std::env::var("BOCKER_PULL_TIMEOUT")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|&s| s > 0)
        .unwrap_or(60);
    Duration::from_secs(secs)
}

#[cfg(feature = "registry")]
fn env(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| std::env::var(n).ok())
        .filter(|v| !v.is_empty())
}

/// Hosts never proxied: loopback and localhost, plus the user's `NO_PROXY`.
#[cfg(feature = "registry")]
fn no_proxy() -> Option<NoProxy> {
    let user = env(&["NO_PROXY", "no_proxy"]).unwrap_or_default();
    NoProxy::from_string(&format!("127.0.0.0/8,::1,localhost,{user}"))
}

/// The HTTP client of one pull: proxies from the environment except for loopback,
/// connect and stall timeouts, redirects that drop credentials across hosts (reqwest's).
#[cfg(feature = "registry")]
pub fn client() -> Result<Client, String> {
    let mut b = Client::builder()
        .user_agent(concat!("bocker/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(30))
        .timeout(stall_timeout())
        .no_proxy();
    let bad = |e: reqwest::Error| format!("proxy from the environment: {e}");
    // Under CGI, HTTP_PROXY may come from a request header ("httpoxy"): Go ignores it.
    let cgi = std::env::var_os("REQUEST_METHOD").is_some();
    if let Some(p) = env(&["HTTP_PROXY", "http_proxy"]).filter(|_| !cgi) {
        b = b.proxy(Proxy::http(&p).map_err(bad)?.no_proxy(no_proxy()));
    }
    if let Some(p) = env(&["HTTPS_PROXY", "https_proxy"]) {
        b = b.proxy(Proxy::https(&p).map_err(bad)?.no_proxy(no_proxy()));
    }
    if let Some(p) = env(&["ALL_PROXY", "all_proxy"]) {
        b = b.proxy(Proxy::all(&p).map_err(bad)?.no_proxy(no_proxy()));
    }
    b.build()
        .map_err(|e| format!("building the HTTP client: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_by_address_never_by_spelling() {
        for yes in [
            "127.0.0.1:5000",
            "127.9.9.9",
            "localhost:5000",
            "[::1]:5000",
        ] {
            assert!(is_loopback(yes), "{yes}");
        }
        for no in [
            "127.0.0.1.evil.example:5000",
            "127.attacker.com",
            "localhost.evil.com",
            "10.0.0.1:5000",
            "[::2]:80",
            "quay.io",
        ] {
            assert!(!is_loopback(no), "{no}");
        }
    }

    #[test]
    fn insecure_list_entries() {
        assert!(listed("myhost:5000", "myhost:5000"));
        assert!(listed("myhost", "myhost:5000"));
        assert!(!listed("myhost:5001", "myhost:5000"));
        assert!(listed("10.0.0.0/8", "10.1.2.3:5000"));
        assert!(!listed("10.0.0.0/8", "11.1.2.3:5000"));
        assert!(!listed("10.0.0.0/8", "10.evil.com"));
        assert!(listed("http://myhost:5000/", "myhost:5000"));
    }
}
