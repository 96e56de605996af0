//! `bocker push <image> [<ref>]`: upload an image of the store to a registry, under
//! `<ref>` (or the image's own name). Pulled layers go up as the blobs that were
//! pulled; layers made here as reproducible gzip diffs (docs/PUSH.md).

use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use bocker_image::export::{self, Exported};
use bocker_pull::auth::credentials_for;
use bocker_pull::decompress::Compression;
use bocker_pull::progress;
use bocker_pull::push::{self, Content, Format, PushBlob};
use bocker_pull::reference::Reference;
use bocker_store::{cli, Store};
use clap::{Parser, ValueEnum};

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Docker,
    Oci,
}

/// Upload an image to a registry
#[derive(Parser)]
#[command(name = "bocker push", bin_name = "bocker push", version)]
struct Args {
    /// Image to push (name:tag, id or unique prefix); its name is where it goes unless REF is given
    image: String,
    /// Where to push it: host:port/repo[:tag] (tag `latest` by default)
    reference: Option<String>,
    /// Manifest media types: docker (schema 2, Docker's default) or oci
    #[arg(long, value_enum, default_value = "docker")]
    format: FormatArg,
    /// Allow plain HTTP to this registry (always allowed for localhost and loopback addresses)
    #[arg(long)]
    insecure: bool,
    /// Suppress the per-layer progress
    #[arg(short, long)]
    quiet: bool,
}

fn main() -> ExitCode {
    cli::exit(run(cli::parse::<Args>()))
}

fn run(args: Args) -> Result<()> {
    let format = match args.format {
        FormatArg::Docker => Format::Docker,
        FormatArg::Oci => Format::Oci,
    };
    let store = Store::open().context("opening the store")?;
    let (rec, names) = export::select(&store, &args.image)?;
    // An id names no repository: never guess one (it would be Docker Hub's).
    if args.reference.is_none() && names.is_empty() {
        bail!(
            "'{}' is not a name of the image: give where to push it (bocker push {} HOST/REPO[:TAG])",
            args.image,
            args.image
        );
    }
    let target = args.reference.as_deref().unwrap_or(&args.image);
    let mut reference = Reference::parse(target)?;
    if reference.digest.is_some() {
        bail!("cannot push to a digest reference '{target}': name a tag");
    }
    reference.tag.get_or_insert_with(|| "latest".into());
    let _reading = store.lock_shared()?;
    let known = export::known_blobs(&store)?;
    let exported = export::export(&store, &rec, &known, Compression::Gzip)
        .with_context(|| format!("exporting {}", rec.id))?;
    let mount_from = mount_source(rec.reference.as_deref(), &reference);
    let (config, layers) = blobs(&exported, format, mount_from)?;
    let creds = credentials_for(&reference.registry).map_err(anyhow::Error::msg)?;
    eprintln!("The push refers to repository [{}]", reference.name());
    let progress = progress::for_push(layers.len(), args.quiet);
    let (digest, size) = push::push(
        &reference,
        args.insecure,
        creds,
        format,
        &config,
        &layers,
        progress.as_ref(),
    )
    .with_context(|| format!("pushing {}", reference.name()))?;
    let tag = reference.tag.as_deref().unwrap_or("latest");
    println!("{tag}: digest: {digest} size: {size}");
    Ok(())
}

/// The repository of the same registry the image was pulled from, if it is another
/// one (its stored blobs can be mounted there rather than sent).
fn mount_source(pulled_from: Option<&str>, to: &Reference) -> Option<String> {
    let from = Reference::parse(pulled_from?).ok()?;
    (from.registry == to.registry && from.repository != to.repository).then_some(from.repository)
}

/// The config and layers of `e` as blobs to push, with `format`'s media types.
fn blobs(
    e: &Exported,
    format: Format,
    mount_from: Option<String>,
) -> Result<(PushBlob, Vec<PushBlob>)> {
    let config = PushBlob {
        digest: e.config_digest.clone(),
        size: e.config.len() as u64,
        media_type: format.config_type().into(),
        content: Content::Bytes(e.config.clone()),
        mount_from: mount_from.clone(),
    };
    let layers = e
        .layers
        .iter()
        .map(|l| {
            let Some(mt) = format.layer_type(l.media_type()) else {
                bail!(
                    "layer {} is {}: Docker's manifest has no such type; push with --format oci",
                    l.digest,
                    l.media_type()
                );
            };
            Ok(PushBlob {
                digest: l.digest.clone(),
                size: l.size,
                media_type: mt.into(),
                content: Content::File(l.path.clone()),
                mount_from: mount_from.clone().filter(|_| !l.scratch),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((config, layers))
}
