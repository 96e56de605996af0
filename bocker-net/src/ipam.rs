//! Address management: one lease file per address, allocation under a lock.
//!
//! `<state_dir>/leases/<ip>` holds the owner's id. Allocation takes an
//! exclusive flock on `<state_dir>/ipam.lock`, so concurrent allocations never
//! hand out one address twice; release is a plain unlink of the lease (only
//! its owner's). Addresses are handed out round-robin from the last one given
//! (`<state_dir>/ipam.last`), like CNI's host-local, so a just-released address
//! is reused last, after every other free one.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use ipnet::Ipv4Net;
use nix::fcntl::{Flock, FlockArg};

use crate::config::{nth_host, NetConfig};
use crate::error::{IoContext, NetError, Result};

/// A held address.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Lease {
    pub ip: Ipv4Addr,
    pub owner: String,
}

/// The MAC for an address, Docker style: 02:42 then the four address bytes.
pub fn mac_for(ip: Ipv4Addr) -> [u8; 6] {
    let o = ip.octets();
    [0x02, 0x42, o[0], o[1], o[2], o[3]]
}

/// An owner id becomes a file name: keep it to a safe alphabet.
pub(crate) fn check_owner(owner: &str) -> Result<()> {
    let ok = !owner.is_empty()
        && owner.len() <= 64
        && !owner.starts_with('.')
        && owner
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(NetError::BadOwner(owner.to_string()))
    }
}

pub struct Ipam<'a> {
    cfg: &'a NetConfig,
}

impl<'a> Ipam<'a> {
    pub fn new(cfg: &'a NetConfig) -> Ipam<'a> {
        Ipam { cfg }
    }

    fn dir(&self) -> PathBuf {
        self.cfg.leases_dir()
    }

    fn lock(&self) -> Result<Flock<File>> {
        let path = self.cfg.state_dir.join("ipam.lock");
        let open = || {
            OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
        };
        let file = match open() {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // First use of this network: make its state directory.
                let dir = &self.cfg.state_dir;
                fs::create_dir_all(dir).ctx(|| format!("creating {}", dir.display()))?;
                open()
            }
            other => other,
        }
        .ctx(|| format!("opening {}", path.display()))?;
        Flock::lock(file, FlockArg::LockExclusive)
            .map_err(|(_, e)| NetError::io(format!("locking {}", path.display()), e.into()))
    }

    /// Lease a free address to `owner`. `in_use(ip)` vetoes addresses that look
    /// free on disk but are still busy elsewhere (a veth not yet gone).
    pub fn allocate(
        &self,
        owner: &str,
        in_use: &mut dyn FnMut(Ipv4Addr) -> bool,
    ) -> Result<Ipv4Addr> {
        check_owner(owner)?;
        let _lock = self.lock()?;
        let taken = self.taken()?;
        let last = self.read_last();
        for ip in candidates(&self.cfg.subnet, last) {
            if taken.contains(&ip) || in_use(ip) {
                continue;
            }
            self.write_lease(ip, owner)?;
            let last_path = self.cfg.state_dir.join("ipam.last");
            // Only a hint for round-robin: losing it is harmless.
            let _ = fs::write(&last_path, ip.to_string());
            return Ok(ip);
        }
        Err(NetError::SubnetFull {
            bridge: self.cfg.bridge.clone(),
            subnet: self.cfg.subnet.to_string(),
        })
    }

    fn taken(&self) -> Result<HashSet<Ipv4Addr>> {
        let dir = self.dir();
        let mut set = HashSet::new();
        let entries = match fs::read_dir(&dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(set),
            other => other.ctx(|| format!("reading {}", dir.display()))?,
        };
        for entry in entries {
            let entry = entry.ctx(|| format!("reading {}", dir.display()))?;
            if let Some(ip) = entry.file_name().to_str().and_then(|n| n.parse().ok()) {
                set.insert(ip);
            }
        }
        Ok(set)
    }

    fn read_last(&self) -> Option<Ipv4Addr> {
        fs::read_to_string(self.cfg.state_dir.join("ipam.last"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Write the lease through a temporary file so it is never seen half-written.
    fn write_lease(&self, ip: Ipv4Addr, owner: &str) -> Result<()> {
        let dir = self.dir();
        let tmp = dir.join(format!(".tmp-{ip}"));
        let path = dir.join(ip.to_string());
        let mut f = match File::create(&tmp) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                fs::create_dir_all(&dir).ctx(|| format!("creating {}", dir.display()))?;
                File::create(&tmp)
            }
            other => other,
        }
        .ctx(|| format!("creating {}", tmp.display()))?;
        writeln!(f, "{owner}").ctx(|| format!("writing {}", tmp.display()))?;
        drop(f);
        fs::rename(&tmp, &path).ctx(|| format!("renaming {} to {}", tmp.display(), path.display()))
    }

    /// Drop `owner`'s lease on `ip`; someone else's lease is left alone.
    pub fn release(&self, ip: Ipv4Addr, owner: &str) -> Result<bool> {
        let path = self.dir().join(ip.to_string());
        match read_owner(&path) {
            Some(o) if o == owner => {
                remove_if_present(&path)?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Every lease, sorted by address.
    pub fn leases(&self) -> Result<Vec<Lease>> {
        let dir = self.dir();
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(NetError::io(format!("reading {}", dir.display()), e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.ctx(|| format!("reading {}", dir.display()))?;
            let Some(ip) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<Ipv4Addr>().ok())
            else {
                continue;
            };
            let owner = read_owner(&entry.path()).unwrap_or_default();
            out.push(Lease { ip, owner });
        }
        out.sort_by_key(|l| l.ip);
        Ok(out)
    }
}

fn read_owner(path: &Path) -> Option<String> {
    Some(fs::read_to_string(path).ok()?.trim().to_string())
}

pub(crate) fn remove_if_present(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(NetError::io(format!("removing {}", path.display()), e))
        }
        _ => Ok(()),
    }
}

/// Host addresses of the subnet except the gateway, starting after `last`
/// and wrapping around.
fn candidates(net: &Ipv4Net, last: Option<Ipv4Addr>) -> impl Iterator<Item = Ipv4Addr> + '_ {
    let first = 2u32; // .0 is the network, .1 the gateway
    let count = (1u32 << (32 - net.prefix_len())) - 1; // stop before broadcast
    let span = count - first;
    let start = match last {
        Some(ip) if net.contains(&ip) => {
            let n = u32::from(ip) - u32::from(net.network());
            if n >= first && n < count {
                n + 1 - first
            } else {
                0
            }
        }
        _ => 0,
    };
    (0..span).map(move |i| nth_host(net, first + (start + i) % span))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    fn cfg(dir: &Path, subnet: &str) -> NetConfig {
        NetConfig::new(dir, "bkt-unit", subnet).unwrap()
    }

    fn tempdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("bocker-net-ipam-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn mac_is_derived_from_address() {
        assert_eq!(mac_for(Ipv4Addr::new(10, 0, 0, 2)), [2, 0x42, 10, 0, 0, 2]);
    }

    #[test]
    fn candidates_skip_network_gateway_broadcast_and_wrap() {
        let net: Ipv4Net = "10.9.0.0/29".parse().unwrap();
        let all: Vec<_> = candidates(&net, None).map(|ip| ip.octets()[3]).collect();
        assert_eq!(all, vec![2, 3, 4, 5, 6]);
        let after: Vec<_> = candidates(&net, Some(Ipv4Addr::new(10, 9, 0, 4)))
            .map(|ip| ip.octets()[3])
            .collect();
        assert_eq!(after, vec![5, 6, 2, 3, 4]);
        let after_last: Vec<_> = candidates(&net, Some(Ipv4Addr::new(10, 9, 0, 6)))
            .map(|ip| ip.octets()[3])
            .collect();
        assert_eq!(after_last, vec![2, 3, 4, 5, 6]);
    }

    #[test]
    fn full_subnet_is_a_clear_error_and_release_makes_room() {
        let d = tempdir("full");
        let c = cfg(&d, "10.9.1.0/29");
        let ipam = Ipam::new(&c);
        let mut got = Vec::new();
        for i in 0..5 {
            got.push(ipam.allocate(&format!("o{i}"), &mut |_| false).unwrap());
        }
        let err = ipam.allocate("o5", &mut |_| false).unwrap_err();
        assert!(matches!(err, NetError::SubnetFull { .. }), "{err}");
        assert!(err.to_string().contains("no free address"));
        // Only the owner can release.
        assert!(!ipam.release(got[2], "o0").unwrap());
        assert!(ipam.release(got[2], "o2").unwrap());
        assert_eq!(ipam.allocate("o6", &mut |_| false).unwrap(), got[2]);
        let leases = ipam.leases().unwrap();
        assert_eq!(leases.len(), 5);
        assert!(leases.iter().any(|l| l.ip == got[2] && l.owner == "o6"));
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn vetoed_addresses_are_skipped() {
        let d = tempdir("veto");
        let c = cfg(&d, "10.9.2.0/29");
        let ipam = Ipam::new(&c);
        let ip = ipam.allocate("a", &mut |ip| ip.octets()[3] < 4).unwrap();
        assert_eq!(ip, Ipv4Addr::new(10, 9, 2, 4));
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn concurrent_allocations_never_collide() {
        let d = tempdir("conc");
        let c = Arc::new(cfg(&d, "10.9.3.0/24"));
        let got = Arc::new(Mutex::new(Vec::new()));
        let threads: Vec<_> = (0..50)
            .map(|i| {
                let c = Arc::clone(&c);
                let got = Arc::clone(&got);
                std::thread::spawn(move || {
                    let ip = Ipam::new(&c)
                        .allocate(&format!("t{i}"), &mut |_| false)
                        .unwrap();
                    got.lock().unwrap().push(ip);
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let got = got.lock().unwrap();
        let distinct: HashSet<_> = got.iter().collect();
        assert_eq!(distinct.len(), 50);
        assert_eq!(Ipam::new(&c).leases().unwrap().len(), 50);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn owner_ids_are_checked() {
        assert!(check_owner("ps_0123456789ab").is_ok());
        assert!(check_owner("pid-42").is_ok());
        assert!(check_owner("../etc").is_err());
        assert!(check_owner("a/b").is_err());
        assert!(check_owner("").is_err());
        assert!(check_owner(".hidden").is_err());
    }
}
