//! `bocker tag SOURCE_IMAGE TARGET_IMAGE[:TAG]`: another reference to an image.

use std::process::ExitCode;

use anyhow::{Context, Result};
use bocker_store::{cli, Store};
use clap::Parser;

/// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
#[derive(Parser)]
#[command(name = "bocker tag", bin_name = "bocker tag", version)]
struct Args {
    /// Image id, prefix or name:tag
    source: String,
    /// New reference, [HOST[:PORT]/]NAME[:TAG] (`latest` when no tag)
    target: String,
}

fn main() -> ExitCode {
    cli::exit(run(cli::parse::<Args>()))
}

/// Silent on success, as Docker.
fn run(args: Args) -> Result<()> {
    let store = Store::open().context("opening the store")?;
    let target =
        bocker_store::image_refs::normalize_reference(&args.target).with_context(|| {
            format!(
                "Error parsing reference: {:?} is not a valid repository/tag",
                args.target
            )
        })?;
    let id = store.resolve_image(&args.source)?;
    store.tag(&target, &id)?;
    Ok(())
}
