//! `bocker ps`: list containers.

use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use bocker_store::cli::{self, Format};
use bocker_store::format::write_table;
use bocker_store::{docker_fields, liveness, time, ContainerRecord, Store};
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
    /// Keep only matching containers: status=created|running|exited|dead, name=N, image=ID
    #[arg(long, value_name = "KEY=VALUE")]
    filter: Vec<String>,
    /// Accepted for Docker compatibility: bocker ps always lists every container
    #[arg(short, long)]
    all: bool,
}

fn main() -> ExitCode {
    cli::quiet_sigpipe();
    cli::exit(run(cli::parse::<Args>()))
}

fn run(args: Args) -> Result<()> {
    let filters = args
        .filter
        .iter()
        .map(|f| parse_filter(f))
        .collect::<Result<Vec<_>>>()?;
    let store = Store::open().context("opening the store")?;
    let containers: Vec<ContainerRecord> = store
        .list_containers()
        .context("listing containers")?
        .into_iter()
        .filter(|c| filters.iter().all(|(k, v)| matches(c, k, v)))
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
    if let Format::Template(t) = &args.format {
        let rows: Vec<_> = containers.iter().map(docker_fields::container).collect();
        return cli::print_template(t, &docker_fields::container_headers(), &rows);
    }
    let rows: Vec<Vec<String>> = containers
        .iter()
        .map(|c| {
            vec![
                c.id.clone(),
                c.command.join(" "),
                liveness::status_text(c),
                if c.image_ref.is_empty() {
                    c.image.clone()
                } else {
                    c.image_ref.clone()
                },
                // The address is leased only while the container runs.
                if liveness::is_running(c) {
                    c.config.network.ip.clone().unwrap_or_default()
                } else {
                    String::new()
                },
                c.name.clone().unwrap_or_default(),
                time::ago(&c.created),
                c.state
                    .started_at
                    .as_deref()
                    .map(time::ago)
                    .unwrap_or_else(|| "-".into()),
                c.state
                    .finished_at
                    .as_deref()
                    .map(time::ago)
                    .unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    write_table(
        &mut std::io::stdout().lock(),
        &[
            "CONTAINER_ID",
            "COMMAND",
            "STATUS",
            "IMAGE",
            "IP",
            "NAME",
            "CREATED",
            "STARTED",
            "FINISHED",
        ],
        &rows,
    )?;
    Ok(())
}

fn parse_filter(f: &str) -> Result<(String, String)> {
    match f.split_once('=') {
        Some((k @ ("status" | "name" | "image" | "id"), v)) => Ok((k.to_string(), v.to_string())),
        _ => bail!("invalid filter '{f}': use status=…, name=…, image=… or id=…"),
    }
}

fn matches(c: &ContainerRecord, key: &str, value: &str) -> bool {
    match key {
        "status" => liveness::status_text(c).split(' ').next() == Some(value),
        "name" => c.name.as_deref() == Some(value),
        "image" => c.image == value || c.image_ref == value,
        "id" => c.id.starts_with(value),
        _ => false,
    }
}
