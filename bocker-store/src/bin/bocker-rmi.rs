//! `bocker rmi <image…>`: remove images, or only a reference of an image that has others.

use std::process::ExitCode;

use anyhow::Result;
use bocker_store::{cli, Store};
use clap::Parser;

/// Remove one or more images
#[derive(Parser)]
#[command(name = "bocker rmi", bin_name = "bocker rmi", version)]
struct Args {
    /// Images (id, prefix or name:tag); a name:tag of an image with others only untags
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

/// Docker's lines (`Untagged: ref`, `Deleted: sha256:…`), then the seed's `Removed: img_…`.
fn remove(store: &Store, q: &str, force: bool) -> Result<()> {
    let done = store.remove_reference(q, force)?;
    for r in &done.untagged {
        cli::say(&format!(
            "Untagged: {}",
            bocker_store::image_list::familiar(r)
        ));
    }
    if let Some(img) = done.removed {
        if let Some(d) = done.docker_id {
            cli::say(&format!("Deleted: {d}"));
        }
        cli::say(&format!("Removed: {img}"));
    }
    Ok(())
}
