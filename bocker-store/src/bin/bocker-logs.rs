//! `bocker logs <ctr> [-t] [--tail N]`: replay a container's recorded output, stdout to
//! stdout and stderr to stderr, as the container wrote it.

use anyhow::{Context, Result};
use bocker_store::{cli, log, Store};
use clap::Parser;
use std::process::ExitCode;

/// Show a container's output (stdout to stdout, stderr to stderr)
#[derive(Parser)]
#[command(name = "bocker logs", version)]
struct Args {
    /// Container id, unique prefix or name
    container: String,
    /// Prefix each line with its RFC 3339 timestamp
    #[arg(short, long)]
    timestamps: bool,
    /// Only the last N lines ("all" for everything)
    #[arg(long, value_name = "N", default_value = "all")]
    tail: String,
}

fn main() -> ExitCode {
    cli::exit(run(&cli::parse::<Args>()))
}

fn run(args: &Args) -> Result<()> {
    let store = Store::open().context("opening the store")?;
    let id = store.resolve_container(&args.container)?;
    let path = store.container_dir(&id).join("log");
    if !path.exists() {
        return Ok(()); // created but never started: nothing was written yet
    }
    let records = match args.tail.as_str() {
        "all" => log::read_all(&path),
        n => log::tail(
            &path,
            n.parse()
                .with_context(|| format!("--tail {n}: not a number"))?,
        ),
    }
    .with_context(|| format!("reading {}", path.display()))?;
    log::replay(
        &records,
        args.timestamps,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    )
    .context("writing output")
}
