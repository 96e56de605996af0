//! `bocker ps`: list containers, newest first, as Docker does (the seed's
//! `CONTAINER_ID  COMMAND` first). Without `-a` every container is listed still, as the
//! seed listed them (`-a` is accepted).

use std::process::ExitCode;

use anyhow::{Context, Result};
use bocker_store::cli::{self, Format};
use bocker_store::docker_ps::{self, Filters};
use bocker_store::format::write_table;
use bocker_store::{docker_fields, liveness, ContainerRecord, Store};
use clap::Parser;

/// List containers
#[derive(Parser)]
#[command(name = "bocker ps", bin_name = "bocker ps", version)]
struct Args {
    /// Print only container ids
    #[arg(short, long)]
    quiet: bool,
    /// Output format: table, json, or a Go template ('{{.ID}}', 'table {{.ID}}\t{{.Names}}')
    #[arg(long, default_value = "table")]
    format: Format,
    /// Keep only matching containers: status, name (substring), id, ancestor, label,
    /// exited, before, since, publish, volume, network (KEY=VALUE; Docker's keys)
    #[arg(short, long, value_name = "KEY=VALUE")]
    filter: Vec<String>,
    /// Accepted for Docker compatibility: bocker ps always lists every container
    #[arg(short, long)]
    all: bool,
    /// Show the N last created containers
    #[arg(short = 'n', long, value_name = "N")]
    last: Option<usize>,
    /// Show the last created container
    #[arg(short, long)]
    latest: bool,
    /// Show the size of each container's own files (and its image's: virtual)
    #[arg(short, long)]
    size: bool,
    /// Do not cut the command
    #[arg(long)]
    no_trunc: bool,
}

fn main() -> ExitCode {
    cli::quiet_sigpipe();
    cli::exit(run(cli::parse::<Args>()))
}

fn run(args: Args) -> Result<()> {
    let filters = Filters::parse(&args.filter)?;
    let store = Store::open().context("opening the store")?;
    let mut all = store.list_containers().context("listing containers")?;
    docker_ps::newest_first(&store, &mut all);
    let keep = filters.matcher(&store, &all)?;
    let last = if args.latest { Some(1) } else { args.last };
    let containers: Vec<&ContainerRecord> = all
        .iter()
        .filter(|c| keep(c))
        .take(last.unwrap_or(usize::MAX))
        .collect();
    if args.quiet {
        for c in &containers {
            println!("{}", c.id);
        }
        return Ok(());
    }
    if args.format == Format::Json {
        for c in &containers {
            let mut v = serde_json::to_value(c)?;
            v["status"] = serde_json::json!(liveness::status_text(c));
            cli::print_json_line(&v)?;
        }
        return Ok(());
    }
    let sizes: Vec<String> = if args.size {
        containers
            .iter()
            .map(|c| docker_ps::size(&store, c, image_size(&store, c)).1)
            .collect()
    } else {
        vec![String::new(); containers.len()]
    };
    if let Format::Template(t) = &args.format {
        let rows: Vec<_> = containers
            .iter()
            .zip(&sizes)
            .map(|(c, size)| docker_fields::container(c, args.no_trunc, size))
            .collect();
        return cli::print_template(t, &docker_fields::container_headers(), &rows);
    }
    let mut header = vec![
        "CONTAINER_ID",
        "COMMAND",
        "STATUS",
        "IMAGE",
        "PORTS",
        "IP",
        "NAMES",
    ];
    if args.size {
        header.push("SIZE");
    }
    let rows: Vec<Vec<String>> = containers
        .iter()
        .zip(sizes)
        .map(|(c, size)| {
            let mut row = vec![
                c.id.clone(),
                docker_ps::command_column(c, args.no_trunc),
                docker_ps::status(c),
                docker_fields::image_of(c).to_string(),
                docker_ps::ports(c),
                docker_fields::ip(c),
                c.name.clone().unwrap_or_default(),
            ];
            if args.size {
                row.push(size);
            }
            row
        })
        .collect();
    write_table(&mut std::io::stdout().lock(), &header, &rows)?;
    Ok(())
}

/// The size of `c`'s image, 0 when it is gone.
fn image_size(store: &Store, c: &ContainerRecord) -> u64 {
    store
        .resolve_image(&c.image)
        .and_then(|i| store.read_image(&i))
        .map_or(0, |i| i.size)
}
