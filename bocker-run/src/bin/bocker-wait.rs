//! `bocker wait <ctr…>`: block until each container exits and print its exit code, as
//! `docker wait`.

use std::process::ExitCode;

use bocker_run::container::{each, wait};
use clap::Parser;

/// Block until one or more containers stop, then print their exit codes
#[derive(Parser)]
#[command(name = "bocker wait", bin_name = "bocker wait", version)]
struct Args {
    /// Containers (id, prefix or name)
    #[arg(required = true)]
    containers: Vec<String>,
}

fn main() -> ExitCode {
    let args = bocker_cli::parse::<Args>();
    each::each(&args.containers, |store, id, _| {
        match wait::wait(store, id)? {
            wait::Ended::Exited(code) => bocker_cli::say(&code.to_string()),
            wait::Ended::Removed => anyhow::bail!("{id} was removed before its exit code was read"),
        }
        Ok(())
    })
}
