//! `bocker image prune [-a]`: remove images no container uses — untagged ones, or all
//! with `-a` — through the store (Docker's `docker image prune`).

use std::process::ExitCode;

use anyhow::{Context, Result};
use bocker_run::prune::{self, Pruned};
use bocker_store::{cli, Store};
use clap::{Parser, Subcommand};

/// Manage images
#[derive(Parser)]
#[command(name = "bocker image", bin_name = "bocker image", version)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Remove unused images
    Prune {
        /// Remove all images no container uses, not just untagged ones
        #[arg(short, long)]
        all: bool,
        /// Do not prompt for confirmation
        #[arg(short, long)]
        force: bool,
        /// Filter: until=TIMESTAMP|DURATION, label=KEY[=VALUE], label!=KEY[=VALUE]
        #[arg(long, value_name = "FILTER")]
        filter: Vec<String>,
    },
}

fn main() -> ExitCode {
    let Command::Prune { all, force, filter } = cli::parse::<Args>().command;
    cli::exit(run(all, force, &filter))
}

fn run(all: bool, force: bool, filters: &[String]) -> Result<()> {
    let filter = prune::Filter::parse(filters, prune::Object::Image)?;
    let warning = if all {
        "WARNING! This will remove all images without at least one container associated to them."
    } else {
        "WARNING! This will remove all dangling images."
    };
    if !prune::confirm(warning, force)? {
        return Ok(());
    }
    let store = Store::open().context("opening the store")?;
    let mut out = Pruned::default();
    prune::images_matching(&store, all, &filter, &mut out)?;
    print!("{}", out.report());
    for f in &out.failed {
        cli::say(f);
    }
    anyhow::ensure!(out.failed.is_empty(), "some images were not removed");
    Ok(())
}
