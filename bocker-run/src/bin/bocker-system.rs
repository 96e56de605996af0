//! `bocker system prune [-a] [-f]`, `bocker system df`, `bocker system info`: Docker's
//! `docker system` verbs over one store.

use std::process::ExitCode;

use anyhow::{Context, Result};
use bocker_run::prune::{self, DfRow, Pruned};
use bocker_store::cli::{self, Format};
use bocker_store::format::write_table;
use bocker_store::Store;
use clap::{Parser, Subcommand};

/// Manage bocker
#[derive(Parser)]
#[command(name = "bocker system", bin_name = "bocker system", version)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Remove stopped containers and unused images
    Prune {
        /// Remove all images no container uses, not just untagged ones
        #[arg(short, long)]
        all: bool,
        /// Do not prompt for confirmation
        #[arg(short, long)]
        force: bool,
        /// Prune anonymous volumes too
        #[arg(long)]
        volumes: bool,
        /// Filter: until=TIMESTAMP|DURATION, label=KEY[=VALUE], label!=KEY[=VALUE]
        #[arg(long, value_name = "FILTER")]
        filter: Vec<String>,
    },
    /// Show disk usage
    Df {
        /// Output format: table, or a Go template ('{{.Type}} {{.Size}}')
        #[arg(long, default_value = "table")]
        format: Format,
    },
    /// Display system-wide information (as `bocker info`)
    Info {
        /// A Go template ('{{.Driver}}', '{{json .}}')
        #[arg(short, long)]
        format: Option<String>,
    },
}

fn main() -> ExitCode {
    cli::exit(match cli::parse::<Args>().command {
        Command::Prune {
            all,
            force,
            volumes,
            filter,
        } => prune_all(all, force, volumes, &filter),
        Command::Df { format } => df(&format),
        Command::Info { format } => info(format.as_deref()),
    })
}

fn prune_all(all: bool, force: bool, volumes: bool, filters: &[String]) -> Result<()> {
    let filter = prune::Filter::parse(filters, prune::Object::Container)?;
    let images = if all {
        "  - all images without at least one container associated to them"
    } else {
        "  - all dangling images"
    };
    // Docker 23+'s list (its `--volumes` takes anonymous volumes only).
    let vols = if volumes {
        "  - anonymous volumes not used by at least one container\n"
    } else {
        ""
    };
    let warning =
        format!("WARNING! This will remove:\n  - all stopped containers\n{vols}{images}\n");
    if !prune::confirm(&warning, force)? {
        return Ok(());
    }
    let store = Store::open().context("opening the store")?;
    let mut out = Pruned::default();
    prune::containers_matching(&store, &filter, &mut out)?;
    if volumes {
        let volume_filter = prune::Filter {
            until: None,
            ..filter.clone()
        };
        prune::volumes(&store, false, &volume_filter, &mut out)?;
    }
    prune::images_matching(&store, all, &filter, &mut out)?;
    print!("{}", out.report());
    for f in &out.failed {
        cli::say(f);
    }
    anyhow::ensure!(out.failed.is_empty(), "some objects were not removed");
    Ok(())
}

fn df(format: &Format) -> Result<()> {
    let store = Store::open().context("opening the store")?;
    let rows = prune::df(&store)?;
    match format {
        Format::Template(t) => {
            let fields: Vec<_> = rows.iter().map(DfRow::fields).collect();
            cli::print_template(t, &DfRow::headers(), &fields)
        }
        Format::Json => {
            for r in &rows {
                cli::print_json_line(&r.fields())?;
            }
            Ok(())
        }
        Format::Table => {
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    vec![
                        r.kind.clone(),
                        r.total_count.to_string(),
                        r.active.to_string(),
                        r.size.clone(),
                        r.reclaimable.clone(),
                    ]
                })
                .collect();
            let header = ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"];
            Ok(write_table(&mut std::io::stdout().lock(), &header, &cells)?)
        }
    }
}

fn info(format: Option<&str>) -> Result<()> {
    let store = Store::open().context("opening the store")?;
    let v = bocker_run::info::collect(&store);
    match format {
        None => print!("{}", bocker_run::info::text(&v)),
        Some(t) => cli::print_template(t, &serde_json::Value::Null, &[v])?,
    }
    Ok(())
}
