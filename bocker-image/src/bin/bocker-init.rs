//! `bocker init <dir>`: import a root filesystem directory as a new image, with its own
//! image config (the layer's diff id computed here, as `docker import` does).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use bocker_store::{cli, driver, fsutil, import, time, ImageConfig, ImageRecord, Store};
use clap::Parser;

/// Import a root filesystem directory as a new image
#[derive(Parser)]
#[command(name = "bocker init", bin_name = "bocker init", version)]
struct Args {
    /// Directory holding the root filesystem
    dir: PathBuf,
    /// Print only the new image id
    #[arg(short, long)]
    quiet: bool,
}

fn main() -> ExitCode {
    cli::exit(run(cli::parse::<Args>()))
}

fn run(args: Args) -> Result<()> {
    let src = source_dir(&args.dir)?;
    let store = Store::open().context("opening the store")?;
    refuse_the_store_itself(&src, store.root())?;
    store.recover().context("cleaning leftovers")?;
    let _creating = store.lock_shared()?;
    let mut journal = store.begin()?;
    let id = store.new_image_id(&mut journal)?;
    let layer = store.driver().create_layer(&mut journal, None)?;
    import::copy_tree(&src, &layer.path).with_context(|| format!("importing {}", src.display()))?;
    let size = fsutil::tree_size(&layer.path);
    let key = driver::local_layer_key();
    store.driver().commit_layer(layer, &key)?;
    let mut record = ImageRecord {
        id: id.0.clone(),
        source: src.display().to_string(),
        created: time::now(),
        driver: store.driver().name().into(),
        layers: vec![key],
        size,
        reference: None,
        digest: None,
        blobs: Vec::new(),
        config: ImageConfig::default(),
        history: Vec::new(),
    };
    let config = bocker_image::init_config::write(&store, &record)
        .with_context(|| format!("writing the image config of {}", src.display()))?;
    record.blobs = vec![config];
    store.write_image(&record)?;
    journal.finish()?;
    if args.quiet {
        cli::say(id.as_ref());
    } else {
        cli::say(&format!("Created: {id}"));
    }
    Ok(())
}

/// The absolute source directory, with the seed's message when there is none.
fn source_dir(dir: &Path) -> Result<PathBuf> {
    match std::fs::canonicalize(dir) {
        Ok(p) if p.is_dir() => Ok(p),
        _ => bail!("No directory named '{}' exists", dir.display()),
    }
}

/// The store cannot be imported into itself (the copy would grow under the walk and
/// hand every image's files to a new one): `src` must neither hold nor lie in the root.
fn refuse_the_store_itself(src: &Path, root: &Path) -> Result<()> {
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    if src.starts_with(&root) || root.starts_with(src) {
        bail!(
            "cannot import '{}': the store ({}) is {}",
            src.display(),
            root.display(),
            if src.starts_with(&root) {
                "around it"
            } else {
                "inside it"
            }
        );
    }
    Ok(())
}
