//! `bocker kill [-s SIG] <ctr…>`: a signal (default SIGKILL) to each container's first
//! process, as `docker kill`; prints each container as named.

use std::process::ExitCode;

use bocker_run::container::{each, kill, signal};
use clap::Parser;

/// Kill one or more running containers
#[derive(Parser)]
#[command(name = "bocker kill", bin_name = "bocker kill", version)]
struct Args {
    /// Signal to send to the container (name or number)
    #[arg(short, long, default_value = "KILL")]
    signal: String,
    /// Containers (id, prefix or name)
    #[arg(required = true)]
    containers: Vec<String>,
}

fn main() -> ExitCode {
    let args = bocker_cli::parse::<Args>();
    each::each(&args.containers, |store, id, typed| {
        // Docker checks the signal per container (status 1), not as a usage error.
        kill::kill(store, id, signal::parse(&args.signal)?)?;
        bocker_cli::say(typed);
        Ok(())
    })
}
