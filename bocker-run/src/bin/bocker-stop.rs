//! `bocker stop [-t N] [-s SIG] <ctr…>`: the stop signal, then SIGKILL after N seconds,
//! as `docker stop`; prints each container as named once it has stopped.

use std::process::ExitCode;

use bocker_run::container::{each, signal, stop};
use clap::Parser;

/// Stop one or more running containers
#[derive(Parser)]
#[command(name = "bocker stop", bin_name = "bocker stop", version)]
struct Args {
    /// Signal to send to the container (default: the image's StopSignal, else SIGTERM)
    #[arg(short, long)]
    signal: Option<String>,
    /// Seconds to wait before killing the container (negative: wait for ever; default:
    /// its --stop-timeout, else 10)
    #[arg(
        short = 't',
        long = "timeout",
        visible_alias = "time",
        allow_negative_numbers = true
    )]
    timeout: Option<i64>,
    /// Containers (id, prefix or name)
    #[arg(required = true)]
    containers: Vec<String>,
}

fn main() -> ExitCode {
    let args = bocker_cli::parse::<Args>();
    each::each(&args.containers, |store, id, typed| {
        // Docker checks the signal per container (status 1), not as a usage error.
        let sig = args.signal.as_deref().map(signal::parse).transpose()?;
        let timeout = stop::timeout_for(store, id, args.timeout)?;
        stop::stop(store, id, sig, timeout)?;
        bocker_cli::say(typed);
        Ok(())
    })
}
