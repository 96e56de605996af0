//! `bocker stop [-t N] [-s SIG] <ctr…>`: the stop signal, then SIGKILL after N seconds,
//! as `docker stop`; prints each container as named once it has stopped.

use std::process::ExitCode;

use bocker_run::container::{each, signal, stop};
use clap::Parser;

/// Stop one or more running containers
#[derive(Parser)]
#[command(name = "bocker stop", bin_name = "bocker stop", version)]
struct Args {
    #[command(flatten)]
    opts: bocker_run::cli::stop::StopArgs,
}

fn main() -> ExitCode {
    let args = bocker_cli::parse::<Args>();
    each::each(&args.opts.containers, |store, id, typed| {
        // Docker checks the signal per container (status 1), not as a usage error.
        let sig = args.opts.signal.as_deref().map(signal::parse).transpose()?;
        let timeout = stop::timeout_for(store, id, args.opts.timeout)?;
        stop::stop(store, id, sig, timeout)?;
        bocker_cli::say(typed);
        Ok(())
    })
}
