//! `bocker rm <id…>`: remove containers (and, as in the seed, images given as `img_` ids).
//! A container's processes, cgroup and network are released through the runtime's
//! lifecycle code; images are the store's alone. An image goes even when containers were
//! made from it, as the seed's `rm img_…` did: each container keeps its own layer list,
//! so nothing of theirs breaks (`rmi` keeps Docker's refusal).

use std::process::ExitCode;

use anyhow::Result;
use bocker_run::container::{self, reclaim};
use bocker_store::{cli, id, Store};
use clap::Parser;

/// Remove containers (and images given by img_ id)
#[derive(Parser)]
#[command(name = "bocker rm", bin_name = "bocker rm", version)]
struct Args {
    /// Containers (id, prefix or name) or images (img_ id)
    #[arg(required = true)]
    ids: Vec<String>,
    /// Kill running containers first
    #[arg(short, long)]
    force: bool,
    /// Remove the container's anonymous volumes too (named volumes stay)
    #[arg(short, long)]
    volumes: bool,
}

fn main() -> ExitCode {
    let args = cli::parse::<Args>();
    let reclaimed = std::cell::Cell::new(false);
    cli::remove_each(&args.ids, |store, q| remove(store, q, &args, &reclaimed))
}

fn remove(store: &Store, q: &str, args: &Args, reclaimed: &std::cell::Cell<bool>) -> Result<()> {
    let force = args.force;
    if q.starts_with(id::Kind::Image.prefix()) {
        let img = store.resolve_image(q)?;
        store.remove_image(&img, true)?;
        cli::say(&format!("Removed: {img}"));
        return Ok(());
    }
    // Containers whose supervisor died are finished first, so `rm` sees them `exited`.
    if !reclaimed.replace(true) {
        reclaim::reclaim(store);
    }
    let ctr = store.resolve_container(q)?;
    let rec = store.read_container(&ctr)?;
    container::remove::remove(store, &ctr, force)?;
    cli::say(&format!("Removed: {ctr}"));
    if args.volumes {
        for f in container::volumes::remove_anonymous(store, &rec) {
            cli::say(&f);
        }
    }
    Ok(())
}
