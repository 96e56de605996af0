//! `bocker info`: the store and host facts Docker's `docker info` shows (root, driver,
//! cgroup version and controllers, kernel, bridge, counts, registry config).

use std::process::ExitCode;

use anyhow::{Context, Result};
use bocker_store::{cli, Store};
use clap::Parser;

/// Display system-wide information
#[derive(Parser)]
#[command(name = "bocker info", bin_name = "bocker info", version)]
struct Args {
    /// A Go template ('{{.Driver}}', '{{.CgroupVersion}}', '{{json .}}')
    #[arg(short, long)]
    format: Option<String>,
}

fn main() -> ExitCode {
    cli::exit(run(cli::parse::<Args>()))
}

fn run(args: Args) -> Result<()> {
    let store = Store::open().context("opening the store")?;
    let v = bocker_run::info::collect(&store);
    match args.format.as_deref() {
        None => print!("{}", bocker_run::info::text(&v)),
        Some(t) => cli::print_template(t, &serde_json::Value::Null, &[v])?,
    }
    Ok(())
}
