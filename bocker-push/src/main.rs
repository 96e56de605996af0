//! `bocker push <image> [<ref>]`: upload an image of the store to a registry, under
//! `<ref>` (or the image's own name). Pulled layers go up as the blobs that were
//! pulled; layers made here as reproducible gzip diffs (docs/PUSH.md).

use std::io::Write;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use bocker_image::export::{self, LayerDigests, LayerPlan};
use bocker_pull::auth::credentials_for;
use bocker_pull::decompress::Compression;
use bocker_pull::digest::Digest;
use bocker_pull::progress::{self, Progress};
use bocker_pull::push::{self, Content, Descriptor, Format, PushBlob, Streamed};
use bocker_pull::reference::Reference;
use bocker_pull::registry::Registry;
use bocker_store::{cli, ImageRecord, Store};
use clap::{Parser, ValueEnum};

/// How layers made here are compressed (Docker pushes gzip).
const COMPRESSION: Compression = Compression::Gzip;

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
    let plan = export::plan(&store, &rec, &known, COMPRESSION)
        .with_context(|| format!("exporting {}", rec.id))?;
    let mount_from = mount_source(rec.reference.as_deref(), &reference);
    let creds = credentials_for(&reference.registry).map_err(anyhow::Error::msg)?;
    eprintln!("The push refers to repository [{}]", reference.name());
    let pushing = || format!("pushing {}", reference.name());
    let reg = push::connect(&reference, args.insecure, creds).with_context(pushing)?;
    let progress = progress::for_push(plan.len(), args.quiet);
    let mut layers = Vec::new();
    for (i, p) in plan.iter().enumerate() {
        let ctx = Ctx {
            reg: &reg,
            store: &store,
            rec: &rec,
            format,
            progress: progress.as_ref(),
        };
        layers.push(push_layer(&ctx, i, p, mount_from.as_deref()).with_context(pushing)?);
    }
    let diff_ids: Vec<Digest> = layers.iter().map(|l| l.diff_id.clone()).collect();
    let (bytes, digest) = export::image_config(&store, &rec, &diff_ids);
    let config = PushBlob {
        digest,
        size: bytes.len() as u64,
        media_type: format.config_type().into(),
        content: Content::Bytes(bytes),
        mount_from,
    };
    reg.push_blob(&config, &|_| {}).with_context(pushing)?;
    let descriptors: Vec<Descriptor> = layers.into_iter().map(|l| l.descriptor).collect();
    let (digest, size) =
        push::put_manifest(&reg, &reference, format, &config.descriptor(), &descriptors)
            .with_context(pushing)?;
    let tag = reference.tag.as_deref().unwrap_or("latest");
    println!("{tag}: digest: {digest} size: {size}");
    Ok(())
}

/// What a push of layers needs at hand.
struct Ctx<'a> {
    reg: &'a Registry,
    store: &'a Store,
    rec: &'a ImageRecord,
    format: Format,
    progress: &'a dyn Progress,
}

/// A layer as pushed: how the manifest names it, and its diff id for the config.
struct Pushed {
    descriptor: Descriptor,
    diff_id: Digest,
}

/// Push layer `i`: its stored blob as it is (mounted from `mount_from` when the
/// registry allows), or its diff written while it is uploaded.
fn push_layer(c: &Ctx<'_>, i: usize, p: &LayerPlan, mount_from: Option<&str>) -> Result<Pushed> {
    match p {
        LayerPlan::Stored(l) => {
            let Some(mt) = c.format.layer_type(l.media_type()) else {
                bail!(
                    "layer {} is {}: Docker's manifest has no such type; push with --format oci",
                    l.digest,
                    l.media_type()
                );
            };
            let blob = PushBlob {
                digest: l.digest.clone(),
                size: l.size,
                media_type: mt.into(),
                content: Content::File(l.path.clone()),
                mount_from: mount_from.map(str::to_string),
            };
            let id = l.digest.short().to_string();
            c.progress.start(i, &id, l.size);
            let o = c.reg.push_blob(&blob, &|n| c.progress.advance(i, n))?;
            c.progress.done(i, &id, &o.words());
            Ok(Pushed {
                descriptor: blob.descriptor(),
                diff_id: l.diff_id.clone(),
            })
        }
        LayerPlan::Diff { index, previous } => {
            let media_type = export::media_type(COMPRESSION);
            let Some(mt) = c.format.layer_type(media_type) else {
                bail!("{media_type}: Docker's manifest has no such type; push with --format oci");
            };
            let id = short_key(&c.rec.layers[*index]);
            c.progress.start_unsized(i, &id);
            let write = |w: &mut dyn Write| {
                export::write_layer(c.store, &c.rec.layers, *index, COMPRESSION, w)
                    .map(|(_, diff_id)| diff_id)
            };
            let sent = c.reg.push_stream(
                &format!("layer {id}"),
                previous.as_ref().map(|p| &p.digest),
                &write,
                &|n| c.progress.advance(i, n),
            )?;
            let d = match (sent, previous) {
                (Streamed::Exists, Some(p)) => {
                    c.progress.done(i, &id, "Layer already exists");
                    p.clone()
                }
                (
                    Streamed::Pushed {
                        digest,
                        size,
                        value,
                    },
                    _,
                ) => {
                    let d = LayerDigests {
                        digest,
                        size,
                        diff_id: value,
                    };
                    // Only a hint for the next push: a failure costs an upload then.
                    if let Err(e) =
                        export::record_export(c.store, &c.rec.layers, *index, COMPRESSION, &d)
                    {
                        c.progress.note(&format!("warning: {e}"));
                    }
                    c.progress.done(i, &id, "Pushed");
                    d
                }
                (Streamed::Exists, None) => {
                    bail!("layer {id}: the registry has a blob never named")
                }
            };
            Ok(Pushed {
                descriptor: Descriptor {
                    media_type: mt.into(),
                    digest: d.digest,
                    size: d.size,
                },
                diff_id: d.diff_id,
            })
        }
    }
}

/// A layer key as progress shows it: 12 characters, without the `local-` prefix.
fn short_key(key: &str) -> String {
    key.trim_start_matches("local-").chars().take(12).collect()
}

/// The repository of the same registry the image was pulled from, if it is another
/// one (its stored blobs can be mounted there rather than sent).
fn mount_source(pulled_from: Option<&str>, to: &Reference) -> Option<String> {
    let from = Reference::parse(pulled_from?).ok()?;
    (from.registry == to.registry && from.repository != to.repository).then_some(from.repository)
}
