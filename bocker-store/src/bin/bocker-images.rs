//! `bocker images [REPO[:TAG]]`: list images, one row per reference, newest first.

use std::process::ExitCode;

use anyhow::{Context, Result};
use bocker_store::cli::{self, Format};
use bocker_store::format::{human_size, write_table};
use bocker_store::image_list::{Filters, ImageRow};
use bocker_store::{docker_fields, time, Store};
use clap::Parser;

/// A SOURCE longer than this is cut (with `…`) unless `--no-trunc`.
const SOURCE_WIDTH: usize = 48;

/// List images
#[derive(Parser)]
#[command(name = "bocker images", bin_name = "bocker images", version)]
struct Args {
    /// Only images with this reference (a repository, or REPO:TAG)
    reference: Option<String>,
    /// Print only image ids
    #[arg(short, long)]
    quiet: bool,
    /// Show all images (bocker makes no intermediate images: the same list)
    #[arg(short, long)]
    all: bool,
    /// Show digests
    #[arg(long)]
    digests: bool,
    /// Filter: dangling=true|false, reference=PATTERN, before=IMAGE, since=IMAGE
    #[arg(short, long)]
    filter: Vec<String>,
    /// Don't truncate output
    #[arg(long)]
    no_trunc: bool,
    /// Output format: table, json, or a Go template ('{{.ID}}', 'table {{.ID}}\t{{.Tag}}')
    #[arg(long, default_value = "table")]
    format: Format,
}

fn main() -> ExitCode {
    cli::quiet_sigpipe();
    cli::exit(run(cli::parse::<Args>()))
}

fn run(args: Args) -> Result<()> {
    let _ = args.all; // Docker's intermediate images: bocker has none to hide.
    let mut filters = Filters::parse(&args.filter)?;
    if let Some(r) = &args.reference {
        filters.add("reference", r);
    }
    let store = Store::open().context("opening the store")?;
    let rows = store.image_rows(&filters)?;
    if args.quiet {
        for r in &rows {
            println!("{}", r.image.id);
        }
        return Ok(());
    }
    match &args.format {
        Format::Json => json_lines(&store, &rows),
        Format::Template(t) => {
            let values: Vec<_> = rows.iter().map(docker_fields::image_row).collect();
            cli::print_template(t, &docker_fields::image_headers(), &values)
        }
        Format::Table => table(&rows, &args),
    }
}

/// One record per image (not per row), with its references, as `--format json` always was.
fn json_lines(store: &Store, rows: &[ImageRow]) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for r in rows.iter().filter(|r| seen.insert(r.image.id.clone())) {
        let mut v = serde_json::to_value(&r.image)?;
        v["tags"] = serde_json::json!(store.tags_of(&bocker_store::ImageId(r.image.id.clone()))?);
        cli::print_json_line(&v)?;
    }
    Ok(())
}

/// The seed's `IMAGE_ID  SOURCE`, then Docker's columns.
fn table(rows: &[ImageRow], args: &Args) -> Result<()> {
    let mut header = vec!["IMAGE_ID", "SOURCE", "REPOSITORY", "TAG"];
    if args.digests {
        header.push("DIGEST");
    }
    header.extend(["CREATED", "SIZE"]);
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut c = vec![
                r.image.id.clone(),
                source(&r.image.source, args.no_trunc),
                r.repository.clone(),
                r.tag.clone(),
            ];
            if args.digests {
                c.push(r.digest.clone());
            }
            c.push(time::docker_ago(&r.created));
            c.push(human_size(r.image.size));
            c
        })
        .collect();
    write_table(&mut std::io::stdout().lock(), &header, &cells)?;
    Ok(())
}

fn source(s: &str, no_trunc: bool) -> String {
    if no_trunc || s.chars().count() <= SOURCE_WIDTH {
        return s.to_string();
    }
    let mut cut: String = s.chars().take(SOURCE_WIDTH - 1).collect();
    cut.push('…');
    cut
}
