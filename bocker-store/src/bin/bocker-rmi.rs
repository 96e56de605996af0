//! `bocker rmi <image…>`: remove images.

use std::process::ExitCode;

use anyhow::Result;
use bocker_store::{cli, Store};
use clap::Parser;

/// Remove images
#[derive(Parser)]
#[command(name = "bocker rmi", bin_name = "bocker rmi", version)]
struct Args {
    /// Images (id, prefix or name:tag)
    #[arg(required = true)]
    images: Vec<String>,
    /// Remove even if containers use them (they keep working)
    #[arg(short, long)]
    force: bool,
}

fn main() -> ExitCode {
    let args = cli::parse::<Args>();
    cli::remove_each(&args.images, |store, q| remove(store, q, args.force))
}

fn remove(store: &Store, q: &str, force: bool) -> Result<()> {
    let img = store.resolve_image(q)?;
    store.remove_image(&img, force)?;
    cli::say(&format!("Removed: {img}"));
    Ok(())
}
