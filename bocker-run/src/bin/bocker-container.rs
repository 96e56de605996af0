//! `bocker container prune`: remove every container that is not running, through the
//! runtime's removal (Docker's `docker container prune`).

use std::process::ExitCode;

use anyhow::{Context, Result};
use bocker_run::prune::{self, Pruned};
use bocker_store::{cli, Store};
use clap::{Parser, Subcommand};

/// Manage containers
#[derive(Parser)]
#[command(name = "bocker container", bin_name = "bocker container", version)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Remove all stopped containers
    Prune {
        /// Do not prompt for confirmation
        #[arg(short, long)]
        force: bool,
        /// Filter: until=TIMESTAMP|DURATION, label=KEY[=VALUE], label!=KEY[=VALUE]
        #[arg(long, value_name = "FILTER")]
        filter: Vec<String>,
    },
}

fn main() -> ExitCode {
    let Command::Prune { force, filter } = cli::parse::<Args>().command;
    cli::exit(run(force, &filter))
}

fn run(force: bool, filters: &[String]) -> Result<()> {
    let filter = prune::Filter::parse(filters, prune::Object::Container)?;
    if !prune::confirm("WARNING! This will remove all stopped containers.", force)? {
        return Ok(());
    }
    let store = Store::open().context("opening the store")?;
    let mut out = Pruned::default();
    prune::containers_matching(&store, &filter, &mut out)?;
    finish(&out)
}

/// Prints Docker's report, then each failure; failure status if any.
fn finish(out: &Pruned) -> Result<()> {
    print!("{}", out.report());
    for f in &out.failed {
        cli::say(f);
    }
    anyhow::ensure!(out.failed.is_empty(), "some containers were not removed");
    Ok(())
}
