//! `bocker logout [SERVER]`: forget a registry's credentials in the docker config.

use std::process::ExitCode;

use anyhow::Result;
use bocker_pull::login;
use bocker_store::cli::{exit, parse};
use clap::Parser;

/// Log out from a registry (Docker Hub by default)
#[derive(Parser)]
#[command(name = "bocker logout", bin_name = "bocker logout", version)]
struct Args {
    /// Registry: host[:port] (or a URL naming it)
    server: Option<String>,
}

fn main() -> ExitCode {
    exit(run(parse::<Args>()))
}

fn run(args: Args) -> Result<()> {
    let registry = login::registry_of(args.server.as_deref());
    let key = login::server_key(&registry);
    let done = login::remove(&registry).map_err(anyhow::Error::msg)?;
    if done.was_logged_in {
        // Docker 20.10's words.
        println!("Removing login credentials for {key}");
        if let Some(w) = done.warning {
            eprintln!("WARNING: {w}");
        }
    } else {
        println!("Not logged in to {key}");
    }
    Ok(())
}
