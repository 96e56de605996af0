//! `bocker rm <id…>`: remove containers (and, as in the seed, images given as `img_` ids).

use std::process::ExitCode;

use anyhow::Result;
use bocker_store::{cli, id, Store};
use clap::Parser;

/// Remove containers (and images given by img_ id)
#[derive(Parser)]
#[command(name = "bocker rm", bin_name = "bocker rm", version)]
struct Args {
    /// Containers (id, prefix or name) or images (img_ id)
    #[arg(required = true)]
    ids: Vec<String>,
    /// Kill running containers first; remove images in use
    #[arg(short, long)]
    force: bool,
}

fn main() -> ExitCode {
    let args = cli::parse::<Args>();
    cli::remove_each(&args.ids, |store, q| remove(store, q, args.force))
}

fn remove(store: &Store, q: &str, force: bool) -> Result<()> {
    if q.starts_with(id::Kind::Image.prefix()) {
        let img = store.resolve_image(q)?;
        store.remove_image(&img, force)?;
        cli::say(&format!("Removed: {img}"));
        return Ok(());
    }
    let ctr = store.resolve_container(q)?;
    store.remove_container(&ctr, force)?;
    cli::say(&format!("Removed: {ctr}"));
    Ok(())
}
