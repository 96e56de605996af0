//! `bocker port CONTAINER [PORT[/PROTO]]`: the host addresses a running container's
//! ports are published on, as `docker port` prints them (`80/tcp -> 0.0.0.0:49153`, or
//! with a port only the addresses; IPv6 ones in brackets, as Docker's CLI since 23).

use std::process::ExitCode;

use anyhow::{Context, Result};
use bocker_store::{cli, docker_inspect, liveness, Store};
use clap::Parser;

/// List port mappings or a specific mapping for the container
#[derive(Parser)]
#[command(name = "bocker port", bin_name = "bocker port", version)]
struct Args {
    /// Container (id, prefix or name)
    container: String,
    /// A container port: PORT or PORT/PROTO (tcp when not given)
    port: Option<String>,
}

fn main() -> ExitCode {
    cli::quiet_sigpipe();
    cli::exit(run(&cli::parse::<Args>()))
}

/// `ip:port`, an IPv6 address in brackets (Go's `net.JoinHostPort`).
fn join(ip: &str, port: &str) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

fn run(args: &Args) -> Result<()> {
    let store = Store::open().context("opening the store")?;
    let id = store.resolve_container(&args.container)?;
    let rec = store.read_container(&id)?;
    // Docker: a stopped container publishes nothing.
    let ports = if liveness::is_running(&rec) {
        docker_inspect::port_map(&rec.config.network.ports, true)
    } else {
        serde_json::json!({})
    };
    let map = ports.as_object().cloned().unwrap_or_default();
    let lines = |key: &str, with_key: bool| -> Vec<String> {
        let bindings = map.get(key).and_then(|v| v.as_array()).cloned();
        bindings
            .unwrap_or_default()
            .iter()
            .map(|b| {
                let ip = b["HostIp"].as_str().unwrap_or_default();
                let port = b["HostPort"].as_str().unwrap_or_default();
                match with_key {
                    true => format!("{key} -> {}", join(ip, port)),
                    false => join(ip, port),
                }
            })
            .collect()
    };
    let out = match &args.port {
        Some(p) => {
            let key = if p.contains('/') {
                p.clone()
            } else {
                format!("{p}/tcp")
            };
            let found = lines(&key, false);
            // Docker's CLI: `Error: No public port '80/tcp' published for c`.
            anyhow::ensure!(
                !found.is_empty(),
                "No public port '{key}' published for {}",
                args.container
            );
            found
        }
        None => map.keys().flat_map(|k| lines(k, true)).collect(),
    };
    for l in out {
        println!("{l}");
    }
    Ok(())
}
