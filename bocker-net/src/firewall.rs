//! NAT, forwarding, isolation and published ports with iptables, in bocker's own chains.
//!
//! Per bridge `B` (so parallel networks never touch each other's rules), plus one
//! chain shared by every bocker bridge; the full table, with the reason for each rule,
//! is in `docs/NETWORK.md`:
//!
//! | table  | chain              | hooked from                         | holds                                       |
//! |--------|--------------------|-------------------------------------|---------------------------------------------|
//! | raw    | `BOCKER-RAW-B`     | PREROUTING                          | drop 127/8 arriving from B (CVE-2020-8558)  |
//! | nat    | `BOCKER-NAT-B`     | POSTROUTING                         | masquerade out; 127/8 and hairpin in        |
//! | nat    | `BOCKER-DNAT-B`    | PREROUTING, OUTPUT (dst-type LOCAL) | one DNAT per published port                 |
//! | filter | `BOCKER-FWD-B`     | FORWARD (first rule)                | into B: replies, published, same-bridge only |
//! | filter | `BOCKER-ISOLATION` | `BOCKER-FWD-*`                      | no new traffic to other bridges             |
//!
//! Rules are applied with one `iptables-restore --noflush` per change (one
//! fork, one kernel transaction); setup reads `iptables-save` first so that it
//! only adds what is missing and teardown removes exactly the hooks it finds.
//! FORWARD's policy is never changed: our chain decides for traffic into and out
//! of our bridges only, and returns everything else untouched.

use std::fs::{self, File, OpenOptions};
use std::io::Write;

use nix::fcntl::{Flock, FlockArg};
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

use crate::config::NetConfig;
use crate::error::{NetError, Result};
use crate::ports::PortMapping;

pub struct Chains {
    pub raw: String,
    pub nat: String,
    pub dnat: String,
    pub fwd: String,
}

impl Chains {
    pub fn of(cfg: &NetConfig) -> Chains {
        Chains {
            raw: format!("BOCKER-RAW-{}", cfg.bridge),
            nat: format!("BOCKER-NAT-{}", cfg.bridge),
            dnat: format!("BOCKER-DNAT-{}", cfg.bridge),
            fwd: format!("BOCKER-FWD-{}", cfg.bridge),
        }
    }
}

/// The chain every bocker bridge's forward chain sends its new outgoing traffic
/// through: one `-o X -j DROP` per bocker bridge and per other engine's bridge names.
pub const ISOLATION: &str = "BOCKER-ISOLATION";

/// Other engines' bridges, as iptables interface patterns: Docker (`docker0`, `br-<id>`),
/// Podman/CNI (`cni-podman0`, `podman0`), libvirt (`virbr0`). Docker isolates its own
/// networks from each other the same way (DOCKER-ISOLATION-STAGE-2).
const OTHER_ENGINES: &[&str] = &["docker+", "br-+", "cni-+", "podman+", "virbr+"];

fn isolation_rules(bridge: Option<&str>) -> Vec<String> {
    match bridge {
        Some(b) => vec![format!("-A {ISOLATION} -o {b} -j DROP")],
        None => OTHER_ENGINES
            .iter()
            .map(|p| format!("-A {ISOLATION} -o {p} -j DROP"))
            .collect(),
    }
}

/// The hooks from the built-in chains into ours, as `(table, rule)`.
fn hooks(c: &Chains) -> Vec<(&'static str, String)> {
    vec![
        ("raw", format!("-A PREROUTING -j {}", c.raw)),
        ("nat", format!("-A POSTROUTING -j {}", c.nat)),
        (
            "nat",
            format!("-A PREROUTING -m addrtype --dst-type LOCAL -j {}", c.dnat),
        ),
        (
            "nat",
            format!("-A OUTPUT -m addrtype --dst-type LOCAL -j {}", c.dnat),
        ),
        ("filter", format!("-I FORWARD 1 -j {}", c.fwd)),
    ]
}

/// The fixed content of our static chains: (raw, nat, filter).
fn static_rules(cfg: &NetConfig, c: &Chains) -> (Vec<String>, Vec<String>, Vec<String>) {
    let (b, s) = (&cfg.bridge, cfg.subnet);
    let nat = vec![
        // Containers going anywhere but their own bridge leave with the host's address.
        format!("-A {} -s {s} ! -o {b} -j MASQUERADE", c.nat),
        // curl 127.0.0.1:PORT from the host: the DNATed packet must leave with an
        // address the container can answer (route_localnet lets it out of lo).
        format!("-A {} -s 127.0.0.0/8 -o {b} -j MASQUERADE", c.nat),
        // A container calling another's published port on a host address: the
        // answer must come back through the host to be un-DNATed.
        format!(
            "-A {} -s {s} -o {b} -m conntrack --ctstate DNAT -j MASQUERADE",
            c.nat
        ),
    ];
    // CVE-2020-8558: route_localnet (needed for 127.0.0.1 DNAT) would let a container
    // address the host's loopback services through the gateway's MAC. raw PREROUTING
    // sees the packet before any NAT: replies to our own DNAT come addressed to a
    // container or gateway address, never to 127/8.
    let raw = vec![format!("-A {} -i {b} -d 127.0.0.0/8 -j DROP", c.raw)];
    let fwd = vec![
        // Into B: replies, published ports (DNATed), and B's own hairpin traffic only.
        format!(
            "-A {} -o {b} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
            c.fwd
        ),
        format!("-A {} -o {b} -m conntrack --ctstate DNAT -j ACCEPT", c.fwd),
        format!("-A {} -i {b} -o {b} -j ACCEPT", c.fwd),
        format!("-A {} -o {b} -j DROP", c.fwd),
        // Out of B: replies, then anything but another bridge.
        format!(
            "-A {} -i {b} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
            c.fwd
        ),
        format!("-A {} -i {b} -j {ISOLATION}", c.fwd),
        format!("-A {} -i {b} -j ACCEPT", c.fwd),
    ];
    (raw, nat, fwd)
}

/// The DNAT rule for one published port (`op` is `-A` or `-D`).
fn port_rule(c: &Chains, op: &str, ip: Ipv4Addr, p: &PortMapping) -> String {
    let dst = p.host_ip.map(|h| format!(" -d {h}/32")).unwrap_or_default();
    format!(
        "{op} {}{dst} -p {proto} -m {proto} --dport {} -j DNAT --to-destination {ip}:{}",
        c.dnat,
        p.host_port,
        p.container_port,
        proto = p.proto
    )
}

fn run(cmd: &str, args: &[&str], stdin: Option<&str>) -> Result<String> {
    let mut child = Command::new(cmd)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| NetError::io(format!("running {cmd} (is iptables installed?)"), e))?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes())
            .map_err(|e| NetError::io(format!("writing to {cmd}"), e))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| NetError::io(format!("waiting for {cmd}"), e))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(NetError::Firewall(format!(
            "{cmd} {} failed: {}",
            args.join(" "),
            err.trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Apply a restore script. A concurrent writer can make a transaction fail
/// (the kernel's ruleset generation moved under it): retry a few times before
/// reporting iptables' own message.
fn restore(script: &str) -> Result<()> {
    let mut attempt = 0;
    loop {
        match run("iptables-restore", &["-w", "--noflush"], Some(script)) {
            Err(NetError::Firewall(_)) if attempt < 3 => {
                attempt += 1;
                std::thread::sleep(std::time::Duration::from_millis(20 * attempt));
            }
            other => return other.map(drop),
        }
    }
}

fn save(table: &str) -> Result<Vec<String>> {
    Ok(run("iptables-save", &["-t", table], None)?
        .lines()
        .map(str::to_string)
        .collect())
}

fn chain_exists(saved: &[String], chain: &str) -> bool {
    let decl = format!(":{chain} ");
    saved.iter().any(|l| l.starts_with(&decl))
}

/// Whether a saved rule is a hook into `chain` from built-in chain `from`.
fn is_hook(line: &str, from: &str, chain: &str) -> bool {
    line.starts_with(&format!("-A {from} ")) && line.ends_with(&format!("-j {chain}"))
}

fn hook_parts(rule: &str) -> (&str, &str) {
    // "-A POSTROUTING ... -j CHAIN" or "-I FORWARD 1 -j CHAIN"
    let mut words = rule.split_whitespace().skip(1);
    let from = words.next().unwrap_or_default();
    let chain = rule.rsplit(' ').next().unwrap_or_default();
    (from, chain)
}

/// Serialises every change to the shared isolation chain between bridges and processes
/// (a read-modify-write of `iptables-save` output): `<state root>/firewall.lock`.
fn shared_lock(cfg: &NetConfig) -> Result<Flock<File>> {
    let dir = cfg.state_dir.parent().unwrap_or(&cfg.state_dir);
    fs::create_dir_all(dir).map_err(|e| NetError::io(format!("creating {}", dir.display()), e))?;
    let path = dir.join("firewall.lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| NetError::io(format!("opening {}", path.display()), e))?;
    Flock::lock(file, FlockArg::LockExclusive)
        .map_err(|(_, e)| NetError::io(format!("locking {}", path.display()), e.into()))
}

/// Create whatever is missing; rewrite the static chains. Idempotent.
pub fn ensure(cfg: &NetConfig) -> Result<()> {
    let _lock = shared_lock(cfg)?;
    let c = Chains::of(cfg);
    let (raw_rules, nat_rules, fwd_rules) = static_rules(cfg, &c);
    let raw = save("raw")?;
    let nat = save("nat")?;
    let filter = save("filter")?;
    let missing = |saved: &[String], rule: &str| {
        let (from, chain) = hook_parts(rule);
        !saved.iter().any(|l| is_hook(l, from, chain))
    };
    let hooks_of = |table: &str, saved: &[String]| -> String {
        hooks(&c)
            .into_iter()
            .filter(|(t, rule)| *t == table && missing(saved, rule))
            .map(|(_, rule)| format!("{rule}\n"))
            .collect()
    };
    let mut script = String::from("*raw\n");
    script += &format!(":{} - [0:0]\n", c.raw);
    for r in &raw_rules {
        script += &format!("{r}\n");
    }
    script += &hooks_of("raw", &raw);
    script += "COMMIT\n*nat\n";
    // Declaring an existing user chain in --noflush mode flushes it: right for
    // the static chain, wrong for the DNAT chain that holds live port rules.
    script += &format!(":{} - [0:0]\n", c.nat);
    if !chain_exists(&nat, &c.dnat) {
        script += &format!(":{} - [0:0]\n", c.dnat);
    }
    for r in &nat_rules {
        script += &format!("{r}\n");
    }
    script += &hooks_of("nat", &nat);
    script += "COMMIT\n*filter\n";
    // The shared isolation chain: declared only when missing (it holds the other
    // bridges' lines), then every line it lacks.
    if !chain_exists(&filter, ISOLATION) {
        script += &format!(":{ISOLATION} - [0:0]\n");
    }
    for r in isolation_rules(None)
        .into_iter()
        .chain(isolation_rules(Some(&cfg.bridge)))
    {
        if !filter.contains(&r) {
            script += &format!("{r}\n");
        }
    }
    script += &format!(":{} - [0:0]\n", c.fwd);
    for r in &fwd_rules {
        script += &format!("{r}\n");
    }
    script += &hooks_of("filter", &filter);
    script += "COMMIT\n";
    restore(&script)
}

/// Remove our hooks and chains, and nothing else. The shared isolation chain goes
/// with the last bocker bridge.
pub fn remove(cfg: &NetConfig) -> Result<()> {
    let _lock = shared_lock(cfg)?;
    let c = Chains::of(cfg);
    let mut script = String::new();
    for (table, saved, ours) in [
        ("raw", save("raw")?, vec![&c.raw]),
        ("nat", save("nat")?, vec![&c.nat, &c.dnat]),
        ("filter", save("filter")?, vec![&c.fwd]),
    ] {
        script += &format!("*{table}\n");
        for line in &saved {
            for chain in &ours {
                let hooked = ["POSTROUTING", "PREROUTING", "OUTPUT", "FORWARD"]
                    .iter()
                    .any(|from| is_hook(line, from, chain));
                if hooked {
                    script += &format!("-D{}\n", &line[2..]);
                }
            }
        }
        for chain in &ours {
            if chain_exists(&saved, chain) {
                script += &format!("-F {chain}\n-X {chain}\n");
            }
        }
        if table == "filter" && chain_exists(&saved, ISOLATION) {
            let engines = isolation_rules(None);
            let mine = isolation_rules(Some(&cfg.bridge));
            let others = saved.iter().any(|l| {
                l.starts_with(&format!("-A {ISOLATION} "))
                    && !engines.contains(l)
                    && !mine.contains(l)
            });
            if others {
                for r in mine.iter().filter(|r| saved.contains(r)) {
                    script += &format!("-D{}\n", &r[2..]);
                }
            } else {
                script += &format!("-F {ISOLATION}\n-X {ISOLATION}\n");
            }
        }
        script += "COMMIT\n";
    }
    restore(&script)
}

/// Publish ports of the container at `ip`.
pub fn add_ports(cfg: &NetConfig, ip: Ipv4Addr, ports: &[PortMapping]) -> Result<()> {
    ports_script(cfg, "-A", ip, ports).map_or(Ok(()), |s| restore(&s))?;
    // After the rules: a packet between the two would make a fresh stale flow.
    if let Err(e) = forget_udp_flows(ports) {
        remove_ports(cfg, ip, ports)?;
        return Err(e);
    }
    Ok(())
}

/// The kernel keeps a UDP "connection" (and the NAT decision taken for it) for as long
/// as packets keep coming: a client that kept sending to a host port would keep going
/// to the container that had it before (or to nobody, if there was none). Forget those
/// flows when a UDP port is published, as Docker does. TCP needs nothing: every
/// connection is new. Needs `conntrack` (conntrack-tools); exit status 1 means no flow
/// matched.
fn forget_udp_flows(ports: &[PortMapping]) -> Result<()> {
    for p in ports.iter().filter(|p| p.proto == crate::ports::Proto::Udp) {
        let port = p.host_port.to_string();
        let out = Command::new("conntrack")
            .args(["-D", "-p", "udp", "--orig-port-dst", &port])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| NetError::io("running conntrack (is conntrack installed?)", e))?;
        if !out.status.success() && out.status.code() != Some(1) {
            return Err(NetError::Firewall(format!(
                "conntrack -D -p udp --orig-port-dst {port} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
    }
    Ok(())
}

/// Withdraw ports published with [`add_ports`].
pub fn remove_ports(cfg: &NetConfig, ip: Ipv4Addr, ports: &[PortMapping]) -> Result<()> {
    let Some(script) = ports_script(cfg, "-D", ip, ports) else {
        return Ok(());
    };
    let first = match restore(&script) {
        Ok(()) => return Ok(()),
        Err(e) => e,
    };
    // One rule already gone (a crash between record and rule) fails the whole
    // batch: delete the ones that are there, and report any other failure.
    let c = Chains::of(cfg);
    let saved = save("nat")?;
    let present: Vec<PortMapping> = ports
        .iter()
        .filter(|p| saved.contains(&port_rule(&c, "-A", ip, p)))
        .copied()
        .collect();
    if present.len() == ports.len() {
        return Err(first); // every rule is there: the failure was something else
    }
    match ports_script(cfg, "-D", ip, &present) {
        Some(s) => restore(&s),
        None => Ok(()),
    }
}

fn ports_script(cfg: &NetConfig, op: &str, ip: Ipv4Addr, ports: &[PortMapping]) -> Option<String> {
    if ports.is_empty() {
        return None;
    }
    let c = Chains::of(cfg);
    let mut s = String::from("*nat\n");
    for p in ports {
        s += &port_rule(&c, op, ip, p);
        s.push('\n');
    }
    s += "COMMIT\n";
    Some(s)
}

/// Our rules as `iptables-save` prints them, each prefixed by its table (the shared
/// isolation chain's too).
pub fn rules(cfg: &NetConfig) -> Result<Vec<String>> {
    let c = Chains::of(cfg);
    let mut out = Vec::new();
    for (table, chains) in [
        ("raw", vec![c.raw.as_str()]),
        ("nat", vec![c.nat.as_str(), c.dnat.as_str()]),
        ("filter", vec![c.fwd.as_str(), ISOLATION]),
    ] {
        for line in save(table)? {
            if is_ours(&line, &chains) {
                out.push(format!("{table} {line}"));
            }
        }
    }
    Ok(out)
}

/// An `iptables-save` line is ours if it is appended to one of `chains`, or is a hook
/// from a built-in chain into one of them. (Another bridge's `BOCKER-FWD-*` jumps to
/// the shared isolation chain too: that line is the other bridge's.)
fn is_ours(line: &str, chains: &[&str]) -> bool {
    let words: Vec<&str> = line.split_whitespace().collect();
    let Some(["-A", chain]) = words.get(..2) else {
        return false;
    };
    let target = words.windows(2).find(|w| w[0] == "-j").map_or("", |w| w[1]);
    chains.contains(chain) || (!chain.starts_with("BOCKER-") && chains.contains(&target))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lists_our_chains_and_hooks_but_not_other_bridges_jumps() {
        let ours = ["BOCKER-FWD-b1", ISOLATION];
        for (line, want) in [
            ("-A FORWARD -j BOCKER-FWD-b1", true),
            ("-A BOCKER-FWD-b1 -o b1 -j DROP", true),
            ("-A BOCKER-ISOLATION -o b2 -j DROP", true),
            ("-A BOCKER-FWD-b2 -i b2 -j BOCKER-ISOLATION", false),
            ("-A FORWARD -j BOCKER-FWD-b2", false),
            (":BOCKER-FWD-b1 - [0:0]", false),
        ] {
            assert_eq!(is_ours(line, &ours), want, "{line}");
        }
    }
    use crate::ports::Proto;
    use std::path::Path;

    fn cfg() -> NetConfig {
        NetConfig::new(Path::new("/r"), "br-test", "10.210.0.0/24").unwrap()
    }

    #[test]
    fn chain_names_fit_iptables_limit() {
        let c = NetConfig::new(Path::new("/r"), "fifteen-chars-x", "10.1.0.0/24").unwrap();
        let ch = Chains::of(&c);
        for name in [ch.raw, ch.nat, ch.dnat, ch.fwd] {
            assert!(name.len() <= 28, "{name}");
        }
    }

    #[test]
    fn port_rule_shape() {
        let c = Chains::of(&cfg());
        let p = PortMapping {
            host_ip: Some(Ipv4Addr::LOCALHOST.into()),
            host_port: 18080,
            container_port: 80,
            proto: Proto::Tcp,
        };
        assert_eq!(
            port_rule(&c, "-A", Ipv4Addr::new(10, 210, 0, 2), &p),
            "-A BOCKER-DNAT-br-test -d 127.0.0.1/32 -p tcp -m tcp --dport 18080 -j DNAT --to-destination 10.210.0.2:80"
        );
    }

    #[test]
    fn hooks_are_recognised_in_saved_output() {
        let c = Chains::of(&cfg());
        assert!(is_hook(
            "-A PREROUTING -m addrtype --dst-type LOCAL -j BOCKER-DNAT-br-test",
            "PREROUTING",
            &c.dnat
        ));
        assert!(!is_hook(
            "-A PREROUTING -m addrtype --dst-type LOCAL -j BOCKER-DNAT-br-test2",
            "PREROUTING",
            &c.dnat
        ));
        assert_eq!(
            hook_parts("-I FORWARD 1 -j BOCKER-FWD-br-test"),
            ("FORWARD", "BOCKER-FWD-br-test")
        );
    }
}
