//! `bocker restart [-t N] [-s SIG] <ctr…>`: `stop` (same signal and timeout rules), then
//! `start` under a new supervisor, as `docker restart`: the container keeps its id,
//! name, storage and settings, and gets its network again; a `--rm` container is not
//! removed by the stop (Docker's restart keeps it). Works on running, exited and created
//! containers; prints each as named.

use std::process::ExitCode;

use bocker_run::container::supervised::{self, Attach};
use bocker_run::container::{each, signal, stop};
use bocker_store::liveness;
use clap::Parser;

/// Restart one or more containers
#[derive(Parser)]
#[command(name = "bocker-restart")]
struct Args {
    #[command(flatten)]
    opts: bocker_run::cli::stop::StopArgs,
}

fn main() -> ExitCode {
    let args = bocker_cli::parse::<Args>();
    each::each(&args.opts.containers, |store, id, typed| {
        // Docker checks the signal per container (status 1), not as a usage error.
        let sig = args.opts.signal.as_deref().map(signal::parse).transpose()?;
        if liveness::is_running(&store.read_container(id)?) {
            // Its supervisor keeps a `--rm` container for the start that follows.
            store.update_container(id, |r| r.state.restarting = true)?;
            let timeout = stop::timeout_for(store, id, args.opts.timeout)?;
            stop::stop(store, id, sig, timeout)?;
        }
        match supervised::start(store, id, &Attach::default())? {
            0 => bocker_cli::say(typed),
            code => anyhow::bail!("{typed}: the container could not be started ({code})"),
        }
        Ok(())
    })
}
