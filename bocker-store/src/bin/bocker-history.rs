//! `bocker history IMAGE`: the steps that made an image, newest first, from its config.

use std::process::ExitCode;

use anyhow::{Context, Result};
use bocker_store::cli::{self, Format};
use bocker_store::format::human_size;
use bocker_store::image_config::HistoryEntry;
use bocker_store::{time, Store};
use clap::{ArgAction, Parser};
use serde_json::{json, Value};

/// Docker's default `history` tables (docker/cli, Docker 20.10), with `-H` and without.
const TABLE: &str = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
const TABLE_NOT_HUMAN: &str =
    "table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
/// Docker cuts CREATED BY at this width (with `…`) unless `--no-trunc`.
const CREATED_BY_WIDTH: usize = 45;

/// Show the history of an image
#[derive(Parser)]
#[command(name = "bocker history", bin_name = "bocker history", version)]
struct Args {
    /// Image id, prefix or name:tag
    image: String,
    /// Print sizes and dates in human readable format
    #[arg(short = 'H', long, default_value_t = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    human: bool,
    /// Don't truncate output
    #[arg(long)]
    no_trunc: bool,
    /// Only show image ids
    #[arg(short, long)]
    quiet: bool,
    /// Output format: table, json, or a Go template ('{{.CreatedBy}}')
    #[arg(long, default_value = "table")]
    format: Format,
}

fn main() -> ExitCode {
    cli::quiet_sigpipe();
    cli::exit(run(cli::parse::<Args>()))
}

fn run(args: Args) -> Result<()> {
    let store = Store::open().context("opening the store")?;
    let id = store.resolve_image(&args.image)?;
    let rec = store.read_image(&id)?;
    let steps = store.image_history(&rec);
    let rows: Vec<Value> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| row(if i == 0 { &rec.id } else { "<missing>" }, s, &args))
        .collect();
    let template = match &args.format {
        _ if args.quiet => "{{.ID}}".to_string(),
        Format::Table if args.human => TABLE.to_string(),
        Format::Table => TABLE_NOT_HUMAN.to_string(),
        Format::Json => "{{json .}}".to_string(),
        Format::Template(t) => t.clone(),
    };
    cli::print_template(&template, &headers(), &rows)
}

/// One step as Docker's history template sees it.
fn row(id: &str, s: &HistoryEntry, args: &Args) -> Value {
    let created_by = s.created_by.replace('\t', " ");
    let created_by = if args.no_trunc || created_by.chars().count() <= CREATED_BY_WIDTH {
        created_by
    } else {
        let mut cut: String = created_by.chars().take(CREATED_BY_WIDTH - 1).collect();
        cut.push('…');
        cut
    };
    // RFC 3339 in seconds, UTC, as Docker prints it with TZ=UTC.
    let at = humantime::parse_rfc3339_weak(&s.created)
        .map(|t| humantime::format_rfc3339_seconds(t).to_string())
        .unwrap_or_else(|_| s.created.clone());
    let (since, size) = if args.human {
        (time::docker_ago(&s.created), human_size(s.size))
    } else {
        (at.clone(), s.size.to_string())
    };
    json!({
        "ID": id,
        "CreatedSince": since,
        "CreatedAt": at,
        "CreatedBy": created_by,
        "Size": size,
        "Comment": s.comment,
    })
}

fn headers() -> Value {
    json!({
        "ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT",
        "CreatedBy": "CREATED BY", "Size": "SIZE", "Comment": "COMMENT",
    })
}
