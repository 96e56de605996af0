//! `bocker unpause <ctr…>`: thaw every process of each paused container, as
//! `docker unpause`.

use std::process::ExitCode;

use bocker_run::container::{each, pause};
use clap::Parser;

/// Unpause all processes within one or more containers
#[derive(Parser)]
#[command(name = "bocker unpause", bin_name = "bocker unpause", version)]
struct Args {
    /// Containers (id, prefix or name)
    #[arg(required = true)]
    containers: Vec<String>,
}

fn main() -> ExitCode {
    let args = bocker_cli::parse::<Args>();
    each::each(&args.containers, |store, id, typed| {
        pause::unpause(store, id)?;
        bocker_cli::say(typed);
        Ok(())
    })
}
