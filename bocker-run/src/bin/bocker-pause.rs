//! `bocker pause <ctr…>`: freeze every process of each container, as `docker pause`.

use std::process::ExitCode;

use bocker_run::container::{each, pause};
use clap::Parser;

/// Pause all processes within one or more containers
#[derive(Parser)]
#[command(name = "bocker pause", bin_name = "bocker pause", version)]
struct Args {
    /// Containers (id, prefix or name)
    #[arg(required = true)]
    containers: Vec<String>,
}

fn main() -> ExitCode {
    let args = bocker_cli::parse::<Args>();
    each::each(&args.containers, |store, id, typed| {
        pause::pause(store, id)?;
        bocker_cli::say(typed);
        Ok(())
    })
}
