//! `bocker start [-a] [-i] <ctr…>`: start created or exited containers under a new
//! supervisor, as `docker start`: the same path as `run -d`, from the settings saved at
//! create. Prints each container as named; with `-a` (or `-i`) relays the output of the
//! one container like a foreground `run` and exits with its status.

use std::process::ExitCode;

use anyhow::Context;
use bocker_run::attach;
use bocker_run::container::supervised::{self, Attach};
use bocker_store::{liveness, Store};
use clap::Parser;

/// Start one or more stopped containers
#[derive(Parser)]
#[command(name = "bocker-start")]
struct Args {
    /// Attach STDOUT/STDERR and forward signals
    #[arg(short = 'a', long)]
    attach: bool,
    /// Attach container's STDIN
    #[arg(short = 'i', long)]
    interactive: bool,
    /// Keys that detach an attached -t session, leaving the container running
    #[arg(
        long = "detach-keys",
        value_name = "KEYS",
        default_value = "ctrl-p,ctrl-q"
    )]
    detach_keys: String,
    /// Containers (id, prefix or name)
    #[arg(required = true)]
    containers: Vec<String>,
}

fn main() -> ExitCode {
    let args = bocker_cli::parse::<Args>();
    let Some(keys) = attach::parse_detach_keys(&args.detach_keys) else {
        bocker_cli::warn(&format!("invalid --detach-keys {:?}", args.detach_keys));
        return ExitCode::from(bocker_cli::status::USAGE);
    };
    let how = Attach {
        output: args.attach || args.interactive,
        stdin: args.interactive,
        keys,
    };
    if how.output && args.containers.len() > 1 {
        // Docker's message, word for word.
        bocker_cli::warn("you cannot start and attach multiple containers at once");
        return ExitCode::FAILURE;
    }
    let store = match Store::open().context("opening the store") {
        Ok(s) => s,
        Err(e) => return bocker_cli::exit(Err(e)),
    };
    let mut failed = false;
    for typed in &args.containers {
        let started = store
            .resolve_container(typed)
            .map_err(anyhow::Error::from)
            .and_then(|id| {
                let rec = store.read_container(&id)?;
                if liveness::is_running(&rec) {
                    // Docker: starting a running container is a no-op.
                    return Ok(0);
                }
                Ok(supervised::start(&store, &id, &how)?)
            });
        match started {
            Ok(code) if how.output => return ExitCode::from(code as u8),
            Ok(0) => bocker_cli::say(typed),
            Ok(_) => failed = true,
            Err(e) => {
                bocker_cli::report(&e);
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
