//! `bocker run [opts] <image> [cmd…]`: create a container from an image and run it in
//! the foreground, as the seed's `bocker_run` did: snapshot, cgroup, namespaces, exec.

use anyhow::{Context, Result};
use bocker_run::container::{self, reclaim};
use bocker_run::{cli::Args, exit_code, spec};
use bocker_store::Store;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = bocker_cli::parse::<Args>();
    match run(&args) {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            bocker_cli::report(&e);
            ExitCode::from(exit_code::ENGINE as u8)
        }
    }
}

fn run(args: &Args) -> Result<i32> {
    let store = Store::open().context("opening the store")?;
    reclaim::reclaim(&store);
    let image_id = store.resolve_image(&args.image)?;
    let image = store
        .read_image(&image_id)
        .with_context(|| format!("reading image {image_id}"))?;
    let bundle = spec::plan(args, &image.config)?;
    let mut ctr = container::create(&store, &image, &args.image, args.name.as_deref(), bundle)?;
    let code = container::run(&store, &mut ctr);
    if args.rm {
        container::remove(&store, &ctr.id)?;
    }
    Ok(code)
}
