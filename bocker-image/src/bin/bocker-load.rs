//! `bocker load [-i file.tar]`: the images of a `docker save` archive or an OCI image
//! layout (a tar of one), from stdin by default, verified and tagged as the archive says.

use std::fs::File;
use std::io::{BufReader, IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use bocker_image::{archive, load};
use bocker_store::{cli, Store};
use clap::Parser;

/// Load an image from a tar archive or STDIN
#[derive(Parser)]
#[command(name = "bocker load", bin_name = "bocker load", version)]
struct Args {
    /// Read from tar archive file, instead of STDIN
    #[arg(short, long)]
    input: Option<PathBuf>,
    /// Suppress the load output
    #[arg(short, long)]
    quiet: bool,
}

fn main() -> ExitCode {
    cli::exit(run(cli::parse::<Args>()))
}

fn run(args: Args) -> Result<()> {
    let input: Box<dyn Read> = match &args.input {
        Some(p) => Box::new(File::open(p).with_context(|| format!("opening {}", p.display()))?),
        None if std::io::stdin().is_terminal() => {
            // Docker's refusal, word for word.
            bail!("requested load from stdin, but stdin is empty")
        }
        None => Box::new(std::io::stdin().lock()),
    };
    let store = Store::open().context("opening the store")?;
    store.recover().context("cleaning leftovers")?;
    let loaded = match load::load(&store, BufReader::with_capacity(1 << 20, input)) {
        Ok(l) => l,
        Err(e) => {
            // Layers committed before the refusal are referenced by nothing: collect them.
            let _ = store.gc();
            return Err(e.into());
        }
    };
    for l in loaded.iter().filter(|_| !args.quiet) {
        if l.references.is_empty() {
            cli::say(&format!("Loaded image ID: {}", l.config_digest));
        }
        for r in &l.references {
            cli::say(&format!("Loaded image: {}", archive::familiar(r)));
        }
    }
    Ok(())
}
