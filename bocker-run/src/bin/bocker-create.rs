//! `bocker create [run's flags] <image> [cmd…]`: create a container from an image and
//! print its id, as `docker create`: its record says `created` (`ps -a`: `Created`),
//! nothing runs and nothing is held on the host until `bocker start`. The flags are
//! `run`'s own struct, so every run flag is a create flag (but `-d` and
//! `--detach-keys`, which only `run` has, as Docker).

use anyhow::Context;
use bocker_run::cli::Args;
use bocker_run::container::{from_flags, reclaim};
use bocker_run::prepare;
use bocker_store::Store;
use clap::Parser;
use std::process::ExitCode;

/// Create a new container
#[derive(Debug, Parser)]
#[command(
    name = "bocker-create",
    about = "Create a new container",
    mut_arg("detach", |a| a.hide(true)),
    mut_arg("detach_keys", |a| a.hide(true)),
)]
struct CreateArgs {
    #[command(flatten)]
    run: Args,
}

fn main() -> ExitCode {
    let args = bocker_cli::parse::<CreateArgs>().run;
    if args.detach {
        // Docker's create has no -d: the container is not started at all.
        bocker_cli::warn("unknown shorthand flag: 'd' in -d (create never starts the container)");
        return ExitCode::from(bocker_cli::status::USAGE);
    }
    bocker_cli::exit_with(create(&args), bocker_cli::status::USAGE)
}

fn create(args: &Args) -> anyhow::Result<()> {
    // As run: the image (pulled when missing, `--pull`) and the `--cidfile` reservation.
    let mut cidfile = prepare::prepare(args)?;
    let store = Store::open().context("opening the store")?;
    reclaim::reclaim(&store);
    let ctr = from_flags::create_from_flags(&store, args)?;
    if let Some(f) = cidfile.as_mut() {
        f.write(&ctr.id.0)
            .context("writing the container ID file")?;
    }
    bocker_cli::say(&ctr.id.0);
    Ok(())
}
