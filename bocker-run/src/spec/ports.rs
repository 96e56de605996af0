//! `-P/--publish-all` and `--expose`: every port the image `EXPOSE`s and every
//! `--expose PORT[-PORT][/PROTO]`, published on every host address to a free host port
//! each (Docker's behaviour), unless a `-p` publishes that container port already.

use super::plan::PlanError;
use crate::cli::Args;
use bocker_net::{PortMapping, Proto};
use bocker_store::record::ImageConfig;

/// The exposed ports of the image and `--expose`, as `PORT/PROTO` (Docker's keys),
/// sorted and without repeats. A bad `--expose` is refused (Docker's message).
pub fn exposed(args: &Args, image: &ImageConfig) -> Result<Vec<String>, PlanError> {
    let mut out: Vec<String> = image.exposed_ports.clone();
    for e in &args.ports.expose {
        let (ports, proto) = e.split_once('/').unwrap_or((e, "tcp"));
        let bad = || PlanError::Expose(e.clone());
        if !["tcp", "udp"].contains(&proto) {
            return Err(bad());
        }
        let (lo, hi) = ports.split_once('-').unwrap_or((ports, ports));
        let (lo, hi) = match (lo.parse::<u16>(), hi.parse::<u16>()) {
            (Ok(lo), Ok(hi)) if lo > 0 && lo <= hi => (lo, hi),
            _ => return Err(bad()),
        };
        out.extend((lo..=hi).map(|p| format!("{p}/{proto}")));
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// The mappings `-P` adds to `published` (the `-p` ones): each exposed port not
/// published yet, host port 0 (a free one, picked at start), every host address.
pub fn publish_all(exposed: &[String], published: &[PortMapping]) -> Vec<PortMapping> {
    exposed
        .iter()
        .filter_map(|e| {
            let (port, proto) = e.split_once('/').unwrap_or((e, "tcp"));
            let proto = match proto {
                "udp" => Proto::Udp,
                "tcp" => Proto::Tcp,
                _ => return None,
            };
            let container_port = port.parse().ok()?;
            let taken = published
                .iter()
                .any(|m| m.container_port == container_port && m.proto == proto);
            (!taken).then_some(PortMapping {
                host_ip: None,
                host_port: 0,
                container_port,
                proto,
            })
        })
        .collect()
}

/// Add `-P`'s mappings to a planned bundle (nothing without `-P`); refused outside the
/// bridge network as `-p` is.
pub fn add(args: &Args, exposed: &[String], bundle: &mut super::Bundle) -> Result<(), PlanError> {
    if !args.ports.publish_all {
        return Ok(());
    }
    let more = publish_all(exposed, &bundle.extras.ports);
    if !more.is_empty() && bundle.extras.network != crate::network::NetworkMode::Bridge {
        return Err(PlanError::PortsNeedBridge(args.network.clone()));
    }
    bundle.extras.ports.extend(more);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(flags: &[&str]) -> Args {
        Args::parse_from(["bocker-run"].iter().chain(flags).chain(&["img"]))
    }

    #[test]
    fn exposed_ports_join_the_images_and_expose() {
        let image = ImageConfig {
            exposed_ports: vec!["80/tcp".into(), "53/udp".into()],
            ..Default::default()
        };
        let e = exposed(&args(&["--expose", "8000-8001", "--expose", "80"]), &image).unwrap();
        assert_eq!(e, ["53/udp", "80/tcp", "8000/tcp", "8001/tcp"]);
        assert!(exposed(&args(&["--expose", "x"]), &image).is_err());
        assert!(exposed(&args(&["--expose", "80/sctp"]), &image).is_err());
    }

    #[test]
    fn publish_all_skips_what_p_publishes() {
        let p: Vec<PortMapping> = PortMapping::parse_all("8080:80").unwrap();
        let more = publish_all(&["53/udp".into(), "80/tcp".into()], &p);
        assert_eq!(more.len(), 1);
        assert_eq!(more[0].to_string(), "53/udp");
        assert_eq!(more[0].host_port, 0);
    }
}
