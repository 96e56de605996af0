//! `bocker commit <ctr> [<img_id>|<name:tag>]`: save a container as an image.
//!
//! The seed's form replaces an existing image in place (`Removed: img_x`, then
//! `Created: img_x`); otherwise a new image, tagged when a name is given.

use std::process::ExitCode;

use anyhow::{Context, Result};
use bocker_commit::{change, commit, target, Options};
use bocker_store::{cli, Store};
use clap::Parser;

/// Create a new image from a container's changes
#[derive(Parser)]
#[command(name = "bocker commit", bin_name = "bocker commit", version)]
struct Args {
    /// Container (id, prefix or name)
    container: String,
    /// Image to replace in place (img_ id) or REPOSITORY[:TAG] for a new image
    image: Option<String>,
    /// Apply a Dockerfile instruction (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, WORKDIR)
    #[arg(short, long = "change")]
    change: Vec<String>,
    /// Commit message
    #[arg(short, long)]
    message: Option<String>,
    /// Author (e.g. "Jane <jane@example.com>")
    #[arg(short, long)]
    author: Option<String>,
    /// Pause a running container during the commit
    #[arg(short, long, default_value_t = true, num_args = 0..=1,
          default_missing_value = "true", action = clap::ArgAction::Set)]
    pause: bool,
}

fn main() -> ExitCode {
    cli::exit(run(cli::parse::<Args>()))
}

fn run(args: Args) -> Result<()> {
    let changes = change::parse_all(&args.change)?;
    let store = Store::open().context("opening the store")?;
    store.recover().context("cleaning leftovers")?;
    let ctr = store.resolve_container(&args.container)?;
    let target = target::parse(&store, args.image.as_deref())?;
    let options = Options {
        changes,
        author: args.author,
        comment: args.message,
        pause: args.pause,
    };
    let made = commit(&store, &ctr, &target, &options)?;
    if made.replaced {
        cli::say(&format!("Removed: {}", made.id));
        // The replaced content is garbage now; collect it if nobody is creating.
        let _ = store.gc();
    }
    cli::say(&format!("Created: {}", made.id));
    Ok(())
}
