//! NAT, forwarding and published ports with iptables, in bocker's own chains.
//!
//! Per bridge `B` (so parallel networks never touch each other's rules):
//!
//! | table  | chain            | hooked from                         | holds                                   |
//! |--------|------------------|-------------------------------------|-----------------------------------------|
//! | nat    | `BOCKER-NAT-B`   | POSTROUTING                         | masquerade out; 127/8 and DNAT hairpin in |
//! | nat    | `BOCKER-DNAT-B`  | PREROUTING, OUTPUT (dst-type LOCAL) | one DNAT per published port             |
//! | filter | `BOCKER-FWD-B`   | FORWARD (first rule)                | accept from B, replies and DNAT into B  |
//!
//! Rules are applied with one `iptables-restore --noflush` per change (one
//! fork, one kernel transaction); setup reads `iptables-save` first so that it
//! only adds what is missing and teardown removes exactly the hooks it finds.

use std::io::Write;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

use crate::config::NetConfig;
use crate::error::{NetError, Result};
use crate::ports::PortMapping;

pub struct Chains {
    pub nat: String,
    pub dnat: String,
    pub fwd: String,
}

impl Chains {
    pub fn of(cfg: &NetConfig) -> Chains {
        Chains {
            nat: format!("BOCKER-NAT-{}", cfg.bridge),
            dnat: format!("BOCKER-DNAT-{}", cfg.bridge),
            fwd: format!("BOCKER-FWD-{}", cfg.bridge),
        }
    }
}

/// The hooks from the built-in chains into ours, as `(table, rule)`.
fn hooks(c: &Chains) -> Vec<(&'static str, String)> {
    vec![
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

/// The fixed content of our static chains.
fn static_rules(cfg: &NetConfig, c: &Chains) -> (Vec<String>, Vec<String>) {
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
    let fwd = vec![
        format!("-A {} -i {b} -j ACCEPT", c.fwd),
        format!(
            "-A {} -o {b} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
            c.fwd
        ),
        format!("-A {} -o {b} -m conntrack --ctstate DNAT -j ACCEPT", c.fwd),
    ];
    (nat, fwd)
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

/// Create whatever is missing; rewrite the static chains. Idempotent.
pub fn ensure(cfg: &NetConfig) -> Result<()> {
    let c = Chains::of(cfg);
    let (nat_rules, fwd_rules) = static_rules(cfg, &c);
    let nat = save("nat")?;
    let filter = save("filter")?;
    let mut script = String::from("*nat\n");
    // Declaring an existing user chain in --noflush mode flushes it: right for
    // the static chain, wrong for the DNAT chain that holds live port rules.
    script += &format!(":{} - [0:0]\n", c.nat);
    if !chain_exists(&nat, &c.dnat) {
        script += &format!(":{} - [0:0]\n", c.dnat);
    }
    for r in &nat_rules {
        script += &format!("{r}\n");
    }
    let missing = |saved: &[String], rule: &str| {
        let (from, chain) = hook_parts(rule);
        !saved.iter().any(|l| is_hook(l, from, chain))
    };
    for (table, rule) in hooks(&c) {
        if table == "nat" && missing(&nat, &rule) {
            script += &format!("{rule}\n");
        }
    }
    script += "COMMIT\n*filter\n";
    script += &format!(":{} - [0:0]\n", c.fwd);
    for r in &fwd_rules {
        script += &format!("{r}\n");
    }
    for (table, rule) in hooks(&c) {
        if table == "filter" && missing(&filter, &rule) {
            script += &format!("{rule}\n");
        }
    }
    script += "COMMIT\n";
    restore(&script)
}

/// Remove our hooks and chains, and nothing else.
pub fn remove(cfg: &NetConfig) -> Result<()> {
    let c = Chains::of(cfg);
    let mut script = String::new();
    for (table, saved, ours) in [
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
        script += "COMMIT\n";
    }
    restore(&script)
}

/// Publish ports of the container at `ip`.
pub fn add_ports(cfg: &NetConfig, ip: Ipv4Addr, ports: &[PortMapping]) -> Result<()> {
    ports_script(cfg, "-A", ip, ports).map_or(Ok(()), |s| restore(&s))
}

/// Withdraw ports published with [`add_ports`].
pub fn remove_ports(cfg: &NetConfig, ip: Ipv4Addr, ports: &[PortMapping]) -> Result<()> {
    let Some(script) = ports_script(cfg, "-D", ip, ports) else {
        return Ok(());
    };
    if restore(&script).is_ok() {
        return Ok(());
    }
    // One rule already gone (a crash between record and rule) fails the whole
    // batch: fall back to rule-by-rule and ignore the missing ones.
    for p in ports {
        if let Some(s) = ports_script(cfg, "-D", ip, std::slice::from_ref(p)) {
            let _ = run("iptables-restore", &["-w", "--noflush"], Some(&s));
        }
    }
    Ok(())
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

/// Our rules as `iptables-save` prints them, each prefixed by its table.
pub fn rules(cfg: &NetConfig) -> Result<Vec<String>> {
    let c = Chains::of(cfg);
    let mut out = Vec::new();
    for (table, chains) in [("nat", vec![&c.nat, &c.dnat]), ("filter", vec![&c.fwd])] {
        for line in save(table)? {
            let ours = chains.iter().any(|ch| {
                line.split_whitespace().any(|w| w == ch.as_str()) && !line.starts_with(':')
            });
            if ours {
                out.push(format!("{table} {line}"));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::Proto;
    use std::path::Path;

    fn cfg() -> NetConfig {
        NetConfig::new(Path::new("/r"), "br-test", "10.210.0.0/24").unwrap()
    }

    #[test]
    fn chain_names_fit_iptables_limit() {
        let c = NetConfig::new(Path::new("/r"), "fifteen-chars-x", "10.1.0.0/24").unwrap();
        let ch = Chains::of(&c);
        for name in [ch.nat, ch.dnat, ch.fwd] {
            assert!(name.len() <= 28, "{name}");
        }
    }

    #[test]
    fn port_rule_shape() {
        let c = Chains::of(&cfg());
        let p = PortMapping {
            host_ip: Some(Ipv4Addr::LOCALHOST),
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
