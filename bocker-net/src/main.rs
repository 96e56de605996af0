//! bocker-net: set up, tear down and inspect the bridge network; attach any
//! process's network namespace to it.

use anyhow::{Context, Result};
use bocker_net::{NetConfig, PortMapping};
use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "bocker-net",
    version,
    about = "Bridge networking for bocker containers"
)]
struct Cli {
    /// Bridge name [default: $BOCKER_BRIDGE, else bridge0]
    #[arg(long, global = true)]
    bridge: Option<String>,
    /// Bridge subnet; the gateway is its first address [default: $BOCKER_SUBNET, else 10.0.0.0/24]
    #[arg(long, global = true)]
    subnet: Option<String>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create the bridge, forwarding and NAT rules (idempotent)
    Setup,
    /// Remove the bridge and every rule setup added
    Teardown {
        /// Detach attached namespaces instead of refusing
        #[arg(long)]
        force: bool,
    },
    /// Show the bridge, its rules and its leases
    Status {
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Put the network namespace of PID on the bridge; prints the address
    Attach {
        /// A process in a network namespace of its own (e.g. started with `unshare -n`)
        pid: i32,
        /// Who holds the lease [default: pid-PID]
        #[arg(long)]
        owner: Option<String>,
        /// Interface name inside the namespace
        #[arg(long, default_value = "eth0")]
        ifname: String,
        /// Publish a port: [HOSTIP:]HOSTPORT:CTRPORT[/tcp|/udp]
        #[arg(short = 'p', long = "publish")]
        publish: Vec<PortMapping>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Take a namespace off the bridge (by PID attached without --owner, or by owner)
    Detach {
        /// The PID given to attach (owner pid-PID), or the --owner given to it
        target: String,
    },
    /// Release leases, rules and veths of owners that are gone (pid-N owners whose process exited)
    Gc,
}

fn config(cli: &Cli) -> Result<NetConfig> {
    Ok(NetConfig::from_env_with(
        cli.bridge.as_deref(),
        cli.subnet.as_deref(),
    )?)
}

/// Owners the CLI made (`pid-N`) are alive while process N is; others belong
/// to someone else (bocker run) and are left alone.
fn cli_owner_alive(owner: &str) -> bool {
    match owner
        .strip_prefix("pid-")
        .and_then(|p| p.parse::<u32>().ok())
    {
        // A zombie has no namespaces left: count it as gone.
        Some(pid) => std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            !stat
                .rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('Z'))
        }),
        None => true,
    }
}

fn main() -> std::process::ExitCode {
    bocker_cli::exit(run(&bocker_cli::parse::<Cli>()))
}

fn run(cli: &Cli) -> Result<()> {
    let cfg = config(cli)?;
    match &cli.cmd {
        Cmd::Setup => {
            bocker_net::setup(&cfg).with_context(|| format!("setting up bridge {}", cfg.bridge))?;
            eprintln!(
                "bridge {} ready: {}/{}",
                cfg.bridge,
                cfg.gateway(),
                cfg.subnet.prefix_len()
            );
        }
        Cmd::Teardown { force } => {
            bocker_net::teardown(&cfg, *force)
                .with_context(|| format!("tearing down bridge {}", cfg.bridge))?;
            eprintln!("Removed: {}", cfg.bridge);
        }
        Cmd::Status { format } => {
            let st = bocker_net::status(&cfg)
                .with_context(|| format!("reading the state of {}", cfg.bridge))?;
            match format {
                Format::Json => println!("{}", serde_json::to_string(&st)?),
                Format::Text => print!("{}", st.render()),
            }
        }
        Cmd::Attach {
            pid,
            owner,
            ifname,
            publish,
            format,
        } => {
            let owner = owner.clone().unwrap_or_else(|| format!("pid-{pid}"));
            bocker_net::ensure_setup(&cfg)
                .with_context(|| format!("setting up bridge {}", cfg.bridge))?;
            let att = bocker_net::attach(&cfg, &owner, *pid, ifname)
                .with_context(|| format!("attaching process {pid} to {}", cfg.bridge))?;
            if let Err(e) = bocker_net::publish(&cfg, &owner, att.ip, publish) {
                let _ = bocker_net::detach(&cfg, &owner);
                return Err(e).with_context(|| format!("publishing ports for {owner}"));
            }
            match format {
                Format::Json => println!("{}", serde_json::to_string(&att)?),
                Format::Text => println!("{}", att.ip),
            }
        }
        Cmd::Detach { target } => {
            let owner = if target.bytes().all(|b| b.is_ascii_digit()) {
                format!("pid-{target}")
            } else {
                target.clone()
            };
            bocker_net::detach(&cfg, &owner)
                .with_context(|| format!("detaching {owner} from {}", cfg.bridge))?;
        }
        Cmd::Gc => {
            bocker_net::reclaim(&cfg, &cli_owner_alive)
                .with_context(|| format!("reclaiming on {}", cfg.bridge))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn pid_owners_die_with_their_process() {
        assert!(cli_owner_alive(&format!("pid-{}", std::process::id())));
        assert!(!cli_owner_alive("pid-4000000000"));
        assert!(cli_owner_alive("ps_0123456789ab"));
    }
}
