//! `bocker kill [-s SIG] <ctr…>`: a signal (default SIGKILL) to each container's first
//! process, as `docker kill`; prints each container as named. After SIGKILL it returns
//! once the container has stopped (at most 10 s), as Docker's daemon does (moby's
//! `Daemon.Kill` waits for the exit), so `bocker kill x && bocker rm x` works.

use std::process::ExitCode;
use std::time::Duration;

use bocker_run::container::{each, kill, signal, wait};
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
        let sig = signal::parse(&args.signal)?;
        kill::kill(store, id, sig)?;
        if sig == libc::SIGKILL {
            wait::wait_for(store, id, Some(Duration::from_secs(10)))?;
        }
        bocker_cli::say(typed);
        Ok(())
    })
}
