//! `bocker stats [--no-stream] [--format F] [ctr…]`: CPU %, memory usage and limit,
//! network and block I/O and pids of running containers (all of them when none is
//! named), as `docker stats`: refreshed every second until interrupted (the screen
//! redrawn on a terminal), or one reading with `--no-stream`.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use bocker_run::container::stats;
use bocker_store::cli::{self, Format};
use bocker_store::{liveness, ContainerRecord, Store};
use clap::Parser;

/// Display a live stream of container(s) resource usage statistics
#[derive(Parser)]
#[command(name = "bocker stats", bin_name = "bocker stats", version)]
struct Args {
    /// Disable streaming stats and only pull the first result
    #[arg(long)]
    no_stream: bool,
    /// Format output: table, json, or a Go template
    #[arg(long, default_value = "table")]
    format: Format,
    /// Containers (id, prefix or name); all running ones when none is given
    containers: Vec<String>,
}

/// Time between readings: the CPU % is measured over it.
const INTERVAL: Duration = Duration::from_secs(1);
const FIRST_INTERVAL: Duration = Duration::from_millis(500);

fn main() -> ExitCode {
    let args = cli::parse::<Args>();
    cli::quiet_sigpipe();
    cli::exit(run(&args))
}

fn run(args: &Args) -> Result<()> {
    let store = Store::open().context("opening the store")?;
    let targets = targets(&store, &args.containers)?;
    let mut prev: Vec<_> = targets.iter().map(|(r, _)| stats::read(r)).collect();
    let mut wait = FIRST_INTERVAL;
    let tty = std::io::stdout().is_terminal();
    loop {
        std::thread::sleep(wait);
        wait = INTERVAL;
        let cur: Vec<_> = targets.iter().map(|(r, _)| stats::read(r)).collect();
        let rows: Vec<_> = targets
            .iter()
            .zip(prev.iter().zip(&cur))
            .map(|((rec, typed), (p, c))| stats::fields(rec, typed, p, c))
            .collect();
        if tty && !args.no_stream {
            print!("\x1b[2J\x1b[H");
        }
        match &args.format {
            Format::Json => rows.iter().try_for_each(cli::print_json_line)?,
            Format::Table => cli::print_template(stats::DEFAULT_FORMAT, &stats::headers(), &rows)?,
            Format::Template(t) => cli::print_template(t, &stats::headers(), &rows)?,
        }
        let running = targets.iter().any(|(r, _)| {
            store
                .read_container(&bocker_store::ContainerId(r.id.clone()))
                .is_ok_and(|r| liveness::is_running(&r))
        });
        if args.no_stream || !running {
            return Ok(());
        }
        prev = cur;
    }
}

/// The named containers (each must be running, as Docker requires), or every running
/// one; each with the name it was given by.
fn targets(store: &Store, named: &[String]) -> Result<Vec<(ContainerRecord, String)>> {
    if named.is_empty() {
        let all = store.list_containers()?;
        return Ok(all
            .into_iter()
            .filter(liveness::is_running)
            .map(|r| {
                let id = r.id.clone();
                (r, id)
            })
            .collect());
    }
    named
        .iter()
        .map(|q| {
            let rec = store.read_container(&store.resolve_container(q)?)?;
            anyhow::ensure!(liveness::is_running(&rec), "Container {q} is not running");
            Ok((rec, q.clone()))
        })
        .collect()
}
