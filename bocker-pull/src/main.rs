//! `bocker pull <ref>` / `bocker pull <name> <tag>`: pull an image from a registry.

use std::process::ExitCode;

use anyhow::{Context, Result};
use bocker_pull::platform::Platform;
use bocker_pull::progress;
use bocker_pull::pull::{self, Options};
use bocker_pull::reference::Reference;
use bocker_store::{cli, Store};
use clap::Parser;

/// Pull an image from a registry (Docker Hub by default)
#[derive(Parser)]
#[command(name = "bocker pull", version)]
struct Args {
    /// Image reference: alpine, user/repo:tag, host:port/repo@sha256:…
    reference: String,
    /// Tag, in the seed's form `bocker pull <name> <tag>`
    tag: Option<String>,
    /// Print only the image id
    #[arg(short, long)]
    quiet: bool,
    /// Allow plain HTTP to this registry (always allowed for localhost and loopback addresses)
    #[arg(long)]
    insecure: bool,
    /// Platform to choose from a multi-platform image, os/arch[/variant]
    #[arg(long)]
    platform: Option<String>,
    /// Layers fetched at once
    #[arg(long, default_value_t = 4)]
    jobs: usize,
}

fn main() -> ExitCode {
    cli::exit(run(cli::parse::<Args>()))
}

fn run(args: Args) -> Result<()> {
    let reference = match &args.tag {
        Some(tag) => Reference::parse_name_tag(&args.reference, tag)?,
        None => Reference::parse(&args.reference)?,
    };
    let platform = match &args.platform {
        Some(p) => Platform::parse(p)
            .with_context(|| format!("invalid platform '{p}' (want os/arch[/variant])"))?,
        None => Platform::host(),
    };
    let store = Store::open().context("opening the store")?;
    store.recover().context("cleaning leftovers")?;
    let progress = progress::for_stderr(bocker_pull::manifest::MAX_LAYERS, args.quiet);
    let opts = Options {
        insecure: args.insecure,
        platform,
        jobs: args.jobs.max(1),
    };
    let pulled = pull::pull(&store, &reference, &opts, progress.as_ref())
        .with_context(|| format!("pulling {reference}"))?;
    if args.quiet {
        println!("{}", pulled.id);
    } else if pulled.unchanged {
        // Docker's words for a pull that changed nothing (Docker 20.10).
        println!(
            "Status: Image is up to date for {}",
            bocker_store::image_list::familiar(&reference.to_string())
        );
    } else {
        println!("Created: {}", pulled.id);
    }
    Ok(())
}
