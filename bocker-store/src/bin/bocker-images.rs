//! `bocker images`: list images.

use std::process::ExitCode;

use anyhow::{Context, Result};
use bocker_store::cli::{self, Format};
use bocker_store::format::{human_size, write_table};
use bocker_store::{docker_fields, time, ImageId, ImageRecord, Store};
use clap::Parser;

/// List images
#[derive(Parser)]
#[command(name = "bocker images", bin_name = "bocker images", version)]
struct Args {
    /// Print only image ids
    #[arg(short, long)]
    quiet: bool,
    /// Output format: table, json, or a Go template ('{{.ID}}', 'table {{.ID}}\t{{.Names}}')
    #[arg(long, default_value = "table")]
    format: Format,
}

fn main() -> ExitCode {
    cli::quiet_sigpipe();
    cli::exit(run(cli::parse::<Args>()))
}

fn run(args: Args) -> Result<()> {
    let store = Store::open().context("opening the store")?;
    let images = store.list_images().context("listing images")?;
    let tags = store.all_tags()?;
    let tags_of = |img: &ImageRecord| -> Vec<String> {
        let mut t: Vec<String> = tags
            .iter()
            .filter(|(_, owner)| *owner == ImageId(img.id.clone()))
            .map(|(r, _)| r.clone())
            .collect();
        t.sort();
        t
    };
    if args.quiet {
        for img in &images {
            println!("{}", img.id);
        }
        return Ok(());
    }
    if args.format == Format::Json {
        for img in &images {
            let mut v = serde_json::to_value(img)?;
            v["tags"] = serde_json::json!(tags_of(img));
            cli::print_json_line(&v)?;
        }
        return Ok(());
    }
    if let Format::Template(t) = &args.format {
        let rows: Vec<_> = images
            .iter()
            .flat_map(|img| docker_fields::image_rows(img, &tags_of(img)))
            .collect();
        return cli::print_template(t, &docker_fields::image_headers(), &rows);
    }
    let rows: Vec<Vec<String>> = images
        .iter()
        .map(|img| {
            let t = tags_of(img);
            vec![
                img.id.clone(),
                img.source.clone(),
                if t.is_empty() {
                    "<none>".into()
                } else {
                    t.join(",")
                },
                img.digest
                    .as_deref()
                    .map(short_digest)
                    .unwrap_or_else(|| "<none>".into()),
                human_size(img.size),
                time::ago(&img.created),
            ]
        })
        .collect();
    write_table(
        &mut std::io::stdout().lock(),
        &["IMAGE_ID", "SOURCE", "TAG", "DIGEST", "SIZE", "CREATED"],
        &rows,
    )?;
    Ok(())
}

/// `sha256:0123456789ab` (12 hex digits), as Docker shortens digests.
fn short_digest(d: &str) -> String {
    match d.split_once(':') {
        Some((algo, hex)) => format!("{algo}:{}", hex.chars().take(12).collect::<String>()),
        None => d.to_string(),
    }
}
