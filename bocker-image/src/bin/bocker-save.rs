//! `bocker save <image…> [-o file.tar]`: images as one archive that `docker load` reads
//! (or, with `--format oci`, an OCI image layout), on stdout by default.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use bocker_image::archive::{self, Format, SaveImage};
use bocker_image::export;
use bocker_pull::decompress::Compression;
use bocker_store::{cli, Store};
use clap::{Parser, ValueEnum};

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Docker,
    Oci,
}

#[derive(Clone, Copy, ValueEnum)]
enum CompressionArg {
    None,
    Gzip,
    Zstd,
}

/// Save one or more images to a tar archive (streamed to STDOUT by default)
#[derive(Parser)]
#[command(name = "bocker save", bin_name = "bocker save", version)]
struct Args {
    /// Images (name:tag, id or unique prefix)
    #[arg(required = true)]
    images: Vec<String>,
    /// Write to a file, instead of STDOUT
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Archive format: docker (what `docker load` reads) or oci (an OCI image layout)
    #[arg(long, value_enum, default_value = "docker")]
    format: FormatArg,
    /// Compression of layers made here [default: none for docker, gzip for oci]
    #[arg(long, value_enum)]
    compression: Option<CompressionArg>,
}

fn main() -> ExitCode {
    cli::exit(run(cli::parse::<Args>()))
}

fn run(args: Args) -> Result<()> {
    let format = match args.format {
        FormatArg::Docker => Format::Docker,
        FormatArg::Oci => Format::Oci,
    };
    let compression = match (args.compression, format) {
        (Some(CompressionArg::None), _) | (None, Format::Docker) => Compression::None,
        (Some(CompressionArg::Gzip), _) | (None, Format::Oci) => Compression::Gzip,
        (Some(CompressionArg::Zstd), _) => Compression::Zstd,
    };
    if args.output.is_none() && std::io::stdout().is_terminal() {
        // Docker's refusal, word for word.
        bail!("cowardly refusing to save to a terminal. Use the -o flag or redirect");
    }
    let store = Store::open().context("opening the store")?;
    let chosen = args
        .images
        .iter()
        .map(|q| export::select(&store, q))
        .collect::<Result<Vec<_>, _>>()?;
    // Layers are read while the collector is kept away.
    let _reading = store.lock_shared()?;
    let known = export::known_blobs(&store)?;
    let mut images = Vec::new();
    for (rec, references) in &chosen {
        let exported = export::export(&store, rec, &known, compression)
            .with_context(|| format!("exporting {}", rec.id))?;
        images.push(SaveImage {
            exported,
            references: references.clone(),
        });
    }
    match &args.output {
        Some(path) => archive::write_file(path, &images, format)?,
        None => {
            let out = std::io::stdout().lock();
            let mut out = archive::write(std::io::BufWriter::new(out), &images, format)?;
            out.flush().context("writing the archive")?;
        }
    }
    Ok(())
}
